"""Users, roles and departments; passwords (argon2), browser sessions and bearer API tokens.

Session ids and API tokens are random and stored only as SHA-256 hashes; a new session id is issued at every login
(no session fixation); failed logins are counted per username and refused past the configured limit.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, and_, delete, func, insert, select, update

from .appspec import OrgSpec
from .errors import BadRequest, Conflict, TooManyRequests, Unauthorized
from .permissions import Principal
from .tables import api_tokens, departments, login_failures, roles, sessions, user_roles, users

_hasher = PasswordHasher()
MIN_PASSWORD = 8
FAILURE_WINDOW = timedelta(minutes=15)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


MAX_PASSWORD = 256
#: failed logins from one address (over all usernames) allowed per window, as a multiple of the per-user limit
ADDRESS_FACTOR = 5


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The most common passwords of public breach lists (``common_passwords.json``), lower case."""
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).parent / "common_passwords.json").read_text(encoding="utf-8"))
    return frozenset(data["passwords"])


def check_password_policy(password: str, username: str = "") -> None:
    """Refuse short, username-based, single-class and commonly used passwords (every place a password is set)."""
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"password must have at most {MAX_PASSWORD} characters")
    if username and username.lower() in password.lower():
        raise BadRequest("password must not contain the username")
    if password.isdigit() or password.isalpha():
        raise BadRequest("password must mix letters with digits or symbols")
    if password.lower() in common_passwords() or len(set(password)) < 4:
        raise BadRequest("this password is among the most common ones; choose another")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=8)
def _shared_demo_hash(password: str) -> str:
    """Demo users share one password: hash it once (argon2 is slow on purpose), salted like any other."""
    return hash_password(password)


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    password: str | None = None
    email: str | None = None
    department_key: str | None = None
    roles: tuple[str, ...] = ()
    is_admin: bool = False


def create_user(conn: Connection, user: NewUser, now: datetime, *, check_policy: bool = True,
                password_hash: str | None = None) -> int:
    if conn.execute(select(users.c.id).where(users.c.username == user.username)).first():
        raise Conflict(f"user '{user.username}' already exists")
    if user.password is not None and check_policy:
        check_password_policy(user.password, user.username)
    dept_id = None
    if user.department_key:
        dept_id = conn.execute(select(departments.c.id).where(departments.c.key == user.department_key)).scalar()
        if dept_id is None:
            raise BadRequest(f"unknown department '{user.department_key}'")
    user_id = conn.execute(insert(users).values(
        username=user.username, display_name=user.display_name, email=user.email,
        password_hash=password_hash or (hash_password(user.password) if user.password else None),
        department_id=dept_id, is_active=True, is_admin=user.is_admin, locale="zh-CN", created_at=now,
    )).inserted_primary_key[0]
    for role in user.roles:
        _ensure_role(conn, role, role)
        conn.execute(insert(user_roles).values(user_id=user_id, role_key=role))
    return int(user_id)


def _ensure_role(conn: Connection, key: str, name: str) -> None:
    if conn.execute(select(roles.c.key).where(roles.c.key == key)).first() is None:
        conn.execute(insert(roles).values(key=key, name=name))


def sync_org(conn: Connection, org: OrgSpec, now: datetime, *, with_users: bool, password: str | None = None) -> None:
    """Create the roles and departments an app declares (and, for demos, its users). Never deletes anything."""
    for role in org.roles:
        _ensure_role(conn, role.key, role.label.get())
    ids: dict[str, int] = {r.key: r.id for r in conn.execute(select(departments.c.key, departments.c.id))}
    for dept in org.departments:
        if dept.key not in ids:
            ids[dept.key] = conn.execute(insert(departments).values(key=dept.key, name=dept.label.get())).inserted_primary_key[0]
    for dept in org.departments:
        if dept.parent:
            conn.execute(update(departments).where(departments.c.key == dept.key).values(parent_id=ids[dept.parent]))
    if not with_users:
        return
    existing = {r.username for r in conn.execute(select(users.c.username))}
    secret = password or org.demo_password
    shared = _shared_demo_hash(secret) if secret else None
    for u in org.users:
        if u.username not in existing:
            create_user(conn, NewUser(u.username, u.name, None, u.email, u.department, u.roles, u.admin), now,
                        check_policy=False, password_hash=shared)
    user_ids = {r.username: r.id for r in conn.execute(select(users.c.username, users.c.id))}
    for dept in org.departments:
        if dept.manager and dept.manager in user_ids:
            conn.execute(update(departments).where(departments.c.key == dept.key).values(manager_id=user_ids[dept.manager]))


def department_subtree(conn: Connection, root: int | None) -> frozenset[int]:
    if root is None:
        return frozenset()
    rows = conn.execute(select(departments.c.id, departments.c.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for dept_id, parent in rows:
        children.setdefault(parent, []).append(dept_id)
    out, stack = set(), [root]
    while stack:
        cur = stack.pop()
        if cur in out:
            continue
        out.add(cur)
        stack.extend(children.get(cur, []))
    return frozenset(out)


def _principal_query(where: Any) -> Any:
    """One round trip for everything a request needs to know about its caller: the user, their roles and the
    departments under theirs (a recursive query), so rights are always current and never cached."""
    from sqlalchemy import String, cast, literal_column

    roles_of = (select(func.aggregate_strings(user_roles.c.role_key, ","))
                .where(user_roles.c.user_id == users.c.id).scalar_subquery())
    tree = (select(users.c.department_id.label("id")).where(where, users.c.department_id.is_not(None))
            .cte("tree", recursive=True))
    tree = tree.union_all(select(departments.c.id).where(departments.c.parent_id == tree.c.id))
    subtree = select(func.aggregate_strings(cast(tree.c.id, String), ",")).scalar_subquery()
    return select(users.c.id, users.c.username, users.c.display_name, users.c.department_id, users.c.is_admin,
                  users.c.locale, roles_of.label("role_keys"), subtree.label("tree"),
                  literal_column("1").label("found")).where(where, users.c.is_active.is_(True))


def _principal_of(row: Any, via_token: bool) -> Principal:
    return Principal(id=row.id, username=row.username, display_name=row.display_name,
                     roles=frozenset(filter(None, (row.role_keys or "").split(","))),
                     department_id=row.department_id,
                     department_tree=frozenset(int(x) for x in (row.tree or "").split(",") if x) if row.department_id
                     else frozenset(),
                     is_admin=bool(row.is_admin), locale=row.locale, via_token=via_token)


@lru_cache(maxsize=None)
def _by_user() -> Any:
    from sqlalchemy import bindparam

    return _principal_query(users.c.id == bindparam("user_id"))


@lru_cache(maxsize=None)
def _by_token() -> Any:
    from sqlalchemy import bindparam

    owner = (select(api_tokens.c.user_id).where(api_tokens.c.token_hash == bindparam("token_hash"),
                                                 api_tokens.c.revoked_at.is_(None)).scalar_subquery())
    return _principal_query(users.c.id == owner)


def load_principal(conn: Connection, user_id: int, *, via_token: bool = False) -> Principal | None:
    row = conn.execute(_by_user(), {"user_id": user_id}).first()
    return None if row is None else _principal_of(row, via_token)


def token_principal(conn: Connection, secret: str) -> Principal | None:
    """The active user behind an unrevoked API token, in one query (built once, cached compiled)."""
    row = conn.execute(_by_token(), {"token_hash": _digest(secret)}).first()
    return None if row is None else _principal_of(row, True)


def attempt_login(engine: Any, username: str, password: str, address: str, now: datetime, limit: int) -> int:
    """``authenticate`` in its own transaction that keeps the failure count even though the login is refused
    (raising inside ``engine.begin()`` would roll the count back, and throttling would never start)."""
    refused: Exception | None = None
    with engine.begin() as conn:
        try:
            user_id = authenticate(conn, username, password, address, now, limit)
        except (Unauthorized, TooManyRequests) as exc:
            refused = exc
    if refused is not None:
        raise refused
    return user_id


def authenticate(conn: Connection, username: str, password: str, address: str, now: datetime, limit: int) -> int:
    """Check a password login; returns the user id. Counts failures and refuses past ``limit`` in 15 minutes.

    A refusal raises after writing the failure: the caller's transaction must still commit (``attempt_login``)."""
    recent = conn.execute(select(func.count()).select_from(login_failures).where(
        login_failures.c.username == username, login_failures.c.at > now - FAILURE_WINDOW)).scalar_one()
    from_address = conn.execute(select(func.count()).select_from(login_failures).where(
        login_failures.c.address == address[:64], login_failures.c.at > now - FAILURE_WINDOW)).scalar_one()
    if recent >= limit or from_address >= limit * ADDRESS_FACTOR:
        raise TooManyRequests("too many failed logins; try again in 15 minutes")
    row = conn.execute(select(users.c.id, users.c.password_hash, users.c.is_active)
                       .where(users.c.username == username)).first()
    ok = False
    if row is not None and row.password_hash and row.is_active:
        try:
            ok = _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        _hasher.hash(password)  # same cost whether or not the user exists
    if not ok:
        conn.execute(insert(login_failures).values(username=username, address=address[:64], at=now))
        raise Unauthorized("wrong username or password")
    conn.execute(delete(login_failures).where(login_failures.c.username == username))
    return int(row.id)  # type: ignore[union-attr]


def change_password(conn: Connection, user_id: int, current: str | None, new: str, *, keep_session: str | None = None
                    ) -> None:
    """Set a new password (checked against the policy). ``current`` is verified unless None (an administrator's
    reset). Every other session of the user ends, so a stolen session dies with the old password."""
    row = conn.execute(select(users.c.username, users.c.password_hash).where(users.c.id == user_id)).first()
    if row is None:
        raise BadRequest(f"no user {user_id}")
    if current is not None:
        try:
            ok = bool(row.password_hash) and _hasher.verify(row.password_hash, current)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            raise Unauthorized("the current password is wrong")
    check_password_policy(new, row.username)
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=hash_password(new)))
    others = delete(sessions).where(sessions.c.user_id == user_id)
    if keep_session is not None:
        others = others.where(sessions.c.id != _digest(keep_session))
    conn.execute(others)


def start_session(conn: Connection, user_id: int, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(insert(sessions).values(id=_digest(token), user_id=user_id, created_at=now, seen_at=now))
    return token


def session_user(conn: Connection, token: str, now: datetime, max_age: int) -> int | None:
    key = _digest(token)
    row = conn.execute(select(sessions.c.user_id, sessions.c.seen_at).where(sessions.c.id == key)).first()
    if row is None:
        return None
    seen = row.seen_at if row.seen_at.tzinfo else row.seen_at.replace(tzinfo=now.tzinfo)
    if now - seen > timedelta(seconds=max_age):
        conn.execute(delete(sessions).where(sessions.c.id == key))
        return None
    if now - seen > timedelta(minutes=1):
        conn.execute(update(sessions).where(sessions.c.id == key).values(seen_at=now))
    return int(row.user_id)


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.id == _digest(token)))


def create_token(conn: Connection, user_id: int, name: str, now: datetime) -> tuple[int, str]:
    """A new API token; the secret is shown once and stored hashed."""
    secret = "lw_" + secrets.token_urlsafe(32)
    token_id = conn.execute(insert(api_tokens).values(user_id=user_id, name=name, token_hash=_digest(secret),
                                                      created_at=now)).inserted_primary_key[0]
    return int(token_id), secret


def token_user(conn: Connection, secret: str) -> int | None:
    row = conn.execute(select(api_tokens.c.user_id).where(api_tokens.c.token_hash == _digest(secret),
                                                          api_tokens.c.revoked_at.is_(None))).first()
    return int(row.user_id) if row else None


def revoke_token(conn: Connection, token_id: int, user_id: int | None, now: datetime) -> bool:
    cond = [api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)]
    if user_id is not None:
        cond.append(api_tokens.c.user_id == user_id)
    return conn.execute(update(api_tokens).where(and_(*cond)).values(revoked_at=now)).rowcount == 1


def user_names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {r.id: r.display_name for r in conn.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(ids)))}


def user_exists(conn: Connection, user_id: int) -> bool:
    return conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is not None


def department_exists(conn: Connection, dept_id: int) -> bool:
    return conn.execute(select(departments.c.id).where(departments.c.id == dept_id)).first() is not None


def manager_of(conn: Connection, user_id: int, levels: int = 1) -> int | None:
    dept = conn.execute(select(users.c.department_id).where(users.c.id == user_id)).scalar()
    rows: dict[int, Any] = {r.id: r for r in conn.execute(select(departments.c.id, departments.c.parent_id, departments.c.manager_id))}
    found = None
    while dept is not None and levels > 0:
        row = rows.get(dept)
        if row is None:
            return None
        if row.manager_id is not None and row.manager_id != user_id:
            found = row.manager_id
            levels -= 1
            if levels == 0:
                return int(found)
        dept = row.parent_id
    return None
