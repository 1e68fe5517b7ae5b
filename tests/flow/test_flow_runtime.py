"""Running flows: paths through branches and parallel splits, error state and retry, state serialisation."""
from __future__ import annotations

import json

import pytest
from conftest import NOW, act_as, directory, load, load_text

from flow_engine import (FieldNotEditable, FlowFailed, FlowFinished, InstanceFinished, InstanceInError,
                         InstanceState, NodeEntered, NodeLeft, Notify, RequiredFieldsMissing, RunActions,
                         StartSubflow, SYSTEM, TaskCreated, act, retry, simulate, start)
from flow_engine.conditions import simple_compiler


def entered(effects: list) -> list[str]:
    return [e.node for e in effects if isinstance(e, NodeEntered)]


@pytest.mark.parametrize(("values", "path", "people"), [
    ({"amount": 100, "urgent": False}, ["start", "lead_review", "finance_review", "approved"],
     {"lead_review": ("bob",), "finance_review": ("fin1", "fin2")}),
    ({"amount": 100, "urgent": True}, ["start", "finance_review", "approved"], {"finance_review": ("fin1", "fin2")}),
    ({"amount": 600000, "urgent": True}, ["start", "finance_review", "director_review", "approved"],
     {"finance_review": ("fin1", "fin2"), "director_review": ("dir1", "dir2", "dir3")}),
])
def test_simulate_purchase_request(values: dict, path: list[str], people: dict) -> None:
    result = simulate(load("valid/purchase_request"), values, directory(), initiator="alice")
    assert list(result.path) == path
    assert dict(result.people) == people
    assert result.outcome == "approved" and result.error is None


def test_start_effects_and_history() -> None:
    flow = load("valid/purchase_request")
    state, effects = start(flow, {"amount": 1, "urgent": False}, "alice", directory(), NOW, instance_id="i7")
    assert [type(e).__name__ for e in effects] == ["NodeEntered", "NodeLeft", "NodeEntered", "TaskCreated"]
    assert state.position == ["lead_review"] and state.status == "running"
    assert [(v.node, v.left_at is not None) for v in state.visits] == [("start", True), ("lead_review", False)]
    assert state.log[0].action == "start"


def test_parallel_split_join_notify_and_automation() -> None:
    flow = load("valid/expense_claim")
    state, _ = start(flow, {"amount": 20000, "requester": "dave"}, "alice", directory(), NOW)
    assert [t.assignee for t in state.open_tasks()] == ["dave"]
    state = act_as(flow, state, "dave", payload={"values": {"note": "taxi"}})
    assert sorted(state.position) == ["audit_check", "finance_check"]
    state = act_as(flow, state, "fin1")
    state = act_as(flow, state, "aud1")
    assert sorted(state.position) == ["finance_check", "merge"]  # the join waits for the other branch
    task = next(t for t in state.open_tasks() if t.assignee == "fin2")
    state, effects = act(flow, state, task.id, "fin2", "approve", NOW, directory=directory())
    assert entered(effects) == ["cc_finance", "book", "route", "cfo_signoff"]  # merge was entered at the first arrival
    assert Notify(("erin", "fin1", "fin2", "fin3", "dir1", "dir2", "dir3"), "cc", "cc_finance") in effects
    assert RunActions("book", ({"action": "set_field", "field": "note", "value": "booked"},)) in effects
    assert state.open_tasks()[0].assignee == "cfo1"
    state = act_as(flow, state, "cfo1")
    assert state.outcome == "approved"


def test_fill_node_rights_apply_to_changes() -> None:
    flow = load("valid/expense_claim")
    state, _ = start(flow, {"amount": 5, "requester": "dave"}, "alice", directory(), NOW)
    with pytest.raises(RequiredFieldsMissing):
        act_as(flow, state, "dave")
    with pytest.raises(FieldNotEditable):
        act_as(flow, state, "dave", payload={"values": {"note": "x", "amount": 1}})
    state = act_as(flow, state, "dave", payload={"values": {"note": "x"}})
    assert state.values["note"] == "x"


def test_record_field_and_expression_assignees() -> None:
    flow = load_text("""
key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: a, type: approval, assignees: [{expr: "['u1', 'u2'] if days > 1 else 'u3'"}, {field: cost_center}], mode: all}
  - {id: done, type: end}
edges: [{from: start, to: a}, {from: a, to: done}]
""", compile_condition=simple_compiler())
    state, _ = start(flow, {"days": 2, "cost_center": "hr"}, "alice", directory(), NOW)
    assert [t.assignee for t in state.open_tasks()] == ["u1", "u2", "hr1"]


@pytest.mark.parametrize(("if_none", "status", "assignees", "position"), [
    ("skip", "finished", [], []),
    ("admin", "running", ["admin1"], ["a"]),
    ("error", "error", [], []),
])
def test_nobody_to_assign(if_none: str, status: str, assignees: list[str], position: list[str]) -> None:
    flow = load_text(f"""
key: f
form: purchase
nodes:
  - {{id: start, type: start}}
  - {{id: a, type: approval, assignees: {{role: auditor}}, if_none: {if_none}}}
  - {{id: done, type: end}}
edges: [{{from: start, to: a}}, {{from: a, to: done}}]
""")
    org = directory()
    org.roles["auditor"] = []
    state, _ = start(flow, {}, "alice", org, NOW)
    assert state.status == status
    assert [t.assignee for t in state.open_tasks()] == assignees
    assert state.position == position
    if status == "error":
        assert state.failure is not None and "nobody to assign" in state.failure.message
        org.roles["auditor"] = ["aud1"]
        state, _ = retry(flow, state, "admin1", org, NOW)
        assert state.status == "running" and [t.assignee for t in state.open_tasks()] == ["aud1"]


BROKEN = """
key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: a, type: approval, assignees: {users: [u1]}}
  - {id: split, type: parallel}
  - {id: b, type: approval, assignees: {users: [u2]}}
  - {id: route, type: exclusive}
  - {id: c, type: approval, assignees: {users: [u3]}}
  - {id: merge, type: join}
  - {id: done, type: end}
edges:
  - {from: start, to: a}
  - {from: a, to: split}
  - {from: split, to: b}
  - {from: split, to: route}
  - {from: route, to: c, if: "amount / divisor > 10"}
  - {from: route, to: merge, default: true}
  - {from: b, to: merge}
  - {from: c, to: merge}
  - {from: merge, to: done}
"""


def test_failing_condition_stops_in_error_state_without_half_advancing() -> None:
    flow = load_text(BROKEN, compile_condition=simple_compiler())
    state, _ = start(flow, {"amount": 100, "divisor": 0}, "alice", directory(), NOW)
    task = state.open_tasks()[0]
    after, effects = act(flow, state, task.id, "u1", "approve", NOW, directory=directory())
    assert after.status == "error" and after.failure is not None
    assert after.failure.node == "route" and "ZeroDivisionError" in after.failure.message
    assert after.position == ["a"]  # not half-advanced: branch b got no task
    assert [t.status for t in after.tasks] == ["approved"]
    assert isinstance(effects[-1], FlowFailed)
    assert not [e for e in effects if isinstance(e, TaskCreated)]
    with pytest.raises(InstanceInError):
        act(flow, after, task.id, "u1", "approve", NOW, directory=directory())
    resumed, effects = retry(flow, after, "admin1", directory(), NOW, values={"divisor": 2})
    assert resumed.status == "running"
    assert sorted(resumed.position) == ["b", "c"]
    assert entered(effects) == ["split", "b", "route", "c"]
    for user in ("u2", "u3"):
        resumed = act_as(flow, resumed, user)
    assert resumed.outcome == "approved"


def test_failing_condition_at_start() -> None:
    flow = load_text(BROKEN.replace("{from: start, to: a}", "{from: start, to: a, if: \"x.y > 1\"}\n  - {from: start, to: done, default: true}"),
                     compile_condition=simple_compiler())
    state, _ = start(flow, {"x": 3}, "alice", directory(), NOW)
    assert state.status == "error" and state.visits == ()
    state, _ = retry(flow, state, "admin1", directory(), NOW, values={"x": {"y": 5}})
    assert state.position == ["a"]


def test_state_round_trips_through_json() -> None:
    flow = load("valid/purchase_request")
    state, _ = start(flow, {"amount": 600000, "urgent": False}, "alice", directory(), NOW, instance_id="i1")
    state = act_as(flow, state, "bob", payload={"values": {"opinion": "fine"}, "comment": "ok"})
    state = act_as(flow, state, "fin1")
    text = json.dumps(state.to_dict())
    again = InstanceState.from_dict(json.loads(text))
    assert again == state
    assert json.loads(text)["format"] == 1
    again = act_as(flow, again, "fin2")
    assert again.position == ["director_review"]


def test_finished_instance_refuses_actions() -> None:
    flow = load("valid/leave_request")
    state, _ = start(flow, {"days": 1}, "dave", directory(), NOW)
    task = state.open_tasks()[0]
    state, effects = act(flow, state, task.id, "bob", "approve", NOW, directory=directory())
    assert FlowFinished("approved", NOW) in effects and Notify(("dave",), "finished") in effects
    with pytest.raises(InstanceFinished):
        act(flow, state, task.id, "bob", "approve", NOW, directory=directory())
    assert [e.node for e in effects if isinstance(e, NodeLeft)] == ["lead", "granted"]


def test_subflow_waits_for_the_system() -> None:
    flow = load_text("""
key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: sub, type: subflow, flow: vendor_onboarding}
  - {id: done, type: end}
edges: [{from: start, to: sub}, {from: sub, to: done}]
""")
    state, effects = start(flow, {}, "alice", directory(), NOW)
    started = next(e for e in effects if isinstance(e, StartSubflow))
    assert started.flow == "vendor_onboarding"
    state, _ = act(flow, state, started.task, SYSTEM, "approve", NOW, directory=directory())
    assert state.outcome == "approved"


def test_manager_levels_and_if_none_admin() -> None:
    flow = load("valid/leave_request")
    state, _ = start(flow, {"days": 5}, "dave", directory(), NOW)
    assert [t.assignee for t in state.open_tasks()] == ["bob"]
    state, _ = start(flow, {"days": 5}, "carol", directory(), NOW)  # the top has no manager: admin gets it
    assert [t.assignee for t in state.open_tasks()] == ["admin1"]


def test_rules_engine_condition_failure_stops_the_instance() -> None:
    flow = load_text("""
key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: a, type: approval, assignees: {users: [u1]}}
  - {id: done, type: end}
edges:
  - {from: start, to: a, if: "amount / days > 10"}
  - {from: start, to: done, default: true}
  - {from: a, to: done}
""")
    state, _ = start(flow, {"amount": 100, "days": 0}, "alice", directory(), NOW)
    assert state.status == "error" and state.failure is not None
    assert "division by zero" in state.failure.message
    state, _ = retry(flow, state, "admin1", directory(), NOW, values={"days": 2})
    assert state.position == ["a"]
