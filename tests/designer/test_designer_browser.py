"""The designer in headless Chromium: a business user builds a form by dragging, saves and publishes it; conflicts,
outside changes and definition problems are shown where they are and publishing is refused.

A live server (uvicorn in a thread) serves a temporary copy of the purchasing app. Screenshots of a failing test go
to test-artifacts/.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from designer_support import LiveServer, folder, plat  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
NEW_FORM = "forms/expense_claim.yaml"


def _need_browser() -> None:
    try:
        import playwright  # noqa: F401
    except ImportError:  # pragma: no cover - the test extras install it
        pytest.fail("playwright is not installed: run make setup-test")
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: run make browser"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    if not (Path(__file__).resolve().parents[2] / "node_modules" / "sortablejs").is_dir():
        message = "front-end libraries not installed: run make setup-test (npm ci)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


@pytest.fixture
def server(plat):  # type: ignore[no-untyped-def]
    live = LiveServer(plat)
    yield live
    live.stop()


@pytest.fixture
def browser(request):  # type: ignore[no-untyped-def]
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        pages: list = []

        def new_page():  # type: ignore[no-untyped-def]
            page = chromium.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(8000)
            pages.append(page)
            return page

        failures_before = request.session.testsfailed
        yield new_page
        if request.session.testsfailed > failures_before:  # this test's call failed: keep what the pages showed
            ARTIFACTS.mkdir(exist_ok=True)
            for i, page in enumerate(pages):
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}.png"), full_page=True)
        chromium.close()


#: the preview frame has loaded the draft's form and its script (styles applied, widgets set up)
PREVIEW_READY = """() => { const f = document.querySelector('[data-testid=preview-frame][data-loaded="1"]');
  const d = f && f.contentDocument; return !!(d && d.readyState === 'complete' && d.defaultView.lwForm); }"""


def sign_in(page, server, username: str = "dora") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/designer/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo-pass-2026")
    page.click("form.lw-login button[type=submit]")
    page.wait_for_url("**/designer/**")


def drag(page, source, target, *, where: str = "bottom") -> None:  # type: ignore[no-untyped-def]
    """Press on ``source``, move like a hand would, release over ``target`` (its lower edge, or its centre).

    The list makes room while the pointer travels, so the target is aimed at again once it has settled."""
    source.scroll_into_view_if_needed()
    target.scroll_into_view_if_needed()
    a = source.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(a["x"] + a["width"] / 2 + 12, a["y"] + a["height"] / 2 + 12, steps=4)
    for _ in range(3):
        b = target.bounding_box()
        y = b["y"] + b["height"] - 6 if where == "bottom" else b["y"] + b["height"] / 2
        page.mouse.move(b["x"] + b["width"] / 2, y, steps=8)
        page.wait_for_timeout(60)
    page.mouse.up()


def add_field(page, type_name: str, target_testid: str, key: str, label: str) -> None:  # type: ignore[no-untyped-def]
    target = page.get_by_test_id(target_testid)
    empty = target.locator(":scope > .card").count() == 0
    drag(page, page.get_by_test_id(f"palette-{type_name}"), target, where="centre" if empty else "bottom")
    panel = page.get_by_test_id("properties")
    panel.get_by_test_id("prop-type").wait_for()
    assert panel.get_by_test_id("prop-type").input_value() == type_name
    panel.get_by_test_id("prop-key").fill(key)
    panel.get_by_test_id("prop-label").fill(label)


def open_new_form(page, server) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, server)
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-form-key").fill("expense_claim")
    page.get_by_test_id("new-form-label").fill("Expense claim")
    page.get_by_test_id("create-form").click()
    page.get_by_test_id("palette").wait_for()


def test_business_user_builds_saves_and_publishes_a_form(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    open_new_form(page, server)
    add_field(page, "text", "canvas", "title", "Title")
    add_field(page, "money", "canvas", "amount", "Amount")
    add_field(page, "select", "canvas", "category", "Category")
    page.get_by_test_id("properties").get_by_test_id("prop-options").fill("travel = Travel\nmeals = Meals")
    add_field(page, "textarea", "canvas", "reason", "Why so much?")
    # the conditional field: the expression editor completes names and shows errors as you type
    expr = page.get_by_test_id("properties").get_by_test_id("prop-visible_if")
    expr.click()
    expr.press_sequentially("amou")
    page.get_by_test_id("complete-visible_if").locator("li", has_text="amount").first.wait_for()
    expr.press("Enter")
    assert expr.input_value() == "amount"
    expr.press_sequentially(" >> 1000")
    page.wait_for_function("document.querySelector('[data-testid=error-visible_if]').textContent !== ''")
    expr.fill("amount > 1000")
    page.wait_for_function("document.querySelector('[data-testid=error-visible_if]').textContent === ''")
    add_field(page, "date", "canvas", "spent_on", "Spent on")
    add_field(page, "subtable", "canvas", "lines", "Lines")
    add_field(page, "text", "subtable-list-lines", "item", "Item")
    add_field(page, "integer", "subtable-list-lines", "qty", "Quantity")
    # reorder: the date goes first, by dragging its card above the title
    drag(page, page.get_by_test_id("field-spent_on"), page.get_by_test_id("field-title"), where="centre")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()

    saved = yaml.safe_load((folder / NEW_FORM).read_text())
    assert [f["key"] for f in saved["fields"]] == ["spent_on", "title", "amount", "category", "reason", "lines"]
    assert saved["fields"][4]["visible_if"] == "amount > 1000"
    assert saved["fields"][3]["options"] == [{"value": "travel", "label": "Travel"}, {"value": "meals", "label": "Meals"}]
    assert [(f["key"], f["type"]) for f in saved["fields"][5]["fields"]] == [("item", "text"), ("qty", "integer")]

    # the live preview behaves like the form: the reason shows only for large amounts
    page.get_by_test_id("tab-preview").click()
    page.wait_for_function(PREVIEW_READY)
    frame = page.frame_locator("[data-testid=preview-frame]")
    reason = frame.locator(".lw-field[data-key=reason]")
    frame.locator(".lw-field[data-key=amount] input").fill("50")
    reason.wait_for(state="hidden")
    frame.locator(".lw-field[data-key=amount] input").fill("5000")
    reason.wait_for(state="visible")
    page.get_by_test_id("tab-design").click()

    page.get_by_test_id("publish-message").fill("expense claims")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("published").wait_for()
    assert plat.versions("purchasing")[0].message == "expense claims"
    assert "expense_claim" in plat.apps["purchasing"].spec.forms


def test_conflicts_outside_changes_and_problems_in_the_editor(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    path = folder / "forms/purchase_request.yaml"
    text = path.read_text().replace(
        "  - {key: note, type: textarea, max_length: 2000}\n",
        "  - {key: note, type: textarea, max_length: 2000}\n  - {key: doubled, type: formula, expr: \"quantity * 2\", result: integer}\n")
    path.write_text(text)
    url = f"{server.url}/designer/#/app/purchasing/edit/forms/purchase_request.yaml"
    first, second = browser(), browser()
    sign_in(first, server, "dora")
    sign_in(second, server, "admin")
    for page in (first, second):
        page.goto(url)
        page.get_by_test_id("field-title").wait_for()

    # two designers on the same form: the second save is told of the conflict and overwrites nothing
    first.get_by_test_id("field-title").click()
    first.get_by_test_id("properties").get_by_test_id("prop-label").fill("Subject")
    first.get_by_test_id("save").click()
    first.get_by_test_id("status").filter(has_text="Saved").wait_for()
    second.get_by_test_id("changed-on-disk").wait_for()  # noticed before any save
    second.get_by_test_id("field-note").click()
    second.get_by_test_id("properties").get_by_test_id("prop-label").fill("Remarks")
    second.get_by_test_id("save").click()
    second.get_by_test_id("conflict").wait_for()
    assert "label: Subject" in path.read_text() and "Remarks" not in path.read_text()

    # a change made on disk by hand while the file is open is detected too
    first.wait_for_timeout(200)
    path.write_text(path.read_text().replace("label: Subject", "label: Heading"))
    first.get_by_test_id("changed-on-disk").wait_for()
    first.get_by_test_id("changed-on-disk").get_by_role("button").click()
    first.get_by_test_id("field-title").filter(has_text="Heading").wait_for()

    # a key clash and a deleted field still used by a formula: shown on the fields, publish refused
    first.get_by_test_id("field-note").click()
    first.get_by_test_id("properties").get_by_test_id("prop-key").fill("title")
    clash = first.locator("[data-key=title].has-error")
    clash.filter(has_text="duplicate field key 'title'").wait_for()
    first.get_by_test_id("delete-quantity").click()
    first.locator(".card.has-error[data-key=doubled]").filter(has_text="quantity").wait_for()
    first.get_by_test_id("save").click()
    first.get_by_test_id("status").filter(has_text="problem").wait_for()
    first.get_by_test_id("publish-message").fill("should not go out")
    first.get_by_test_id("publish").click()
    first.get_by_test_id("publish-refused").wait_for()
    problems = first.get_by_test_id("problems").inner_text()
    assert "duplicate field key 'title'" in problems and "quantity" in problems
    assert [v.number for v in plat.versions("purchasing")] == [1]


FLOW = """key: request_approval
form: purchase_request
nodes:
  - {id: start, type: start}
  - {id: route, type: exclusive}
  - {id: buyer_review, type: approval, assignees: {role: buyer}}
  - {id: done, type: end, outcome: approved}
edges:
  - {from: start, to: route}
  - {from: route, to: buyer_review, default: true}
  - {from: buyer_review, to: done}
"""


def connect(page, source_node: str, target_node: str) -> None:  # type: ignore[no-untyped-def]
    """Drag from a node's output dot to another node's input dot."""
    out = page.get_by_test_id(f"node-{source_node}").locator(".output_1")
    inp = page.get_by_test_id(f"node-{target_node}").locator(".input_1")
    a, b = out.bounding_box(), inp.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=10)
    page.mouse.up()


def test_flow_designer_adds_a_conditional_approval_and_simulates(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    (folder / "flows").mkdir(exist_ok=True)
    path = folder / "flows/request_approval.yaml"
    path.write_text(FLOW)
    page = browser()
    sign_in(page, server)
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/flows/request_approval.yaml")
    page.get_by_test_id("node-route").wait_for()
    # a node dragged in from the palette is not reachable yet: the checks say so on the node
    page.get_by_test_id("palette-approval").drag_to(page.get_by_test_id("flow-canvas"), target_position={"x": 420, "y": 330})
    node = page.get_by_test_id("node-approval_1")
    node.wait_for()
    page.get_by_test_id("properties").get_by_test_id("prop-id").fill("finance_review")
    page.get_by_test_id("properties").get_by_test_id("prop-id").press("Enter")
    page.get_by_test_id("assignee-value").fill("finance")
    page.get_by_test_id("prop-mode").select_option("all")
    page.locator("[data-testid=node-finance_review].node-error").wait_for()
    # connect it: route → finance_review (with a condition) → done
    connect(page, "route", "finance_review")
    connect(page, "finance_review", "done")
    page.locator("[data-testid=node-finance_review].node-error").wait_for(state="detached")
    page.locator(".connection.node_in_node-{} .main-path".format(
        page.get_by_test_id("node-finance_review").get_attribute("id").split("-")[1])).first.click()
    page.get_by_test_id("prop-if").fill("amount > 5000")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved").wait_for()
    saved = yaml.safe_load(path.read_text())
    node_def = next(n for n in saved["nodes"] if n["id"] == "finance_review")
    assert node_def == {"id": "finance_review", "type": "approval", "assignees": {"role": "finance"}, "mode": "all"}
    assert {"from": "route", "to": "finance_review", "if": "amount > 5000"} in saved["edges"]
    assert {"from": "finance_review", "to": "done"} in saved["edges"]
    # simulate: a large amount goes through finance, and the path lights up
    page.get_by_test_id("sample-amount").fill("8000")
    page.get_by_test_id("simulate").click()
    page.get_by_test_id("simulate-result").filter(has_text="start → route → finance_review → done").wait_for()
    page.locator("[data-testid=node-finance_review].on-path").wait_for()
    assert page.locator("[data-testid=node-buyer_review].on-path").count() == 0


def test_rules_editor_runs_test_cases_and_marks_bad_cells(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server)
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/rules/approval_level.yaml")
    page.get_by_test_id("dt-grid").wait_for()
    assert page.get_by_test_id("hit-policy").input_value() == "FIRST"
    assert page.get_by_test_id("when-1-0").input_value() == "[1000..50000)"
    # a wrong expectation: the test run (on the unsaved draft) names the failing case
    page.get_by_test_id("expect-0-level").fill("board")
    page.get_by_test_id("run-tests").click()
    page.get_by_test_id("test-summary").filter(has_text="3 passed, 1 failed").wait_for()
    page.get_by_test_id("test-result-0").filter(has_text="✗").wait_for()
    page.get_by_test_id("expect-0-level").fill("team")
    page.get_by_test_id("run-tests").click()
    page.get_by_test_id("test-summary").filter(has_text="4 passed, 0 failed").wait_for()
    # a cell that is not a valid test is marked where it is
    page.get_by_test_id("when-2-0").fill("[[1000")
    page.locator("[data-testid=when-2-0].has-error").wait_for()
    page.get_by_test_id("when-2-0").fill(">= 1000")
    page.locator("[data-testid=when-2-0].has-error").wait_for(state="detached")
    page.get_by_test_id("add-rule").click()
    page.get_by_test_id("then-4-0").fill("nobody")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved").wait_for()
    saved = yaml.safe_load((folder / "rules/approval_level.yaml").read_text())
    assert saved["rules"][2]["when"] == [">= 1000", "it"] and saved["rules"][4] == {"when": ["-", "-"], "then": ["nobody"]}
