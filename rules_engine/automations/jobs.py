"""Scheduled and date-relative automations: the ``automations`` scheduler job.

Each due item — (automation, record or "-", due moment) — runs once: the job claims it by inserting its ledger row
(``lw_automation_ledger``, unique on app, automation, item, due) with ``ON CONFLICT DO NOTHING`` in the transaction
that runs the actions. A second process claiming the same item waits for the first to commit and then finds the
row taken; if the first rolls back, the item is still free. A run that fails is rolled back and its ledger row is
written as ``failed`` (with the error, visible in the run log), so it is not retried every minute.

Catching up: a schedule whose moment passed while no process ran fires once when the job next runs (the latest
missed moment only); a date-relative item fires late, once. Moments before the automation was first seen (its
``@since`` ledger row) are not run, so publishing a new daily automation at 10:00 does not fire today's 08:00.
"""
from __future__ import annotations

import calendar
import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from engine.permissions import SYSTEM

from .runtime import MAX_ERROR, AutomationFailed, Run
from .spec import AutomationSpec, Schedule
from .tables import ledger, runs

log = logging.getLogger("loomwork.automations")

#: Most items one run of the job handles (the rest wait for the next run).
BATCH = 500
#: Most records one scheduled automation looks at per run.
MAX_SCAN = 100_000
SINCE = "@since"
#: The item of the ledger row marking that every record of a schedule's moment was looked at.
ALL = "@all:"


def latest_moment(schedule: Schedule, now: datetime, tz: ZoneInfo) -> datetime:
    """The latest moment of ``schedule`` at or before ``now`` (aware, in UTC)."""
    local = now.astimezone(tz)
    if schedule.every == "hour":
        moment = local.replace(minute=schedule.minute, second=0, microsecond=0)
        if moment > local:
            moment -= timedelta(hours=1)
        return moment.astimezone(timezone.utc)
    at = time(schedule.hour, schedule.minute)
    day = local.date()
    for _ in range(400):
        if _matches(schedule, day):
            moment = datetime.combine(day, at, tz)
            if moment <= local:
                return moment.astimezone(timezone.utc)
        day -= timedelta(days=1)
    raise ValueError("no moment found")  # pragma: no cover - every schedule matches within a year


def _matches(schedule: Schedule, day: date) -> bool:
    if schedule.every == "week":
        return day.weekday() == (schedule.on or 0)
    if schedule.every == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(schedule.on or 1, last)
    return True


def _claim(conn: Connection, app: str, automation: str, item: str, due: str, now: datetime, status: str) -> bool:
    """Insert the ledger row; False when another run holds or held it."""
    values = {"app": app, "automation": automation, "item": item, "due": due, "status": status, "error": None,
              "claimed_at": now, "finished_at": None}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    statement = dialect_insert(ledger).values(**values).on_conflict_do_nothing(
        index_elements=["app", "automation", "item", "due"]).returning(ledger.c.id)
    return conn.execute(statement).first() is not None


def _since(platform: Any, app: str, automation: str) -> datetime:
    """When the automation was first seen by the job (recorded the first time, then kept in this process)."""
    cache = platform.services["automations"].__dict__.setdefault("_since", {})
    if (app, automation) in cache:
        return cache[(app, automation)]  # type: ignore[no-any-return]
    with platform.db.connect() as conn:
        found = conn.execute(select(ledger.c.claimed_at).where(
            ledger.c.app == app, ledger.c.automation == automation, ledger.c.item == SINCE)).scalar()
    if found is not None:
        cache[(app, automation)] = found
        return found  # type: ignore[no-any-return]
    with platform.db.begin() as conn:
        _claim(conn, app, automation, SINCE, "-", platform.clock.now(), "since")
        return conn.execute(select(ledger.c.claimed_at).where(
            ledger.c.app == app, ledger.c.automation == automation, ledger.c.item == SINCE)).scalar_one()


def _done(conn: Connection, app: str, automation: str, item: str, due: str) -> bool:
    return conn.execute(select(ledger.c.id).where(ledger.c.app == app, ledger.c.automation == automation,
                                                  ledger.c.item == item, ledger.c.due == due)).first() is not None


def _claimed(conn: Connection, app: str, automation: str, due: str | None = None) -> set[tuple[str, str]]:
    """(item, due) of every ledger row of the automation (of one due moment when given), in one query."""
    query = select(ledger.c.item, ledger.c.due).where(ledger.c.app == app, ledger.c.automation == automation)
    if due is not None:
        query = query.where(ledger.c.due == due)
    return {(r[0], r[1]) for r in conn.execute(query)}


def due_items(platform: Any, live: Any, auto: AutomationSpec) -> Iterator[tuple[int | None, str]]:
    """(record id or None, due key) of every item of ``auto`` due now and not yet claimed."""
    t = auto.trigger
    tz = ZoneInfo(live.spec.settings.timezone)
    now = platform.clock.now()
    since = _since(platform, live.key, auto.key)
    records = platform.services["records"]
    assert t.schedule is not None
    if t.kind == "schedule":
        moment = latest_moment(t.schedule, now, tz)
        if moment < since:
            return
        due = moment.strftime("%Y-%m-%dT%H:%MZ")
        if t.form is None:
            with platform.db.connect() as conn:
                if not _done(conn, live.key, auto.key, "-", due):
                    yield None, due
            return
        with platform.db.connect() as conn:
            if _done(conn, live.key, auto.key, ALL, due):
                return  # every record was looked at for this moment already
            ids = records.find(conn, live, t.form, {}, limit=MAX_SCAN)
            claimed = _claimed(conn, live.key, auto.key, due)
        for record_id in ids:
            if (str(record_id), due) not in claimed:
                yield record_id, due
        yield None, ALL + due  # the pass is complete once every item before this one was handled
        return
    # date-relative: the record's date plus the offset is the day it fires, at the trigger's time of day
    local = now.astimezone(tz)
    today = local.date()
    if local.time() < time(t.schedule.hour, t.schedule.minute):
        today -= timedelta(days=1)
    first = since.astimezone(tz).date()
    low, high = first - timedelta(days=t.offset_days), today - timedelta(days=t.offset_days)
    if high < low:
        return
    with platform.db.connect() as conn:
        found = records.find_values(conn, live, t.form, t.date_field, ranges={t.date_field: (low, high)},
                                    limit=MAX_SCAN)
        claimed = _claimed(conn, live.key, auto.key)
    for record_id, day in found:
        if day is not None and (str(record_id), day.isoformat()) not in claimed:
            yield record_id, day.isoformat()


def run_item(platform: Any, live: Any, auto: AutomationSpec, record_id: int | None, due: str) -> str:
    """Claim and run one due item in one transaction: 'done', 'skipped' (claimed elsewhere, or ``where`` false) or
    'failed'."""
    service = platform.services["automations"]
    item = "-" if record_id is None else str(record_id)
    form = live.spec.forms.get(auto.trigger.form) if auto.trigger.form else None
    now = platform.clock.now()
    try:
        with platform.db.begin() as conn:
            run = Run(live, auto, form, record_id, SYSTEM,
                      trigger={"event": auto.trigger.kind, "due": _due_date(due), "automation": auto.key})
            if auto.trigger.where is not None:
                run.values = service.load(conn, run)
                env = service.env(live, SYSTEM, run.names)
                if service._eval(auto.trigger.where, run.values, env, auto, "when.where") is not True:
                    return "skipped"
            if not _claim(conn, live.key, auto.key, item, due, now, "running"):
                return "skipped"
            service.run(conn, run)
            conn.execute(update(ledger).where(ledger.c.app == live.key, ledger.c.automation == auto.key,
                                              ledger.c.item == item, ledger.c.due == due)
                         .values(status="done", finished_at=platform.clock.now()))
        return "done"
    except AutomationFailed as exc:
        error = exc.message
    except Exception as exc:  # noqa: BLE001 - one item's failure is recorded; the others still run
        log.exception("automation %s on %s failed", auto.key, item)
        error = f"{type(exc).__name__}: {exc}"
    with platform.db.begin() as conn:
        if _claim(conn, live.key, auto.key, item, due, now, "failed"):
            conn.execute(update(ledger).where(ledger.c.app == live.key, ledger.c.automation == auto.key,
                                              ledger.c.item == item, ledger.c.due == due)
                         .values(error=error[:MAX_ERROR], finished_at=platform.clock.now()))
            conn.execute(insert(runs).values(
                app=live.key, automation=auto.key, trigger=auto.trigger.describe()[:200],
                form=auto.trigger.form, record_id=record_id, user_id=None, status="failed", actions=None,
                error=error[:MAX_ERROR], depth=0, started_at=now))
    return "failed"


def _due_date(due: str) -> date:
    return date.fromisoformat(due[:10])


def run_due(platform: Any, limit: int = BATCH) -> int:
    """The ``automations`` job: run every due item of every scheduled and date-relative automation."""
    service = platform.services.get("automations")
    if service is None:
        return 0
    handled = 0
    for live in list(platform.apps.values()):
        index = service.index(live)
        for auto in [*index.get(("schedule",), ()), *index.get(("date",), ())]:
            for record_id, due in list(due_items(platform, live, auto)):
                if due.startswith(ALL):  # every record of this moment handled: later runs skip the scan
                    with platform.db.begin() as conn:
                        _claim(conn, live.key, auto.key, ALL, due[len(ALL):], platform.clock.now(), "done")
                    continue
                if handled >= limit:
                    return handled
                if run_item(platform, live, auto, record_id, due) != "skipped":
                    handled += 1
    return handled
