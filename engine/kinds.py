"""The registry of definition kinds. Each engine registers the kinds it owns; the registry closes at start-up.

A kind says where its files live in an app folder, which meta-schema checks them, how a checked document becomes
an immutable spec (``build``), and an optional ``cross_check`` run once every spec of the app exists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from .errors import Problems
from .source import Document

if TYPE_CHECKING:
    from .appspec import AppSpec


class BuildContext(Protocol):
    """What a builder may use: where to put problems, and the specs built so far (earlier kinds)."""

    problems: Problems
    app_key: str
    specs: dict[str, dict[str, Any]]
    raw: dict[str, dict[str, Document]]
    roles: frozenset[str]
    services: dict[str, Any]


@dataclass(frozen=True)
class DefinitionKind:
    name: str
    folder: str
    schema: str
    build: Callable[[Document, "BuildContext"], Any]
    order: int = 50
    cross_check: Callable[["AppSpec", Problems], None] | None = None
    description: str = ""


@dataclass
class KindRegistry:
    kinds: dict[str, DefinitionKind] = field(default_factory=dict)
    closed: bool = False

    def register(self, kind: DefinitionKind) -> None:
        if self.closed:
            raise RuntimeError(f"definition kind {kind.name!r} registered after start-up")
        if kind.name in self.kinds:
            raise RuntimeError(f"definition kind {kind.name!r} registered twice")
        self.kinds[kind.name] = kind

    def close(self) -> None:
        self.closed = True

    def folders(self) -> dict[str, list[DefinitionKind]]:
        out: dict[str, list[DefinitionKind]] = {}
        for kind in sorted(self.kinds.values(), key=lambda k: k.order):
            out.setdefault(kind.folder, []).append(kind)
        return out

    def ordered(self) -> list[DefinitionKind]:
        return sorted(self.kinds.values(), key=lambda k: (k.order, k.name))
