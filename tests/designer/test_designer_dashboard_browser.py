"""The dashboard editor in headless Chromium: each widget shows its report's data (the published records, run as the
editor has it), and the shared filters are edited with a field picker offering the widgets' dataset forms and the
forms their relations reach, a multi-select flag, default values and a linked (parent) filter; the defaults narrow
the widgets' data as they are chosen; the saved YAML holds exactly what was chosen, and the published dashboard uses
it. Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

from urllib.parse import quote

import pytest
import yaml

from tests.conftest import Api
from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, server, sign_in  # noqa: F401  (fixtures and helpers)
from test_designer_reports_browser import _box, _press_drag, _records

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def _ticks(page, testid: str) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(f"[data-testid={testid}] .xtick text", "els => els.map(e => e.textContent)")


def test_dashboard_editor_shows_widget_data_and_edits_shared_filters(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    _records(plat)  # it: 100 + 250, travel: 40
    page = browser()
    sign_in(page, server, "admin")
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-report-key").fill("spend_board")
    page.get_by_test_id("create-dashboard").click()
    page.get_by_test_id("db-report-spend_by_category").wait_for()
    page.locator("[data-testid=db-preview-note]:not(:empty)").wait_for()
    grid = _box(page, "db-grid")
    src = _box(page, "db-report-spend_by_category")
    _press_drag(page, (src["x"] + 20, src["y"] + 10), (grid["x"] + 10, grid["y"] + 10))
    widget = page.get_by_test_id("db-widget-0")
    widget.wait_for()

    # the widget draws its report over the published records: a bar per category
    widget.locator(".db-plot .xtick text").first.wait_for()
    page.wait_for_function("document.querySelectorAll('[data-testid=db-widget-0] .xtick').length === 2")
    assert sorted(_ticks(page, "db-widget-0")) == ["IT", "差旅"]
    assert widget.locator(".db-preview").get_attribute("data-rows") == "2"

    # shared filters: dashboard properties, add one, pick purchase_request.category
    page.get_by_role("button", name="dashboard properties").click()
    page.get_by_test_id("db-description").fill("spend at a glance")
    page.get_by_test_id("db-filter-add").click()
    picker = page.get_by_test_id("db-filter-field-0")
    offered = picker.locator("option").evaluate_all("os => os.map(o => o.value)")
    # the widget's dataset form, and the supplier form its relation reaches
    assert "purchase_request.category" in offered and "supplier.rating" in offered and "supplier.province" in offered
    picker.select_option("purchase_request.category")
    page.get_by_test_id("db-filter-key-0").fill("category")
    page.get_by_test_id("db-filter-label-0").fill("类别")
    assert page.get_by_test_id("db-filter-multi-0").is_checked()  # a list field is multi-select unless told
    # a default narrows the widget's data at once
    page.get_by_test_id("db-filter-default-0-travel").check()
    page.get_by_test_id("db-preview-note").filter(has_text="category = travel").wait_for()
    page.wait_for_function("document.querySelectorAll('[data-testid=db-widget-0] .xtick').length === 1")
    assert _ticks(page, "db-widget-0") == ["差旅"]
    page.get_by_test_id("db-filter-default-0-it").check()
    page.wait_for_function("document.querySelectorAll('[data-testid=db-widget-0] .xtick').length === 2")

    # a province filter on the related supplier, and a city filter linked to it
    page.get_by_test_id("db-filter-add").click()
    page.get_by_test_id("db-filter-field-1").select_option("supplier.province")
    page.get_by_test_id("db-filter-key-1").fill("province")
    page.get_by_test_id("db-filter-add").click()
    page.get_by_test_id("db-filter-field-2").select_option("supplier.city")
    page.get_by_test_id("db-filter-key-2").fill("city")
    page.get_by_test_id("db-filter-multi-2").uncheck()
    page.get_by_test_id("db-filter-depends-2").select_option("province")
    page.get_by_test_id("db-filter-parent-2").select_option("province")
    # a filter may only be linked to one above it
    assert page.get_by_test_id("db-filter-depends-1").locator("option").evaluate_all("os => os.map(o => o.value)") == ["", "category"]

    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "reports/spend_board.yaml").read_text())
    assert saved["filters"] == [
        {"key": "category", "label": "类别", "field": "purchase_request.category", "default": ["it", "travel"]},
        {"key": "province", "field": "supplier.province"},
        {"key": "city", "field": "supplier.city", "multi": False, "depends_on": "province", "parent_field": "province"},
    ]
    assert saved["widgets"] == [{"report": "spend_by_category", "x": 0, "y": 0, "w": 6, "h": 4}]
    assert saved["description"] == "spend at a glance"

    # a filter whose field does not reach a widget's dataset is shown on its card, and publish is refused
    page.get_by_test_id("db-filter-add").click()
    page.get_by_test_id("db-filter-field-3").wait_for()
    page.get_by_test_id("db-filter-key-3").fill("who")
    page.get_by_test_id("db-filter-map-toggle-3").click()
    page.get_by_test_id("db-filter-map-3-spend_by_category").fill("nothing_here")
    page.locator("[data-testid=db-filter-3].has-error").filter(has_text="nothing_here").wait_for()
    page.get_by_test_id("db-filter-remove-3").click()
    page.locator("[data-testid=db-filter-3]").wait_for(state="detached")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    assert yaml.safe_load((folder / "reports/spend_board.yaml").read_text()) == saved

    page.get_by_test_id("publish-message").fill("spend board with shared filters")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("published").wait_for()
    board = Api(plat).as_("admin").get("/api/apps/purchasing/dashboards/spend_board").json()
    filters = {f["key"]: f for f in board["filters"]}
    assert filters["category"]["default"] == ["it", "travel"] and filters["city"]["depends_on"] == "province"
    assert filters["city"]["multi"] is False


BOARD = """kind: dashboard
key: spend_dates
label: Spend by date needed
widgets:
  - {report: spend_by_category, x: 0, y: 0, w: 6, h: 4}
filters:
  - {key: needed, field: purchase_request.needed_by}
"""


def test_a_date_filter_defaults_to_fixed_dates(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    api = Api(plat)
    for amount, category, needed in [(100, "it", "2026-01-10"), (250, "it", "2026-02-15"), (40, "travel", "2026-04-01")]:
        res = api.as_("alice").post("/api/apps/purchasing/forms/purchase_request/records",
                                    json={"title": category, "amount": amount, "category": category, "needed_by": needed})
        assert res.status_code == 201, res.text
    (folder / "reports/spend_dates.yaml").write_text(BOARD)
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/reports/spend_dates.yaml")
    page.locator("[data-testid=db-widget-0] .db-preview[data-rows='2']").wait_for()
    mode = page.get_by_test_id("db-filter-default-mode-0")
    assert mode.input_value() == ""
    # a period relative to today first, then fixed dates: the widget narrows as they are typed
    mode.select_option("range")
    assert page.get_by_test_id("db-filter-default-0").input_value() == "this_month"
    page.get_by_test_id("db-filter-default-mode-0").select_option("dates")
    page.get_by_test_id("db-filter-default-from-0").fill("2026-01-01")
    page.get_by_test_id("db-filter-default-to-0").fill("2026-02-28")
    page.get_by_test_id("db-preview-note").filter(has_text="needed = 2026-01-01 – 2026-02-28").wait_for()
    page.locator("[data-testid=db-widget-0] .db-preview[data-rows='1']").wait_for()
    assert "IT" in _ticks(page, "db-widget-0") and "差旅" not in _ticks(page, "db-widget-0")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "reports/spend_dates.yaml").read_text())
    assert saved["filters"] == [{"key": "needed", "field": "purchase_request.needed_by",
                                 "default": {"from": "2026-01-01", "to": "2026-02-28"}}]
    # opened again, the editor shows the dates; an open end is allowed
    page.reload()
    assert page.get_by_test_id("db-filter-default-mode-0").input_value() == "dates"
    assert page.get_by_test_id("db-filter-default-from-0").input_value() == "2026-01-01"
    assert page.get_by_test_id("db-filter-default-to-0").input_value() == "2026-02-28"

    page.get_by_test_id("publish-message").fill("spend by date needed")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("published").wait_for()
    board = api.as_("admin").get("/api/apps/purchasing/dashboards/spend_dates").json()
    [needed] = board["filters"]
    assert needed["default"] == needed["value"] == {"from": "2026-01-01", "to": "2026-02-28"}
    assert [(r["category"], float(r["sum_amount"])) for r in board["widgets"][0]["result"]["rows"]] == [("it", 350)]
    # the dashboard page shows the dates as the filter's choice
    page.goto(f"{server.url}/apps/purchasing/dashboards/spend_dates")
    chosen = page.locator("[data-filter=needed] select[data-range] option:checked")
    assert chosen.inner_text() == "2026-01-01 – 2026-02-28"
    # a range chosen as a one-item list (as the page keeps it in its address) shows as chosen too
    page.goto(f"{server.url}/apps/purchasing/dashboards/spend_dates?filters=" + quote('{"needed": ["this_year"]}'))
    assert page.locator("[data-filter=needed] select[data-range]").input_value() == "this_year"
