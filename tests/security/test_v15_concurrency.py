"""ASVS V15.4 (safe concurrency), on PostgreSQL — SQLite serialises writers and ignores ``FOR UPDATE``, so these
prove nothing there and are skipped on it.

- two editors saving the same version at once: one succeeds, the other gets 412, one audit entry — on the records
  API and on the bulk (import) path, where a save made after the dry run also fails the commit;
- N workers claiming due jobs at once: each claimed and run once; a job claimed by a worker that dies mid-run
  (its database session killed) is run once by another.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
from sqlalchemy import create_engine, func, select, text

from engine.tables import audit_log
from flow_engine.service import TIMER_LEASE
from flow_engine.store import due_timers
from flow_engine.tables import history, timers
from tests.conftest import PG_URL
from tests.flow.platform_kit import record, start
from tests.forms.io_helpers import SUPPLIERS, csv_bytes, run, upload, wh  # noqa: F401 - wh is a fixture

RECORDS = SUPPLIERS + "/records"


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def go(i: int) -> None:
        barrier.wait(timeout=20)
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - returned to the test
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def updates_of(api: Any, record_id: int) -> int:
    with api.platform.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.form == "supplier", audit_log.c.record_id == record_id,
            audit_log.c.action == "update")).scalar_one())


def pg_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("real concurrency between connections is PostgreSQL's; SQLite serialises writers")


def test_two_editors_saving_the_same_version_one_gets_a_conflict(wh, backend) -> None:  # type: ignore[no-untyped-def]
    pg_only(backend)
    made = wh.as_("max").post(RECORDS, json={"code": "S1", "name": "first"})
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    rounds = 5
    for n in range(1, rounds + 1):
        answers = at_once(*[lambda who=who: wh.as_(who).patch(f"{RECORDS}/{rid}", json={"name": f"{who} {n}"},
                                                               headers={"If-Match": f'"{n}"'})
                            for who in ("max", "root")])
        assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()
        assert winner["row_version"] == n + 1
    final = wh.as_("max").get(f"{RECORDS}/{rid}").json()
    assert final["row_version"] == rounds + 1
    assert updates_of(wh, rid) == rounds  # one audit entry per accepted save, none for the refused ones


def test_an_import_and_an_editor_saving_the_same_record_at_once_one_wins(wh, backend) -> None:  # type: ignore[no-untyped-def]
    pg_only(backend)
    outcomes = []
    for n in range(4):
        made = wh.as_("max").post(RECORDS, json={"code": f"B{n}", "name": "before"})
        rid = made.json()["id"]
        job = upload(wh, "max", SUPPLIERS, f"b{n}.csv", csv_bytes([["编号", "名称"], [f"B{n}", "from import"]]))
        checked = run(wh, "max", SUPPLIERS, job["id"], "dry-run", duplicates="update")
        assert checked["counts"]["updated"] == 1
        imported, edited = at_once(
            lambda: wh.as_("max").post(f"{SUPPLIERS}/imports/{job['id']}/commit?wait=1", json={"duplicates": "update"}),
            lambda: wh.as_("root").patch(f"{RECORDS}/{rid}", json={"name": "from editor"}, headers={"If-Match": '"1"'}))
        import_won = imported.status_code == 200 and imported.json().get("status") == "done"
        edit_won = edited.status_code == 200
        final = wh.as_("max").get(f"{RECORDS}/{rid}").json()
        # exactly one of the two saves the version the other also started from; the other is refused
        assert import_won != edit_won, (imported.text, edited.text)
        assert final["row_version"] == 2 and updates_of(wh, rid) == 1
        assert final["name"] == ("from import" if import_won else "from editor")
        if not import_won:
            assert "changed" in imported.json()["message"], imported.text
        outcomes.append((import_won, edit_won))
    assert outcomes  # each round ended in one of the consistent outcomes above


def test_a_change_saved_after_the_dry_run_fails_the_import_commit(wh) -> None:  # type: ignore[no-untyped-def]
    """The bulk path's If-Match: the dry run showed version 1; an editor saves version 2; the commit must not
    overwrite it silently."""
    rid = wh.as_("max").post(RECORDS, json={"code": "C1", "name": "before"}).json()["id"]
    untouched = wh.as_("max").post(RECORDS, json={"code": "C2", "name": "before"}).json()["id"]
    job = upload(wh, "max", SUPPLIERS, "c.csv", csv_bytes([["编号", "名称"], ["C1", "from import"], ["C2", "also"]]))
    assert run(wh, "max", SUPPLIERS, job["id"], "dry-run", duplicates="update")["counts"]["updated"] == 2
    edited = wh.as_("root").patch(f"{RECORDS}/{rid}", json={"name": "from editor"}, headers={"If-Match": '"1"'})
    assert edited.status_code == 200
    failed = run(wh, "max", SUPPLIERS, job["id"], "commit", duplicates="update")
    assert failed["status"] == "failed" and "changed since the dry run (rows 2)" in failed["message"], failed
    assert wh.as_("max").get(f"{RECORDS}/{rid}").json()["name"] == "from editor"       # the editor's save stands
    assert wh.as_("max").get(f"{RECORDS}/{untouched}").json()["name"] == "before"     # and nothing was imported
    # a new dry run shows the current values; its commit goes through
    assert run(wh, "max", SUPPLIERS, job["id"], "dry-run", duplicates="update")["counts"]["updated"] == 2
    done = run(wh, "max", SUPPLIERS, job["id"], "commit", duplicates="update")
    assert done["status"] == "done", done
    assert wh.as_("max").get(f"{RECORDS}/{rid}").json()["name"] == "from import"


def _fired(platform: Any, kind: str) -> int:
    with platform.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(history).where(history.c.action == kind)).scalar_one())


def test_n_workers_claim_each_due_job_once_and_a_dead_workers_claim_runs_once(api, platform, clock, backend) -> None:  # type: ignore[no-untyped-def]
    pg_only(backend)
    instances = 8
    for i in range(instances):
        start(api, record(api, title=f"r{i}"))
    clock.advance(days=10)  # every reminder and escalation is due
    with platform.db.connect() as conn:
        due = int(conn.execute(select(func.count()).select_from(timers)).scalar_one())
    assert due == 2 * instances
    service = platform.services["flows"]

    # a worker claims one job and dies in the middle of it: its session is killed, its transaction rolled back
    dying = platform.db.connect()
    dying_tx = dying.begin()
    now = clock.now()
    [claimed] = due_timers(dying, now, now - TIMER_LEASE, 1)
    pid = dying.execute(text("select pg_backend_pid()")).scalar_one()

    counts = at_once(*[service.fire_due_timers for _ in range(6)])
    assert all(isinstance(c, int) for c in counts), counts
    assert sum(counts) == due - 1  # the live workers ran everything else once and skipped the locked job

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()
    try:
        dying_tx.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone, as after a crash
        pass
    dying.invalidate()
    dying.close()

    again = at_once(*[service.fire_due_timers for _ in range(3)])
    assert sum(again) == 1  # the dead worker's job, run once by one of the others
    with platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(timers).where(timers.c.id == claimed["id"])).scalar_one() == 0
    assert _fired(platform, "remind") == instances and _fired(platform, "escalate") == instances
