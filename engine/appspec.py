"""Immutable specs of a loaded app: identity, settings, organisation, and the specs of every kind."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType
from typing import Any, Mapping

from .i18n import Text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class RoleSpec:
    key: str
    label: Text


@dataclass(frozen=True)
class DepartmentSpec:
    key: str
    label: Text
    parent: str | None
    manager: str | None


@dataclass(frozen=True)
class UserSpec:
    username: str
    name: str
    email: str | None
    department: str | None
    roles: tuple[str, ...]
    admin: bool


@dataclass(frozen=True)
class OrgSpec:
    roles: tuple[RoleSpec, ...] = ()
    departments: tuple[DepartmentSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    demo_password: str | None = None

    @property
    def role_keys(self) -> frozenset[str]:
        return frozenset(r.key for r in self.roles)


@dataclass(frozen=True)
class MenuItem:
    label: Text
    icon: str | None = None
    form: str | None = None
    dashboard: str | None = None
    report: str | None = None
    page: str | None = None
    roles: tuple[str, ...] = ()
    items: tuple["MenuItem", ...] = ()


@dataclass(frozen=True)
class AppSettings:
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    locale: str = "zh-CN"
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    work_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    #: demo data: (form, count) in order, the period in days and the random seed
    demo_rows: tuple[tuple[str, int], ...] = ()
    #: per demo row (same order): ``{"where": {relation: expr}, "values": {field: spec}, "each": {relation: expr}}``
    demo_options: tuple[Mapping[str, Any], ...] = ()
    demo_days: int = 365
    demo_seed: int = 0
    #: demo flow runs, as written: ``{"flow", "count", "where", "start", "by", "hours", "steps"}`` (see docs/flows.md)
    demo_flows: tuple[Mapping[str, Any], ...] = ()
    #: where generated records live: region code (2, 4 or 6 digits) → weight; empty: anywhere in the region data
    demo_regions: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AppSpec:
    """One app as loaded from a folder or a stored version. Never mutated; a new version is a new AppSpec."""

    key: str
    label: Text
    description: Text
    settings: AppSettings
    org: OrgSpec
    menu: tuple[MenuItem, ...]
    specs: Mapping[str, Mapping[str, Any]]
    files: Mapping[str, str]
    hash: str
    version: int | None = None
    sources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> Mapping[str, Any]:
        return self.specs.get(kind, MappingProxyType({}))

    @property
    def forms(self) -> Mapping[str, Any]:
        return self.of_kind("form")

    def with_version(self, number: int) -> "AppSpec":
        from dataclasses import replace

        return replace(self, version=number)
