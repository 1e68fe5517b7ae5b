"""The flow runtime inside the platform under stress and change: concurrent countersigns (real threads and
connections), Idempotency-Key, instances pinned to their version, the error state an admin retries, flows started
on submit, and delegation while away."""
from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.identity import sync_org
from engine.permissions import SYSTEM
from flow_engine.tables import history, instances, tasks
from platform_kit import act, app_copy, instance, record, start, task_of, todo, user_id

FAILING = """key: fragile
form: purchase_request
nodes:
  - {id: start, type: start}
  - {id: check, type: approval, assignees: {role: buyer}}
  - {id: big, type: approval, assignees: {role: director}}
  - {id: done, type: end}
edges:
  - {from: start, to: check}
  - {from: check, to: big, if: "amount / (quantity - 1) > 1000"}
  - {from: check, to: done, default: true}
  - {from: big, to: done}
"""

ON_SUBMIT = """key: on_submit
form: purchase_request
start_on: submit
nodes:
  - {id: start, type: start}
  - {id: check, type: approval, assignees: {role: buyer}, mode: any}
  - {id: done, type: end}
edges:
  - {from: start, to: check}
  - {from: check, to: done}
"""

PARALLEL = """key: parallel_checks
form: purchase_request
nodes:
  - {id: start, type: start}
  - {id: split, type: parallel}
  - {id: buyer_check, type: approval, assignees: {role: buyer}, mode: any}
  - {id: finance_check, type: approval, assignees: {role: finance}, mode: any, returnable_to: [buyer_check]}
  - {id: director_check, type: approval, assignees: {role: director}}
  - {id: merge, type: join}
  - {id: done, type: end, outcome: approved}
edges:
  - {from: start, to: split}
  - {from: split, to: buyer_check}
  - {from: split, to: director_check}
  - {from: buyer_check, to: finance_check}
  - {from: finance_check, to: merge}
  - {from: director_check, to: merge}
  - {from: merge, to: done}
"""


def _publish(platform, folder: Path, message: str = "flows") -> None:  # type: ignore[no-untyped-def]
    platform.publish_folder(folder, "tester", message)
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["purchasing"].spec.org, platform.clock.now(), with_users=True)


def test_two_approvers_finishing_a_countersign_at_once_advance_it_once(api, platform, backend) -> None:  # type: ignore[no-untyped-def]
    if backend != "postgresql":
        pytest.skip("real concurrency between connections is PostgreSQL's; SQLite serialises writers")
    iid = start(api, record(api, amount="80000"))
    act(api, "east_lead", iid)
    act(api, "carol", iid)
    service = platform.services["flows"]
    from engine.identity import load_principal

    with platform.db.connect() as conn:
        people = {u: load_principal(conn, user_id(platform, u)) for u in ("boss", "fin_wang")}
    ids = {u: task_of(api, u, iid) for u in people}
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def approve(user: str) -> None:
        try:
            with platform.db.begin() as conn:
                barrier.wait(timeout=10)
                results[user] = service.act(conn, ids[user], people[user], "approve", {"values": {"category": "it"}})
        except Exception as exc:  # noqa: BLE001 - recorded and asserted below
            results[user] = exc

    threads = [threading.Thread(target=approve, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(isinstance(r, dict) for r in results.values()), results
    view = instance(api, iid)
    assert (view["status"], view["outcome"]) == ("finished", "approved")
    with platform.db.connect() as conn:
        left = conn.execute(select(func.count()).select_from(history).where(
            history.c.instance_id == iid, history.c.kind == "node", history.c.node == "finance_countersign")).scalar_one()
        ended = conn.execute(select(func.count()).select_from(history).where(
            history.c.instance_id == iid, history.c.action == "finish")).scalar_one()
    assert (left, ended) == (1, 1)  # the countersign was left once, the flow finished once


def test_idempotency_key_replays_the_first_answer(api, platform) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))
    tid = task_of(api, "east_lead", iid)
    headers = {"Idempotency-Key": "approve-once-7"}
    first = api.as_("east_lead").post(f"/api/flows/tasks/{tid}/approve", json={}, headers=headers)
    again = api.as_("east_lead").post(f"/api/flows/tasks/{tid}/approve", json={}, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert again.headers.get("idempotent-replayed") == "true"
    with platform.db.connect() as conn:
        approvals = conn.execute(select(func.count()).select_from(history).where(
            history.c.instance_id == iid, history.c.action == "approve")).scalar_one()
    assert approvals == 1
    # without the key a repeat is refused, still with one effect
    assert api.as_("east_lead").post(f"/api/flows/tasks/{tid}/approve", json={}).status_code == 409
    # a failed action stores nothing under its key: fixing the request and retrying works
    buyer = task_of(api, "carol", iid)
    bad = api.as_("carol").post(f"/api/flows/tasks/{buyer}/return", json={"to": "nowhere"},
                                headers={"Idempotency-Key": "k2"})
    assert bad.status_code == 400
    good = api.as_("carol").post(f"/api/flows/tasks/{buyer}/return", json={"to": "lead_review"},
                                 headers={"Idempotency-Key": "k2"})
    assert good.status_code == 200


def test_publishing_a_new_version_does_not_disturb_running_instances(api, platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    old = start(api, record(api))
    folder = app_copy(tmp_path)
    flow_file = folder / "flows" / "purchase_approval.yaml"
    # version 2: the directors check purchases instead of the buyers
    flow_file.write_text(flow_file.read_text().replace("assignees: {role: buyer}\n    mode: any",
                                                       "assignees: {role: director}\n    mode: any"))
    _publish(platform, folder, "directors check")
    assert platform.apps["purchasing"].version == 2
    new = start(api, record(api, title="desks"))
    for iid in (old, new):
        act(api, "east_lead", iid)
    assert [t["instance"] for t in todo(api, "carol")] == [old]  # pinned to version 1: the buyers
    assert [t["instance"] for t in todo(api, "dir_zhao")] == [new]  # version 2: the director
    with platform.db.connect() as conn:
        versions = dict(conn.execute(select(instances.c.id, instances.c.app_version)).all())
    assert versions == {old: 1, new: 2}
    assert act(api, "carol", old).status_code == 200
    assert ("buyer_check", "Carol", "approved") in {(h["node"], (h["user"] or {}).get("name"), h["action"])
                                                     for h in instance(api, old)["history"] if h["kind"] == "task"}


def test_a_failing_condition_stops_in_a_visible_error_state_that_an_admin_retries(api, platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _publish(platform, app_copy(tmp_path, {"fragile": FAILING}))
    rid = record(api, quantity=1)
    iid = start(api, rid, flow="fragile")
    tid = task_of(api, "carol", iid)
    assert api.as_("carol").post(f"/api/flows/tasks/{tid}/approve", json={}).status_code == 200
    view = instance(api, iid)
    assert view["status"] == "error" and "division by zero" in view["error"]
    assert view["position"][0]["node"] == "check"  # not half-advanced: still at the node it was leaving
    assert any(h["action"] == "error" for h in view["history"])
    # acting is refused while stopped; only an admin may retry
    assert api.as_("alice").post(f"/api/flows/instances/{iid}/retry").status_code == 403
    still = api.as_("admin").post(f"/api/flows/instances/{iid}/retry")
    assert still.status_code == 200 and still.json()["status"]["status"] == "error"  # the record is unchanged
    api.as_("alice").patch(f"/api/apps/purchasing/forms/purchase_request/records/{rid}", json={"quantity": 3})
    fixed = api.as_("admin").post(f"/api/flows/instances/{iid}/retry")
    assert fixed.status_code == 200 and fixed.json()["status"]["position"] == ["big"]
    assert [t["node"] for t in todo(api, "dir_zhao")] == ["big"]


def test_flows_start_when_a_record_is_submitted(api, platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _publish(platform, app_copy(tmp_path, {"on_submit": ON_SUBMIT}))
    rid = record(api, title="auto")
    items = todo(api, "carol")
    assert [(t["flow"], t["title"]) for t in items] == [("on_submit", "auto")]
    with platform.db.connect() as conn:
        row = conn.execute(select(instances).where(instances.c.record_id == rid)).mappings().one()
    assert row["initiator_id"] == user_id(platform, "alice") and row["flow"] == "on_submit"


def test_delegation_while_away_sends_new_tasks_to_the_delegate(api, platform) -> None:  # type: ignore[no-untyped-def]
    now = platform.clock.now()
    created = api.as_("east_lead").post("/api/flows/delegations", json={
        "to": "carol", "ends_at": (now + timedelta(days=3)).isoformat()})
    assert created.status_code == 201
    assert api.as_("east_lead").post("/api/flows/delegations", json={"to": "carol", "ends_at": "soon"}
                                     ).status_code == 400
    iid = start(api, record(api))
    assert todo(api, "east_lead") == []
    assert [t["node"] for t in todo(api, "carol")] == ["lead_review"]
    view = instance(api, iid)
    transfer = next(h for h in view["history"] if h["action"] == "transfer")
    assert transfer["comment"] == "delegated while away" and transfer["actor"] == "east_lead"
    assert api.as_("east_lead").delete(f"/api/flows/delegations/{created.json()['id']}").status_code == 204
    second = start(api, record(api, title="second"))
    assert [t["instance"] for t in todo(api, "east_lead")] == [second]


def test_automations_can_start_a_flow_as_the_system(platform, api) -> None:  # type: ignore[no-untyped-def]
    rid = record(api, amount="10", urgent=True)
    with platform.db.begin() as conn:
        started = platform.services["flows"].start(conn, "purchasing", "purchase_approval", rid, SYSTEM,
                                                   check_rights=False)
    assert started["status"]["position"] == ["buyer_check"]
    with platform.db.connect() as conn:
        row = conn.execute(select(tasks).where(tasks.c.instance_id == started["id"])).mappings().first()
    assert row is not None and row["status"] == "open"


@pytest.mark.parametrize("legacy", [False, True], ids=["ids kept", "state without task ids"])
def test_the_open_tasks_a_step_returns_are_the_task_rows(api, platform, legacy) -> None:  # type: ignore[no-untyped-def]
    """A step answers with its open tasks from the state and the row ids kept in it (no re-read); they must be the
    rows an inbox shows, through a countersign to the end, also for instances written before the ids were kept."""
    from engine.identity import load_principal

    iid = start(api, record(api, amount="80000"))
    service = platform.services["flows"]

    def rows() -> list[dict[str, object]]:
        with platform.db.connect() as conn:
            return [{"id": r.id, "node": r.node, "assignee_id": r.assignee_id} for r in conn.execute(
                select(tasks.c.id, tasks.c.node, tasks.c.assignee_id).where(
                    tasks.c.instance_id == iid, tasks.c.status == "open").order_by(tasks.c.id))]

    open_now = rows()
    assert open_now
    steps = 0
    while open_now:
        if legacy:  # as an instance persisted before: its state JSON has no task ids
            with platform.db.begin() as conn:
                state = dict(conn.execute(select(instances.c.state).where(instances.c.id == iid)).scalar_one())
                state.pop("rows", None)
                conn.execute(instances.update().where(instances.c.id == iid).values(state=state))
        first = open_now[0]
        with platform.db.begin() as conn:
            who = load_principal(conn, int(first["assignee_id"]))  # type: ignore[arg-type]
            payload = {"values": {"category": "it"}} if first["node"] == "finance_countersign" else {}
            status = service.act(conn, int(first["id"]), who, "approve", payload)["status"]  # type: ignore[arg-type]
        open_now = rows()
        assert status["open_tasks"] == open_now
        steps += 1
    assert steps >= 3 and status["status"] == "finished"


def test_a_return_inside_a_parallel_branch_through_the_api(api, platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Only the returning branch goes back; the other branch's task row stays open; the join fires once."""
    _publish(platform, app_copy(tmp_path, {"parallel_checks": PARALLEL}))
    iid = start(api, record(api), flow="parallel_checks")
    director_task, buyer_task = task_of(api, "dir_zhao", iid), task_of(api, "carol", iid)
    assert act(api, "carol", iid).status_code == 200
    response = act(api, "fin_wang", iid, "return", to="buyer_check", reason="wrong supplier")
    assert response.status_code == 200, response.text
    view = instance(api, iid)
    assert sorted(p["node"] for p in view["position"]) == ["buyer_check", "director_check"]
    assert task_of(api, "dir_zhao", iid) == director_task  # the other branch is untouched
    assert task_of(api, "carol", iid) != buyer_task and task_of(api, "east_lead", iid)  # the branch made afresh
    assert not [t for t in todo(api, "fin_wang") if t["instance"] == iid]
    assert act(api, "dir_zhao", iid).status_code == 200
    assert sorted(p["node"] for p in instance(api, iid)["position"]) == ["buyer_check", "merge"]
    assert act(api, "east_lead", iid).status_code == 200
    assert act(api, "boss", iid).status_code == 200
    view = instance(api, iid)
    assert (view["status"], view["outcome"]) == ("finished", "approved")
    with platform.db.connect() as conn:
        def count(**where: object) -> int:
            query = select(func.count()).select_from(history).where(history.c.instance_id == iid)
            for column, value in where.items():
                query = query.where(history.c[column] == value)
            return int(conn.execute(query).scalar_one())

        assert count(kind="node", node="merge") == 1  # the join was left exactly once
        assert count(kind="action", action="finish") == 1
        assert count(kind="action", action="return", node="finance_check") == 1
        assert count(kind="task", node="finance_check", action="returned") == 1
        assert count(kind="node", node="buyer_check") == 2 and count(kind="node", node="director_check") == 1
