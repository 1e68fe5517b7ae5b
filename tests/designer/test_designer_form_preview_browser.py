"""The form designer's preview is the real form, in headless Chromium: a relation field and a region field added to
a draft by dragging show the real relation picker (its search finds a published record) and the region cascade
(choosing a province offers its cities); a visible_if condition and a formula behave as on the generated page; the
check button reports missing values; and nothing is written to the records table. Screenshots of a failing test go
to test-artifacts/."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import PREVIEW_READY, add_field, browser, server, sign_in  # noqa: F401  (fixtures and helpers)

from tests.conftest import Api

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

FORM = "forms/site_visit.yaml"
DRAFT = """key: site_visit
label: Site visit
title_field: title
fields:
  - {key: title, type: text, label: Title, required: true}
  - {key: amount, type: money, label: Amount}
  - {key: reason, type: text, label: Why so much, visible_if: "amount > 1000"}
  - {key: price, type: money, label: Price}
  - {key: pieces, type: integer, label: Pieces}
  - {key: total, type: formula, label: Total, expr: "price * pieces", result: money}
permissions:
  requester: {create: true, read: own}
"""


def _rows(plat) -> dict[str, int]:  # type: ignore[no-untyped-def]
    live, records = plat.apps["purchasing"], plat.services["records"]
    with plat.db.connect() as conn:
        return {k: conn.execute(select(func.count()).select_from(records.table(live, f))).scalar_one()
                for k, f in live.spec.forms.items()}


def test_the_preview_is_the_real_form_of_the_draft(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    made = Api(plat).as_("admin").post("/api/apps/purchasing/forms/supplier/records",
                                       json={"name": "Quokka Components", "city": "Kunming"})
    assert made.status_code == 201, made.text
    (folder / FORM).write_text(DRAFT)
    before = _rows(plat)

    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/{FORM}")
    page.get_by_test_id("field-title").wait_for()
    add_field(page, "relation", "canvas", "vendor", "Vendor")
    to = page.get_by_test_id("properties").get_by_test_id("prop-to")
    to.fill("supplier")
    add_field(page, "region", "canvas", "place", "Place")
    page.get_by_test_id("problems").filter(has_text="No problems").wait_for()

    page.get_by_test_id("tab-preview").click()
    page.wait_for_function(PREVIEW_READY)
    frame = page.frame_locator("[data-testid=preview-frame]")
    form = frame.locator("form[data-lw-form][data-preview='1']")
    form.wait_for()

    # the real region cascade from the shipped data: a province offers its cities
    selects = frame.locator(".lw-field[data-key=place] [data-region] select")
    frame.locator(".lw-field[data-key=place] [data-region] select[data-level='0'] option[value='530000']").wait_for(state="attached")
    selects.nth(0).select_option("530000")
    frame.locator(".lw-field[data-key=place] select[data-level='1'] option[value='530100']").wait_for(state="attached")
    assert "昆明市" in selects.nth(1).inner_text()
    assert "北京市" not in selects.nth(1).inner_text()
    selects.nth(1).select_option("530100")

    # the real relation picker: typing searches the published suppliers, a choice becomes a chip
    picker = frame.locator(".lw-field[data-key=vendor] [data-relation]")
    picker.locator("[data-query]").fill("Quokka")
    hit = picker.locator("[data-results] li", has_text="Quokka Components")
    hit.wait_for()
    hit.dispatch_event("mousedown")
    picker.locator("[data-chips] .lw-chip", has_text="Quokka Components").wait_for()

    # the condition and the formula, evaluated by the draft on the server as on the real page
    reason = frame.locator(".lw-field[data-key=reason]")
    frame.locator(".lw-field[data-key=amount] input").fill("50")
    reason.wait_for(state="hidden")
    frame.locator(".lw-field[data-key=amount] input").fill("5000")
    reason.wait_for(state="visible")
    frame.locator(".lw-field[data-key=price] input").fill("2.5")
    frame.locator(".lw-field[data-key=pieces] input").fill("4")
    frame.locator(".lw-field[data-key=total] [data-output]", has_text="10").wait_for()

    # the button checks instead of saving: the required title is marked, then the form checks out
    form.locator("[data-save-button]").click()
    frame.locator("[data-form-alert][data-preview=errors]").wait_for()
    frame.locator(".lw-field[data-key=title].lw-invalid").wait_for()
    frame.locator(".lw-field[data-key=title] input").fill("Visit Kunming")
    form.locator("[data-save-button]").click()
    frame.locator("[data-form-alert][data-preview]").wait_for(state="attached")
    alert = frame.locator("[data-form-alert]")
    assert alert.get_attribute("data-preview") == "ok", alert.inner_text()
    assert not frame.locator(".lw-field[data-key=title].lw-invalid").count()

    # the designer changing the draft reloads the preview with the change
    page.get_by_test_id("tab-design").click()
    page.get_by_test_id("field-reason").locator(".card-head .label").first.click()
    page.get_by_test_id("properties").get_by_test_id("prop-visible_if").fill("amount > 10")
    page.get_by_test_id("tab-preview").click()
    page.wait_for_function(PREVIEW_READY)
    frame.locator(".lw-field[data-key=amount] input").fill("50")
    reason.wait_for(state="visible")

    assert _rows(plat) == before  # a preview never writes a record
