"""In-app notifications: a row per user and message, read through the API, written by any engine.

Other engines send through the service, inside their own transaction so a message exists exactly when the change
that caused it does::

    platform.services["notifications"].send(conn, users=[7, 9], kind="task", title="...", body="...",
                                            link="/api/flows/tasks/12", app="purchasing")

When mail is configured (``LOOMWORK_SMTP_URL``, see ``engine.mail``), each notification to an active user with an
email address also writes a mail to the outbox in the same transaction; the ``outbox`` job sends it.

Routes: ``GET /api/notifications`` (``?unread=true``, keyset paging with ``after``), ``GET
/api/notifications/count`` (unread count), ``POST /api/notifications/read`` (``{"ids": [...]}`` or ``{"all":
true}``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Column, Connection, Index, MetaData, String, Table, Text, and_, func, insert, select, update

from .direct import Direct
from .errors import BadRequest
from .i18n import DEFAULT_LOCALE
from .permissions import Principal
from .tables import Id, UtcDateTime

metadata = MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s", "pk": "pk_%(table_name)s"})

notifications = Table(
    "lw_notifications", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, nullable=False),
    Column("app", String(64), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=True),
    Column("link", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("read_at", UtcDateTime(), nullable=True),
    Index("ix_lw_notifications_user", "user_id", "read_at", "id"),
)

#: run on the driver's cursor, compiled once per dialect (a flow step sends some at every step)
_INSERT = Direct(insert(notifications).inline(),
                 keys=("user_id", "app", "kind", "title", "body", "link", "created_at", "read_at"))

#: Longest title kept (longer ones are cut with an ellipsis).
MAX_TITLE = 200
#: Most notifications listed per page.
MAX_PAGE = 200


#: API paths whose page in the portal is the same path without ``/api`` (a flow's instance and task links).
PAGE_PREFIXES = ("/api/flows/",)


def page_link(link: str | None) -> str | None:
    """The portal page a notification's link opens (``/api/flows/instances/3`` → ``/flows/instances/3``)."""
    if link and link.startswith(PAGE_PREFIXES):
        return link[len("/api"):]
    return link


class Notifications:
    """The notification service (``platform.services["notifications"]``)."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform

    def send(self, conn: Connection, *, users: Iterable[int], kind: str, title: str, body: str | None = None,
             link: str | None = None, app: str | None = None, at: datetime | None = None) -> int:
        """Store one notification per user (duplicates and the system user 0 are skipped); returns how many."""
        ids = [int(u) for u in dict.fromkeys(users) if u]
        if not ids:
            return 0
        now = at or self.platform.clock.now()
        title = title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"
        rows = [{"user_id": u, "app": app, "kind": kind[:32], "title": title, "body": body, "link": link,
                 "created_at": now, "read_at": None} for u in ids]
        _INSERT.many(conn, rows)
        self._mail(conn, rows)
        return len(ids)

    def send_many(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """Several messages at once: each row has user_id, kind, title and optionally body, link, app, created_at."""
        if not rows:
            return 0
        now = self.platform.clock.now()
        stored = [{"user_id": int(r["user_id"]), "app": r.get("app"), "kind": str(r["kind"])[:32],
                   "title": str(r["title"])[:MAX_TITLE], "body": r.get("body"), "link": r.get("link"),
                   "created_at": r.get("created_at") or now, "read_at": None} for r in rows if r.get("user_id")]
        if stored:
            _INSERT.many(conn, stored)
            self._mail(conn, stored)
        return len(rows)

    def _mail(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """Queue a mail per stored notification whose user is active and has a valid address (mail on only)."""
        box = self.platform.services.get("outbox")
        if box is None or box.mail is None:
            return 0
        from .mail import render, valid_address
        from .tables import users

        wanted = {r["user_id"] for r in rows}
        address: dict[int, tuple[str, str]] = {row.id: (row.email, row.locale or DEFAULT_LOCALE) for row in conn.execute(
            select(users.c.id, users.c.email, users.c.locale).where(users.c.id.in_(wanted), users.c.is_active.is_(True),
                                                                    users.c.email.is_not(None)))
            if valid_address(row.email)}
        public_url = str(self.platform.settings.public_url or "")
        mails = []
        for r in rows:
            found = address.get(r["user_id"])
            if found is None:
                continue
            to, locale = found
            live = self.platform.apps.get(r["app"]) if r.get("app") else None
            label = live.spec.label.get(locale) if live is not None else r.get("app")
            mails.append({"app": r.get("app") or "", "source": f"notification:{r['kind']}", "to": to,
                          **render(title=r["title"], body=r.get("body"), link=page_link(r.get("link")), app_label=label,
                                   public_url=public_url, locale=locale)})
        return int(box.enqueue_mails(conn, mails))

    def list(self, conn: Connection, user_id: int, *, unread: bool = False, after: int | None = None,
             size: int = 50) -> dict[str, Any]:
        """Newest first; ``after`` is the last id of the previous page."""
        size = max(1, min(size, MAX_PAGE))
        cond = [notifications.c.user_id == user_id]
        if unread:
            cond.append(notifications.c.read_at.is_(None))
        if after is not None:
            cond.append(notifications.c.id < after)
        rows = conn.execute(select(notifications).where(and_(*cond)).order_by(notifications.c.id.desc())
                            .limit(size + 1)).mappings().all()
        items = [_json(r) for r in rows[:size]]
        return {"items": items, "next": items[-1]["id"] if len(rows) > size else None,
                "unread": self.unread_count(conn, user_id)}

    def unread_count(self, conn: Connection, user_id: int) -> int:
        return int(conn.execute(select(func.count()).select_from(notifications).where(
            notifications.c.user_id == user_id, notifications.c.read_at.is_(None))).scalar_one())

    def mark_read(self, conn: Connection, user_id: int, ids: Iterable[int] | None = None) -> int:
        """Mark the user's notifications read (``ids``, or all when None); returns how many changed."""
        cond = [notifications.c.user_id == user_id, notifications.c.read_at.is_(None)]
        if ids is not None:
            cond.append(notifications.c.id.in_([int(i) for i in ids]))
        return conn.execute(update(notifications).where(and_(*cond))
                            .values(read_at=self.platform.clock.now())).rowcount


def _json(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "kind": row["kind"], "title": row["title"], "body": row["body"], "link": row["link"],
            "app": row["app"], "created_at": row["created_at"].isoformat(),
            "read_at": row["read_at"].isoformat() if row["read_at"] else None}


def build_router() -> Any:
    from .web.auth import current_user, platform_of
    from .web.body import read_json

    router = APIRouter(tags=["notifications"])

    def service(request: Request) -> Notifications:
        return platform_of(request).services["notifications"]  # type: ignore[no-any-return]

    @router.get("/api/notifications")
    def list_notifications(request: Request, who: Principal = Depends(current_user), unread: bool = False,
                           after: int | None = None, size: int = 50) -> dict[str, Any]:
        if not 1 <= size <= MAX_PAGE:
            raise BadRequest(f"size is 1..{MAX_PAGE}")
        with platform_of(request).db.connect() as conn:
            return service(request).list(conn, who.id, unread=unread, after=after, size=size)

    @router.get("/api/notifications/count")
    def unread_count(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        with platform_of(request).db.connect() as conn:
            return {"unread": service(request).unread_count(conn, who.id)}

    @router.post("/api/notifications/read")
    async def mark_read(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        body = await read_json(request)
        if not isinstance(body, dict) or not (body.get("all") is True or isinstance(body.get("ids"), list)):
            raise BadRequest('send {"ids": [1, 2]} or {"all": true}')
        ids = None if body.get("all") is True else body["ids"]
        if ids is not None and not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise BadRequest("ids must be notification ids (integers)")
        with platform_of(request).db.begin() as conn:
            changed = service(request).mark_read(conn, who.id, ids)
            unread = service(request).unread_count(conn, who.id)
        return {"marked": changed, "unread": unread}

    return router


def register(hooks: Any) -> None:
    """Offer ``services["notifications"]`` and its routes (listed in ``engine.plugins.BUILTIN``)."""

    def start(platform: Any) -> None:
        platform.services["notifications"] = Notifications(platform)

    hooks.on_start.append(start)
    hooks.routers.append(lambda platform: [build_router()])
