"""Scheduled and date-relative automations: once per due item, catching up after downtime, failures recorded, and
two job runners on PostgreSQL claiming each item once."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from automation_support import create, publish, records, update, user_id
from engine.notifications import notifications
from engine.scheduler import run_jobs
from rules_engine.automations.jobs import run_due
from rules_engine.automations.tables import ledger, runs
from tests.conftest import make_platform


@pytest.fixture
def plat(database, tmp_path, clock):  # type: ignore[no-untyped-def]
    return make_platform(database, tmp_path, clock, apps_dir=tmp_path / "apps")


def at(text: str) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime (the app's zone is UTC+8)."""
    return datetime.fromisoformat(text + "+08:00").astimezone(timezone.utc)


def jobs(platform) -> int:  # type: ignore[no-untyped-def]
    (result,) = run_jobs(platform, "automations")
    assert result.error is None, result.error
    return result.handled


def titles(platform, username):  # type: ignore[no-untyped-def]
    uid = user_id(platform, username)
    with platform.db.connect() as conn:
        return [r[0] for r in conn.execute(select(notifications.c.title).where(
            notifications.c.user_id == uid, notifications.c.kind == "automation").order_by(notifications.c.id))]


def test_a_daily_schedule_runs_once_per_day_and_once_after_downtime(plat, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/daily.yaml": """
key: morning_digest
when: {schedule: {every: day, at: "08:00"}}
then:
  - notify: {to: {users: [boss]}, title: "digest {{trigger.due}}"}
"""})
    clock.set(at("2026-03-02T09:30"))
    assert jobs(plat) == 0  # first seen after today's 08:00: not run for a moment before it existed
    clock.set(at("2026-03-03T07:59"))
    assert jobs(plat) == 0
    clock.set(at("2026-03-03T08:00"))
    assert jobs(plat) == 1 and jobs(plat) == 0
    clock.set(at("2026-03-03T23:00"))
    assert jobs(plat) == 0
    clock.set(at("2026-03-06T10:00"))  # no server ran on the 4th and 5th: the latest missed moment runs once
    assert jobs(plat) == 1 and jobs(plat) == 0
    assert titles(plat, "boss") == ["digest 2026-03-03", "digest 2026-03-06"]


def test_weekly_and_monthly_moments(plat, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from rules_engine.automations.jobs import latest_moment
    from rules_engine.automations.spec import Schedule

    tz = ZoneInfo("Asia/Shanghai")
    week = Schedule("week", 9, 0, 4)  # Fridays 09:00
    assert latest_moment(week, at("2026-03-06T09:00"), tz) == at("2026-03-06T09:00")
    assert latest_moment(week, at("2026-03-06T08:59"), tz) == at("2026-02-27T09:00")
    month = Schedule("month", 6, 0, 31)  # the last day of shorter months
    assert latest_moment(month, at("2026-03-02T09:00"), tz) == at("2026-02-28T06:00")
    hourly = Schedule("hour", 0, 15)
    assert latest_moment(hourly, at("2026-03-02T10:14"), tz) == at("2026-03-02T09:15")


def plan(platform):  # type: ignore[no-untyped-def]
    order = create(platform, "order", {"title": "plan"})
    owner = user_id(platform, "carol")
    out = []
    for period, due in enumerate(["2026-03-01", "2026-03-05", "2026-03-10"], start=1):
        out.append(create(platform, "instalment", {"order": order["id"], "period": period, "due_date": due,
                                                   "payment": "100", "owner_user": owner}))
    return out


def test_a_schedule_over_records_marks_each_item_once_per_day(plat, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/late.yaml": """
key: mark_late
when:
  schedule: {every: day, at: "01:00"}
  form: instalment
  where: "status != 'paid' and due_date < TODAY()"
then:
  - set: {status: "'late'", days_late: "DAYS(TODAY(), due_date)"}
"""})
    clock.set(at("2026-03-01T23:00"))
    first, second, third = plan(plat)
    assert jobs(plat) == 0  # first seen now
    clock.set(at("2026-03-06T02:00"))
    assert jobs(plat) == 2 and jobs(plat) == 0
    rows = {r["id"]: r for r in records(plat, "instalment")}
    assert (rows[first["id"]]["status"], rows[first["id"]]["days_late"]) == ("late", 5)
    assert (rows[second["id"]]["status"], rows[second["id"]]["days_late"]) == ("late", 1)
    assert rows[third["id"]]["status"] == "open"
    update(plat, "instalment", first["id"], {"status": "paid"})
    clock.set(at("2026-03-07T01:30"))
    assert jobs(plat) == 1  # the paid one no longer matches; the other's days grow
    rows = {r["id"]: r for r in records(plat, "instalment")}
    assert rows[second["id"]]["days_late"] == 2 and rows[first["id"]]["days_late"] == 5


def test_date_relative_reminders_fire_once_late_and_again_for_a_moved_date(plat, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/remind.yaml": """
key: remind_before_due
when: {date: due_date, form: instalment, days_before: 3, at: "09:00", where: "status == 'open'"}
then:
  - notify: {to: {fields: [owner_user]}, title: "period {{period}} due {{due_date}}"}
"""})
    clock.set(at("2026-03-02T09:30"))
    first, second, third = plan(plat)
    assert jobs(plat) == 1 and jobs(plat) == 0  # 03-05 fires 03-02 09:00; 03-01's moment was before it existed
    clock.set(at("2026-03-07T08:59"))
    assert jobs(plat) == 0
    clock.set(at("2026-03-12T10:00"))  # the server was down on the 7th: the reminder comes late, once
    assert jobs(plat) == 1 and jobs(plat) == 0
    update(plat, "instalment", second["id"], {"due_date": "2026-03-20"})  # rescheduled
    assert jobs(plat) == 0
    clock.set(at("2026-03-17T09:00"))
    assert jobs(plat) == 1
    assert titles(plat, "carol") == ["period 2 due 2026-03-05", "period 3 due 2026-03-10", "period 2 due 2026-03-20"]


def test_a_failing_item_is_recorded_and_not_retried(plat, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/bad.yaml": """
key: bad_daily
when: {schedule: {every: day, at: "08:00"}, form: order}
then:
  - set: {months: 0}
"""})
    create(plat, "order", {"title": "x"})
    jobs(plat)
    clock.advance(days=1)
    assert jobs(plat) == 1 and jobs(plat) == 0
    with plat.db.connect() as conn:
        failed = conn.execute(select(runs)).mappings().one()
        claimed = conn.execute(select(ledger).where(ledger.c.item.not_like("@%"))).mappings().one()
    assert failed["status"] == "failed" and "months" in failed["error"] and "bad_daily" in failed["error"]
    assert claimed["status"] == "failed" and records(plat, "order")[0]["months"] is None


def test_two_job_runners_on_postgresql_claim_each_item_once(plat, tmp_path, clock, backend) -> None:  # type: ignore[no-untyped-def]
    if backend != "postgresql":
        pytest.skip("concurrent runners need PostgreSQL; SQLite has one writer at a time")
    publish(plat, tmp_path, {"automations/each.yaml": """
key: ping_each
when: {schedule: {every: day, at: "08:00"}, form: order}
then:
  - notify: {to: {users: [boss]}, title: "order {{id}}"}
  - set: {touched: "touched + 1"}
"""})
    for i in range(30):
        create(plat, "order", {"title": f"o{i}"})
    jobs(plat)
    clock.advance(days=1)
    gate = threading.Barrier(2)
    handled: list[int] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            gate.wait()
            handled.append(run_due(plat))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and sum(handled) == 30
    assert sorted(r["touched"] for r in records(plat, "order")) == [1] * 30
    with plat.db.connect() as conn:
        sent = conn.execute(select(func.count()).select_from(notifications).where(
            notifications.c.kind == "automation")).scalar_one()
    assert sent == 30
