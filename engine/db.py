"""Database access: one SQLAlchemy engine per platform, transactions as context managers.

SQLite gets real transactions for DDL too (the pysqlite recipe from SQLAlchemy's docs), WAL mode and a busy
timeout, so a failed publish or import leaves the file exactly as it was.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool


def make_engine(url: str, *, echo: bool = False, schema: str | None = None) -> Engine:
    """Create the engine for ``url``; prepares the SQLite folder and pragmas.

    ``schema`` (PostgreSQL only) puts every table in that schema via the connection's search_path.
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
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args)


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
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One unit of work: commits on success, rolls back everything on any exception."""
    with engine.begin() as conn:
        yield conn
