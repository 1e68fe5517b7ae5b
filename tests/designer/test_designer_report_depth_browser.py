"""The report builder in headless Chromium, beyond one relation: fields of a related record's related record
(purchase_request → supplier → office) listed in folded relation groups and dragged in; a region dimension grouped by
city with the level control; a measure counting only the rows a condition matches (a conditional aggregate, with its
key); the preview shows the published records so grouped and counted, and the saved YAML holds exactly that.
Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import pytest
import yaml

from tests.conftest import Api
from designer_support import copy_app, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, drag, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

OFFICE = """key: office
label: {zh-CN: 办事处, en: Office}
title_field: name
fields:
  - {key: name, type: text, required: true}
  - {key: region, type: region}
permissions:
  "*": {read: all}
"""


@pytest.fixture
def folder(tmp_path):  # type: ignore[no-untyped-def]
    """The purchasing app with suppliers belonging to an office, which has a region: two relations deep."""
    target = copy_app(tmp_path)
    (target / "forms/office.yaml").write_text(OFFICE)
    supplier = target / "forms/supplier.yaml"
    text = supplier.read_text()
    line = "  - {key: province, type: region, levels: province}\n"
    assert line in text
    supplier.write_text(text.replace(line, line + "  - {key: office, type: relation, to: office}\n"))
    return target


def _records(plat) -> None:  # type: ignore[no-untyped-def]
    api = Api(plat).as_("admin")
    for office, region, supplier, amount, category in [("Wuhua", "530102", "S1", 100, "it"),
                                                        ("Panlong", "530103", "S2", 250, "it"),
                                                        ("Dongcheng", "110101", "S3", 40, "travel")]:
        o = api.post("/api/apps/purchasing/forms/office/records", json={"name": office, "region": region})
        assert o.status_code in (200, 201), o.text
        s = api.post("/api/apps/purchasing/forms/supplier/records", json={"name": supplier, "office": o.json()["id"]})
        assert s.status_code in (200, 201), s.text
        r = api.post("/api/apps/purchasing/forms/purchase_request/records",
                     json={"title": supplier, "amount": amount, "category": category, "supplier": s.json()["id"]})
        assert r.status_code in (200, 201), r.text


def _rows(page) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all("[data-testid=rb-preview-table] tr",
                                     "trs => trs.slice(1).map(tr => [...tr.children].map(td => td.textContent))")


def test_two_relations_deep_region_level_and_a_measure_filter(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    _records(plat)
    page = browser()
    sign_in(page, server, "admin")
    page.get_by_test_id("app-purchasing").click()
    page.get_by_test_id("new-report-key").fill("spend_by_office_city")
    page.get_by_test_id("create-report").click()
    page.get_by_test_id("rb-fields").wait_for()
    page.get_by_test_id("rb-dataset").select_option("purchase_request")

    # the related records' fields are folded under their relation: supplier, then the supplier's office
    region = page.get_by_test_id("rb-field-supplier.office.region")
    assert not region.is_visible()
    page.get_by_test_id("rb-rel-open-supplier").click()
    page.get_by_test_id("rb-rel-open-supplier.office").click()
    region.wait_for()
    drag(page, region, page.get_by_test_id("rb-dimensions"), where="centre")
    page.get_by_test_id("rb-dimension-0").filter(has_text="supplier.office.region").wait_for()
    # a region dimension offers its level; by city, the two Kunming districts make one row
    page.get_by_test_id("rb-level-0").select_option("city")
    drag(page, page.get_by_test_id("rb-field-amount"), page.get_by_test_id("rb-measures"), where="bottom")
    page.get_by_test_id("rb-measure-1").filter(has_text="amount").wait_for()
    page.wait_for_function("document.querySelector('[data-testid=rb-preview-table]').textContent.includes('350.00')")
    assert sorted(_rows(page)) == [["北京市", "1", "40.00"], ["昆明市", "2", "350.00"]]

    # the count measure counts only the rows a condition matches
    page.get_by_test_id("rb-measure-filter-add-0").click()
    page.get_by_test_id("rb-mfilter-field-0").select_option("category")
    page.get_by_test_id("rb-mfilter-op-0").select_option("eq")
    page.get_by_test_id("rb-mfilter-value-0").fill("travel")
    page.get_by_test_id("rb-measure-key-0").fill("travel_requests")
    page.wait_for_function("""() => { const t = document.querySelector('[data-testid=rb-preview-table]');
        return t.textContent.includes('350.00') && [...t.querySelectorAll('th')].some(th => th.textContent.includes('travel_requests')); }""")
    assert sorted(_rows(page)) == [["北京市", "1", "40.00"], ["昆明市", "0", "350.00"]]
    # by province, Yunnan and Beijing
    page.get_by_test_id("rb-level-0").select_option("province")
    page.wait_for_function("document.querySelector('[data-testid=rb-preview-table]').textContent.includes('云南省')")

    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "reports/spend_by_office_city.yaml").read_text())
    assert saved["dimensions"] == [{"field": "supplier.office.region", "level": "province"}]
    assert saved["measures"] == [{"key": "travel_requests", "agg": "count",
                                  "filter": {"field": "category", "op": "eq", "value": "travel"}},
                                 {"agg": "sum", "field": "amount"}]

    # a measure filter without the key the engine needs is shown on its chip
    page.get_by_test_id("rb-measure-key-0").fill("")
    page.locator("[data-testid=rb-measure-0].has-error").wait_for()
    page.get_by_test_id("rb-measure-key-0").fill("travel_requests")
    page.locator("[data-testid=rb-measure-0].has-error").wait_for(state="detached")
    page.get_by_test_id("rb-mfilter-remove-0").click()
    page.get_by_test_id("rb-measure-filter-add-0").wait_for()
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "reports/spend_by_office_city.yaml").read_text())
    assert saved["measures"][0] == {"key": "travel_requests", "agg": "count"}
    page.get_by_test_id("publish-message").fill("spend by office region")
    page.get_by_test_id("publish").click()
    page.get_by_test_id("published").wait_for()
    assert "spend_by_office_city" in plat.apps["purchasing"].spec.of_kind("report")


def test_names_that_are_no_field_of_their_own_are_folded_too(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    """A flow's task history reads its record as record.* (a sub-table's rows their record as parent.*): those
    fields are listed folded under 'record', and can be dragged in from there."""
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/reports/spend_by_category.yaml")
    page.get_by_test_id("rb-fields").wait_for()
    page.get_by_test_id("rb-dataset").select_option("flow_history:purchase_approval")
    page.get_by_test_id("rb-field-node").wait_for()
    amount = page.get_by_test_id("rb-field-record.amount")
    assert not amount.is_visible()
    page.get_by_test_id("rb-rel-open-record").click()
    amount.wait_for()
    drag(page, amount, page.get_by_test_id("rb-measures"), where="bottom")
    page.get_by_test_id("rb-measure-1").filter(has_text="record.amount").wait_for()
