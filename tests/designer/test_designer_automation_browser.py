"""The automation editor in headless Chromium: when → if → then blocks — a trigger chosen, a condition completed and
checked as you type (a misspelt field marks the block and refuses publish), actions dragged in from the palette and
reordered by dragging — saved, published, and run by the platform when a record is created.
Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import pytest
import yaml

from tests.conftest import Api
from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, drag, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_automation_blocks_are_built_checked_saved_and_run(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "admin")
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-automation-key").fill("flag_big")
    page.get_by_test_id("create-automation").click()
    page.get_by_test_id("au-when").wait_for()
    assert page.get_by_test_id("au-trigger").input_value() == "record"
    page.get_by_test_id("au-form").select_option("purchase_request")
    page.get_by_test_id("au-record-event").select_option("created")

    # a misspelt field in the condition: the block shows the compiler's message as you type
    cond = page.get_by_test_id("au-if-expr")
    cond.fill("amout > 1000")
    page.locator("[data-testid=au-if].has-error").filter(has_text="amout").wait_for()
    # completion of field names
    cond.fill("")
    cond.press_sequentially("amou")
    page.get_by_test_id("au-if-expr-complete").locator("li", has_text="amount").first.wait_for()
    cond.press("Enter")
    cond.press_sequentially(" > 1000")
    page.locator("[data-testid=au-if].has-error").wait_for(state="detached")

    # a "set" action dragged in after the default notification, then dragged above it
    drag(page, page.get_by_test_id("au-palette-set"), page.get_by_test_id("au-then"), where="bottom")
    page.get_by_test_id("au-action-1").wait_for()
    assert page.get_by_test_id("au-action-1").get_attribute("data-type") == "set"
    page.get_by_test_id("au-action-1-set-add").click()
    page.get_by_test_id("au-action-1-set-key-0").fill("urgent")
    page.get_by_test_id("au-action-1-set-key-0").press("Tab")
    page.get_by_test_id("au-action-1-set-value-0").fill("true")
    page.wait_for_timeout(400)
    drag(page, page.get_by_test_id("au-action-1").locator(".au-action-head"),
         page.get_by_test_id("au-action-0").locator(".au-action-head"), where="centre")
    page.wait_for_function("document.querySelector('[data-testid=au-action-0]').dataset.type === 'set'")
    page.get_by_test_id("au-action-1-remove").click()  # the notification goes
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "automations/flag_big.yaml").read_text())
    assert saved == {"key": "flag_big", "when": {"record": "created", "form": "purchase_request"},
                     "if": "amount > 1000", "then": [{"set": {"urgent": "true"}}]}
    page.get_by_test_id("publish-message").fill("flag big requests")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("published").wait_for()

    # the platform runs it
    api = Api(plat)
    records = "/api/apps/purchasing/forms/purchase_request/records"
    big = api.as_("alice").post(records, json={"title": "big", "amount": 5000})
    small = api.as_("alice").post(records, json={"title": "small", "amount": 50})
    assert big.status_code in (200, 201) and small.status_code in (200, 201), big.text
    assert api.as_("alice").get(f"{records}/{big.json()['id']}").json()["urgent"] is True
    assert api.as_("alice").get(f"{records}/{small.json()['id']}").json()["urgent"] in (False, None)
