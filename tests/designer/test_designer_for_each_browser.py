"""The automation editor's for_each in headless Chromium: a create action made one record per row of the
triggering record's sub-table — the mode and the sub-table chosen from lists, the values completed with the row's
fields (item.name) — the other modes (count, list, instalment schedule) offered with their own inputs; saved as the
YAML the engine reads, published, and run by the platform when a record is created.
Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import pytest
import yaml

from tests.conftest import Api
from designer_support import copy_app, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, drag, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

LINE = """key: line_item
label: {zh-CN: 明细, en: Line item}
fields:
  - {key: request, type: relation, to: purchase_request}
  - {key: name, type: text}
  - {key: qty, type: integer}
permissions:
  "*": {read: all}
"""


@pytest.fixture
def folder(tmp_path):  # type: ignore[no-untyped-def]
    """The purchasing app with a sub-table of items on a request, and a line_item form."""
    target = copy_app(tmp_path)
    (target / "forms/line_item.yaml").write_text(LINE)
    form = target / "forms/purchase_request.yaml"
    text = form.read_text()
    line = "  - {key: note, type: textarea, max_length: 2000}\n"
    assert line in text
    form.write_text(text.replace(line, line + "  - {key: items, type: subtable, fields: [{key: name, type: text}, "
                                              "{key: qty, type: integer}]}\n"))
    return target


def test_create_for_each_row_is_edited_in_blocks_saved_and_run(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "admin")
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-automation-key").fill("lines_from_items")
    page.get_by_test_id("create-automation").click()
    page.get_by_test_id("au-when").wait_for()
    page.get_by_test_id("au-form").select_option("purchase_request")
    page.get_by_test_id("au-description").fill("one line item per row of the request")
    drag(page, page.get_by_test_id("au-palette-create"), page.get_by_test_id("au-then"), where="bottom")
    page.get_by_test_id("au-action-1").wait_for()
    page.get_by_test_id("au-action-0-remove").click()  # the default notification goes
    page.wait_for_function("document.querySelector('[data-testid=au-action-0]').dataset.type === 'create'")
    page.get_by_test_id("au-action-0-form").select_option("line_item")

    # the instalment schedule has its four inputs and names its item's parts
    page.get_by_test_id("au-action-0-each").select_option("schedule")
    for part in ("principal", "annual_rate", "months", "method"):
        page.get_by_test_id(f"au-action-0-each-{part}").wait_for()
    page.get_by_test_id("au-action-0-each-box").filter(has_text="item.payment").wait_for()
    page.get_by_test_id("au-action-0-each").select_option("count")
    # a misspelt field in the count is the engine's problem, shown on the block as you type
    page.get_by_test_id("au-action-0-each-count").fill("quantty")
    page.locator("[data-testid=au-action-0].has-error").filter(has_text="quantty").wait_for()
    page.get_by_test_id("au-action-0-each-count").fill("quantity")
    page.locator("[data-testid=au-action-0].has-error").wait_for(state="detached")
    page.get_by_test_id("au-action-0-each-principal").wait_for(state="detached")

    # one record per row of the sub-table
    page.get_by_test_id("au-action-0-each").select_option("rows")
    assert page.get_by_test_id("au-action-0-each-rows").input_value() == "items"
    page.get_by_test_id("au-action-0-values-add").click()
    assert page.get_by_test_id("au-action-0-values-key-0").input_value() == "request"
    page.get_by_test_id("au-action-0-values-value-0").fill("id")
    page.get_by_test_id("au-action-0-values-add").click()
    value = page.get_by_test_id("au-action-0-values-value-1")
    value.press_sequentially("item.na")
    page.get_by_test_id("au-action-0-values-value-1-complete").locator("li", has_text="item.name").wait_for()
    value.press("Enter")
    page.get_by_test_id("au-action-0-values-add").click()
    page.get_by_test_id("au-action-0-values-value-2").fill("item.qty")
    page.wait_for_timeout(400)
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "automations/lines_from_items.yaml").read_text())
    assert saved["description"] == "one line item per row of the request"
    assert saved["then"] == [{"create": {"form": "line_item", "values": {"request": "id", "name": "item.name",
                                                                          "qty": "item.qty"},
                                         "for_each": {"rows": "items"}}}]
    page.get_by_test_id("publish-message").fill("a line per item")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("published").wait_for()

    api = Api(plat).as_("alice")
    made = api.post("/api/apps/purchasing/forms/purchase_request/records",
                    json={"title": "pens", "amount": 30, "items": [{"name": "pen", "qty": 2}, {"name": "ink", "qty": 5}]})
    assert made.status_code in (200, 201), made.text
    lines = Api(plat).as_("admin").get("/api/apps/purchasing/forms/line_item/records").json()
    rows = lines.get("items", lines.get("records", lines)) if isinstance(lines, dict) else lines
    assert sorted((r["name"], r["qty"], r["request"]) for r in rows) == [("ink", 5, made.json()["id"]),
                                                                          ("pen", 2, made.json()["id"])]
