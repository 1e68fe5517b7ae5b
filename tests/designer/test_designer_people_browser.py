"""People in the flow designer (headless Chromium): a node's assignees and the people of its escalation
(`escalate.to`, the `escalate_to` shorthand) are edited by one people control covering every shape the flow
meta-schema allows — a role, users (one name or a list), a department, the manager of the initiator, of a user field
or of the assignee (levels up), a person field, an expression, a decision table, several rules at once.

The keys are enumerated from the flow meta-schema (flow_engine/schemas/flow.json: assignee_rule, sla, sla.escalate
and the if_none choices), not listed here: a key added later without a control fails the first test. Every shape
shows as a control (none as read-only text) and a file saved without a change reads back exactly as it was; edits
save what was chosen; a published escalation to the assignee's manager reassigns the task to that manager.
Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from designer_support import dapi, folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "flow_engine" / "schemas" / "flow.json").read_text())
FLOW = "flows/purchase_approval.yaml"
PEOPLE_FLOW = "flows/people_shapes.yaml"
PEOPLE_YAML = """key: people_shapes
form: purchase_request
label: People
nodes:
  - {id: start, type: start}
  - id: by_users
    type: approval
    assignees: {users: boss}
    sla: {escalate_after: 1d, escalate_to: [{role: director}, {department: east}]}
  - id: by_list
    type: approval
    assignees: [{users: [carol, east_lead]}, {department: west}]
    sla: {escalate_after: 2d, escalate: {action: notify_manager, to: {manager_of: assignee, levels: 2}}}
  - id: by_field
    type: approval
    assignees: {field: reviewer}
    if_none: admin
    sla: {escalate_after: 3d, escalate: {action: reassign, to: [{users: dir_zhao}, {manager_of: reviewer}]}}
  - id: by_expr
    type: approval
    assignees: {expr: "IF(amount > 1000, 'boss', 'fin_wang')"}
    sla: {escalate_after: 4h, escalate: {action: reassign, to: {expr: "'dir_zhao'"}}}
  - id: by_decision
    type: fill
    assignees: [{decision: approval_level}]
    sla: {escalate_after: 8h, escalate: {action: reassign, to: {decision: approval_level}}}
  - {id: done, type: end, outcome: approved}
edges:
  - {from: start, to: by_users}
  - {from: by_users, to: by_list}
  - {from: by_list, to: by_field}
  - {from: by_field, to: by_expr}
  - {from: by_expr, to: by_decision}
  - {from: by_decision, to: done}
"""


def _props(page) -> set[str]:  # type: ignore[no-untyped-def]
    return set(page.eval_on_selector_all("[data-testid=properties] [data-prop]", "els => els.map(e => e.dataset.prop)"))


def _node(saved: dict, node_id: str) -> dict:
    return next(n for n in saved["nodes"] if n["id"] == node_id)


def _add_reviewer_field(folder: Path) -> None:
    form = folder / "forms/purchase_request.yaml"
    form.write_text(form.read_text().replace("  - {key: note,", "  - {key: reviewer, type: user}\n  - {key: note,"))


def test_every_people_and_escalation_key_has_a_control(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/{FLOW}")
    page.get_by_test_id("node-lead_review").click()
    panel = page.get_by_test_id("properties")
    panel.get_by_test_id("prop-if_none").wait_for()
    seen = _props(page)
    panel.get_by_test_id("prop-escalate").select_option("reassign")
    panel.get_by_test_id("escalate-to-kind").select_option("manager_of")
    seen |= _props(page)

    defs = SCHEMA["$defs"]
    rule_keys = set(defs["assignee_rule"]["properties"])
    approval = next(n for n in defs["node"]["oneOf"] if n["properties"]["type"].get("const") == "approval")
    wanted = {f"assignee.{k}" for k in rule_keys}
    wanted |= {f"if_none.{v}" for v in approval["properties"]["if_none"]["enum"]}
    wanted |= {f"sla.{k}" for k in defs["sla"]["properties"]}
    escalate = defs["sla"]["properties"]["escalate"]["properties"]
    wanted |= {f"escalate.action.{v}" for v in escalate["action"]["enum"]}
    wanted |= {f"escalate.to.{k}" for k in rule_keys}
    assert set(escalate) == {"action", "to"}  # a new escalation key needs a control (and a line here)
    assert wanted - seen == set()
    # the escalation offers the assignee's manager; a node's assignees do not
    assert page.eval_on_selector("#dl-escalate-to-0", "d => [...d.options].map(o => o.value)")[:2] == ["initiator", "assignee"]
    panel.get_by_test_id("assignee-kind").select_option("manager_of")
    assert "assignee" not in page.eval_on_selector("#dl-assignee-0", "d => [...d.options].map(o => o.value)")


def test_every_people_shape_round_trips_and_edits_save(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    _add_reviewer_field(folder)
    path = folder / PEOPLE_FLOW
    path.write_text(PEOPLE_YAML)
    before = path.read_text()
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/{PEOPLE_FLOW}")
    panel = page.get_by_test_id("properties")
    page.get_by_test_id("problems").filter(has_text="No problems").wait_for()

    # every shape is shown as a control, none as text
    page.get_by_test_id("node-by_users").click()
    assert panel.get_by_test_id("assignee-kind").input_value() == "users"
    assert panel.get_by_test_id("assignee-value").input_value() == "boss"
    assert panel.get_by_test_id("prop-escalate").input_value() == "escalate_to"
    assert [panel.get_by_test_id(t).input_value() for t in ("escalate-to-kind", "escalate-to-value", "escalate-to-kind-1",
                                                            "escalate-to-value-1")] == ["role", "director", "department", "east"]
    page.get_by_test_id("node-by_list").click()
    assert panel.get_by_test_id("assignee-value").input_value() == "carol, east_lead"
    assert panel.get_by_test_id("assignee-kind-1").input_value() == "department"
    assert panel.get_by_test_id("prop-escalate").input_value() == "notify_manager"
    assert panel.get_by_test_id("escalate-to-kind").input_value() == "manager_of"
    assert panel.get_by_test_id("escalate-to-value").input_value() == "assignee"
    assert panel.get_by_test_id("escalate-to-levels").input_value() == "2"
    page.get_by_test_id("node-by_field").click()
    assert panel.get_by_test_id("assignee-kind").input_value() == "field"
    assert panel.get_by_test_id("prop-if_none").input_value() == "admin"
    assert panel.get_by_test_id("escalate-to-value-1").input_value() == "reviewer"
    page.get_by_test_id("node-by_expr").click()
    assert panel.get_by_test_id("assignee-value").input_value() == "IF(amount > 1000, 'boss', 'fin_wang')"
    assert panel.get_by_test_id("escalate-to-kind").input_value() == "expr"
    page.get_by_test_id("node-by_decision").click()
    assert panel.get_by_test_id("assignee-kind").input_value() == "decision"
    assert panel.get_by_test_id("escalate-to-value").input_value() == "approval_level"
    assert panel.locator("text=not a valid rule").count() == 0
    # saved without a change: the file is as it was
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    assert yaml.safe_load(path.read_text()) == yaml.safe_load(before)

    # edits: a user added from the list, a department's escalation by the manager two levels up, an expression,
    # a decision replaced by the manager of the person field, the shorthand turned into a notification
    page.get_by_test_id("node-by_users").click()
    panel.get_by_test_id("assignee-add-user").select_option("fin_wang")
    panel.get_by_test_id("escalate-to-remove-1").click()
    panel.get_by_test_id("prop-escalate").select_option("notify_manager")
    page.get_by_test_id("node-by_list").click()
    panel.get_by_test_id("escalate-to-levels").fill("3")
    panel.get_by_test_id("escalate-to-add").click()
    panel.get_by_test_id("escalate-to-kind-1").select_option("users")
    panel.get_by_test_id("escalate-to-value-1").fill("boss")
    page.get_by_test_id("node-by_expr").click()
    panel.get_by_test_id("escalate-to-value").fill("IF(amount > 5000, 'boss', 'dir_zhao')")
    page.get_by_test_id("node-by_decision").click()
    panel.get_by_test_id("assignee-kind").select_option("manager_of")
    panel.get_by_test_id("assignee-value").fill("reviewer")
    panel.get_by_test_id("assignee-levels").fill("2")
    panel.get_by_test_id("prop-escalate").select_option("escalate_to")
    panel.get_by_test_id("escalate-to-kind").select_option("department")
    panel.get_by_test_id("escalate-to-value").fill("hq")
    page.wait_for_timeout(400)
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load(path.read_text())
    assert _node(saved, "by_users")["assignees"] == {"users": ["boss", "fin_wang"]}
    assert _node(saved, "by_users")["sla"] == {"escalate_after": "1d",
                                               "escalate": {"action": "notify_manager", "to": [{"role": "director"}]}}
    assert _node(saved, "by_list")["sla"]["escalate"] == {
        "action": "notify_manager", "to": [{"manager_of": "assignee", "levels": 3}, {"users": ["boss"]}]}
    assert _node(saved, "by_expr")["sla"]["escalate"]["to"] == {"expr": "IF(amount > 5000, 'boss', 'dir_zhao')"}
    decision = _node(saved, "by_decision")
    assert decision["assignees"] == [{"manager_of": "reviewer", "levels": 2}]
    assert decision["sla"] == {"escalate_after": "8h", "escalate_to": {"department": "hq"}}
    assert _node(saved, "by_field") == _node(yaml.safe_load(before), "by_field")  # untouched


def test_a_published_escalation_reassigns_to_the_assignees_manager(server, browser, folder, plat, dapi, clock) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/{FLOW}")
    page.get_by_test_id("node-lead_review").click()
    panel = page.get_by_test_id("properties")
    panel.get_by_test_id("prop-escalate").select_option("reassign")
    panel.get_by_test_id("escalate-to-kind").select_option("manager_of")
    panel.get_by_test_id("escalate-to-value").fill("assignee")
    page.wait_for_timeout(400)
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    assert _node(yaml.safe_load((folder / FLOW).read_text()), "lead_review")["sla"]["escalate"] == {
        "action": "reassign", "to": {"manager_of": "assignee"}}
    page.get_by_test_id("publish-message").fill("escalate to the manager")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("status").filter(has_text="Published").wait_for()

    as_alice = dapi.as_("alice")
    rec = as_alice.post("/api/apps/purchasing/forms/purchase_request/records", json={"title": "desks", "amount": "900"})
    assert rec.status_code == 201, rec.text
    run = as_alice.post("/api/apps/purchasing/flows/purchase_approval/instances", json={"record_id": rec.json()["id"]})
    assert run.status_code == 201, run.text
    todo = lambda user: [t for t in dapi.as_(user).get("/api/flows/inbox/todo").json()["items"]  # noqa: E731
                         if t["instance"] == run.json()["id"]]
    assert todo("east_lead") and not todo("boss")  # alice's manager has the task
    clock.advance(days=10)  # past the time limit, in working time too
    assert plat.services["flows"].fire_due_timers() >= 1
    assert not todo("east_lead") and todo("boss")  # east_lead's manager (the department above) has it now
