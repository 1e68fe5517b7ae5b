"""The whole story in headless Chromium, by clicking and dragging only: a business user (a designer) builds a new
form with six fields — a sub-table and a conditional field among them — and its rights, a two-approval flow with a
condition that starts when a record is created, and a bar-chart report; publishes; a staff user fills the form, the
approver approves in the inbox, and the report's chart shows the record.

It runs on a temporary apps folder holding a copy of the purchasing test app. Screenshots of a failing test go to
test-artifacts/."""
from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import select

from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import add_field, browser, drag, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PASSWORD = "demo-pass-2026"


def portal_login(page, server, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def edge_path(page, source: str, target: str):  # type: ignore[no-untyped-def]
    ids = {n: page.get_by_test_id(f"node-{n}").get_attribute("id").split("-")[1] for n in (source, target)}
    return page.locator(f".connection.node_out_node-{ids[source]}.node_in_node-{ids[target]} .main-path").first


def connect(page, source: str, target: str) -> None:  # type: ignore[no-untyped-def]
    """Drag from a node's output dot to another node's input dot, aiming at the input once the drag is under way
    (nodes change size while the checks of the last change come back)."""
    a = page.get_by_test_id(f"node-{source}").locator(".output_1").bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(a["x"] + a["width"] / 2 + 20, a["y"] + a["height"] / 2 + 20, steps=4)
    b = page.get_by_test_id(f"node-{target}").locator(".input_1").bounding_box()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=10)
    page.mouse.up()
    page.wait_for_timeout(700)  # let the live check redraw the nodes before the next drag


def build_form(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-form-key").fill("expense_claim")
    page.get_by_test_id("new-form-label").fill("Expense claim")
    page.get_by_test_id("create-form").click()
    page.get_by_test_id("palette").wait_for()
    add_field(page, "text", "canvas", "title", "Title")
    add_field(page, "money", "canvas", "amount", "Amount")
    add_field(page, "select", "canvas", "category", "Category")
    page.get_by_test_id("properties").get_by_test_id("prop-options").fill("travel = Travel\nmeals = Meals")
    add_field(page, "textarea", "canvas", "reason", "Why so much?")
    page.get_by_test_id("properties").get_by_test_id("prop-visible_if").fill("amount > 1000")
    add_field(page, "date", "canvas", "spent_on", "Spent on")
    add_field(page, "subtable", "canvas", "lines", "Lines")
    add_field(page, "text", "subtable-list-lines", "item", "Item")
    # the form's own properties: its title field and who may do what
    page.get_by_test_id("form-props").click()
    page.get_by_test_id("prop-title_field").select_option("title")
    page.get_by_test_id("perm-requester-create").check()
    page.get_by_test_id("perm-requester-read").select_option("own")
    page.get_by_test_id("perm-buyer-read").select_option("all")
    page.get_by_test_id("perm-finance-read").select_option("all")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()


def build_flow(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("link", name="purchasing").first.click()
    page.get_by_test_id("new-flow-key").fill("claim_approval")
    page.get_by_test_id("new-flow-form").select_option("expense_claim")
    page.get_by_test_id("create-flow").click()
    page.get_by_test_id("node-start").wait_for()
    page.get_by_test_id("prop-start_on").select_option("submit")
    canvas = page.get_by_test_id("flow-canvas")
    for node_id, role, x, y in (("buyer_review", "buyer", 40, 240), ("finance_review", "finance", 400, 440)):
        page.get_by_test_id("palette-approval").drag_to(canvas, target_position={"x": x, "y": y})
        page.get_by_test_id("node-approval_1").wait_for()
        page.get_by_test_id("properties").get_by_test_id("prop-id").fill(node_id)
        page.get_by_test_id("properties").get_by_test_id("prop-id").press("Enter")
        page.get_by_test_id(f"node-{node_id}").wait_for()
        page.get_by_test_id("assignee-value").fill(role)
    page.wait_for_timeout(700)
    # start → buyer review instead of start → done; the buyer's approval goes on to finance above 1000
    edge_path(page, "start", "done").click(force=True)  # a straight line: its box has no height
    page.get_by_role("button", name="delete edge").click()
    connect(page, "start", "buyer_review")
    connect(page, "buyer_review", "finance_review")
    connect(page, "buyer_review", "done")
    connect(page, "finance_review", "done")
    edge_path(page, "buyer_review", "finance_review").click(force=True)
    page.get_by_test_id("prop-if").fill("amount > 1000")
    edge_path(page, "buyer_review", "done").click(force=True)
    page.get_by_test_id("prop-default").check()
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()


def build_report(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("link", name="purchasing").first.click()
    page.get_by_test_id("new-report-key").fill("claims_by_category")
    page.get_by_test_id("new-report-label").fill("Claims by category")
    page.get_by_test_id("create-report").click()
    page.get_by_test_id("rb-fields").wait_for()
    page.get_by_test_id("rb-dataset").select_option("expense_claim")
    page.get_by_test_id("rb-field-category").wait_for()
    drag(page, page.get_by_test_id("rb-field-category"), page.get_by_test_id("rb-dimensions"), where="centre")
    page.get_by_test_id("rb-dimension-0").wait_for()
    drag(page, page.get_by_test_id("rb-field-amount"), page.get_by_test_id("rb-measures"), where="bottom")
    page.get_by_test_id("rb-measure-1").wait_for()
    page.get_by_test_id("rb-remove-measures-0").click()  # only the sum of amounts
    page.get_by_test_id("rb-chart-bar").click()
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()


def test_build_publish_fill_approve_and_chart(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    designer = browser()
    sign_in(designer, server, "dora")
    build_form(designer)
    build_flow(designer)
    build_report(designer)
    designer.get_by_test_id("publish-message").fill("expense claims with approval and a chart")
    designer.get_by_test_id("publish").click()
    designer.get_by_test_id("published").wait_for()

    form = yaml.safe_load((folder / "forms/expense_claim.yaml").read_text())
    assert [f["key"] for f in form["fields"]] == ["title", "amount", "category", "reason", "spent_on", "lines"]
    assert form["permissions"]["requester"] == {"create": True, "read": "own"}
    flow = yaml.safe_load((folder / "flows/claim_approval.yaml").read_text())
    assert flow["start_on"] == "submit"
    assert {"from": "buyer_review", "to": "finance_review", "if": "amount > 1000"} in flow["edges"]
    report = yaml.safe_load((folder / "reports/claims_by_category.yaml").read_text())
    assert report["dimensions"] == ["category"] and report["chart"] == "bar"
    # the versions panel lists what the publish changed, field by field
    designer.get_by_role("link", name="purchasing").first.click()
    designer.get_by_test_id("version-2").get_by_role("button", name="diff with previous").click()
    designer.get_by_test_id("changes").locator("[data-file='forms/expense_claim.yaml']").filter(has_text="added").wait_for()

    # a staff user fills the form; the reason shows only for large amounts
    staff = browser()
    portal_login(staff, server, "alice")
    staff.goto(f"{server.url}/apps/purchasing/forms/expense_claim/new")
    staff.fill('[data-key="title"] input', "Taxi to the client")
    reason = staff.locator('[data-key="reason"]')
    staff.fill('[data-key="amount"] input', "5000")
    reason.wait_for(state="visible")
    staff.fill('[data-key="amount"] input', "500")
    reason.wait_for(state="hidden")
    staff.select_option('[data-key="category"] select', "travel")
    staff.click('[data-key="lines"] [data-add-row]')
    staff.locator('[data-key="lines"] tbody tr[data-row]').first.locator('[data-key="item"] input').fill("Taxi")
    staff.click("[data-save-button]")
    staff.wait_for_url(re.compile(r".*/apps/purchasing/forms/expense_claim/\d+$"))

    # the approver finds the task in the inbox and approves it
    approver = browser()
    portal_login(approver, server, "carol")
    approver.goto(f"{server.url}/inbox")
    approver.get_by_role("link", name="Taxi to the client").click()
    approver.wait_for_url(re.compile(r".*/flows/tasks/\d+$"))
    approver.click("[data-action=approve]")
    approver.wait_for_url(re.compile(r".*/inbox.*"))
    from report_engine.flowdata import INSTANCES

    with plat.db.connect() as conn:
        assert conn.execute(select(INSTANCES.c.status, INSTANCES.c.outcome)).all() == [("finished", "approved")]

    # the chart shows the record
    staff.goto(f"{server.url}/apps/purchasing/reports/claims_by_category")
    staff.locator('[data-report="claims_by_category"] .js-plotly-plot .main-svg').first.wait_for()
    trace = staff.evaluate("() => document.querySelector('[data-report=\"claims_by_category\"] .js-plotly-plot').data[0]")
    assert trace["type"] == "bar"
    assert list(trace["x"]) == ["Travel"] and [float(v) for v in trace["y"]] == [500.0]
