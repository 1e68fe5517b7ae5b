"""Database access: one SQLAlchemy engine per platform, transactions as context managers.

SQLite gets real transactions for DDL too (the pysqlite recipe from SQLAlchemy's docs), WAL mode and a busy
timeout, so a failed publish or import leaves the file exactly as it was. Its WAL is checkpointed by a background
thread (``WalCheckpointer``) rather than inside whichever commit crosses SQLite's auto-checkpoint threshold.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from itertools import repeat
from typing import Any, Iterable, Iterator, Mapping, Sequence

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
        if database not in ("", ":memory:"):
            WalCheckpointer(engine, database)
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


#: how often the background thread checkpoints an SQLite database's WAL into the database file
CHECKPOINT_SECONDS = 1.0
#: SQLite's own auto-checkpoint (inside a commit) only once the WAL has this many pages (about 40 MB): a cap for
#: when the thread falls behind, not the normal path
WAL_AUTOCHECKPOINT_PAGES = 10_000
log = logging.getLogger("loomwork.db")
#: the checkpointer of each SQLite file engine
CHECKPOINTERS: "weakref.WeakKeyDictionary[Engine, WalCheckpointer]" = weakref.WeakKeyDictionary()


class WalCheckpointer:
    """Checkpoints an SQLite file's WAL on a thread of its own, once a second.

    By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that commit copies the WAL
    into the database and, with ``synchronous=NORMAL``, syncs both to disk, so every few hundred small
    transactions one of them costs milliseconds. Here a thread of the engine runs ``PRAGMA
    wal_checkpoint(PASSIVE)`` on its own connection every ``CHECKPOINT_SECONDS`` (a passive checkpoint never blocks
    readers or writers; the driver releases the GIL while it runs), and SQLite's own auto-checkpoint stays as a cap
    at ``WAL_AUTOCHECKPOINT_PAGES``.

    Durability is what WAL with ``synchronous=NORMAL`` gives either way: a committed transaction survives a crash
    of the process at once, and a power failure once the next checkpoint has synced the WAL — here within about a
    second, instead of after the next 1,000 pages of writes (which on an idle server could be never).

    The thread starts with the engine's first connection, stops when the engine is disposed or garbage-collected
    (it holds the engine only weakly) and starts again if a disposed engine connects again.
    """

    def __init__(self, engine: Engine, path: str) -> None:
        self.path = path
        self._engine = weakref.ref(engine)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0
        event.listen(engine, "connect", self._on_connect)
        event.listen(engine, "engine_disposed", lambda _engine: self.stop())
        CHECKPOINTERS[engine] = self

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()
        self.start()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                            name="loomwork-wal-checkpoint")
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stop.set()

    def _run(self, stop: threading.Event) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not stop.wait(CHECKPOINT_SECONDS):
                if self._engine() is None:
                    return
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # e.g. the file went away: try again at the next tick
                    log.debug("WAL checkpoint of %s skipped: %s", self.path, exc)
                    if conn is not None:
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()


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


def new_ids(conn: Connection, table: Table, count: int) -> list[int] | None:
    """``count`` new ids for ``table`` (with an ``id`` key), ascending, or None when this connection cannot hand them
    out itself. PostgreSQL draws them from the table's sequence in one round trip. SQLite's transactions hold the
    database's write lock from the start (``BEGIN IMMEDIATE`` above), so the next ids (after the largest, as SQLite
    itself would number them) are ours to give."""
    if conn.dialect.name == "sqlite" and conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        start = conn.execute(select(func.max(table.c.id))).scalar() or 0
        return list(range(start + 1, start + 1 + count))
    if conn.dialect.name == "postgresql":
        return [int(i) for i in sorted(conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": _quoted(table), "n": count}).scalars())]
    return None


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                constants: Mapping[str, Any] | None = None) -> None:
    """Insert many rows given as value tuples in the order of ``columns`` (plus ``constants``, the same for every
    row), in the caller's transaction.

    The same values reach the database as through ``conn.execute(insert(table), dicts)``: each column's SQLAlchemy
    bind processing (exact decimals, UTC date-times, JSON) is applied (once for a constant), but without SQLAlchemy's
    per-row parameter bookkeeping. SQLite gets one ``executemany`` of a statement with bound parameters; PostgreSQL
    (psycopg) streams the rows with ``COPY … FROM STDIN``, where the values travel as data, never as SQL text, and
    every constraint is checked as for an INSERT. A database error is raised as SQLAlchemy's (``IntegrityError``…)."""
    if not rows:
        return
    _insert_columns(conn, table, columns, _transposed(rows, len(columns)), len(rows), constants)


def _transposed(rows: Sequence[Sequence[Any]], width: int) -> list[Iterable[Any]]:
    data: list[Iterable[Any]] = list(zip(*rows, strict=True))  # every row as long as the first
    if len(data) != width:
        raise ValueError(f"rows of {len(data)} values for {width} columns")
    return data


def _insert_columns(conn: Connection, table: Table, columns: Sequence[str], data: list[Iterable[Any]], count: int,
                    constants: Mapping[str, Any] | None) -> None:
    """``insert_rows`` given its values column by column (``data[i]`` holds ``count`` values of ``columns[i]``)."""
    dialect = conn.dialect
    names = list(columns) + list(constants or ())
    procs = [table.c[n].type._cached_bind_processor(dialect) for n in names]
    for i, p in enumerate(procs[:len(columns)]):
        if p is not None:
            data[i] = map(p, data[i])
    for p, v in zip(procs[len(columns):], (constants or {}).values()):
        data.append(repeat(p(v) if p is not None else v, count))
    params = list(zip(*data))
    quote = dialect.identifier_preparer.quote
    target = dialect.identifier_preparer.format_table(table)
    column_list = ", ".join(quote(n) for n in names)
    if dialect.name == "postgresql" and dialect.driver == "psycopg" and conn.in_transaction():
        statement = f"COPY {target} ({column_list}) FROM STDIN"
        dbapi = dialect.loaded_dbapi
        try:
            with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
                write = copy.write_row
                for values in params:
                    write(values)
        except dbapi.Error as exc:
            raise DBAPIError.instance(statement, None, exc, dbapi.Error, dialect=dialect) from exc
        return
    mark = {"qmark": "?", "numeric": None, "named": None}.get(dialect.paramstyle, "%s")
    if mark is None:  # named styles: let SQLAlchemy bind
        conn.execute(insert(table), [dict(zip(names, values)) for values in params])
        return
    statement = f"INSERT INTO {target} ({column_list}) VALUES ({', '.join([mark] * len(names))})"
    conn.exec_driver_sql(statement, params)


def insert_many(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                constants: Mapping[str, Any] | None = None) -> list[int]:
    """Insert rows (value tuples in the order of ``columns``, plus ``constants``) into a table with an ``id`` key and
    return their new ids in the rows' order: ids from ``new_ids``, then one ``insert_rows``. Where the connection
    cannot number the rows itself, one ``INSERT … RETURNING`` executemany."""
    if not rows:
        return []
    ids = new_ids(conn, table, len(rows))
    if ids is None:
        fixed = dict(constants or {})
        result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                              [dict(zip(columns, row)) | fixed for row in rows])
        return [int(i) for i in result.scalars().all()]
    _insert_columns(conn, table, ("id", *columns), [ids, *_transposed(rows, len(columns))], len(rows), constants)
    return ids


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
