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
