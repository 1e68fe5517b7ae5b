"""Backups as docs/deploy.md describes them: ``pg_dump`` of a live database, ``pg_restore`` into an empty one, and a
new platform on the restored database serves the same records, app versions and flow states — and the flows go on.

PostgreSQL only (the backup tools are PostgreSQL's). The test creates two databases of its own and drops them.
"""
from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from engine.db import make_engine
from engine.identity import sync_org
from engine.platform import Platform
from engine.scheduler import run_jobs
from engine.settings import Settings
from engine.notifications import notifications
from engine.tables import users
from flow_engine.tables import instances, timers
from tests.conftest import APPS, PG_URL, Api, _require_pg

RECORDS = "/api/apps/purchasing/forms/purchase_request/records"
TOOLS = {name: shutil.which(name) or f"/usr/bin/{name}" for name in ("pg_dump", "pg_restore")}


def libpq_url(database: str) -> str:
    return make_url(PG_URL).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two fresh, empty databases: the live one and the one a backup is restored into."""
    _require_pg()
    tag = uuid.uuid4().hex[:10]
    names = (f"lw_bak_{tag}", f"lw_bak_{tag}_r")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield names
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def platform_on(database: str, tmp_path: Path, clock: Any) -> Platform:
    url = make_url(PG_URL).set(database=database).render_as_string(hide_password=False)
    settings = Settings.from_env({"database_url": url, "var_dir": str(tmp_path / "var"),
                                  "attachments_dir": str(tmp_path / "var" / "files"), "apps_dir": str(APPS),
                                  "secret_key": "test-secret-key"}, environ={})
    return Platform(settings, clock=clock, engine=make_engine(url, pool_size=2, max_overflow=2))


def second_version(tmp_path: Path) -> Path:
    folder = tmp_path / "apps" / "purchasing"
    shutil.copytree(APPS / "purchasing", folder)
    app = folder / "app.yaml"
    app.write_text(app.read_text(encoding="utf-8").replace("en: Purchasing", "en: Purchasing (v2)"), encoding="utf-8")
    return folder


def task_of(api: Api, user: str, instance_id: int) -> int:
    items = api.as_(user).get("/api/flows/inbox/todo").json()["items"]
    found = [t["id"] for t in items if t["instance"] == instance_id]
    assert found, f"{user} has no open task in instance {instance_id}"
    return int(found[0])


def approve(api: Api, user: str, instance_id: int, **body: Any) -> dict[str, Any]:
    response = api.as_(user).post(f"/api/flows/tasks/{task_of(api, user, instance_id)}/approve", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def start(api: Api, record_id: int) -> int:
    response = api.as_("alice").post("/api/apps/purchasing/flows/purchase_approval/instances",
                                     json={"record_id": record_id})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def served(api: Api, instance_ids: list[int]) -> dict[str, Any]:
    """Everything a user sees that the backup must keep: records, versions, flows, inboxes."""
    listing = api.as_("boss").get(RECORDS, params={"sort": "id", "size": 100})
    assert listing.status_code == 200, listing.text
    return {
        "records": listing.json(),
        "versions": api.as_("admin").get("/api/apps/purchasing/versions").json(),
        "instances": {i: api.as_("alice").get(f"/api/flows/instances/{i}").json() for i in instance_ids},
        "inboxes": {u: api.as_(u).get("/api/flows/inbox/todo").json() for u in ("east_lead", "carol", "fin_wang")},
        "apps": api.as_("alice").get("/api/apps").json(),
    }


def test_a_dump_restored_into_an_empty_database_serves_the_same_and_flows_continue(databases, tmp_path, clock):  # type: ignore[no-untyped-def]
    live_db, restored_db = databases
    live = platform_on(live_db, tmp_path / "live", clock)
    live.upgrade_db()
    live.publish_folder(APPS / "purchasing", "tester", "first")
    with live.db.begin() as conn:
        sync_org(conn, live.apps["purchasing"].spec.org, clock.now(), with_users=True)
    api = Api(live)
    ids = []
    for title, amount in [("desk", "3000"), ("laptops", "80000"), ("chairs", "1200"), ("server", "60000")]:
        response = api.as_("alice").post(RECORDS, json={"title": title, "amount": amount, "quantity": 2})
        assert response.status_code == 201, response.text
        ids.append(int(response.json()["id"]))
    live.publish_folder(second_version(tmp_path), "tester", "second")  # records above were saved under version 1
    patched = api.as_("alice").patch(f"{RECORDS}/{ids[2]}", json={"note": "after v2"},
                                     headers={"If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    waiting = start(api, ids[0])                       # at the lead's review, with reminder timers
    countersign = start(api, ids[1])                   # finance countersign, one of two approvals in
    approve(api, "east_lead", countersign)
    approve(api, "carol", countersign)
    approve(api, "boss", countersign, values={"category": "it"})
    finished = start(api, ids[2])                      # approved end to end
    approve(api, "east_lead", finished)
    approve(api, "carol", finished)
    flows = [waiting, countersign, finished]
    before = served(api, flows)
    assert [v["number"] for v in before["versions"]["versions"]] == [2, 1]
    assert [a["version"] for a in before["apps"]["apps"]] == [2]
    assert before["instances"][countersign]["status"] == "running"
    assert before["instances"][finished]["outcome"] == "approved"
    with live.db.connect() as conn:
        pending_timers = conn.execute(select(func.count()).select_from(timers)).scalar_one()
    assert pending_timers > 0  # the waiting request's reminder is due in 4 business hours

    dump = tmp_path / "live.dump"
    subprocess.run([TOOLS["pg_dump"], "--format=custom", "--no-owner", f"--file={dump}", libpq_url(live_db)],
                   check=True, timeout=120, capture_output=True)
    subprocess.run([TOOLS["pg_restore"], "--no-owner", "--exit-on-error", f"--dbname={libpq_url(restored_db)}",
                    str(dump)], check=True, timeout=120, capture_output=True)

    restored = platform_on(restored_db, tmp_path / "restored", clock)
    restored.activate_published()
    from engine.doctor import check_migrations

    assert check_migrations(restored.db).status == "ok"
    api2 = Api(restored)
    after = served(api2, flows)
    assert after == before
    assert restored.versions("purchasing")[1].hash == live.versions("purchasing")[1].hash
    assert restored.version_row("purchasing", 1)["files"] == live.version_row("purchasing", 1)["files"]

    # the restored database goes on where the live one stopped: flows advance, timers fire once, ids do not clash
    approve(api2, "fin_wang", countersign, values={"category": "it"})
    done = api2.as_("alice").get(f"/api/flows/instances/{countersign}").json()
    assert (done["status"], done["outcome"]) == ("finished", "approved")
    clock.advance(days=3)
    fired = {r.name: r.handled for r in run_jobs(restored)}
    assert fired["flow_timers"] >= 1
    assert {r.name: r.handled for r in run_jobs(restored)}["flow_timers"] == 0  # each timer fired once
    with restored.db.connect() as conn:
        lead = conn.execute(select(users.c.id).where(users.c.username == "east_lead")).scalar_one()
        reminders = conn.execute(select(func.count()).select_from(notifications).where(
            notifications.c.user_id == lead, notifications.c.kind == "reminder")).scalar_one()
        assert reminders == 1  # the reminder that fell due after the backup, sent once
        assert conn.execute(select(instances.c.status).where(instances.c.id == waiting)).scalar_one() == "running"
    approve(api2, "east_lead", waiting)
    approve(api2, "carol", waiting)
    assert api2.as_("alice").get(f"/api/flows/instances/{waiting}").json()["outcome"] == "approved"
    created = api2.as_("alice").post(RECORDS, json={"title": "new after restore", "amount": "10"})
    assert created.status_code == 201, created.text
    assert int(created.json()["id"]) > max(ids)  # sequences were restored with the rows
    # and the live database was not touched by any of it
    with live.db.connect() as conn:
        assert conn.execute(select(instances.c.status).where(instances.c.id == countersign)).scalar_one() == "running"
    live.db.dispose()
    restored.db.dispose()
