"""The organisation as the flow runtime sees it, read from the platform's tables (users, roles, departments).

The runtime names people by username (stable, readable in definitions: ``{users: [alice]}``) and departments by
key; tasks, history and inboxes store user ids. ``DbDirectory`` answers the runtime's ``Directory`` questions with
small indexed queries and remembers answers for the length of one step (one transaction). The language of each
user it reads (``locale``) comes with the same rows, for notifications written in each recipient's language.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, bindparam, select

from engine.direct import Direct
from engine.tables import departments, user_roles, users

from .tables import delegations

#: The role whose members get a node's tasks under ``if_none: admin`` (plus every user marked admin).
ADMIN_ROLE = "admin"

#: whom a user's new tasks go to at ``b_now`` (a standing delegation while away; the latest one wins), read with the
#: user, so a step that creates tasks needs no query of its own for it
_AWAY = (select(delegations.c.delegate_id)
         .where(delegations.c.user_id == users.c.id, delegations.c.starts_at <= bindparam("b_now"),
                delegations.c.ends_at > bindparam("b_now"), delegations.c.revoked_at.is_(None))
         .order_by(delegations.c.id.desc()).limit(1).scalar_subquery().label("away_to"))
_PERSON = (users.c.id, users.c.username, users.c.department_id, users.c.locale, _AWAY)
_ACTIVE = users.c.is_active.is_(True)
_BY_NAME = Direct(select(*_PERSON).where(users.c.username == bindparam("b_name"), _ACTIVE))
_BY_NAMES = select(*_PERSON).where(users.c.username.in_(bindparam("b_names", expanding=True)), _ACTIVE)
_BY_ID = Direct(select(*_PERSON).where(users.c.id == bindparam("b_id"), _ACTIVE))
_BY_IDS = select(*_PERSON).where(users.c.id.in_(bindparam("b_ids", expanding=True)), _ACTIVE)
_IN_ROLE = Direct(select(*_PERSON).join(user_roles, user_roles.c.user_id == users.c.id)
                  .where(user_roles.c.role_key == bindparam("b_role"), _ACTIVE).order_by(users.c.id))
_ADMINS = Direct(select(*_PERSON).where(users.c.is_admin.is_(True), _ACTIVE).order_by(users.c.id))
_IN_DEPARTMENT = Direct(select(*_PERSON).where(users.c.department_id == bindparam("b_dept"), _ACTIVE))
_LOCALES = select(users.c.id, users.c.locale).where(users.c.id.in_(bindparam("b_ids", expanding=True)))
_DEPARTMENTS = Direct(select(departments.c.id, departments.c.key, departments.c.parent_id,
                             departments.c.manager_id))


class DbDirectory:
    """A ``flow_engine.Directory`` over the platform's org tables, for one connection."""

    def __init__(self, conn: Connection, names: dict[str, int] | None = None, now: datetime | None = None) -> None:
        self.conn = conn
        self.now = now
        #: user id → delegate id (or None) at ``now``, for the users read in this step (only with ``now``)
        self.away: dict[int, int | None] = {}
        self._known = names if names is not None else {}  # username → id, shared between steps
        self._ids: dict[str, int | None] = {}
        self._names: dict[int, str] = {}
        self._dept_of: dict[str, int | None] = {}
        self._roles: dict[str, list[str]] = {}
        self._depts: dict[int, Any] | None = None
        #: user id → language (``users.locale``), for the users read in this step
        self.locales: dict[int, str | None] = {}

    # -- names and ids ----------------------------------------------------------------------------------------------
    def _load_users(self, query: Any, params: dict[str, Any]) -> list[Any]:
        params = {**params, "b_now": self.now}
        rows = query.all(self.conn, params) if isinstance(query, Direct) else self.conn.execute(query, params).all()
        for r in rows:
            self._seen(r)
        return rows

    def _seen(self, r: Any) -> None:
        self._known[r.username] = r.id
        self._ids[r.username] = r.id
        self._names[r.id] = r.username
        self._dept_of[r.username] = r.department_id
        self.locales[r.id] = r.locale
        if self.now is not None:
            self.away[r.id] = r.away_to

    def user_id(self, username: str) -> int | None:
        """The id of an active user, or None."""
        if username not in self._ids:
            self._ids[username] = None
            self._load_users(_BY_NAME, {"b_name": username})
        return self._ids[username]

    def user_ids(self, usernames: Iterable[str]) -> dict[str, int]:
        """Ids of the given usernames (unknown ones left out), in one query for those not yet known."""
        usernames = list(usernames)
        wanted = [u for u in dict.fromkeys(usernames) if u not in self._ids]
        if wanted:
            for u in wanted:
                self._ids[u] = None
            self._load_users(_BY_NAMES, {"b_names": wanted})
        return {u: i for u in usernames if (i := self._ids.get(u)) is not None}

    def ids_of(self, usernames: Iterable[str]) -> dict[str, int]:
        """Ids of usernames for storing (tasks, history): from the shared cache, active or not."""
        usernames = list(usernames)
        missing = [u for u in usernames if u not in self._known]
        if missing:
            for name, found in self.user_ids(missing).items():
                self._known[name] = found
        return {u: self._known[u] for u in usernames if u in self._known}

    def locales_of(self, ids: Iterable[int]) -> dict[int, str | None]:
        """The language of each user id: those read in this step as they were read, the others in one query."""
        ids = list(dict.fromkeys(ids))
        wanted = [i for i in ids if i not in self.locales]
        if wanted:
            for i in wanted:
                self.locales[i] = None
            self.locales.update({r.id: r.locale for r in self.conn.execute(_LOCALES, {"b_ids": wanted})})
        return {i: self.locales[i] for i in ids}

    def username(self, user_id: int) -> str | None:
        if user_id not in self._names:
            self._load_users(_BY_ID, {"b_id": user_id})
        return self._names.get(user_id)

    def usernames(self, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        wanted = [i for i in dict.fromkeys(ids) if i not in self._names]
        if wanted:
            self._load_users(_BY_IDS, {"b_ids": wanted})
        return {i: self._names[i] for i in ids if i in self._names}

    def department_key(self, dept_id: int | None) -> str | None:
        if dept_id is None:
            return None
        row = self._departments().get(dept_id)
        return row.key if row is not None else None

    def _departments(self) -> dict[int, Any]:
        if self._depts is None:
            self._depts = {r.id: r for r in _DEPARTMENTS.all(self.conn, {})}
        return self._depts

    # -- the Directory protocol ---------------------------------------------------------------------------------------
    def users_with_role(self, role: str) -> Sequence[str]:
        if role not in self._roles:
            rows = _IN_ROLE.all(self.conn, {"b_role": role, "b_now": self.now})
            if role == ADMIN_ROLE:
                seen = {r.id for r in rows}
                rows += [r for r in _ADMINS.all(self.conn, {"b_now": self.now}) if r.id not in seen]
            for r in rows:
                self._seen(r)
            self._roles[role] = [r.username for r in rows]
        return list(self._roles[role])

    def users_in_department(self, department: str) -> Sequence[str]:
        dept = next((d.id for d in self._departments().values() if d.key == department), None)
        if dept is None:
            return []
        return [r.username for r in self._load_users(_IN_DEPARTMENT, {"b_dept": dept})]

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
