"""Shared fixtures: a platform on SQLite and on PostgreSQL, a test client, and principals.

PostgreSQL is found through LOOMWORK_TEST_DATABASE_URL or the local server (127.0.0.1:5432, database test).
Each test gets its own schema there, dropped afterwards. Locally an absent PostgreSQL skips those tests with a
visible reason; under CI (CI=true) it is an error.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, text

from engine.clock import FrozenClock
from engine.db import make_engine
from engine.identity import create_token, sync_org
from engine.platform import Platform
from engine.settings import Settings

TESTS = Path(__file__).parent
APPS = TESTS / "apps"
PG_URL = os.environ.get("LOOMWORK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_ok: bool | None = None


def pg_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _pg_ok = True
        except Exception:  # noqa: BLE001 - any failure means "not available"
            _pg_ok = False
    return _pg_ok


def _require_pg() -> None:
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and does not answer at {PG_URL}")
        pytest.skip(f"PostgreSQL not available at {PG_URL} (set LOOMWORK_TEST_DATABASE_URL)")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        _require_pg()
    return str(request.param)


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[tuple[str, object]]:
    """(url, engine) of an empty database of the parametrised kind."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        engine = make_engine(url)
        yield url, engine
        engine.dispose()
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    try:
        yield PG_URL, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """Keep each phase's report on the test item, so a browser fixture can screenshot a failed test."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium (Debian's, through Playwright), one per test module."""
    from tests.browser import chromium_browser

    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))  # Monday 09:30 in Shanghai


def make_platform(database: tuple[str, object], tmp_path: Path, clock: FrozenClock, apps_dir: Path | None = None) -> Platform:
    url, engine = database
    settings = Settings.from_env({"database_url": url, "var_dir": str(tmp_path / "var"),
                                  "attachments_dir": str(tmp_path / "var" / "files"),
                                  "apps_dir": str(apps_dir or APPS), "secret_key": "test-secret-key"})
    platform = Platform(settings, clock=clock, engine=engine)  # type: ignore[arg-type]
    platform.upgrade_db()
    return platform


@pytest.fixture
def platform(database: tuple[str, object], tmp_path: Path, clock: FrozenClock) -> Platform:
    """A platform with the purchasing test app published and its demo organisation loaded."""
    p = make_platform(database, tmp_path, clock)
    p.publish_folder(APPS / "purchasing", "tester", "first")
    with p.db.begin() as conn:
        sync_org(conn, p.apps["purchasing"].spec.org, clock.now(), with_users=True)
    return p


class Api:
    """A test client that acts as a named user through bearer tokens."""

    def __init__(self, platform: Platform) -> None:
        from fastapi.testclient import TestClient

        from engine.web.app import create_app

        self.platform = platform
        self.client = TestClient(create_app(platform), raise_server_exceptions=False)
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            from sqlalchemy import select

            from engine.tables import users

            with self.platform.db.begin() as conn:
                user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one()
                self._tokens[username] = create_token(conn, user_id, "test", self.platform.clock.now())[1]
        return self._tokens[username]

    def as_(self, username: str | None) -> "_As":
        return _As(self, username)


class _As:
    def __init__(self, api: Api, username: str | None) -> None:
        self.api, self.username = api, username

    def request(self, method: str, url: str, **kwargs):  # type: ignore[no-untyped-def]
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.username:
            headers["Authorization"] = f"Bearer {self.api.token(self.username)}"
        return self.api.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.request("DELETE", url, **kw)


@pytest.fixture
def api(platform: Platform) -> Api:
    return Api(platform)
