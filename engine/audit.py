"""The audit trail: one row per state change, written in the same transaction as the change."""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from .direct import Direct
from .tables import audit_log


_PLAIN = frozenset((str, int, float, bool, type(None)))


def jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:  # the common case first, without the isinstance checks below (this runs for every value)
        return value
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Field-level changes as ``{field: [before, after]}``."""
    before, after = before or {}, after or {}
    out: dict[str, list[Any]] = {}
    for key in list(before) + [k for k in after if k not in before]:
        old, new = jsonable(before.get(key)), jsonable(after.get(key))
        if old != new:
            out[key] = [old, new]
    return out


#: run on the driver's cursor, compiled once per dialect: an audit row is written with every change
_INSERT = Direct(insert(audit_log).inline(), keys=("at", "user_id", "app", "form", "record_id", "action",
                                                   "def_version", "changes", "extra"))


def record(conn: Connection, *, at: datetime, user_id: int | None, app: str, action: str, form: str | None = None,
           record_id: int | None = None, def_version: int | None = None, changes: Mapping[str, Any] | None = None,
           extra: Mapping[str, Any] | None = None) -> None:
    _INSERT.run(conn, {"at": at, "user_id": user_id or None, "app": app, "form": form, "record_id": record_id,
                           "action": action, "def_version": def_version,
                           "changes": jsonable(changes) if changes else None,
                           "extra": jsonable(extra) if extra else None})


def history(conn: Connection, app: str, form: str, record_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(audit_log).where(audit_log.c.app == app, audit_log.c.form == form,
                                                audit_log.c.record_id == record_id).order_by(audit_log.c.id)).mappings()
    return [{"id": r["id"], "at": r["at"].isoformat(), "user": r["user_id"], "action": r["action"],
             "version": r["def_version"], "changes": r["changes"] or {}, "extra": r["extra"] or {}} for r in rows]
