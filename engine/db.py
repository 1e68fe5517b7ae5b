"""Database access: one SQLAlchemy engine per platform, transactions as context managers.

SQLite gets real transactions for DDL too (the pysqlite recipe from SQLAlchemy's docs), WAL mode and a busy
timeout, so a failed publish or import leaves the file exactly as it was.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool


def make_engine(url: str, *, echo: bool = False, schema: str | None = None, pool_size: int = 10,
                max_overflow: int = 20) -> Engine:
    """Create the engine for ``url``; prepares the SQLite folder and pragmas.

    ``schema`` (PostgreSQL only) puts every table in that schema via the connection's search_path;
    ``pool_size`` and ``max_overflow`` size its connection pool (per process).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if database in ("", ":memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, **kwargs)
        _sqlite_transactions(engine, in_memory=database in ("", ":memory:"))
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow,
                           connect_args=connect_args)
    _ping_when_idle(engine)
    return engine


#: a pooled connection idle for longer than this is tested before use
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling without a round trip on every checkout (SQLAlchemy's ``pool_pre_ping``):
    a connection back in the pool for more than a second is pinged first; a dead one is replaced transparently.
    So after a database restart requests succeed again at once, and a busy server pays no ping per request."""
    import time

    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["lw_checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        idle_since = record.info.get("lw_checked_in")
        if idle_since is not None and time.monotonic() - idle_since <= IDLE_PING_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()
        except Exception as exc:  # any failure: the pool discards this connection and checks out another
            raise DisconnectionError() from exc


def _sqlite_transactions(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, so DDL is transactional too
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            # on the driver's cursor (every transaction begins here), its errors as SQLAlchemy's
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error
            finally:
                cursor.close()


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into a table with an ``id`` key and return their new ids in the rows' order, in one batched
    statement. PostgreSQL draws them from the table's sequence first. SQLite's transactions hold the database's
    write lock from the start (``BEGIN IMMEDIATE`` above), so the next ids (after the largest, as SQLite itself would
    number them) are ours to give. Either way the rows go in with one executemany of a single cached statement."""
    if not rows:
        return []
    if conn.dialect.name == "sqlite" and conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        start = conn.execute(select(func.max(table.c.id))).scalar() or 0
        ids = list(range(start + 1, start + 1 + len(rows)))
        conn.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids)])
        return ids
    if conn.dialect.name == "postgresql":  # ids drawn from the table's sequence in one round trip, then one
        # executemany (psycopg pipelines it) instead of a multi-row VALUES … RETURNING that psycopg re-parses per batch
        ids = sorted(conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                                  {"t": _quoted(table), "n": len(rows)}).scalars())
        conn.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids)])
        return [int(i) for i in ids]
    result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in result.scalars().all()]


def _quoted(table: Table) -> str:
    parts = [table.schema, table.name] if table.schema else [table.name]
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A connection for a few independent reads: no transaction round trips, no write lock on SQLite."""
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One unit of work: commits on success, rolls back everything on any exception."""
    with engine.begin() as conn:
        yield conn
