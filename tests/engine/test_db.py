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


def test_the_wal_is_checkpointed_by_a_thread_of_the_engine_not_inside_commits(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "CHECKPOINT_SECONDS", 0.05)
    path = tmp_path / "x.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("create table t (x text)"))
        # commits leave checkpoints to the thread unless the WAL grows past the cap
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == db.WAL_AUTOCHECKPOINT_PAGES
    checkpointer = db.CHECKPOINTERS[engine]
    time.sleep(0.2)
    before = path.stat().st_size
    with engine.begin() as conn:  # about 500 pages: they reach the database file only through a checkpoint
        conn.execute(text("insert into t values (:x)"), [{"x": f"{i:06d}" * 300} for i in range(1000)])
    deadline = time.monotonic() + 5
    while path.stat().st_size < before + 400 * 4096 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert path.stat().st_size >= before + 400 * 4096, "the background checkpoint did not copy the WAL"
    assert checkpointer.checkpoints > 0
    thread = checkpointer._thread
    assert thread is not None and thread.is_alive()
    engine.dispose()  # the thread stops with the engine …
    thread.join(timeout=2)
    assert not thread.is_alive()
    with engine.begin() as conn:  # … and starts again if the engine is used again
        assert conn.execute(text("select count(*) from t")).scalar_one() == 1000
    assert checkpointer._thread is not thread and checkpointer._thread.is_alive()
    engine.dispose()


def test_in_memory_databases_get_no_checkpoint_thread() -> None:
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("select 1"))
    assert engine not in db.CHECKPOINTERS
    engine.dispose()
