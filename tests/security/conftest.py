"""Fixtures of the security suite (helpers in ``seclib.py``).

Publishing three apps takes a second or two, so each test module shares one platform per database (module
scope): tests create their own records and assert on them, never on global counts.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from engine.clock import FrozenClock
from engine.db import make_engine
from engine.platform import Platform
from tests.conftest import PG_URL, Api, _require_pg
from tests.security.seclib import Browser, build_platform


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sec_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sec') / 'sec.db'}"
        engine = make_engine(url)
        yield url, engine
        engine.dispose()
        return
    _require_pg()
    schema = "s_" + uuid.uuid4().hex[:12]
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


@pytest.fixture(scope="module")
def sec_platform(sec_database, tmp_path_factory) -> Platform:  # type: ignore[no-untyped-def]
    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))
    return build_platform(sec_database, tmp_path_factory.mktemp("secvar"), clock)


@pytest.fixture(scope="module")
def sec(sec_platform: Platform) -> Api:
    return Api(sec_platform)


@pytest.fixture
def browser(sec_platform: Platform):  # type: ignore[no-untyped-def]
    """A factory of fresh browser-like clients (each with its own cookie jar)."""
    return lambda: Browser(sec_platform)
