"""One registry of settings: name, default, help. Read from the environment with the ``LOOMWORK_`` prefix.

``docs/settings.md`` documents every entry (a test checks it).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

PREFIX = "LOOMWORK_"


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "sqlite:///var/loomwork.db",
            "SQLAlchemy URL of the database. SQLite file by default; PostgreSQL as postgresql+psycopg://user@host/db."),
    Setting("db_pool_size", 10, "PostgreSQL connections each server process keeps open (SQLAlchemy pool_size).", int),
    Setting("db_max_overflow", 20, "Extra PostgreSQL connections a process may open at peaks, closed when returned.", int),
    Setting("apps_dir", "app_definitions", "Folder holding one sub-folder per app; each is loaded and published at start."),
    Setting("var_dir", "var", "Folder for the SQLite database, the generated secret key and local state."),
    Setting("attachments_dir", "var/attachments", "Folder where uploaded files are stored (outside the web root)."),
    Setting("secret_key", "", "Key signing session cookies and CSRF tokens. Generated into var/secret_key when empty."),
    Setting("debug", False, "Show internal error details. Never on in production.", _bool),
    Setting("timezone", "Asia/Shanghai", "Default time zone for dates, TODAY() and report buckets; apps may set their own."),
    Setting("session_max_age", 8 * 3600, "Seconds a browser session stays valid without activity.", int),
    Setting("max_upload_bytes", 20 * 1024 * 1024, "Largest attachment accepted, in bytes.", int),
    Setting("max_request_bytes", 2 * 1024 * 1024, "Largest JSON request body accepted, in bytes.", int),
    Setting("login_attempts", 10, "Failed logins allowed per username and address in 15 minutes before refusal.", int),
    Setting("cookie_secure", False, "Mark session cookies Secure (set behind TLS).", _bool),
    Setting("page_size_max", 500, "Largest page a list request may ask for.", int),
    Setting("scheduler_interval", 30.0, "Seconds between runs of the periodic jobs (flow timers, reminders) in each "
            "server process; 0 turns the background scheduler off (run `loomwork jobs run` from cron instead).", float),
    Setting("apps_reload_seconds", 10.0, "Seconds between the apps job's looks in each server process: it serves "
            "versions other processes published and, when the apps folder is the top of a git repository, publishes "
            "the app folders a new commit changed (committed content only). 0 turns the job off.", float),
    Setting("webhook_allow_hosts", "", "Comma-separated webhook hosts that may resolve to private, loopback or other "
            "internal addresses (refused otherwise, at load and at delivery)."),
    Setting("webhook_secret", "", "Base secret of the webhook signatures (HMAC-SHA256, one derived secret per app; "
            "`loomwork outbox secret APP` prints it). Derived from the secret key when empty."),
    Setting("webhook_max_attempts", 8, "Delivery attempts of an outbox message (webhook or mail) before it is dead "
            "(listed for admins, replayable).", int),
    Setting("webhook_backoff", 30.0, "Seconds before the second delivery attempt of an outbox message (webhook or "
            "mail); each later wait doubles.", float),
    Setting("webhook_timeout", 10.0, "Seconds a webhook receiver may take to answer.", float),
    Setting("smtp_url", "", "SMTP server that sends notification mails, as smtp://user:password@host:port "
            "(user and password percent-encoded, both optional; port 587 when left out, 465 for smtps://). Mail is "
            "off when empty; in-app notifications are always on."),
    Setting("smtp_security", "starttls", "How the SMTP connection is protected: starttls (upgrade, refuse a server "
            "that cannot), ssl (TLS from the first byte, also chosen by smtps://) or none (plain text; only for a "
            "relay on this machine or a trusted network)."),
    Setting("smtp_timeout", 10.0, "Seconds the SMTP server may take to answer each step.", float),
    Setting("mail_from", "", "Sender of notification mails, e.g. Loomwork <loomwork@example.com>. Required when "
            "LOOMWORK_SMTP_URL is set."),
    Setting("public_url", "", "Address the portal is reached at, e.g. https://loomwork.example.com; links in mails "
            "start with it (mails carry the bare path when empty)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one platform instance. Build with ``Settings.from_env(overrides)``."""

    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for s in SETTINGS:
            raw = env.get(s.env)
            values[s.name] = s.parse(raw) if raw not in (None, "") else s.default
        for key, value in (overrides or {}).items():
            if key not in _BY_NAME:
                raise KeyError(f"unknown setting {key!r}")
            values[key] = value
        return cls(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"unknown setting {name!r}") from None

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in ``var_dir/secret_key``."""
        if self.values["secret_key"]:
            return str(self.values["secret_key"])
        path = Path(self.values["var_dir"]) / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
