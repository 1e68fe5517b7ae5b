"""Finding the people of a node: assignee rules resolved against an injected directory.

The org (users, roles, departments, managers) belongs to ``engine/``; the flow engine only sees the ``Directory``
protocol. ``MemoryDirectory`` is a small in-memory directory for tests, simulations and benchmarks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from engine.errors import BadRequest

from .spec import AssigneeRule

#: Called for ``{decision: key}`` rules: the table key and the record values → a user id or a list of them.
Decide = Callable[[str, Mapping[str, Any]], Any]


class Directory(Protocol):
    """What the flow engine needs to know about the organisation."""

    def users_with_role(self, role: str) -> Sequence[str]:
        """User ids that hold ``role``."""

    def users_in_department(self, department: str) -> Sequence[str]:
        """User ids in ``department``."""

    def manager_of(self, user: str, levels: int = 1) -> str | None:
        """The manager ``levels`` steps up the department tree from ``user``, or None."""

    def department_of(self, user: str) -> str | None:
        """The department of ``user``, or None."""

    def user_exists(self, user: str) -> bool:
        """True if ``user`` is a known, active user."""


class AssigneeError(BadRequest):
    """An assignee rule that cannot be resolved (no decision service, a bad expression result)."""


@dataclass
class MemoryDirectory:
    """An in-memory directory.

    Attributes:
        users: user id → department key.
        roles: role → user ids.
        departments: department key → (parent department or None, manager user id or None).
    """

    users: dict[str, str | None] = field(default_factory=dict)
    roles: dict[str, list[str]] = field(default_factory=dict)
    departments: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def users_with_role(self, role: str) -> Sequence[str]:
        return list(self.roles.get(role, ()))

    def users_in_department(self, department: str) -> Sequence[str]:
        return [u for u, d in self.users.items() if d == department]

    def department_of(self, user: str) -> str | None:
        return self.users.get(user)

    def user_exists(self, user: str) -> bool:
        return user in self.users

    def manager_of(self, user: str, levels: int = 1) -> str | None:
        current: str | None = user
        dept = self.department_of(user)
        for _ in range(levels):
            manager = None
            while dept is not None:
                parent, boss = self.departments.get(dept, (None, None))
                if boss is not None and boss != current:
                    manager = boss
                    break
                dept = parent
            if manager is None:
                return None
            current = manager
            dept = self.department_of(manager)
        return current


def _as_users(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, Iterable):
        out = []
        for item in value:
            if not isinstance(item, str):
                raise AssigneeError(f"an assignee must be a user id, got {item!r}")
            out.append(item)
        return out
    raise AssigneeError(f"an assignee must be a user id or a list of them, got {value!r}")


def resolve(rules: Sequence[AssigneeRule], values: Mapping[str, Any], initiator: str, directory: Directory, *,
            decide: Decide | None = None, assignee: str | None = None) -> list[str]:
    """The user ids the ``rules`` pick, in rule order, without duplicates.

    Args:
        rules: the node's assignee rules.
        values: the record values.
        initiator: who started the flow.
        directory: the organisation.
        decide: evaluates ``{decision: key}`` rules.
        assignee: the current task's assignee (for escalation rules such as ``{manager_of: assignee}``).
    """
    found: list[str] = []
    for rule in rules:
        found.extend(_one(rule, values, initiator, directory, decide, assignee))
    seen: set[str] = set()
    return [u for u in found if not (u in seen or seen.add(u))]


def _one(rule: AssigneeRule, values: Mapping[str, Any], initiator: str, directory: Directory,
         decide: Decide | None, assignee: str | None) -> list[str]:
    kind, value = rule.kind, rule.value
    if kind == "users":
        return list(value)
    if kind == "role":
        return list(directory.users_with_role(value))
    if kind == "department":
        return list(directory.users_in_department(value))
    if kind == "manager_of":
        whose = {"initiator": initiator, "assignee": assignee}.get(value, None)
        people = [whose] if whose else _as_users(values.get(value))
        managers = [directory.manager_of(p, rule.levels) for p in people]
        return [m for m in managers if m]
    if kind == "field":
        out: list[str] = []
        for item in _as_users(values.get(value)):
            out.extend([item] if directory.user_exists(item) else directory.users_in_department(item))
        return out
    if kind == "expr":
        if rule.compiled is None:
            raise AssigneeError(f"expression {value!r} was not compiled")
        try:
            result = rule.compiled.evaluate({**values, "initiator": initiator})
        except Exception as exc:  # noqa: BLE001 - the expression's failure, reported with its text
            raise AssigneeError(f"assignee expression {value!r} failed: {exc}") from None
        return _as_users(result)
    if kind == "decision":
        if decide is None:
            raise AssigneeError(f"no decision service to evaluate table '{value}'")
        return _as_users(decide(value, values))
    raise AssigneeError(f"unknown assignee rule '{kind}'")
