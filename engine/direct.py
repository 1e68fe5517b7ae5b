"""Hot statements run on the driver's cursor, below SQLAlchemy's execution path.

A ``Direct`` wraps a Core statement (an insert, update or delete written with SQLAlchemy as usual). It is compiled
once per dialect; each call then only orders the parameters, applies the columns' bind processors (the same ones
SQLAlchemy would: JSON serialisation, UTC datetimes, …) and runs the compiled text on the DBAPI cursor of the
connection's current transaction. That skips the per-call cache lookup, parameter construction, event dispatch
and result set-up of ``Connection.execute`` (about 90 µs CPU per single-row statement on SQLite against about
30 µs here), for statements run at every step of a flow, every audit entry, every notification.

The SQL text is only ever the compiled statement: values go as bound parameters, never into the text. The
statement runs in the caller's transaction (begun first if the connection has none, as SQLAlchemy's autobegin
would), so it commits or rolls back with everything else; driver errors come out as SQLAlchemy's exceptions
(``IntegrityError``, ``OperationalError``, …), as they would from ``Connection.execute``.

Not for reads that need result processing, nor statements with expanding (``IN``) parameters: those stay with
``Connection.execute``. ``before_cursor_execute`` listeners do not see these statements.
"""
from __future__ import annotations

import operator
import weakref
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import Connection, TypeDecorator, bindparam, exc


class DirectRow(dict):  # type: ignore[type-arg]
    """A row read directly: a mapping of column key → value that also answers ``row.column``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class _Prepared:
    __slots__ = ("sql", "names", "processors", "defaults", "positional", "dialect", "columns", "_readers", "_get",
                 "_process")

    def __init__(self, statement: Any, dialect: Any, keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if compiled.post_compile_params or compiled.literal_execute_params or compiled.escaped_bind_names:
            raise ValueError("Direct statements take plain bound parameters only (no expanding IN, no escaping)")
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        names = list(compiled.positiontup) if self.positional else list(compiled.binds)
        self.names: tuple[str, ...] = tuple(names)
        found = dict(compiled._bind_processors)  # the processors SQLAlchemy itself applies to these parameters
        for name, processor in found.items():
            bind = compiled.binds.get(name)
            if bind is not None and processor is not None:
                found[name] = fast_processor(bind.type, dialect, processor)
        self.processors: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...] = tuple(
            (name, found.get(name), _none_of(found.get(name), compiled.binds.get(name))) for name in names)
        #: parameters with a value of their own in the statement (``is_(True)`` on SQLite, a ``bindparam`` with a
        #: value), used unless the call gives one
        self.defaults: dict[str, Any] = {name: compiled.binds[name].effective_value for name in names
                                         if name in compiled.binds and not compiled.binds[name].required}
        self._get = operator.itemgetter(*names) if names else None
        self._process = tuple((i, p, none) for i, (_, p, none) in enumerate(self.processors) if p is not None)
        self.dialect = dialect
        #: result columns (key, type) of a select or RETURNING, in order
        self.columns: tuple[tuple[str, Any], ...] = tuple((c.keyname, c.type) for c in compiled._result_columns)
        self._readers: dict[tuple[Any, ...], tuple[Callable[[Any], Any] | None, ...]] = {}

    def readers(self, description: Sequence[Any]) -> tuple[Callable[[Any], Any] | None, ...]:
        """The result processors SQLAlchemy would apply to these columns, for the driver's column types."""
        codes = tuple(d[1] for d in description)
        found = self._readers.get(codes)
        if found is None:
            found = self._readers[codes] = tuple(
                fast_reader(type_, self.dialect, type_._cached_result_processor(self.dialect, code))
                for (_, type_), code in zip(self.columns, codes))
        return found

    def params(self, values: Mapping[str, Any]) -> Any:
        if self.defaults:
            values = {**self.defaults, **values}
        if self._get is None:
            return () if self.positional else {}
        got = self._get(values)
        out = list(got) if len(self.names) > 1 else [got]
        for i, p, none in self._process:
            v = out[i]
            out[i] = none if v is None and none is not _CALL else p(v)
        return tuple(out) if self.positional else dict(zip(self.names, out))


_CALL = object()


def fast_processor(type_: Any, dialect: Any, processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``processor`` (what SQLAlchemy applies to a parameter of ``type_``), or an equivalent that skips its layers
    where one is known: the platform's UTC datetimes on SQLite become SQLite's datetime text in one call (the same
    text SQLAlchemy writes: the value in UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``). Anything else it was not written for
    (a ``date``, a string) goes to ``processor`` itself."""
    from engine.tables import UtcDateTime

    if dialect.name != "sqlite" or type(type_) is not UtcDateTime:
        return processor
    utc = timezone.utc
    plain = datetime

    def sqlite_utc(value: Any) -> Any:
        if type(value) is not plain:
            return processor(value)
        if value.tzinfo is None:
            text = value.isoformat(" ")
        else:
            text = value.astimezone(utc).isoformat(" ")[:-6]  # without its "+00:00"
        return text if value.microsecond else text + ".000000"

    return sqlite_utc


def fast_reader(type_: Any, dialect: Any, processor: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """``processor`` (what SQLAlchemy applies to a result column of ``type_``), or an equivalent in one call where
    one is known: SQLite's datetime text of the platform's UTC datetimes (``YYYY-MM-DD HH:MM:SS.ffffff``, as
    written above) becomes the aware UTC datetime SQLAlchemy would give; any other value goes to ``processor``."""
    from engine.tables import UtcDateTime

    if processor is None or dialect.name != "sqlite" or type(type_) is not UtcDateTime:
        return processor
    utc = timezone.utc
    parse = datetime.fromisoformat

    def sqlite_utc(value: Any) -> Any:
        if type(value) is str and len(value) == 26 and value[10] == " " and value[19] == ".":
            return parse(value).replace(tzinfo=utc)
        return processor(value)

    return sqlite_utc


def _none_of(processor: Callable[[Any], Any] | None, bind: Any) -> Any:
    """What ``processor`` makes of None, worked out once for SQLAlchemy's own types (JSON's ``'null'``); a
    ``TypeDecorator`` of the application is asked at every call, as SQLAlchemy would."""
    if processor is None or bind is None or isinstance(bind.type, TypeDecorator):
        return _CALL
    return processor(None)


class Direct:
    """A Core statement compiled once per dialect and run on the DBAPI cursor of the caller's transaction.

    ``keys`` fixes the columns of an insert (every row then gives each of them); updates and deletes name their
    parameters with ``bindparam``."""

    __slots__ = ("statement", "keys", "_prepared", "__weakref__")

    def __init__(self, statement: Any, keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.keys = tuple(keys) if keys is not None else None
        self._prepared: weakref.WeakKeyDictionary[Any, _Prepared] = weakref.WeakKeyDictionary()

    def prepared(self, dialect: Any) -> _Prepared:
        found = self._prepared.get(dialect)
        if found is None:
            found = self._prepared[dialect] = _Prepared(self.statement, dialect, self.keys)
        return found

    def run(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Run once; returns the number of rows it touched."""
        prepared = self.prepared(conn.dialect)
        params = prepared.params(values)
        cursor = _cursor(conn)
        try:
            cursor.execute(prepared.sql, params)
            return int(cursor.rowcount)
        except Exception as error:
            raise _wrapped(conn, prepared, params, error, cursor) from error
        finally:
            cursor.close()

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run once and return its rows as the driver gives them (for ``RETURNING`` of ids and keys: values that
        need no result processing)."""
        prepared = self.prepared(conn.dialect)
        params = prepared.params(values)
        cursor = _cursor(conn)
        try:
            cursor.execute(prepared.sql, params)
            return [tuple(r) for r in cursor.fetchall()]
        except Exception as error:
            raise _wrapped(conn, prepared, params, error, cursor) from error
        finally:
            cursor.close()

    def first(self, conn: Connection, values: Mapping[str, Any]) -> DirectRow | None:
        """The first row of a select, its values processed as ``Connection.execute`` would (JSON decoded, aware
        datetimes, decimals, …), or None."""
        found = self.all(conn, values, limit=1)
        return found[0] if found else None

    def all(self, conn: Connection, values: Mapping[str, Any], limit: int | None = None) -> list[DirectRow]:
        """The rows of a select (at most ``limit``), processed as ``Connection.execute`` would."""
        prepared = self.prepared(conn.dialect)
        params = prepared.params(values)
        cursor = _cursor(conn)
        try:
            cursor.execute(prepared.sql, params)
            raw = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
            if not raw:
                return []
            readers = prepared.readers(cursor.description)
        except Exception as error:
            raise _wrapped(conn, prepared, params, error, cursor) from error
        finally:
            cursor.close()
        keys = [k for k, _ in prepared.columns]
        return [DirectRow(zip(keys, (v if f is None else f(v) for f, v in zip(readers, row))))
                for row in raw]

    def many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run for each of ``rows`` in one ``executemany`` (a single ``execute`` for one row)."""
        prepared = self.prepared(conn.dialect)
        params = [prepared.params(r) for r in rows]
        if not params:
            return
        cursor = _cursor(conn)
        try:
            if len(params) == 1:
                cursor.execute(prepared.sql, params[0])
            else:
                cursor.executemany(prepared.sql, params)
        except Exception as error:
            raise _wrapped(conn, prepared, params, error, cursor) from error
        finally:
            cursor.close()


class DirectInsertReturning:
    """``INSERT … VALUES (…), (…) RETURNING …`` of several rows in one statement, compiled once per dialect and
    row count (up to ``CHUNK`` rows a statement): one round trip for the rows and their new ids."""

    CHUNK = 50

    def __init__(self, table: Any, keys: Sequence[str], returning: Sequence[Any]) -> None:
        self.table = table
        self.keys = tuple(keys)
        self.returning = tuple(returning)
        self._by_count: dict[int, Direct] = {}

    def _direct(self, count: int) -> Direct:
        found = self._by_count.get(count)
        if found is None:
            values = [{k: bindparam(f"{k}_{i}", type_=self.table.c[k].type) for k in self.keys} for i in range(count)]
            statement = self.table.insert().values(values).returning(*self.returning)
            found = self._by_count[count] = Direct(statement)
        return found

    def rows(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(rows), self.CHUNK):
            chunk = rows[start:start + self.CHUNK]
            values = {f"{k}_{i}": row[k] for i, row in enumerate(chunk) for k in self.keys}
            out.extend(self._direct(len(chunk)).rows(conn, values))
        return out


def _cursor(conn: Connection) -> Any:
    if not conn.in_transaction():
        conn.begin()  # what Connection.execute's autobegin would do
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _wrapped(conn: Connection, prepared: _Prepared, params: Any, error: Exception, cursor: Any) -> Exception:
    dialect = prepared.dialect
    dbapi = dialect.loaded_dbapi
    if not isinstance(error, dbapi.Error):
        return error
    invalidated = False
    try:
        invalidated = bool(dialect.is_disconnect(error, conn.connection.dbapi_connection, cursor))
    except Exception:  # noqa: BLE001 - deciding whether it was a disconnect must not hide the error itself
        invalidated = False
    wrapped = exc.DBAPIError.instance(prepared.sql, params, error, dbapi.Error, connection_invalidated=invalidated,
                                      dialect=dialect)
    if invalidated:
        conn.invalidate(error)
    return wrapped
