"""The report builder and the dashboard editor in headless Chromium: fields dragged into dimensions and measures,
a chart chosen, the live preview drawn by plotly.js from the published data, saved and published; a report on a
field the form no longer has shown on its chip and refused at publish; report widgets dragged onto a dashboard's
grid, moved and resized by dragging. Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import pytest
import yaml

from tests.conftest import Api
from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, drag, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

RECORDS = "/api/apps/purchasing/forms/purchase_request/records"


def _records(plat) -> None:  # type: ignore[no-untyped-def]
    api = Api(plat)
    for user, amount, category in [("alice", 100, "it"), ("alice", 250, "it"), ("bob", 40, "travel")]:
        res = api.as_(user).post(RECORDS, json={"title": f"{category} {amount}", "amount": amount, "category": category})
        assert res.status_code in (200, 201), res.text


def test_report_builder_drags_fields_previews_saves_and_publishes(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    _records(plat)
    page = browser()
    sign_in(page, server, "admin")
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-report-key").fill("spend_by_kind")
    page.get_by_test_id("new-report-label").fill("Spend by kind")
    page.get_by_test_id("create-report").click()
    page.get_by_test_id("rb-fields").wait_for()
    page.get_by_test_id("rb-dataset").select_option("purchase_request")
    page.get_by_test_id("rb-field-category").wait_for()

    drag(page, page.get_by_test_id("rb-field-category"), page.get_by_test_id("rb-dimensions"), where="centre")
    page.get_by_test_id("rb-dimension-0").filter(has_text="category").wait_for()
    drag(page, page.get_by_test_id("rb-field-amount"), page.get_by_test_id("rb-measures"), where="bottom")
    page.get_by_test_id("rb-measure-1").filter(has_text="amount").wait_for()
    assert page.get_by_test_id("rb-agg-1").input_value() == "sum"
    page.get_by_test_id("rb-chart-bar").click()
    # the live preview runs the unsaved report over the published data and plotly draws it
    table = page.get_by_test_id("rb-preview-table")
    table.locator("td", has_text="350.00").wait_for()
    assert table.locator("td", has_text="40.00").count() == 1
    page.get_by_test_id("rb-preview-chart").locator(".main-svg").first.wait_for()
    assert page.get_by_test_id("rb-preview-chart").locator(".point, .bars path").count() >= 2

    # a filter dragged in narrows the preview
    drag(page, page.get_by_test_id("rb-field-category"), page.get_by_test_id("rb-filters"), where="centre")
    page.get_by_test_id("rb-value-0").fill("travel")
    page.wait_for_function("!document.querySelector('[data-testid=rb-preview-table]').textContent.includes('350.00')")
    page.get_by_test_id("rb-remove-filters-0").click()
    table.locator("td", has_text="350.00").wait_for()

    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "reports/spend_by_kind.yaml").read_text())
    assert saved["dataset"] == "purchase_request" and saved["dimensions"] == ["category"]
    assert saved["measures"] == [{"agg": "count"}, {"agg": "sum", "field": "amount"}] and saved["chart"] == "bar"
    page.get_by_test_id("publish-message").fill("spend by kind")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("published").wait_for()
    assert "spend_by_kind" in plat.apps["purchasing"].spec.of_kind("report")


def test_a_report_on_a_removed_field_is_shown_on_its_chip_and_refused(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    form = folder / "forms/purchase_request.yaml"
    form.write_text("".join(line for line in form.read_text().splitlines(keepends=True) if "key: category" not in line))
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/reports/spend_by_category.yaml")
    chip = page.locator("[data-testid=rb-dimension-0].has-error")
    chip.wait_for()
    assert "category" in chip.get_attribute("title")
    page.get_by_test_id("rb-errors").filter(has_text="category").wait_for()
    page.get_by_test_id("rb-preview-message").filter(has_text="does not check").or_(
        page.get_by_test_id("rb-preview-message").filter(has_text="row(s)")).wait_for()
    page.get_by_test_id("publish-message").fill("drop category")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("publish-refused").wait_for()
    assert [v.number for v in plat.versions("purchasing")] == [1]
    # removing the broken dimension fixes the report
    page.get_by_test_id("rb-remove-dimensions-0").click()
    page.locator("[data-testid=rb-errors] .card-error").first.wait_for(state="detached")


def _box(page, testid):  # type: ignore[no-untyped-def]
    return page.get_by_test_id(testid).bounding_box()


def _press_drag(page, start, end) -> None:  # type: ignore[no-untyped-def]
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 5, start[1] + 5, steps=2)
    page.mouse.move(*end, steps=10)
    page.mouse.up()
    page.wait_for_timeout(500)  # the live check of the change redraws the grid

def test_dashboard_editor_places_moves_and_resizes_widgets(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "admin")
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-report-key").fill("team_board")
    page.get_by_test_id("create-dashboard").click()
    page.get_by_test_id("db-grid").wait_for()
    grid = _box(page, "db-grid")
    col, row = grid["width"] / 12, 56
    # drop a report into the grid's third column, second row
    src = _box(page, "db-report-spend_by_category")
    _press_drag(page, (src["x"] + 20, src["y"] + 10), (grid["x"] + 2.5 * col, grid["y"] + 1.5 * row))
    page.get_by_test_id("db-widget-0").wait_for()
    src = _box(page, "db-report-monthly_spend")
    _press_drag(page, (src["x"] + 20, src["y"] + 10), (grid["x"] + 0.5 * col, grid["y"] + 6.5 * row))
    page.get_by_test_id("db-widget-1").wait_for()
    # move the first widget two columns left and one row up by its title bar; widen the second by its corner
    handle = _box(page, "db-move-0")
    _press_drag(page, (handle["x"] + 30, handle["y"] + 8), (handle["x"] + 30 - 2 * col, handle["y"] + 8 - row))
    corner = _box(page, "db-resize-1")
    _press_drag(page, (corner["x"] + 7, corner["y"] + 7), (corner["x"] + 7 + 3 * col, corner["y"] + 7 + row))
    page.get_by_test_id("db-widget-1").filter(has_text="9×5").wait_for()
    page.get_by_test_id("db-widget-0").click()
    page.get_by_test_id("db-prop-click").select_option("filter")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved").wait_for()
    saved = yaml.safe_load((folder / "reports/team_board.yaml").read_text())
    assert saved["kind"] == "dashboard"
    assert saved["widgets"] == [{"report": "spend_by_category", "x": 0, "y": 0, "w": 6, "h": 4, "click": "filter"},
                                {"report": "monthly_spend", "x": 0, "y": 6, "w": 9, "h": 5}]
