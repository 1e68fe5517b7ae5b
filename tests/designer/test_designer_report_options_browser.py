"""Every key of a report definition has a control in the report builder (headless Chromium).

The keys are enumerated from the report meta-schema (report_engine/schemas/report.json: the report, a dimension, a
measure, a chart), not listed here; each control carries the key it edits (data-prop). Then some of them are used —
a dimension's label, a measure's label and format, a donut's hole and title, limit with 'others', a cache time,
an extra filterable field, a description — and the saved YAML holds exactly that.
Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, drag, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "report_engine" / "schemas" / "report.json").read_text())


def _props(page) -> set[str]:  # type: ignore[no-untyped-def]
    return set(page.eval_on_selector_all(".report-builder [data-prop]", "els => els.map(e => e.dataset.prop)"))


def _new_report(browser, server, key: str):  # type: ignore[no-untyped-def]
    """A page of the report builder on a new report ``key`` over purchase requests."""
    page = browser()
    sign_in(page, server, "admin")
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-report-key").fill(key)
    page.get_by_test_id("create-report").click()
    page.get_by_test_id("rb-fields").wait_for()
    page.get_by_test_id("rb-dataset").select_option("purchase_request")
    page.get_by_test_id("rb-field-category").wait_for()
    return page


def test_every_report_key_has_a_control_and_they_save(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    page = _new_report(browser, server, "spend_options")

    # a dimension of each kind (a list, a date, a number, a region) and a measure of each kind
    page.get_by_test_id("rb-rel-open-supplier").click()
    for i, name in enumerate(["category", "created_at", "amount", "supplier.province"]):
        drag(page, page.get_by_test_id(f"rb-field-{name}"), page.get_by_test_id("rb-dimensions"), where="bottom")
        page.get_by_test_id(f"rb-dimension-{i}").filter(has_text=name).wait_for()
    drag(page, page.get_by_test_id("rb-field-amount"), page.get_by_test_id("rb-measures"), where="bottom")
    page.get_by_test_id("rb-measure-1").filter(has_text="amount").wait_for()
    page.get_by_test_id("rb-agg-1").select_option("percentile")
    page.get_by_test_id("rb-add-formula").click()
    page.get_by_test_id("rb-measure-2").wait_for()
    page.get_by_test_id("rb-limit").fill("5")
    seen = _props(page)
    for chart in ("bar", "table", "donut", "scatter"):
        page.get_by_test_id(f"rb-chart-{chart}").click()
        seen |= _props(page)

    defs = SCHEMA["$defs"]
    wanted = {k for k in SCHEMA["properties"] if k != "kind"}
    wanted |= {f"dimension.{k}" for k in defs["dimension"]["oneOf"][1]["properties"]}
    wanted |= {f"measure.{k}" for k in defs["measure"]["properties"]}
    wanted |= {f"chart.{k}" for k in defs["chart"]["oneOf"][1]["properties"]}
    seen |= {"chart"} if "chart.type" in seen else set()
    assert wanted - seen == set()

    # back to one dimension and one measure, then use the options
    for i in (3, 2, 1):
        page.get_by_test_id(f"rb-remove-dimensions-{i}").click()
        page.get_by_test_id(f"rb-dimension-{i}").wait_for(state="detached")
    page.get_by_test_id("rb-remove-measures-2").click()
    page.get_by_test_id("rb-remove-measures-0").click()
    page.get_by_test_id("rb-measure-1").wait_for(state="detached")
    page.get_by_test_id("rb-agg-0").select_option("sum")
    page.get_by_test_id("rb-dim-more-0").locator("summary").click()
    page.get_by_test_id("rb-dim-label-0").fill("类别")
    page.get_by_test_id("rb-measure-more-0").locator("summary").click()
    page.get_by_test_id("rb-measure-label-0").fill("Spend")
    page.get_by_test_id("rb-measure-format-0").select_option("money")
    page.get_by_test_id("rb-chart-donut").click()
    page.get_by_test_id("rb-chart-hole").fill("0.5")
    page.get_by_test_id("rb-chart-title").fill("Where the money goes")
    page.get_by_test_id("rb-limit").fill("2")
    page.get_by_test_id("rb-others").check()
    page.get_by_test_id("rb-cache").select_option("seconds")
    page.get_by_test_id("rb-cache-seconds").fill("120")
    page.get_by_test_id("rb-filterable-urgent").check()
    page.get_by_test_id("rb-description").fill("spend per category, top two")
    page.wait_for_timeout(400)
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "reports/spend_options.yaml").read_text())
    assert saved["dimensions"] == [{"field": "category", "label": "类别"}]
    assert saved["measures"] == [{"agg": "sum", "field": "amount", "label": "Spend", "format": "money"}]
    assert saved["chart"] == {"type": "donut", "hole": 0.5, "title": "Where the money goes"}
    assert (saved["limit"], saved["others"], saved["cache"]) == (2, True, 120)
    assert saved["filterable"] == ["urgent"] and saved["description"] == "spend per category, top two"


def test_a_bar_chart_plots_chosen_measures_with_a_right_hand_axis(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    page = _new_report(browser, server, "spend_and_count")
    drag(page, page.get_by_test_id("rb-field-category"), page.get_by_test_id("rb-dimensions"), where="bottom")
    page.get_by_test_id("rb-dimension-0").filter(has_text="category").wait_for()
    drag(page, page.get_by_test_id("rb-field-amount"), page.get_by_test_id("rb-measures"), where="bottom")
    page.get_by_test_id("rb-measure-1").filter(has_text="amount").wait_for()
    page.get_by_test_id("rb-agg-1").select_option("sum")
    page.get_by_test_id("rb-chart-bar").click()
    page.get_by_test_id("rb-chart-y-sum_amount").check()
    page.get_by_test_id("rb-chart-y2-count").check()
    page.get_by_test_id("rb-chart-y-count").check()  # moving count to the left axis takes it off the right one
    assert not page.get_by_test_id("rb-chart-y2-count").is_checked()
    page.get_by_test_id("rb-chart-y-count").uncheck()
    page.get_by_test_id("rb-chart-y2-count").check()
    page.wait_for_timeout(400)
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "reports/spend_and_count.yaml").read_text())
    assert saved["chart"] == {"type": "bar", "y": ["sum_amount"], "y2": ["count"]}
