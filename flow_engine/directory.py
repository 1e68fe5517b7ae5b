"""The organisation as the flow runtime sees it, read from the platform's tables (users, roles, departments).

The runtime names people by username (stable, readable in definitions: ``{users: [alice]}``) and departments by
key; tasks, history and inboxes store user ids. ``DbDirectory`` answers the runtime's ``Directory`` questions with
small indexed queries and remembers answers for the length of one step (one transaction).
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, select

from engine.tables import departments, user_roles, users

#: The role whose members get a node's tasks under ``if_none: admin`` (plus every user marked admin).
ADMIN_ROLE = "admin"


class DbDirectory:
    """A ``flow_engine.Directory`` over the platform's org tables, for one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._ids: dict[str, int | None] = {}
        self._names: dict[int, str] = {}
        self._dept_of: dict[str, int | None] = {}
        self._roles: dict[str, list[str]] = {}
        self._depts: dict[int, Any] | None = None

    # -- names and ids ----------------------------------------------------------------------------------------------
    def _load_users(self, cond: Any) -> list[Any]:
        rows = self.conn.execute(select(users.c.id, users.c.username, users.c.department_id)
                                 .where(cond, users.c.is_active.is_(True))).all()
        for r in rows:
            self._ids[r.username] = r.id
            self._names[r.id] = r.username
            self._dept_of[r.username] = r.department_id
        return rows

    def user_id(self, username: str) -> int | None:
        """The id of an active user, or None."""
        if username not in self._ids:
            self._ids[username] = None
            self._load_users(users.c.username == username)
        return self._ids[username]

    def user_ids(self, usernames: Iterable[str]) -> dict[str, int]:
        """Ids of the given usernames (unknown ones left out), in one query for those not yet known."""
        usernames = list(usernames)
        wanted = [u for u in dict.fromkeys(usernames) if u not in self._ids]
        if wanted:
            for u in wanted:
                self._ids[u] = None
            self._load_users(users.c.username.in_(wanted))
        return {u: i for u in usernames if (i := self._ids.get(u)) is not None}

    def username(self, user_id: int) -> str | None:
        if user_id not in self._names:
            self._load_users(users.c.id == user_id)
        return self._names.get(user_id)

    def usernames(self, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        wanted = [i for i in dict.fromkeys(ids) if i not in self._names]
        if wanted:
            self._load_users(users.c.id.in_(wanted))
        return {i: self._names[i] for i in ids if i in self._names}

    def department_key(self, dept_id: int | None) -> str | None:
        if dept_id is None:
            return None
        row = self._departments().get(dept_id)
        return row.key if row is not None else None

    def _departments(self) -> dict[int, Any]:
        if self._depts is None:
            self._depts = {r.id: r for r in self.conn.execute(
                select(departments.c.id, departments.c.key, departments.c.parent_id, departments.c.manager_id))}
        return self._depts

    # -- the Directory protocol ---------------------------------------------------------------------------------------
    def users_with_role(self, role: str) -> Sequence[str]:
        if role not in self._roles:
            query = (select(users.c.id, users.c.username, users.c.department_id)
                     .join(user_roles, user_roles.c.user_id == users.c.id)
                     .where(user_roles.c.role_key == role, users.c.is_active.is_(True)).order_by(users.c.id))
            rows = list(self.conn.execute(query).all())
            if role == ADMIN_ROLE:
                seen = {r.id for r in rows}
                rows += [r for r in self.conn.execute(
                    select(users.c.id, users.c.username, users.c.department_id)
                    .where(users.c.is_admin.is_(True), users.c.is_active.is_(True)).order_by(users.c.id))
                    if r.id not in seen]
            for r in rows:
                self._ids[r.username] = r.id
                self._names[r.id] = r.username
                self._dept_of[r.username] = r.department_id
            self._roles[role] = [r.username for r in rows]
        return list(self._roles[role])

    def users_in_department(self, department: str) -> Sequence[str]:
        dept = next((d.id for d in self._departments().values() if d.key == department), None)
        if dept is None:
            return []
        return [r.username for r in self._load_users(users.c.department_id == dept)]

    def department_of(self, user: str) -> str | None:
        if user not in self._dept_of:
            self.user_id(user)
        return self.department_key(self._dept_of.get(user))

    def user_exists(self, user: str) -> bool:
        return self.user_id(user) is not None

    def manager_of(self, user: str, levels: int = 1) -> str | None:
        """The manager ``levels`` up: the nearest department (the user's own, then its parents) whose manager is
        not the person we start from."""
        if self.user_id(user) is None:
            return None
        depts = self._departments()
        current = user
        for _ in range(levels):
            current_id = self._ids.get(current)
            dept = self._dept_of.get(current)
            manager_id = None
            guard = 0
            while dept is not None and guard <= len(depts):
                guard += 1
                row = depts.get(dept)
                if row is None:
                    break
                if row.manager_id is not None and row.manager_id != current_id:
                    manager_id = row.manager_id
                    break
                dept = row.parent_id
            if manager_id is None:
                return None
            name = self.username(manager_id)
            if name is None:
                return None
            current = name
        return current
