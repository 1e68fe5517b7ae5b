"""Who may do what: the signed-in principal, per-role rights with scopes, and the SQL filter a scope implies.

Scopes, narrowest first: none, own (records the user owns), department (records of the user's department),
department_tree (the user's department and every department below it), all.
A user with several roles gets the widest scope any of them grants. Admins may do everything.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import ColumnElement, Table, false, true

SCOPES = ("none", "own", "department", "department_tree", "all")
_RANK = {s: i for i, s in enumerate(SCOPES)}
EVERYONE = "*"


@dataclass(frozen=True)
class Principal:
    """The caller of a request or the actor of a job."""

    id: int
    username: str
    display_name: str = ""
    roles: frozenset[str] = frozenset()
    department_id: int | None = None
    department_tree: frozenset[int] = frozenset()
    is_admin: bool = False
    locale: str = "zh-CN"
    via_token: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "name": self.display_name, "roles": sorted(self.roles),
                "department": self.department_id, "admin": self.is_admin}


SYSTEM = Principal(id=0, username="system", display_name="System", is_admin=True)


@dataclass(frozen=True)
class Rights:
    """What one role may do with the records of one form."""

    role: str
    create: bool = False
    read: str = "none"
    update: str = "none"
    delete: str = "none"
    #: sees the values of fields marked ``mask: true`` in full (others see them masked)
    unmask: bool = False


@dataclass(frozen=True)
class Grant:
    create: bool
    read: str
    update: str
    delete: str
    unmask: bool = False


def effective(rights: Iterable[Rights], who: Principal) -> Grant:
    """The widest rights ``who`` gets from all their roles."""
    if who.is_admin:
        return Grant(True, "all", "all", "all", True)
    best: dict[str, Any] = {"create": False, "read": "none", "update": "none", "delete": "none", "unmask": False}
    for r in rights:
        if r.role != EVERYONE and r.role not in who.roles:
            continue
        best["create"] = best["create"] or r.create
        best["unmask"] = best["unmask"] or r.unmask
        for action in ("read", "update", "delete"):
            if _RANK[getattr(r, action)] > _RANK[best[action]]:
                best[action] = getattr(r, action)
    return Grant(**best)  # type: ignore[arg-type]


def scope_filter(scope: str, table: Table, who: Principal) -> ColumnElement[bool]:
    """The WHERE clause limiting ``table`` (a record table) to what ``scope`` lets ``who`` reach."""
    if scope == "all":
        return true()
    if scope == "own":
        return table.c.owner_id == who.id
    if scope == "department":
        return table.c.department_id == who.department_id if who.department_id is not None else false()
    if scope == "department_tree":
        return table.c.department_id.in_(sorted(who.department_tree)) if who.department_tree else false()
    return false()


def in_scope(scope: str, row: Any, who: Principal) -> bool:
    """The same rule as ``scope_filter``, for one loaded row (a mapping with owner_id and department_id)."""
    if scope == "all":
        return True
    if scope == "own":
        return row["owner_id"] == who.id
    if scope == "department":
        return who.department_id is not None and row["department_id"] == who.department_id
    if scope == "department_tree":
        return row["department_id"] in who.department_tree
    return False
