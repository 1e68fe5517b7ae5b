"""The scheduler and the flow-timer job: reminders and escalations in business time, written to the history;
timers that fell due while nothing ran fire once; several workers never fire one twice (PostgreSQL SKIP LOCKED)."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, update

from engine.cli import main
from engine.scheduler import Scheduler, run_jobs
from engine.tables import users
from flow_engine.tables import history, timers
from platform_kit import act, instance, record, start, todo


def _fired(platform) -> int:  # type: ignore[no-untyped-def]
    return sum(r.handled for r in run_jobs(platform) if r.name == "flow_timers")


def _count(platform, **where) -> int:  # type: ignore[no-untyped-def]
    with platform.db.connect() as conn:
        cond = [getattr(history.c, k) == v for k, v in where.items()]
        return int(conn.execute(select(func.count()).select_from(history).where(*cond)).scalar_one())


def test_reminder_then_escalation_in_business_time(api, platform, clock) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))  # Monday 09:30 in Shanghai; remind after 4 working hours, escalate after 1 day
    assert _fired(platform) == 0
    clock.set(datetime(2026, 3, 2, 5, 29, tzinfo=timezone.utc))  # 13:29 local
    assert _fired(platform) == 0
    clock.set(datetime(2026, 3, 2, 5, 31, tzinfo=timezone.utc))
    assert _fired(platform) == 1
    assert _fired(platform) == 0  # fired once
    kinds = [n["kind"] for n in api.as_("east_lead").get("/api/notifications").json()["items"]]
    assert kinds[0] == "reminder"
    clock.set(datetime(2026, 3, 3, 1, 31, tzinfo=timezone.utc))  # Tuesday 09:31 local: one working day later
    assert _fired(platform) == 1
    boss = api.as_("boss").get("/api/notifications").json()["items"]
    assert boss[0]["kind"] == "escalation"  # east_lead's manager: the manager of the department above
    actions = [h["action"] for h in instance(api, iid)["history"] if h["kind"] == "action"]
    assert actions[-2:] == ["remind", "escalate"]
    assert todo(api, "east_lead")  # notify_manager leaves the task where it is


def test_each_recipient_reads_the_same_reminder_in_their_own_language(api, platform, clock) -> None:  # type: ignore[no-untyped-def]
    with platform.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "fin_wang").values(locale="en"))
    iid = start(api, record(api, title="laptops"))
    act(api, "east_lead", iid)
    act(api, "carol", iid)  # the buyers' check: on to the finance countersign (boss and fin_wang)

    def titles(user: str, kind: str) -> list[str]:
        return [n["title"] for n in api.as_(user).get("/api/notifications").json()["items"] if n["kind"] == kind]

    assert titles("boss", "task") == ["采购审批 · 财务会签：laptops"]
    assert titles("fin_wang", "task") == ["Purchase approval · Finance countersign: laptops"]
    clock.advance(hours=8, minutes=1)  # remind after 8 hours: both tasks' reminders at once
    assert _fired(platform) == 2
    assert titles("boss", "reminder") == ["催办 · 财务会签：laptops"]
    assert titles("fin_wang", "reminder") == ["Reminder · Finance countersign: laptops"]


def test_auto_approve_after_the_time_limit(api, platform, clock) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api, amount="100", urgent=True))  # buyer check: auto-approve after 2 days
    clock.advance(days=2, minutes=1)
    assert _fired(platform) == 1
    view = instance(api, iid)
    assert view["outcome"] == "approved"
    closed = [h for h in view["history"] if h["kind"] == "task" and h["node"] == "buyer_check"]
    assert {h["actor"] for h in closed if h["action"] == "approved"} == {"@system"}


def test_timers_due_during_downtime_fire_once(api, platform, clock) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        start(api, record(api, title=f"r{i}"))
    with platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(timers)).scalar_one() == 6  # remind + escalate each
    clock.advance(days=10)  # the server was down for ten days
    assert _fired(platform) == 6
    assert _fired(platform) == 0
    assert _count(platform, action="remind") == 3 and _count(platform, action="escalate") == 3
    with platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(timers)).scalar_one() == 0


def test_acting_removes_the_timers_of_closed_tasks(api, platform, clock) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api, amount="900"))
    act(api, "east_lead", iid)
    act(api, "carol", iid)
    clock.advance(days=30)
    assert _fired(platform) == 0
    assert _count(platform, action="remind") == 0


def test_two_workers_never_fire_a_timer_twice(api, platform, clock, backend) -> None:  # type: ignore[no-untyped-def]
    if backend != "postgresql":
        pytest.skip("concurrent workers need PostgreSQL's SKIP LOCKED; SQLite runs one writer at a time")
    for i in range(6):
        start(api, record(api, title=f"r{i}"))
    clock.advance(days=10)
    service = platform.services["flows"]
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait(timeout=10)
        counts.append(service.fire_due_timers())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(counts) == 12
    assert _count(platform, action="remind") == 6 and _count(platform, action="escalate") == 6


def test_a_failing_job_does_not_stop_the_others(platform) -> None:  # type: ignore[no-untyped-def]
    ran: list[str] = []

    def broken(p) -> int:  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    def fine(p) -> int:  # type: ignore[no-untyped-def]
        ran.append("fine")
        return 2

    platform.hooks.jobs.extend([("broken", broken), ("fine", fine)])
    try:
        results = {r.name: r for r in run_jobs(platform)}
    finally:
        del platform.hooks.jobs[-2:]
    assert results["broken"].error == "RuntimeError: boom" and results["fine"].handled == 2 and ran == ["fine"]
    assert Scheduler(platform, 0).start()._thread is None  # interval 0: no background thread


def test_jobs_run_command(api, platform, clock, backend, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    if backend != "sqlite":
        pytest.skip("the command line reaches the database by URL; the SQLite file is enough to show it")
    start(api, record(api))
    monkeypatch.setenv("LOOMWORK_DATABASE_URL", str(platform.db.url))
    monkeypatch.setenv("LOOMWORK_VAR_DIR", str(platform.settings.var_dir))
    assert main(["jobs", "list"]) == 0
    assert "flow_timers" in capsys.readouterr().out
    assert main(["jobs", "run"]) == 0  # real time is long past the frozen test clock: both timers are due
    assert "flow_timers: 2 handled" in capsys.readouterr().out
    assert main(["jobs", "run", "--job", "nope"]) == 1


def test_working_hours_with_minutes_and_adjusted_working_days_from_app_yaml(api, platform, clock,  # type: ignore[no-untyped-def]
                                                                           tmp_path) -> None:
    from engine.identity import sync_org
    from platform_kit import app_copy

    folder = app_copy(tmp_path)
    app_yaml = folder / "app.yaml"
    app_yaml.write_text(app_yaml.read_text(encoding="utf-8") + 'working_hours: {start: "10:30", end: "17:15"}\n'
                        'workdays: ["2026-03-07"]\n', encoding="utf-8")  # a Saturday worked (调休)
    platform.publish_folder(folder, "tester", "hours")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["purchasing"].spec.org, clock.now(), with_users=True)
    iid = start(api, record(api))  # Monday 09:30 local: before the day opens at 10:30; remind after 4 working hours
    clock.set(datetime(2026, 3, 2, 6, 29, tzinfo=timezone.utc))  # 14:29 local
    assert _fired(platform) == 0
    clock.set(datetime(2026, 3, 2, 6, 31, tzinfo=timezone.utc))  # 14:31 local: 10:30 + 4 h
    assert _fired(platform) == 1
    live = platform.apps["purchasing"]
    calendar = platform.services["flows"].pinned("purchasing", live.version, "purchase_approval").calendar
    from datetime import date

    assert calendar.is_working_day(date(2026, 3, 7)) and not calendar.is_working_day(date(2026, 3, 8))
    assert instance(api, iid)["history"][-1]["action"] == "remind"


def test_working_hours_that_end_before_they_start_are_a_definition_error(platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engine.errors import DefinitionErrors
    from platform_kit import app_copy

    folder = app_copy(tmp_path)
    app_yaml = folder / "app.yaml"
    app_yaml.write_text(app_yaml.read_text(encoding="utf-8") + 'working_hours: {start: "18:00", end: "09:00"}\n',
                        encoding="utf-8")
    with pytest.raises(DefinitionErrors) as caught:
        platform.publish_folder(folder, "tester", "hours")
    error = next(e for e in caught.value.errors if "working hours" in e.message)
    line = app_yaml.read_text(encoding="utf-8").splitlines().index('working_hours: {start: "18:00", end: "09:00"}') + 1
    assert (error.file, error.line, error.path) == ("app.yaml", line, "working_hours.end")
