"""Statements run on the driver's cursor (engine/direct.py) write and read exactly what SQLAlchemy's own execution
writes and reads, inside the caller's transaction, with SQLAlchemy's exceptions — on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import (JSON, Boolean, Column, Integer, MetaData, Numeric, String, Table, UniqueConstraint,
                        bindparam, insert, select, update)
from sqlalchemy.exc import IntegrityError

from engine.direct import Direct, DirectInsertReturning
from engine.tables import Id, UtcDateTime

meta = MetaData()
things = Table(
    "t_direct_things", meta,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(20), nullable=False),
    Column("amount", Numeric(12, 2), nullable=True),
    Column("doc", JSON, nullable=True),
    Column("at", UtcDateTime(), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("key"),
)
KEYS = ("key", "amount", "doc", "at", "active", "version")
AT = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def _row(key: str, **more: object) -> dict[str, object]:
    return {"key": key, "amount": Decimal("12.50"), "doc": {"a": [1, "x"], "b": None}, "at": AT, "active": True,
            "version": 1} | more


def test_direct_writes_and_reads_what_sqlalchemy_does(database) -> None:  # type: ignore[no-untyped-def]
    _url, engine = database
    meta.create_all(engine)
    add = Direct(insert(things).inline(), keys=KEYS)
    with engine.begin() as conn:
        add.run(conn, _row("direct"))
        add.many(conn, [_row("d2", doc=None, at=None, amount=None), _row("d3", active=False)])
        conn.execute(insert(things), [_row("core"), _row("c2", doc=None, at=None, amount=None),
                                      _row("c3", active=False)])
    with engine.connect() as conn:
        core = {r["key"]: dict(r) for r in conn.execute(select(things)).mappings()}
        by_key = Direct(select(things).where(things.c.key == bindparam("b_key")))
        active = Direct(select(things.c.key).where(things.c.active.is_(True)).order_by(things.c.id))
        for ours, theirs in (("direct", "core"), ("d2", "c2"), ("d3", "c3")):
            read = by_key.first(conn, {"b_key": ours})
            assert read is not None
            assert {k: v for k, v in core[ours].items() if k not in ("id", "key")} == \
                {k: v for k, v in core[theirs].items() if k not in ("id", "key")}
            assert read == core[ours] and read.amount == core[ours]["amount"]  # processed as SQLAlchemy does
        assert core["direct"]["at"] == AT and core["direct"]["at"].tzinfo is not None
        assert core["direct"]["doc"] == {"a": [1, "x"], "b": None}
        assert core["direct"]["amount"] == Decimal("12.50")
        assert by_key.first(conn, {"b_key": "nobody"}) is None
        assert [r.key for r in active.all(conn, {})] == ["direct", "d2", "core", "c2"]
        # None in a JSON column is JSON null, as SQLAlchemy writes it (not SQL NULL): the same rows match
        nulls = conn.execute(select(things.c.key).where(things.c.doc.is_(None)).order_by(things.c.key)).scalars()
        assert list(nulls) == []


def test_direct_statements_share_the_transaction_and_raise_sqlalchemy_errors(database) -> None:  # type: ignore[no-untyped-def]
    _url, engine = database
    meta.create_all(engine)
    add = Direct(insert(things).inline(), keys=KEYS)
    bump = Direct(update(things).where(things.c.key == bindparam("b_key"), things.c.version == bindparam("b_v"))
                  .values(version=bindparam("b_next")))
    with engine.begin() as conn:
        add.run(conn, _row("a"))
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            add.run(conn, _row("b"))
            assert bump.run(conn, {"b_key": "a", "b_v": 1, "b_next": 2}) == 1
            add.run(conn, _row("a"))  # the unique key: the whole transaction goes, the row "b" and the bump too
    with engine.connect() as conn:
        rows = {r.key: r.version for r in conn.execute(select(things.c.key, things.c.version))}
        assert rows == {"a": 1}
        assert bump.run(conn, {"b_key": "a", "b_v": 7, "b_next": 8}) == 0  # the guard: no row at version 7
        assert bump.run(conn, {"b_key": "a", "b_v": 1, "b_next": 2}) == 1  # begun like autobegin: not yet kept
        conn.rollback()
        assert conn.execute(select(things.c.version)).scalar_one() == 1


def test_multi_row_insert_returns_every_new_id(database) -> None:  # type: ignore[no-untyped-def]
    _url, engine = database
    meta.create_all(engine)
    add = DirectInsertReturning(things, KEYS, (things.c.id, things.c.key))
    add.CHUNK = 3  # several statements for seven rows
    with engine.begin() as conn:
        got = add.rows(conn, [_row(f"k{i}") for i in range(7)])
        stored = {r.key: r.id for r in conn.execute(select(things.c.id, things.c.key))}
    assert {key: new_id for new_id, key in got} == stored and len(stored) == 7


def test_the_fast_utc_datetime_processor_writes_sqlalchemys_text() -> None:
    """On SQLite a UTC datetime parameter is formatted in one call; the text must be SQLAlchemy's, to the character,
    or rows written directly would sort and compare differently from rows written through SQLAlchemy."""
    from sqlalchemy.dialects import sqlite

    from engine.direct import fast_processor

    dialect = sqlite.dialect()
    column = UtcDateTime()
    slow = column._cached_bind_processor(dialect)
    fast = fast_processor(column, dialect, slow)
    assert fast is not slow
    zones = [timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30)), None]
    values = [datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(1, 1, 1, 0, 0), datetime(9999, 12, 31, 23, 59, 59)]
    values += [datetime(2026, 3, 1, 0, 30, second, micro, tzinfo=zone) for zone in zones
               for second, micro in ((0, 0), (59, 1), (7, 999999), (30, 500000))]
    for value in values:
        assert fast(value) == slow(value), value
    assert fast(None) is None and slow(None) is None
    # other dialects and other types keep SQLAlchemy's own processor
    from sqlalchemy.dialects import postgresql

    pg = postgresql.psycopg.dialect()
    assert fast_processor(column, pg, slow) is slow
    assert fast_processor(JSON(), dialect, slow) is slow


def test_the_fast_utc_datetime_reader_gives_sqlalchemys_values() -> None:
    from sqlalchemy.dialects import sqlite

    from engine.direct import fast_processor, fast_reader

    dialect = sqlite.dialect()
    column = UtcDateTime()
    slow = column._cached_result_processor(dialect, None)
    fast = fast_reader(column, dialect, slow)
    assert fast is not slow
    write = fast_processor(column, dialect, column._cached_bind_processor(dialect))
    written = [write(datetime(2026, 3, 1, 0, 30, s, m, tzinfo=timezone(timedelta(hours=h))))
               for s, m, h in ((0, 0, 0), (59, 1, 8), (7, 999999, -5), (30, 500000, 14))]
    texts = written + ["2026-03-01 01:30:00", "2026-03-01", "0001-01-01 00:00:00.000000", None]
    for text in texts:
        got, want = fast(text), slow(text)
        assert got == want and (got is None or got.tzinfo == want.tzinfo == timezone.utc), text
