"""The outbox: external calls (webhooks, mails) written in the transaction of the change that causes them,
delivered later.

A message exists exactly when its change committed. The ``outbox`` scheduler job delivers due messages: a JSON
POST signed with HMAC-SHA256 (``X-Loomwork-Signature: sha256=<hex>`` over ``<timestamp>.<body>``, the timestamp in
``X-Loomwork-Timestamp``) with the app's webhook secret. A failure is retried with exponential backoff
(``webhook_backoff`` seconds, doubled each attempt); after ``webhook_max_attempts`` the message is dead: admins list
it (``GET /api/admin/outbox``, ``loomwork outbox list``) and replay it (``POST /api/admin/outbox/{id}/replay``,
``loomwork outbox replay ID``).

A message's ``kind`` is ``webhook`` or ``mail``. A mail message (``url`` ``mailto:ADDRESS``, the payload holding the
rendered subject, text and HTML; see ``engine.mail``) is sent through the SMTP server of ``LOOMWORK_SMTP_URL`` with
the same attempts, backoff and dead letters; a 5xx refusal (unknown recipient, rejected sender) is dead at once.

SSRF guard: the host is resolved and every address must be public (not private, loopback, link-local, multicast,
reserved or unspecified) unless the host is listed in ``webhook_allow_hosts``. The check runs at delivery time and
the request goes to the address that was checked (the URL's host is kept for the Host header and TLS), so a DNS
answer changing between check and connect (rebinding) cannot reach an internal address.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request
from sqlalchemy import JSON, Column, Connection, Index, Integer, MetaData, String, Table, Text, insert, select, update

from .errors import BadRequest, NotFound
from .mail import MailConfig, PermanentFailure, build_message, send as send_mail
from .permissions import Principal
from .tables import Id, UtcDateTime

log = logging.getLogger("loomwork.outbox")

metadata = MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s", "pk": "pk_%(table_name)s"})

outbox = Table(
    "lw_outbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    #: what wrote it, e.g. "automation:notify_finance"
    Column("source", String(100), nullable=False),
    #: webhook | mail
    Column("kind", String(16), nullable=False, server_default="webhook"),
    Column("url", String(2000), nullable=False),
    Column("payload", JSON, nullable=False),
    #: pending | delivered | dead
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Index("ix_lw_outbox_due", "status", "next_attempt_at"),
)

SIGNATURE_HEADER = "X-Loomwork-Signature"
TIMESTAMP_HEADER = "X-Loomwork-Timestamp"
#: Most messages one run of the delivery job sends.
BATCH = 50
#: Longest response body kept as the error of a failed attempt.
MAX_ERROR = 500


class UnsafeAddress(Exception):
    """A webhook host that resolves to an address the SSRF guard refuses."""


def parse_hosts(text: str) -> frozenset[str]:
    """``"127.0.0.1, hooks.internal"`` → the allow-listed hosts (lower case)."""
    return frozenset(h.strip().lower() for h in str(text or "").split(",") if h.strip())


def forbidden_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address may not be called (private, loopback …), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "shared (carrier-grade NAT)"
    return None


def literal_problem(url: str, allow: frozenset[str]) -> str | None:
    """A load-time check: a URL that is not http(s), or names a refused IP address literally (not allow-listed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "a webhook URL is http:// or https:// with a host"
    host = parts.hostname.lower()
    if host in allow:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return f"host {host} is this machine (loopback); allow-list it in LOOMWORK_WEBHOOK_ALLOW_HOSTS to call it"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    why = forbidden_address(ip)
    if why:
        return f"address {host} is {why}; allow-list it in LOOMWORK_WEBHOOK_ALLOW_HOSTS to call it"
    return None


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def check_destination(url: str, allow: frozenset[str], resolve: Resolver = system_resolver) -> str:
    """Resolve the URL's host and return the address to connect to; raise ``UnsafeAddress`` when refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress("only http:// and https:// URLs with a host are called")
    host = parts.hostname.lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [host] if _is_ip(host) else resolve(host, port)
    except OSError as exc:
        raise UnsafeAddress(f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise UnsafeAddress(f"{host} has no address")
    if host not in allow:
        for address in addresses:
            why = forbidden_address(ipaddress.ip_address(address.split("%", 1)[0]))
            if why:
                raise UnsafeAddress(f"{host} resolves to {address}, a {why} address; refused (allow-list the host "
                                    "in LOOMWORK_WEBHOOK_ALLOW_HOSTS if it is meant)")
    return addresses[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def app_secret(platform: Any, app: str) -> str:
    """The app's webhook secret: derived from the platform's secret key, stable across restarts
    (``loomwork outbox secret APP`` prints it for the receiving side)."""
    base = str(platform.settings.webhook_secret or platform.settings.resolved_secret_key())
    return hmac.new(base.encode(), f"webhook:{app}".encode(), hashlib.sha256).hexdigest()


class Outbox:
    """The outbox service (``platform.services["outbox"]``)."""

    def __init__(self, platform: Any, resolve: Resolver = system_resolver) -> None:
        self.platform = platform
        self.resolve = resolve
        #: the SMTP server's settings, or None when mail is off
        self.mail: MailConfig | None = MailConfig.from_settings(platform.settings)

    @property
    def allow(self) -> frozenset[str]:
        return parse_hosts(self.platform.settings.webhook_allow_hosts)

    def enqueue(self, conn: Connection, *, app: str, source: str, url: str, payload: Mapping[str, Any],
                kind: str = "webhook") -> int:
        """Write one message in the caller's transaction; it is sent once that transaction commits."""
        now = self.platform.clock.now()
        body = json.loads(json.dumps(payload, default=_jsonable, ensure_ascii=False))
        return int(conn.execute(insert(outbox).values(
            app=app, source=source[:100], kind=kind, url=url, payload=body, status="pending", attempts=0,
            next_attempt_at=now, last_error=None, last_status=None, created_at=now,
            delivered_at=None)).inserted_primary_key[0])

    def enqueue_mails(self, conn: Connection, messages: list[dict[str, Any]]) -> int:
        """Write mail messages (each: app, source, to, subject, text, html) in the caller's transaction; nothing
        when mail is off. Returns how many were written."""
        if self.mail is None or not messages:
            return 0
        now = self.platform.clock.now()
        conn.execute(insert(outbox), [
            {"app": m.get("app") or "", "source": str(m.get("source") or "notification")[:100], "kind": "mail",
             "url": f"mailto:{m['to']}"[:2000],
             "payload": {"to": m["to"], "subject": m["subject"], "text": m["text"], "html": m["html"]},
             "status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": None, "last_status": None,
             "created_at": now, "delivered_at": None} for m in messages])
        return len(messages)

    # -- delivery ------------------------------------------------------------------------------------------------
    def deliver_due(self, limit: int = BATCH) -> int:
        """Send every due message (one transaction each, the row locked while it is sent); returns how many were
        attempted."""
        handled = 0
        while handled < limit:
            with self.platform.db.begin() as conn:
                query = (select(outbox).where(outbox.c.status == "pending",
                                              outbox.c.next_attempt_at <= self.platform.clock.now())
                         .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(1))
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                row = conn.execute(query).mappings().first()
                if row is None:
                    return handled
                self._attempt(conn, row)
            handled += 1
        return handled

    def _attempt(self, conn: Connection, row: Mapping[str, Any]) -> None:
        settings = self.platform.settings
        now = self.platform.clock.now()
        attempts = row["attempts"] + 1
        status_code, error, permanent = None, None, False
        try:
            if row.get("kind") == "mail":
                self._send_mail(row)
            else:
                address = check_destination(row["url"], self.allow, self.resolve)
                status_code = self._post(row, address)
                if not 200 <= status_code < 300:
                    error = f"answered HTTP {status_code}"
        except UnsafeAddress as exc:
            error = f"refused: {exc}"
        except PermanentFailure as exc:
            error, permanent = f"refused for good: {exc}"[:MAX_ERROR], True
        except Exception as exc:  # noqa: BLE001 - any transport failure is an attempt to retry
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        if error is None:
            values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "last_error": None}
        elif permanent or attempts >= int(settings.webhook_max_attempts):
            values = {"status": "dead", "last_error": error}
            log.warning("outbox message %s is dead after %d attempts: %s", row["id"], attempts, error)
        else:
            delay = float(settings.webhook_backoff) * (2 ** (attempts - 1))
            values = {"next_attempt_at": now + timedelta(seconds=delay), "last_error": error}
        conn.execute(update(outbox).where(outbox.c.id == row["id"])
                     .values(attempts=attempts, last_status=status_code, **values))

    def _send_mail(self, row: Mapping[str, Any]) -> None:
        if self.mail is None:
            raise RuntimeError("mail is off (LOOMWORK_SMTP_URL is not set); set it and replay the message")
        send_mail(self.mail, build_message(self.mail, row["payload"], date=self.platform.clock.now(),
                                           message_id=int(row["id"])))

    def _post(self, row: Mapping[str, Any], address: str) -> int:
        import httpx

        parts = urlsplit(row["url"])
        host = parts.hostname or ""
        netloc = (f"[{address}]" if ":" in address else address) + (f":{parts.port}" if parts.port else "")
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        body = json.dumps(row["payload"], ensure_ascii=False, separators=(",", ":")).encode()
        stamp = str(int(self.platform.clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Loomwork-Webhook/1",
            "Host": parts.netloc.rsplit("@", 1)[-1],
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(app_secret(self.platform, row["app"]), stamp, body),
            "X-Loomwork-Delivery": str(row["id"]),
        }
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        timeout = float(self.platform.settings.webhook_timeout)
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(pinned, content=body, headers=headers, extensions=extensions)
        return int(response.status_code)

    # -- admin ---------------------------------------------------------------------------------------------------
    def list(self, conn: Connection, *, status: str | None = None, app: str | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.id.desc()).limit(max(1, min(limit, 1000)))
        if status:
            query = query.where(outbox.c.status == status)
        if app:
            query = query.where(outbox.c.app == app)
        return [_json(r) for r in conn.execute(query).mappings()]

    def replay(self, conn: Connection, message_id: int) -> dict[str, Any]:
        """Send a message again (a dead or delivered one): its attempts start over, due now."""
        row = conn.execute(select(outbox).where(outbox.c.id == message_id)).mappings().first()
        if row is None:
            raise NotFound(f"no outbox message {message_id}")
        if row["status"] == "pending":
            raise BadRequest(f"outbox message {message_id} is still pending (next attempt "
                             f"{row['next_attempt_at'].isoformat()})")
        conn.execute(update(outbox).where(outbox.c.id == message_id).values(
            status="pending", attempts=0, next_attempt_at=self.platform.clock.now(), delivered_at=None))
        return _json(conn.execute(select(outbox).where(outbox.c.id == message_id)).mappings().one())


def _jsonable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):  # a whole number written without decimals is a JSON integer; money keeps "12.50"
        return int(value) if value.as_tuple().exponent == 0 else str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _json(row: Mapping[str, Any]) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": row["id"], "app": row["app"], "source": row["source"], "kind": row["kind"], "url": row["url"],
            "status": row["status"],
            "attempts": row["attempts"], "next_attempt_at": stamp(row["next_attempt_at"]),
            "last_error": row["last_error"], "last_status": row["last_status"],
            "created_at": stamp(row["created_at"]), "delivered_at": stamp(row["delivered_at"]),
            "payload": row["payload"]}


def build_router() -> Any:
    from .web.auth import admin_user, platform_of

    router = APIRouter(tags=["outbox"])

    @router.get("/api/admin/outbox")
    def list_messages(request: Request, who: Principal = Depends(admin_user), status: str | None = None,
                      app: str | None = None, limit: int = 100) -> dict[str, Any]:
        if status is not None and status not in ("pending", "delivered", "dead"):
            raise BadRequest("status is pending, delivered or dead")
        platform = platform_of(request)
        with platform.db.connect() as conn:
            return {"items": platform.services["outbox"].list(conn, status=status, app=app, limit=limit)}

    @router.post("/api/admin/outbox/{message_id}/replay")
    def replay(message_id: int, request: Request, who: Principal = Depends(admin_user)) -> dict[str, Any]:
        platform = platform_of(request)
        with platform.db.begin() as conn:
            return platform.services["outbox"].replay(conn, message_id)  # type: ignore[no-any-return]

    return router


def _cmd_list(args: Any) -> int:
    from .cli import platform_from_args

    platform = platform_from_args(args)
    with platform.db.connect() as conn:
        items = platform.services["outbox"].list(conn, status=args.status, app=args.app, limit=args.limit)
    for m in items:
        print(f"{m['id']:>6}  {m['status']:<9} {m['attempts']:>2} tries  {m['app']:<12} {m['url']}"
              + (f"  — {m['last_error']}" if m["last_error"] else ""))
    return 0


def _cmd_replay(args: Any) -> int:
    from .cli import platform_from_args

    platform = platform_from_args(args)
    with platform.db.begin() as conn:
        for message_id in args.ids:
            platform.services["outbox"].replay(conn, message_id)
            print(f"message {message_id} is due again")
    return 0


def _cmd_secret(args: Any) -> int:
    from .cli import platform_from_args

    print(app_secret(platform_from_args(args), args.app))
    return 0


def add_commands(sub: Any) -> None:
    box = sub.add_parser("outbox", help="webhook and mail messages waiting, delivered and dead").add_subparsers(
        dest="outbox_command", required=True)
    p = box.add_parser("list", help="list messages, newest first")
    p.add_argument("--status", choices=["pending", "delivered", "dead"])
    p.add_argument("--app")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_list)
    p = box.add_parser("replay", help="send dead (or delivered) messages again")
    p.add_argument("ids", type=int, nargs="+")
    p.set_defaults(func=_cmd_replay)
    p = box.add_parser("secret", help="print an app's webhook signing secret (for the receiving side)")
    p.add_argument("app")
    p.set_defaults(func=_cmd_secret)


def register(hooks: Any) -> None:
    """Offer ``services["outbox"]``, its admin routes, the ``outbox`` job and ``loomwork outbox`` (listed in
    ``engine.plugins.BUILTIN``)."""

    def start(platform: Any) -> None:
        platform.services["outbox"] = Outbox(platform)

    def job(platform: Any) -> int:
        service = platform.services.get("outbox")
        return service.deliver_due() if service is not None else 0

    hooks.on_start.append(start)
    hooks.routers.append(lambda platform: [build_router()])
    hooks.jobs.append(("outbox", job))
    hooks.cli.append(add_commands)
