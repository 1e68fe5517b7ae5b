"""``loomwork doctor``: checks a deployment's configuration before it serves anyone.

Each check answers ok, warn or fail with one line saying what it found and what to do; the command exits 1 when
any check fails (``--strict``: when any warns). The checks read the same settings ``loomwork serve`` reads and
never change anything (no migration, no generated secret key, no file left behind).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from .settings import Settings

OK, WARN, FAIL = "ok", "warn", "fail"
#: keys seen in examples, tutorials and test set-ups: never good enough for a deployment
WEAK_KEYS = frozenset({"secret", "changeme", "change-me", "change_me", "development", "dev", "test", "testing",
                       "test-secret-key", "insecure", "default", "password", "loomwork", "secret-key", "secret_key",
                       "please-change-me", "xxx"})
MIN_KEY_LENGTH = 32
#: folders a web server commonly serves files from as they are
COMMON_WEB_ROOTS = ("/var/www", "/usr/share/nginx/html", "/srv/www", "/srv/http", "/usr/share/caddy",
                    "/var/lib/nginx/html")
PACKAGES = ("engine", "forms_engine", "flow_engine", "rules_engine", "report_engine", "designer_ui")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "message": self.message}


def _is_postgres(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "postgresql"


def check_secret_key(settings: Settings) -> Check:
    key = str(settings.secret_key or "")
    if not key:
        generated = Path(settings.var_dir) / "secret_key"
        where = f"the key generated into {generated}" if generated.exists() else f"a key generated into {generated} at first start"
        message = (f"LOOMWORK_SECRET_KEY is not set; {where} signs sessions. Set LOOMWORK_SECRET_KEY (e.g. "
                   f"`python -c 'import secrets; print(secrets.token_urlsafe(48))'`) so every process and host shares one key")
        return Check("secret key", FAIL if _is_postgres(settings) else WARN, message)
    if key.strip().lower() in WEAK_KEYS or len(set(key)) < 8:
        return Check("secret key", FAIL, "LOOMWORK_SECRET_KEY is a well-known default; generate a random one")
    if len(key) < MIN_KEY_LENGTH:
        return Check("secret key", FAIL, f"LOOMWORK_SECRET_KEY has {len(key)} characters; use at least {MIN_KEY_LENGTH} random ones")
    return Check("secret key", OK, f"set ({len(key)} characters)")


def check_debug(settings: Settings) -> Check:
    if settings.debug:
        return Check("debug", FAIL, "LOOMWORK_DEBUG is on: error details reach the browser. Unset it in production")
    return Check("debug", OK, "off")


def check_database_kind(settings: Settings) -> Check:
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        return Check("database kind", WARN, f"SQLite ({shown}): fine for trying out and one process; use PostgreSQL "
                                            f"for production and several workers (docs/deploy.md)")
    if url.get_backend_name() == "postgresql":
        return Check("database kind", OK, f"PostgreSQL ({shown})")
    return Check("database kind", WARN, f"{url.get_backend_name()} is not a tested database; use PostgreSQL")


def check_database(engine: Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
            version = ""
            if engine.dialect.name == "postgresql":
                version = " — " + str(conn.execute(text("show server_version")).scalar())
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the finding
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Check("database reachable", FAIL, f"cannot connect: {first}")
    return Check("database reachable", OK, f"answers{version}")


def check_migrations(engine: Engine) -> Check:
    from .migrate import current, heads

    try:
        have = set(current(engine))
    except Exception as exc:  # noqa: BLE001
        return Check("migrations", FAIL, f"cannot read the migration state: {str(exc).splitlines()[0]}")
    want = set(heads())
    if not have:
        return Check("migrations", FAIL, "the database has no platform tables yet; run `loomwork db upgrade`")
    if have == want:
        return Check("migrations", OK, f"current on every head ({', '.join(sorted(want))})")
    from alembic.script import ScriptDirectory

    from .migrate import SCRIPTS

    script = ScriptDirectory(str(SCRIPTS))
    behind = sorted(h for h in want if h not in have)
    unknown = sorted(h for h in have if script.get_revision(h) is None) if have else []
    if unknown:
        return Check("migrations", FAIL, f"the database is at revision(s) {', '.join(unknown)} that this code does not "
                                         f"know: it was upgraded by a newer release")
    return Check("migrations", FAIL, f"not current: head(s) {', '.join(behind)} not applied; run `loomwork db upgrade`")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def web_roots(extra: Iterable[str] = ()) -> list[Path]:
    """Folders served as they are: the given ones, common web-server roots, and the packages' static folders."""
    roots = [Path(p) for p in extra] + [Path(p) for p in COMMON_WEB_ROOTS]
    here = Path(__file__).resolve().parent.parent
    for package in PACKAGES:
        base = here / package
        if base.is_dir():
            roots.extend(p for p in base.rglob("static") if p.is_dir())
    return roots


def check_attachments(settings: Settings, extra_roots: Iterable[str] = ()) -> Check:
    folder = Path(settings.attachments_dir)
    resolved = folder.resolve()
    for root in web_roots(extra_roots):
        root = root.resolve()
        if _inside(resolved, root) or _inside(root, resolved):
            return Check("attachments", FAIL, f"{folder} is inside the web root {root}: uploaded files could be "
                                              f"fetched without a rights check. Move LOOMWORK_ATTACHMENTS_DIR out")
    probe_dir = resolved
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        return Check("attachments", FAIL, f"{folder}: {probe_dir} is not a folder")
    if probe_dir != resolved:
        if not os.access(probe_dir, os.W_OK | os.X_OK):
            return Check("attachments", FAIL, f"{folder} does not exist and {probe_dir} is not writable")
        return Check("attachments", WARN, f"{folder} does not exist yet (created at the first upload); create it "
                                          f"with mode 700 for the service user")
    probe = resolved / f".doctor-{secrets.token_hex(6)}"
    try:
        probe.write_bytes(b"probe")
        probe.unlink()
    except OSError as exc:
        return Check("attachments", FAIL, f"{folder} is not writable: {exc.strerror}")
    mode = resolved.stat().st_mode & 0o777
    if mode & 0o007:
        return Check("attachments", WARN, f"{folder} is writable but other users of the machine may read it "
                                          f"(mode {mode:o}); chmod 700")
    return Check("attachments", OK, f"{resolved} writable, outside every web root")


def check_cookie(settings: Settings) -> Check:
    if not settings.cookie_secure:
        return Check("secure cookies", WARN, "LOOMWORK_COOKIE_SECURE is off: set it to true when served over HTTPS "
                                             "(it always should be, see docs/deploy.md)")
    return Check("secure cookies", OK, "session cookies are marked Secure")


def check_apps(settings: Settings, engine: Engine) -> Check:
    """Every published app still loads under this code (one that does not is silently kept out of service)."""
    from .platform import Platform

    try:
        platform = Platform(settings, engine=engine)
        platform.activate_published()
        from sqlalchemy import select

        from .tables import app_versions

        with engine.connect() as conn:
            published = {r[0] for r in conn.execute(select(app_versions.c.app).distinct())}
    except Exception as exc:  # noqa: BLE001
        return Check("apps", FAIL, f"cannot load the published apps: {str(exc).splitlines()[0]}")
    missing = sorted(published - set(platform.apps))
    if missing:
        return Check("apps", FAIL, f"published app(s) {', '.join(missing)} do not load under this code; "
                                   f"run `loomwork check` on their folders and publish a fixed version")
    if not published:
        return Check("apps", WARN, "no app is published yet")
    return Check("apps", OK, ", ".join(f"{a.key} v{a.version}" for a in sorted(platform.apps.values(), key=lambda a: a.key)))


def run_checks(settings: Settings, *, web_root: Iterable[str] = (), engine: Engine | None = None) -> list[Check]:
    from .db import make_engine

    checks = [check_secret_key(settings), check_debug(settings), check_cookie(settings),
              check_database_kind(settings), check_attachments(settings, web_root)]
    own = engine is None
    if engine is None:
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
            checks.append(Check("database reachable", FAIL, f"no database file at {url.database}; run `loomwork db upgrade`"))
            return checks
        if url.get_backend_name() == "postgresql":
            from sqlalchemy import create_engine

            engine = create_engine(settings.database_url, connect_args={"connect_timeout": 5})
        else:
            engine = make_engine(settings.database_url)
    try:
        reach = check_database(engine)
        checks.append(reach)
        if reach.status == OK:
            checks.append(check_migrations(engine))
            if checks[-1].status == OK:
                checks.append(check_apps(settings, engine))
    finally:
        if own:
            engine.dispose()
    return checks


def exit_code(checks: list[Check], strict: bool = False) -> int:
    bad = {FAIL, WARN} if strict else {FAIL}
    return 1 if any(c.status in bad for c in checks) else 0


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{c.status.upper():<4}  {c.name:<{width}}  {c.message}" for c in checks]
    counts = {s: sum(c.status == s for c in checks) for s in (OK, WARN, FAIL)}
    lines.append(f"{counts[OK]} ok, {counts[WARN]} warnings, {counts[FAIL]} failed")
    return "\n".join(lines) + "\n"


def cmd_doctor(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if getattr(args, "apps_dir", None):
        overrides["apps_dir"] = args.apps_dir
    checks = run_checks(Settings.from_env(overrides), web_root=args.web_root or ())
    if args.format == "json":
        print(json.dumps({"ok": exit_code(checks, args.strict) == 0, "checks": [c.to_json() for c in checks]},
                         ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render(checks))
    return exit_code(checks, args.strict)


def add_command(sub: Any, func: Callable[[argparse.Namespace], int] = cmd_doctor) -> None:
    p = sub.add_parser("doctor", help="check this deployment's configuration; exit 1 when a check fails")
    p.add_argument("--web-root", action="append", metavar="PATH",
                   help="a folder your web server serves as is (checked to hold no attachments); repeatable")
    p.add_argument("--strict", action="store_true", help="also exit 1 on warnings")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=func)
