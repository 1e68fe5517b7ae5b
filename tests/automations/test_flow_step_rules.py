"""Validation rules attached to a flow step: ``validations: [{expr, message}]`` on an approval or fill node, checked
when its task is approved against the record as it will be saved; a failing rule is a 422 naming the field and the
message, and leaves the record and the task unchanged."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from automation_support import create, publish, records, user_id
from engine.errors import DefinitionErrors
from flow_engine.tables import instances, tasks
from test_automations_webhooks import platform_with
from tests.conftest import Api

FLOW = {"flows/checked.yaml": """
key: checked
form: order
start_on: manual
nodes:
  - {id: start, type: start}
  - id: review
    type: approval
    assignees: {role: buyer}
    mode: any
    fields: {months: editable, note: editable}
    validations:
      - {expr: "months <= 12 or not ISBLANK(note)", message: "over a year needs a note"}
      - {expr: "amount < 100000", message: {zh-CN: 金额过大, en: "amount too large for this step"}}
  - {id: done, type: end, outcome: approved}
edges:
  - {from: start, to: review}
  - {from: review, to: done}
""", "automations/start.yaml": """
key: start_checked
when: {record: created, form: order}
then:
  - start_flow: checked
"""}


def open_task(plat, record_id):  # type: ignore[no-untyped-def]
    carol = user_id(plat, "carol")
    with plat.db.connect() as conn:
        inst = conn.execute(select(instances.c.id).where(instances.c.record_id == record_id)).scalar_one()
        return conn.execute(select(tasks).where(tasks.c.instance_id == inst, tasks.c.acted_at.is_(None),
                                                tasks.c.assignee_id == carol)).mappings().one()


def test_a_step_rule_blocks_the_approval_until_it_holds(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock)
    publish(plat, tmp_path, FLOW)
    order = create(plat, "order", {"title": "lease", "amount": "5000", "months": 6})
    task = open_task(plat, order["id"])
    carol = Api(plat).as_("carol")
    refused = carol.post(f"/api/flows/tasks/{task['id']}/approve", json={"values": {"months": 24}})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"] == [{"field": "months", "message": "over a year needs a note", "code": "rule"}]
    (row,) = records(plat, "order")
    assert row["months"] == 6  # the change rolled back with the refusal
    assert open_task(plat, order["id"])["id"] == task["id"]  # still open
    ok = carol.post(f"/api/flows/tasks/{task['id']}/approve", json={"values": {"months": 24, "note": "lease"}})
    assert ok.status_code == 200, ok.text
    (row,) = records(plat, "order")
    assert (row["months"], row["note"]) == (24, "lease")


def test_every_failing_rule_is_reported(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock)
    publish(plat, tmp_path, FLOW)
    order = create(plat, "order", {"title": "big", "amount": "250000", "months": 36})
    task = open_task(plat, order["id"])
    refused = Api(plat).as_("carol").post(f"/api/flows/tasks/{task['id']}/approve", json={})
    assert refused.status_code == 422
    assert [d["message"] for d in refused.json()["error"]["details"]] == ["over a year needs a note", "金额过大"]


def test_a_step_rule_naming_an_unknown_field_is_a_definition_error(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock)
    broken = FLOW["flows/checked.yaml"].replace("amount < 100000", "amout < 100000")
    with pytest.raises(DefinitionErrors) as caught:
        publish(plat, tmp_path, {"flows/checked.yaml": broken})
    texts = [str(e) for e in caught.value.errors]
    assert any(t.startswith("flows/checked.yaml:14:") and "validations[1].expr" in t and "amout" in t
               for t in texts), texts
