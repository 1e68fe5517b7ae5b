"""Faults: an unreachable database answers 503 in the JSON error shape; a worker killed with SIGKILL under load
leaves no instance half-advanced and loses no acknowledged write; PostgreSQL restarted under load fails requests
cleanly while down, serves again afterwards, duplicates nothing, and fires the reminders that fell due once.

The last two run ``bench/load/faults.py`` short (a real ``loomwork serve`` on loopback); the restart uses a private
PostgreSQL started for the test (never the shared one).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from engine.identity import create_token
from tests.conftest import APPS, Api, _require_pg, make_platform

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "load"))

import faults  # noqa: E402


def test_an_unreachable_database_answers_503_in_the_json_shape(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    from engine.db import make_engine

    platform = make_platform((url, make_engine(url)), tmp_path, clock)
    platform.publish_folder(APPS / "purchasing", "tester", "first")
    with platform.db.begin() as conn:
        from engine.identity import NewUser, create_user

        uid = create_user(conn, NewUser("ann", "Ann", None, None, None, (), True), clock.now(), check_policy=False)
        token = create_token(conn, uid, "t", clock.now())[1]
    api = Api(platform)
    assert api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    platform.db = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    for method, path in [("GET", "/api/me"), ("GET", "/api/apps/purchasing/forms/purchase_request/records"),
                         ("POST", "/api/apps/purchasing/forms/purchase_request/records")]:
        response = api.client.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                      json={"title": "x", "amount": "5"} if method == "POST" else None)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"]["code"] == "unavailable"
        assert not any(marker in response.text for marker in faults.LEAK_MARKERS)


def test_a_worker_killed_under_load_leaves_no_half_advanced_flow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _require_pg()
    result = faults.kill_run(users=16, duration=12.0, workers=2, kills=2, log=lambda m: None)
    assert result.reconciliation["problems"] == []
    assert result.findings == [], result.facts
    assert len(result.facts["killed"]) == 2
    assert result.reconciliation["instances"] > 0 and result.reconciliation["approvals"] > 0


def _can_run_private_postgres() -> bool:
    return bool(shutil.which("pg_ctl") or Path("/usr/local/bin/pg_ctl").exists()) and (
        os.geteuid() != 0 or shutil.which("runuser") is not None)


def test_postgres_restarted_under_load_fails_cleanly_then_recovers_and_fires_due_timers_once() -> None:
    _require_pg()
    if not _can_run_private_postgres():
        pytest.skip("initdb/pg_ctl not available to start a private PostgreSQL")
    result = faults.restart_run(users=12, duration=18.0, down=6.0, workers=2, log=lambda m: None)
    assert result.findings == [], result.facts
    assert result.reconciliation["problems"] == []
    assert result.facts["status_while_down"] == [503]
    assert result.facts["reminders_due_during_outage"] == result.facts["reminders_due_during_outage_fired_once"] > 0
