"""Flow-triggered automations, the start_flow action, and buttons (the actions endpoint and its rights)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from automation_support import APP, create, publish, records, update, user_id, who
from engine.notifications import notifications
from flow_engine.tables import instances, tasks
from tests.conftest import Api, make_platform

FLOW_AUTOMATIONS = {
    "automations/submit.yaml": """
key: submit_starts_approval
when: {record: updated, form: order, changed: status, to: submitted}
then:
  - start_flow: order_approval
""",
    "automations/entered.yaml": """
key: tell_finance
when: {flow: order_approval, event: entered, node: finance_check}
then:
  - notify: {to: {users: [boss]}, title: "{{title}} waits for finance ({{trigger.node}})"}
""",
    "automations/left.yaml": """
key: buyer_done
when: {flow: order_approval, event: left, node: buyer_check, outcome: approved}
then:
  - set: {note: "'buyer approved'"}
""",
    "automations/finished.yaml": """
key: approved_marks_order
when: {flow: order_approval, event: finished, outcome: approved}
then:
  - set: {status: "'approved'"}
""",
}


@pytest.fixture
def plat(database, tmp_path, clock):  # type: ignore[no-untyped-def]
    return make_platform(database, tmp_path, clock, apps_dir=tmp_path / "apps")


def open_task(platform, instance_id, username=None):  # type: ignore[no-untyped-def]
    query = select(tasks).where(tasks.c.instance_id == instance_id, tasks.c.acted_at.is_(None), tasks.c.kind != "cc")
    if username is not None:
        query = query.where(tasks.c.assignee_id == user_id(platform, username))
    with platform.db.connect() as conn:
        return conn.execute(query.order_by(tasks.c.id)).mappings().first()


def approve(platform, task, username):  # type: ignore[no-untyped-def]
    actor = who(platform, username)
    with platform.db.begin() as conn:
        platform.services["flows"].act(conn, task["id"], actor, "approve", {})


def titles(platform, username):  # type: ignore[no-untyped-def]
    uid = user_id(platform, username)
    with platform.db.connect() as conn:
        return [r[0] for r in conn.execute(select(notifications.c.title).where(
            notifications.c.user_id == uid, notifications.c.kind == "automation"))]


def test_start_flow_and_node_and_finish_triggers_run_in_the_flow_steps(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, FLOW_AUTOMATIONS)
    order = create(plat, "order", {"title": "chairs", "amount": "800"})
    update(plat, "order", order["id"], {"status": "submitted"})
    with plat.db.connect() as conn:
        inst = conn.execute(select(instances).where(instances.c.record_id == order["id"])).mappings().one()
    assert inst["flow"] == "order_approval" and inst["status"] == "running"
    assert titles(plat, "boss") == []
    approve(plat, open_task(plat, inst["id"], "carol"), "carol")  # buyer_check → finance_check
    assert titles(plat, "boss") == ["chairs waits for finance (finance_check)"]
    assert records(plat, "order")[0]["note"] == "buyer approved"
    assert records(plat, "order")[0]["status"] == "submitted"
    approve(plat, open_task(plat, inst["id"], "fin_wang"), "fin_wang")  # finance_check → approved (end)
    assert records(plat, "order")[0]["status"] == "approved"


def test_a_failing_flow_automation_rolls_the_flow_step_back(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {**FLOW_AUTOMATIONS, "automations/left.yaml": """
key: buyer_done
when: {flow: order_approval, event: left, node: buyer_check}
then:
  - set: {months: 0}
"""})
    order = create(plat, "order", {"title": "desks"})
    update(plat, "order", order["id"], {"status": "submitted"})
    with plat.db.connect() as conn:
        instance_id = conn.execute(select(instances.c.id)).scalar_one()
    task = open_task(plat, instance_id, "carol")
    from rules_engine.automations import AutomationFailed

    with pytest.raises(AutomationFailed):
        approve(plat, task, "carol")
    assert open_task(plat, instance_id)["node"] == "buyer_check"  # the approval did not happen
    assert titles(plat, "boss") == []


BUTTON = {"automations/close.yaml": """
key: close_button
when: {button: close_order, form: order, label: 结单, roles: [buyer]}
if: "status != 'closed'"
then:
  - set: {status: "'closed'", note: "'closed by ' & current_user.username"}
"""}


def test_a_button_runs_for_a_permitted_user_and_refuses_others(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, BUTTON)
    api = Api(plat)
    mine = create(plat, "order", {"title": "alice's"}, username="alice")
    url = f"/api/apps/{APP}/forms/order/records/{mine['id']}/actions"
    assert api.as_("alice").get(url).json() == {"items": []}  # alice may update it but is no buyer
    assert api.as_("carol").get(url).json() == {"items": [{"name": "close_order", "label": "结单"}]}
    refused = api.as_("alice").post(url + "/close_order")
    assert refused.status_code == 403 and records(plat, "order")[0]["status"] == "draft"
    assert api.as_("bob").post(url + "/close_order").status_code == 404  # bob cannot see alice's order
    assert api.as_("fin_wang").post(url + "/close_order").status_code == 403  # finance reads but may not update
    assert api.as_(None).post(url + "/close_order").status_code == 401
    assert api.as_("carol").post(url + "/no_such_action").status_code == 404
    done = api.as_("carol").post(url + "/close_order")
    assert done.status_code == 200, done.text
    assert done.json()["record"]["status"] == "closed" and done.json()["record"]["note"] == "closed by carol"
    assert done.json()["runs"][0]["status"] == "done"
    again = api.as_("carol").post(url + "/close_order")
    assert again.json()["runs"][0]["status"] == "skipped"  # the condition no longer holds


def test_admins_read_the_run_log_and_others_may_not(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, BUTTON)
    api = Api(plat)
    order = create(plat, "order", {"title": "logged"})
    api.as_("carol").post(f"/api/apps/{APP}/forms/order/records/{order['id']}/actions/close_order")
    assert api.as_("carol").get("/api/admin/automation-runs").status_code == 403
    log = api.as_("admin").get(f"/api/admin/automation-runs?app={APP}&record_id={order['id']}").json()["items"]
    assert [(r["automation"], r["status"], r["trigger"]) for r in log] == [
        ("close_button", "done", "button close_order: order")]
    assert log[0]["actions"][0]["fields"] == {"status": "closed", "note": "closed by carol"}
    assert log[0]["user_id"] == user_id(plat, "carol")


def test_the_record_page_shows_the_buttons_the_user_may_press(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, BUTTON)
    api = Api(plat)
    order = create(plat, "order", {"title": "paged"}, username="alice")
    page = f"/apps/{APP}/forms/order/{order['id']}"
    action = f"/api/apps/{APP}/forms/order/records/{order['id']}/actions/close_order"
    shown = api.as_("carol").get(page)
    assert shown.status_code == 200 and f'data-record-action="{action}"' in shown.text and "结单" in shown.text
    assert "data-record-action" not in api.as_("alice").get(page).text  # alice is no buyer


NODE_FLOW = """
key: order_approval
form: order
label: 订货审批
start_on: manual
nodes:
  - {id: start, type: start}
  - {id: buyer_check, type: approval, name: 采购复核, assignees: {role: buyer}, mode: any}
  - id: mark_approved
    type: automation
    actions:
      - set: {status: "'approved'", note: "'approved at ' & trigger.node"}
      - create:
          form: supplier
          values: {name: "title & ' supplier'"}
  - {id: approved, type: end, outcome: approved}
edges:
  - {from: start, to: buyer_check}
  - {from: buyer_check, to: mark_approved}
  - {from: mark_approved, to: approved}
"""


def _start(plat, title):  # type: ignore[no-untyped-def]
    order = create(plat, "order", {"title": title})
    carol = who(plat, "carol")
    with plat.db.begin() as conn:
        inst = plat.services["flows"].start(conn, APP, "order_approval", order["id"], carol)
    return order, inst["id"]


def test_a_flow_automation_node_runs_its_actions_on_the_record_in_the_step(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"flows/order_approval.yaml": NODE_FLOW})
    order, instance_id = _start(plat, "lamps")
    approve(plat, open_task(plat, instance_id, "carol"), "carol")  # buyer_check → mark_approved → end
    stored = records(plat, "order")[0]
    assert stored["status"] == "approved" and stored["note"] == "approved at mark_approved"
    assert [s["name"] for s in records(plat, "supplier") if s["name"].startswith("lamps")] == ["lamps supplier"]
    with plat.db.connect() as conn:
        assert conn.execute(select(instances.c.status).where(instances.c.id == instance_id)).scalar_one() == "finished"


def test_a_failing_automation_node_leaves_the_approval_undone(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"flows/order_approval.yaml": NODE_FLOW.replace(
        """      - set: {status: "'approved'", note: "'approved at ' & trigger.node"}""",
        """      - set: {status: "'approved'", months: 0}""")})
    order, instance_id = _start(plat, "rugs")
    from rules_engine.automations import AutomationFailed

    with pytest.raises(AutomationFailed):
        approve(plat, open_task(plat, instance_id, "carol"), "carol")
    assert open_task(plat, instance_id)["node"] == "buyer_check"
    assert records(plat, "order")[0]["status"] == "draft"
    assert not [s for s in records(plat, "supplier") if s["name"].startswith("rugs")]


def test_a_flow_automation_node_with_a_bad_field_is_a_located_definition_error(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engine.errors import DefinitionErrors

    bad = NODE_FLOW.replace("""note: "'approved at ' & trigger.node\"""", """nope: "'x'\"""")
    with pytest.raises(DefinitionErrors) as caught:
        publish(plat, tmp_path, {"flows/order_approval.yaml": bad})
    text = str(caught.value)
    assert "flows/order_approval.yaml:" in text and "nope" in text and "nodes[2].actions[0].set" in text.replace(
        "/", "."), text
