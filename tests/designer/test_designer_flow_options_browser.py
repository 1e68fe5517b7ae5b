"""The flow designer's side panel edits every option of an approval node (headless Chromium): description, who when
nobody is found (if_none), quorum, the rejection policy, managers several levels up, reasons required to reject or
return, where a task may be returned to, escalation (action, reassign role, working time), the rights of the fields
not listed, checks when a task is done, and people found by several rules. The panel shows what the file says; the saved YAML holds what was chosen
and the app still checks out. Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import pytest
import yaml

from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

FLOW = "flows/purchase_approval.yaml"


def _node(saved: dict, node_id: str) -> dict:
    return next(n for n in saved["nodes"] if n["id"] == node_id)


def test_approval_node_options_are_shown_edited_and_saved(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/{FLOW}")
    page.get_by_test_id("node-lead_review").click()
    panel = page.get_by_test_id("properties")
    panel.get_by_test_id("prop-if_none").wait_for()
    # what the file says
    assert panel.get_by_test_id("prop-if_none").input_value() == "skip"
    assert panel.get_by_test_id("assignee-kind").input_value() == "manager_of"
    assert panel.get_by_test_id("prop-require_reason-reject").is_checked()
    assert not panel.get_by_test_id("prop-require_reason-return").is_checked()
    assert panel.get_by_test_id("prop-returnable_to-initiator").is_checked()
    assert panel.get_by_test_id("prop-escalate").input_value() == "notify_manager"
    assert panel.get_by_test_id("prop-business_time").is_checked()

    panel.get_by_test_id("prop-description").fill("the requester's manager first")
    panel.get_by_test_id("prop-if_none").select_option("admin")
    panel.get_by_test_id("assignee-levels").fill("2")
    panel.get_by_test_id("prop-require_reason-return").check()
    panel.get_by_test_id("prop-returnable_to-any_earlier").check()
    panel.get_by_test_id("prop-escalate").select_option("reassign")
    assert panel.get_by_test_id("escalate-to-kind").input_value() == "role"
    panel.get_by_test_id("escalate-to-value").fill("director")
    panel.get_by_test_id("prop-business_time").uncheck()
    panel.get_by_test_id("prop-default_rights").select_option("hidden")
    panel.get_by_test_id("node-validation-add").click()
    panel.get_by_test_id("node-validation-expr-0").fill("quantity > 0")
    panel.get_by_test_id("node-validation-message-0").fill("give a quantity")

    # a countersign by a quorum, rejecting only after everyone voted
    page.get_by_test_id("node-finance_countersign").click()
    panel.get_by_test_id("prop-mode").select_option("quorum")
    panel.get_by_test_id("prop-quorum-value").fill("2")
    panel.get_by_test_id("prop-reject_policy").select_option("after_all")
    # the director, or also a named user: two rules
    page.get_by_test_id("node-director_review").click()
    panel.get_by_test_id("assignee-add").click()
    panel.get_by_test_id("assignee-kind-1").select_option("users")
    panel.get_by_test_id("assignee-value-1").fill("boss, fin_wang")
    page.wait_for_timeout(400)
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()

    saved = yaml.safe_load((folder / FLOW).read_text())
    lead = _node(saved, "lead_review")
    assert lead["description"] == "the requester's manager first" and lead["if_none"] == "admin"
    assert lead["assignees"] == {"manager_of": "initiator", "levels": 2}
    assert lead["require_reason"] == ["reject", "return"]
    assert lead["returnable_to"] == ["initiator", "any_earlier"]
    assert lead["sla"] == {"remind_after": "4h", "escalate_after": "1d",
                           "escalate": {"action": "reassign", "to": {"role": "director"}}}
    assert lead["default_rights"] == "hidden" and lead["fields"] == {"quantity": "editable"}
    assert lead["validations"] == [{"expr": "quantity > 0", "message": "give a quantity"}]
    finance = _node(saved, "finance_countersign")
    assert (finance["mode"], finance["quorum"], finance["reject_policy"]) == ("quorum", {"count": 2}, "after_all")
    assert _node(saved, "director_review")["assignees"] == [{"role": "director"}, {"users": ["boss", "fin_wang"]}]


MARK_FLOW = """key: mark_flow
form: purchase_request
label: Mark
nodes:
  - {id: start, type: start}
  - id: mark
    type: automation
    actions:
      - set: {urgent: "true"}
  - {id: done, type: end, outcome: approved}
edges:
  - {from: start, to: mark}
  - {from: mark, to: done}
"""


def test_an_automation_node_edits_its_actions_in_blocks(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    path = folder / "flows/mark_flow.yaml"
    path.write_text(MARK_FLOW)
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/flows/mark_flow.yaml")
    page.get_by_test_id("node-mark").click()
    panel = page.get_by_test_id("properties")
    # the action as the automation editor shows it
    assert panel.get_by_test_id("fa-action-0-set-key-0").input_value() == "urgent"
    assert panel.get_by_test_id("fa-action-0-set-value-0").input_value() == "true"
    # a field the form does not have is the engine's problem, listed under the node
    panel.get_by_test_id("fa-action-0-set-key-0").fill("urgentt")
    panel.get_by_test_id("fa-action-0-set-key-0").press("Tab")
    page.get_by_test_id("problems").filter(has_text="urgentt").wait_for()
    panel.get_by_test_id("fa-action-0-set-key-0").fill("urgent")
    panel.get_by_test_id("fa-action-0-set-key-0").press("Tab")
    page.get_by_test_id("problems").filter(has_text="No problems").wait_for()
    # a notification added after it
    panel.get_by_test_id("fa-new-type").select_option("notify")
    panel.get_by_test_id("fa-add").click()
    panel.get_by_test_id("fa-action-1-roles").fill("buyer")
    panel.get_by_test_id("fa-action-1-title").fill("{{title}} marked")
    panel.get_by_test_id("fa-action-1-fields").fill("")
    page.wait_for_timeout(400)
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load(path.read_text())
    node = next(n for n in saved["nodes"] if n["id"] == "mark")
    assert node["actions"] == [{"set": {"urgent": "true"}},
                               {"notify": {"to": {"roles": ["buyer"]}, "title": "{{title}} marked"}}]
