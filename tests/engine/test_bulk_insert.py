"""``engine.db.insert_rows`` / ``insert_many`` (the importer's writes) store exactly what SQLAlchemy's own
``insert`` executemany stores — exact decimals, UTC date-times, dates, booleans, JSON, NULLs — on both databases
(PostgreSQL through COPY), number new rows like the database would, and raise SQLAlchemy's ``IntegrityError`` for a
constraint violation without writing any of the rows."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Boolean, Column, Date, Integer, MetaData, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError

from engine.db import insert_many, insert_rows
from engine.tables import Id, UtcDateTime
from forms_engine.fields.columns import ExactDecimal, JsonColumn


def _table(engine):  # type: ignore[no-untyped-def]
    meta = MetaData()
    table = Table("bulk_probe", meta, Column("id", Id, primary_key=True, autoincrement=True),
                  Column("code", Text, unique=True), Column("amount", ExactDecimal(scale=2)),
                  Column("at", UtcDateTime()), Column("day", Date), Column("flag", Boolean),
                  Column("data", JsonColumn), Column("count", Integer))
    meta.create_all(engine)
    return table


ROWS = [
    ("a", Decimal("12.50"), datetime(2026, 3, 1, 10, tzinfo=timezone(timedelta(hours=8))), date(2026, 2, 28), True,
     {"k": [1, "二"], "n": None}, 3),
    ("b\ttab\nline\\slash", Decimal("-0.01"), None, None, False, None, None),
    ("c'; DROP TABLE bulk_probe; --", None, datetime(2026, 3, 1, tzinfo=timezone.utc), date(2026, 1, 1), None,
     ["x"], -7),
]
NAMES = ("code", "amount", "at", "day", "flag", "data", "count")


def _stored(engine, table):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [tuple(r)[1:] for r in conn.execute(select(table).order_by(table.c.id))]


def test_insert_rows_stores_what_sqlalchemy_stores(database) -> None:  # type: ignore[no-untyped-def]
    _url, engine = database
    table = _table(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [dict(zip(NAMES, r)) for r in ROWS])
    expected = _stored(engine, table)
    with engine.begin() as conn:
        conn.execute(table.delete())
    with engine.begin() as conn:  # the first column per row, the rest constant
        insert_rows(conn, table, NAMES[:1], [(r[0],) for r in ROWS], dict(zip(NAMES[1:], ROWS[0][1:])))
    assert _stored(engine, table) == [(r[0], *expected[0][1:]) for r in ROWS]
    with engine.begin() as conn:
        conn.execute(table.delete())
    with engine.begin() as conn:
        ids = insert_many(conn, table, NAMES, ROWS)
    assert _stored(engine, table) == expected
    with engine.connect() as conn:
        assert list(conn.execute(select(table.c.id).order_by(table.c.id)).scalars()) == ids
    with engine.begin() as conn:  # the database numbers later rows after ours
        later = conn.execute(insert(table).values(code="later").returning(table.c.id)).scalar_one()
    assert later > max(ids)


def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_writes_nothing(database) -> None:  # type: ignore[no-untyped-def]
    _url, engine = database
    table = _table(engine)
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            insert_many(conn, table, ("code",), [("same",), ("other",), ("same",)])
    assert _stored(engine, table) == []


def test_rows_of_the_wrong_length_are_refused_before_anything_is_written(database) -> None:  # type: ignore[no-untyped-def]
    _url, engine = database
    table = _table(engine)
    for rows in ([("a", Decimal(1)), ("b",)], [("a",), ("b", Decimal(1))], [("a", Decimal(1), None)]):
        with pytest.raises(ValueError):
            with engine.begin() as conn:
                insert_many(conn, table, ("code", "amount"), rows)
        with pytest.raises(ValueError):
            with engine.begin() as conn:
                insert_rows(conn, table, ("code", "amount"), rows)
    assert _stored(engine, table) == []
