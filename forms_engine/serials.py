"""Serial numbers: a counter per form, field and period, incremented inside the record's own transaction.

The counter row is updated (and so locked) in the transaction that inserts the record: concurrent creators wait
for each other, a rolled-back save gives its number back, so numbers are unique and gap-free.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.tables import serial_counters

from .spec import FieldSpec


def next_serial(conn: Connection, app: str, form: str, f: FieldSpec, now: datetime, tz: str) -> str:
    return next_serials(conn, app, form, f, now, tz, 1)[0]


def next_serials(conn: Connection, app: str, form: str, f: FieldSpec, now: datetime, tz: str, count: int) -> list[str]:
    """``count`` consecutive numbers in one counter update (bulk imports), under the same lock and rules."""
    from .validators.serials import format_serial, parse_pattern, period_key

    if count <= 0:
        return []
    spec = parse_pattern(f.extra["template"])
    local = now.astimezone(ZoneInfo(tz))
    period = period_key(spec, local.date())
    key = (serial_counters.c.app == app, serial_counters.c.form == form, serial_counters.c.field == f.key,
           serial_counters.c.period == period)
    for _attempt in range(3):
        done = conn.execute(update(serial_counters).where(*key).values(value=serial_counters.c.value + count))
        if done.rowcount == 1:
            last = int(conn.execute(select(serial_counters.c.value).where(*key)).scalar_one())
            return [format_serial(spec, local.date(), n) for n in range(last - count + 1, last + 1)]
        try:
            with conn.begin_nested():
                conn.execute(insert(serial_counters).values(app=app, form=form, field=f.key, period=period, value=count))
            return [format_serial(spec, local.date(), n) for n in range(1, count + 1)]
        except IntegrityError:
            continue  # another transaction created the counter first: increment it
    raise RuntimeError("could not allocate a serial number")
