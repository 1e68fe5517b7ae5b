"""An automation that consults a decision table stores the table's trace with its run: which rows matched, each cell
and the inputs, so the decision can be audited later (the admin run log)."""
from __future__ import annotations

from automation_support import APP, create, publish, records
from rules_engine.decision import recording
from test_automations_webhooks import platform_with
from tests.conftest import Api

RISK = {"rules/risk.yaml": """
key: order_risk
kind: decision_table
label: Order risk
hit_policy: UNIQUE
inputs:
  - {key: amount, type: number}
outputs:
  - {key: priority, type: text}
rules:
  - {when: ["< 1000"], then: [low]}
  - {when: ["[1000..50000)"], then: [normal]}
  - {when: [">= 50000"], then: [high]}
""", "automations/triage.yaml": """
key: triage
when: {record: created, form: order}
if: 'DECIDE("order_risk", amount) != "low"'
then:
  - set: {priority: 'DECIDE("order_risk", amount)'}
"""}


def test_the_run_log_keeps_the_trace_of_each_decision(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock)
    publish(plat, tmp_path, RISK)
    small = create(plat, "order", {"title": "small", "amount": "10"})
    big = create(plat, "order", {"title": "big", "amount": "75000"})
    assert {r["id"]: r["priority"] for r in records(plat, "order")} == {small["id"]: "normal", big["id"]: "high"}
    (run,) = Api(plat).as_("admin").get("/api/admin/automation-runs", params={"app": APP}).json()["items"]
    assert run["record_id"] == big["id"] and run["status"] == "done"
    # the condition and the action each consulted the table: two traces, in order
    assert [d["table"] for d in run["decisions"]] == ["order_risk", "order_risk"]
    trace = run["decisions"][1]
    assert trace["inputs"] == {"amount": "75000"} and trace["matched"] == [3] and trace["result"] == {"priority": "high"}
    assert trace["hit_policy"] == "UNIQUE" and trace["file"].endswith("risk.yaml")
    assert [(r["rule"], r["matched"], r["cells"][0]["test"]) for r in trace["rules"]] == [
        (1, False, "< 1000"), (2, False, "[1000..50000)"), (3, True, ">= 50000")]


def test_an_automation_without_decisions_stores_none(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock)
    publish(plat, tmp_path, {"automations/plain.yaml": """
key: plain
when: {record: created, form: order}
then:
  - set: {priority: '"high"'}
"""})
    create(plat, "order", {"title": "plain", "amount": "10"})
    (run,) = Api(plat).as_("admin").get("/api/admin/automation-runs", params={"app": APP}).json()["items"]
    assert run["decisions"] is None


def test_recordings_nest_and_stay_bounded() -> None:
    from rules_engine.decision import build_decision_table  # noqa: F401 - the public entry point exists
    from rules_engine.decision.table import MAX_RECORDED, Recording

    class Fake:
        trace = {"table": "t"}

    outer_seen = Recording()
    for _ in range(MAX_RECORDED + 5):
        outer_seen.add(Fake())  # type: ignore[arg-type]
    assert len(outer_seen.traces()) == MAX_RECORDED + 1 and outer_seen.traces()[-1] == {"omitted": 5}
    with recording() as outer:
        with recording() as inner:
            pass
        assert inner is not outer


PICK = {"rules/pick.yaml": """
key: pick_approver
kind: decision_table
hit_policy: FIRST
inputs:
  - {key: amount, type: number}
outputs:
  - {key: approver, type: text}
rules:
  - {when: ["< 1000"], then: [carol]}
  - {when: ["-"], then: [boss]}
""", "flows/by_table.yaml": """
key: by_table
form: order
start_on: manual
nodes:
  - {id: start, type: start}
  - {id: check, type: approval, assignees: {decision: pick_approver}, mode: any}
  - {id: done, type: end, outcome: approved}
edges:
  - {from: start, to: check}
  - {from: check, to: done}
""", "automations/start.yaml": """
key: start_check
when: {record: created, form: order}
then:
  - start_flow: by_table
"""}


def test_a_flow_stores_the_trace_of_the_table_that_chose_its_approvers(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from automation_support import user_id
    from flow_engine.tables import instances, tasks

    plat = platform_with(database, tmp_path, clock)
    publish(plat, tmp_path, PICK)
    order = create(plat, "order", {"title": "plant", "amount": "5000"})
    with plat.db.connect() as conn:
        inst = conn.execute(select(instances).where(instances.c.record_id == order["id"])).mappings().one()
        assignees = [r[0] for r in conn.execute(select(tasks.c.assignee_id).where(tasks.c.instance_id == inst["id"]))]
    assert assignees == [user_id(plat, "boss")]
    history = Api(plat).as_("admin").get(f"/api/flows/instances/{inst['id']}").json()["history"]
    (entry,) = [h for h in history if h["action"] == "decision"]
    (trace,) = entry["detail"]["decisions"]
    assert trace["table"] == "pick_approver" and trace["inputs"] == {"amount": "5000"}
    assert trace["matched"] == [2] and trace["result"] == {"approver": "boss"}
    assert [(r["rule"], r["matched"]) for r in trace["rules"]] == [(1, False), (2, True)]


def test_the_instance_page_shows_the_decision(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from flow_engine.tables import instances

    plat = platform_with(database, tmp_path, clock)
    publish(plat, tmp_path, PICK)
    order = create(plat, "order", {"title": "plant", "amount": "5000"})
    with plat.db.connect() as conn:
        instance_id = conn.execute(select(instances.c.id).where(instances.c.record_id == order["id"])).scalar_one()
    page = Api(plat).as_("admin").get(f"/flows/instances/{instance_id}")
    assert page.status_code == 200 and "pick_approver → boss (2)" in page.text


BRANCH = {"rules/risk.yaml": RISK["rules/risk.yaml"], "flows/routed.yaml": """
key: routed
form: order
start_on: manual
nodes:
  - {id: start, type: start}
  - {id: gate, type: exclusive}
  - {id: review, type: approval, assignees: {role: finance}, mode: any}
  - {id: done, type: end, outcome: approved}
edges:
  - {from: start, to: gate}
  - {from: gate, to: review, if: 'DECIDE("order_risk", amount) == "high"'}
  - {from: gate, to: done, default: true}
  - {from: review, to: done}
""", "automations/start.yaml": """
key: start_routed
when: {record: created, form: order}
then:
  - start_flow: routed
"""}


def test_a_flow_branch_keeps_the_trace_of_the_table_its_condition_called(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from flow_engine.tables import instances

    plat = platform_with(database, tmp_path, clock)
    publish(plat, tmp_path, BRANCH)
    order = create(plat, "order", {"title": "press", "amount": "80000"})
    with plat.db.connect() as conn:
        inst = conn.execute(select(instances).where(instances.c.record_id == order["id"])).mappings().one()
    assert inst["status"] == "running"  # routed to review: the table said high
    history = Api(plat).as_("admin").get(f"/api/flows/instances/{inst['id']}").json()["history"]
    (gate,) = [h for h in history if h["kind"] == "node" and h["node"] == "gate"]
    branch = gate["detail"]["branches"][0]
    assert branch["to"] == "review" and branch["result"] is True
    (trace,) = branch["decisions"]
    assert trace["table"] == "order_risk" and trace["matched"] == [3] and trace["result"] == {"priority": "high"}
