"""Report pages in real headless Chromium against a live server: the shop test app with the deterministic data of
conftest.fill, so every expected figure comes from the Python oracle (ShopData), never from a run.

What a person does here: clicks a province on the map and sees its cities, then a city and sees its districts, and
zooms out; clicks a stage of a funnel made of measures and gets the records of that stage; reads a percent measure
in a table, formatted for the page's language."""
from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest

from engine.clock import FrozenClock
from engine.db import make_engine
from tests.browser import login, serve, watched_page
from tests.reports.conftest import ShopData, _build

pytestmark = pytest.mark.browser
PASSWORD = "shop-pass-2026"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, ShopData]]:
    tmp: Path = tmp_path_factory.mktemp("shop-browser")
    url = f"sqlite:///{tmp / 'shop.db'}"
    engine = make_engine(url)
    platform, data = _build((url, engine), tmp, FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)))
    with serve(platform) as server:
        yield server, platform, data
    engine.dispose()


@pytest.fixture(scope="module")
def signed_in(chromium: Any, live: tuple[str, Any, ShopData]) -> Iterator[Any]:
    """ana, the analyst: reads every sale."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    login(page, live[0], "ana", PASSWORD)
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(signed_in: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    with watched_page(signed_in, request) as pg:
        yield pg


def _ready(page: Any) -> None:
    page.wait_for_function("[...document.querySelectorAll('[data-widget]')].every("
                           "w => ['ready', 'refused', 'error'].includes(w.dataset.state))"
                           " && !document.body.classList.contains('rd-loading')")


def _traces(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("""() => document.querySelector('[data-widget="0"] .js-plotly-plot').data
                              .map(t => ({type: t.type, x: t.x, y: t.y, customdata: t.customdata}))""")


def _click_point(page: Any, selector: str, index: int) -> None:
    point = page.locator(selector).nth(index)
    box = point.bounding_box()
    assert box is not None, selector
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _sums_by(data: ShopData, digits: int) -> dict[str, Decimal]:
    """Sales amount by the store's location code cut to ``digits`` (2: province, 4: city, 6: district)."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for sale in data.sales:
        code = data.store(sale["store"])["location"]
        sums[code[:digits] + "0" * (6 - digits)] += sale["amount"]
    return dict(sums)


def _shown(traces: list[dict[str, Any]]) -> dict[str, Decimal]:
    """code → value of a (horizontal) bar chart whose points carry the region code."""
    trace = traces[0]
    return {c[0]: Decimal(str(v)).quantize(Decimal("0.01")) for c, v in zip(trace["customdata"], trace["x"])}


def test_a_province_on_the_map_zooms_into_its_cities_then_districts(page: Any, live: tuple[str, Any, ShopData]) -> None:
    server, _platform, data = live
    page.goto(server + "/apps/shop/reports/sales_by_location")
    _ready(page)
    tiles = _traces(page)[0]
    codes = [c[0] for c in tiles["customdata"]]
    provinces = _sums_by(data, 2)
    assert {c for c in codes if c} == set(provinces)  # a tile with data for each province sold in, none other
    yunnan = codes.index("530000")
    _click_point(page, '[data-widget="0"] .scatterlayer .point', yunnan)
    page.locator('[data-widget="0"] [data-zoom-out]').wait_for(state="visible")
    _ready(page)
    cities = {k: v for k, v in _sums_by(data, 4).items() if k.startswith("53")}
    assert _shown(_traces(page)) == cities  # 昆明 only: both Yunnan stores are in it
    _click_point(page, '[data-widget="0"] .bars .point path', 0)
    page.wait_for_function("""() => { const d = document.querySelector('[data-widget="0"] .js-plotly-plot');
                                      return d && d.data[0].customdata.some(c => c[0] !== '530100'); }""")
    _ready(page)
    districts = {k: v for k, v in _sums_by(data, 6).items() if k.startswith("5301")}
    assert len(districts) == 2 and _shown(_traces(page)) == districts
    page.click('[data-widget="0"] [data-zoom-out]')
    page.locator('[data-widget="0"] [data-zoom-out]').wait_for(state="hidden")
    _ready(page)
    assert _traces(page)[0]["type"] == "scatter"  # the province map again


def test_a_funnel_stage_made_of_a_measure_opens_the_records_it_counts(page: Any,
                                                                       live: tuple[str, Any, ShopData]) -> None:
    server, _platform, data = live
    page.goto(server + "/apps/shop/reports/sale_stages")
    _ready(page)
    funnel = _traces(page)[0]
    assert funnel["type"] == "funnel"
    stages = [c[0] for c in funnel["customdata"]]
    assert stages == ["all_sales", "not_refunded", "paid", "paid_web"]  # the rate (an expression) is no stage
    paid = [s for s in data.sales if s["status"] == "paid"]
    expected = [len(data.sales), sum(1 for s in data.sales if s["status"] != "refunded"), len(paid),
                sum(1 for s in paid if s["channel"] == "web")]
    assert funnel["x"] == expected
    _click_point(page, '[data-widget="0"] .funnellayer .point path', stages.index("paid_web"))
    page.wait_for_url(re.compile(r".*/reports/sale_stages/records\?.*measure=paid_web.*"))
    assert int(page.locator("[data-drill-total]").get_attribute("data-drill-total")) == expected[3]
    shown = {int(x) for x in page.locator("[data-drill-records] tbody tr").evaluate_all("rs => rs.map(r => r.dataset.id)")}
    assert shown and shown <= {s["id"] for s in paid if s["channel"] == "web"}


def _percent_cells(page: Any, label: str) -> dict[str, str]:
    """first cell → the cell under the column headed ``label``, for each body row of the widget's table."""
    headers = [h.strip() for h in page.locator('[data-widget="0"] table thead th').all_inner_texts()]
    column = headers.index(label)
    shown: dict[str, str] = {}
    for row in page.locator('[data-widget="0"] table tbody tr').all():
        cells = row.locator("td").all_inner_texts()
        shown[cells[0].strip()] = cells[column].strip()
    return shown


def _assert_percent(text: str, fraction: Decimal, places: int) -> None:
    match = re.fullmatch(r"(-?\d+(?:\.(\d+))?)\s?%", text)
    assert match, text  # a percent sign, never a bare fraction like 0.0123
    assert len(match.group(2) or "") == places, text
    assert abs(Decimal(match.group(1)) - fraction * 100) <= Decimal(5) / 10 ** (places + 1) + Decimal("1e-9"), text


def test_a_percent_measure_reads_as_a_percent_at_its_places(page: Any, live: tuple[str, Any, ShopData]) -> None:
    server, platform, data = live
    reports = platform.apps["shop"].spec.of_kind("report")
    rate = reports["paid_rate_table"].measure("paid_rate")
    assert (rate.format, rate.scale) == ("percent", 4)  # 0.1234 at 4 places reads 12.34 %
    page.goto(server + "/apps/shop/reports/paid_rate_table")
    _ready(page)
    shown = _percent_cells(page, "付款率")
    labels = {"web": "网店", "shop": "门店", "phone": "电话", None: "（空）", "total": "合计"}  # the options' zh-CN labels
    assert set(shown) == set(labels.values())
    for channel in ("web", "shop", "phone", None, "total"):
        rows = [s for s in data.sales if s["channel"] == channel or channel == "total"]
        _assert_percent(shown[labels[channel]], Decimal(sum(s["status"] == "paid" for s in rows)) / len(rows), 2)
    # a percent formula without a scale gets four places, so it reads with two decimals too
    share = reports["discount_rate"].measure("share")
    assert (share.format, share.scale) == ("percent", 4)
    page.goto(server + "/apps/shop/reports/discount_rate")
    _ready(page)
    shown = _percent_cells(page, str(share.label.get("zh-CN")))
    for status in ("open", "refunded"):
        rows = [s for s in data.sales if s["status"] == status]
        cell = next(v for k, v in shown.items() if status in k)
        _assert_percent(cell, sum(s["discount"] for s in rows) / sum(s["amount"] for s in rows), 2)


def test_on_a_phone_in_english_the_same_rates_read_with_english_labels(chromium: Any, live: tuple[str, Any, ShopData],
                                                                       request: pytest.FixtureRequest) -> None:
    server, _platform, data = live
    context = chromium.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    try:
        with watched_page(context, request) as page:
            login(page, server, "ana", PASSWORD)
            page.goto(server + "/lang/en?next=/apps/shop/reports/paid_rate_table")
            _ready(page)
            shown = _percent_cells(page, "付款率")  # the measure's label has no English text: it falls back
            assert {"Web", "Shop", "Phone", "Total"} <= set(shown)
            web = [s for s in data.sales if s["channel"] == "web"]
            _assert_percent(shown["Web"], Decimal(sum(s["status"] == "paid" for s in web)) / len(web), 2)
            # the table scrolls inside its card; the page itself fits the phone's width
            assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    finally:
        context.close()
