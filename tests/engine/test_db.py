"""Database plumbing: dead pooled connections are replaced transparently; reads take no SQLite write lock."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from engine import db
from engine.db import make_engine, read_only
from tests.conftest import PG_URL, _require_pg


def test_a_dead_pooled_connection_is_replaced_after_idling() -> None:
    _require_pg()
    engine = make_engine(PG_URL)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("select pg_backend_pid()")).scalar_one()
        with admin.connect() as conn:  # what a database restart does to every pooled connection
            conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
        time.sleep(db.IDLE_PING_SECONDS + 0.2)
        with engine.connect() as conn:
            assert conn.execute(text("select pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
        admin.dispose()


def test_read_only_connections_do_not_block_writers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("create table t (x integer)"))
    with read_only(engine) as reader:
        reader.execute(text("select count(*) from t")).scalar_one()
        with engine.begin() as writer:  # would wait on BEGIN IMMEDIATE if the reader held a write lock
            writer.execute(text("insert into t values (1)"))
        assert reader.execute(text("select count(*) from t")).scalar_one() == 1
    engine.dispose()


def test_writes_still_roll_back_as_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'y.db'}")
    with engine.begin() as conn:
        conn.execute(text("create table t (x integer)"))
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            conn.execute(text("insert into t values (1)"))
            raise RuntimeError("boom")
    with read_only(engine) as conn:
        assert conn.execute(text("select count(*) from t")).scalar_one() == 0
    engine.dispose()
