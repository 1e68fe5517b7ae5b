"""Dashboards in real headless Chromium against a live server: the purchasing app with data made by
forms_engine/fake.py. Every expected figure is computed here with SQL from the same database, never copied from a
run."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from tests.browser import ARTIFACTS, login, serve, watched_page

pytestmark = pytest.mark.browser
BOARD = "/apps/purchasing/dashboards/purchasing_board"
PASSWORD = "demo-pass-2026"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    from conftest_helpers import make_platform_at  # type: ignore[import-not-found]
    from forms_engine.fake import generate

    tmp = tmp_path_factory.mktemp("dash")
    platform = make_platform_at(tmp, FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)))
    generate(platform, "purchasing", "supplier", 14, seed=5, days=120)
    generate(platform, "purchasing", "purchase_request", 400, seed=6, days=120)
    with serve(platform) as server:
        yield server, platform
    platform.db.dispose()


@pytest.fixture(scope="module")
def shared(chromium: Any, live: tuple[str, Any]) -> Iterator[Any]:
    """One signed-in context (boss, finance: reads every purchase request) for the tests that only read."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    _login(page, live[0], "boss")
    yield context
    context.close()


@pytest.fixture
def page(shared: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    with watched_page(shared, request) as pg:
        yield pg


def _login(page: Any, server: str, user: str) -> None:
    login(page, server, user, PASSWORD)


def _ready(page: Any) -> None:
    page.wait_for_function("[...document.querySelectorAll('[data-widget]')].every("
                           "w => ['ready', 'refused'].includes(w.dataset.state)) && !document.body.classList.contains('rd-loading')")


def _widget(page: Any, report: str) -> Any:
    return page.locator(f'[data-report="{report}"]')


def _plot_data(page: Any, report: str) -> list[dict[str, Any]]:
    return page.evaluate(f"""() => document.querySelector('[data-report="{report}"] .js-plotly-plot').data
                              .map(t => ({{x: t.x, y: t.y, values: t.values, labels: t.labels, customdata: t.customdata}}))""")


def _spend_by_category(platform: Any, ratings: list[str]) -> dict[str, float]:
    """category → sum of amounts of requests whose supplier has one of ``ratings`` (the oracle)."""
    t = platform.apps["purchasing"].tables
    pr, sup = t["f_purchasing__purchase_request"], t["f_purchasing__supplier"]
    query = (select(pr.c.category, func.sum(pr.c.amount)).select_from(pr.outerjoin(sup, pr.c.supplier == sup.c.id))
             .where(sup.c.rating.in_(ratings)).group_by(pr.c.category))
    with platform.db.connect() as conn:
        return {k: float(v) for k, v in conn.execute(query).all()}


def _signatures(page: Any) -> dict[str, str]:
    """What each widget shows: its plot data, or its text (number cards, tables)."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-widget]')].map(w => {
        const plot = w.querySelector('.js-plotly-plot');
        return [w.dataset.report, plot ? JSON.stringify(plot.data.map(t => [t.x, t.y, t.values])) :
                                         w.querySelector('[data-body]').innerText];
    }))""")


def test_dashboard_draws_every_widget_and_a_shared_filter_changes_them_all(page: Any, live: tuple[str, Any]) -> None:
    server, platform = live
    page.goto(server + BOARD)
    _ready(page)
    assert page.locator(".js-plotly-plot .main-svg").count() >= 4  # bar, bar, stacked bar and donut drawn by plotly
    card = _widget(page, "spend_this_month").locator(".rd-number-value").inner_text()
    assert card.startswith("¥") and re.search(r"\d,\d{3}\.\d{2}$", card), card  # money in the zh-CN format
    table = _widget(page, "spend_by_supplier").locator("table.rd-table")
    assert table.locator("tr.rd-total td").first.inner_text() == "合计"
    # the rating filter's default (A, B) applies to every widget: figures match SQL over the same rows
    bars = _plot_data(page, "spend_by_category")
    shown = dict(zip([c[0] for c in bars[0]["customdata"]], bars[0]["y"]))
    assert shown == pytest.approx(_spend_by_category(platform, ["A", "B"]))
    before = _signatures(page)

    rating = page.locator('[data-filter="rating"]')
    rating.locator("summary").click()
    rating.locator("input[data-value='\"B\"']").uncheck()
    page.wait_for_function("JSON.stringify(window.lwReports.values.rating) === '[\"A\"]'")
    page.wait_for_url(re.compile(r".*filters=.*"))
    _ready(page)
    after = _signatures(page)
    assert {k for k in before if before[k] != after[k]} == set(before), (before, after)  # every widget changed
    bars = _plot_data(page, "spend_by_category")
    shown = dict(zip([c[0] for c in bars[0]["customdata"]], bars[0]["y"]))
    assert shown == pytest.approx(_spend_by_category(platform, ["A"]))
    donut = _plot_data(page, "suppliers_by_rating")[0]
    assert [c[0] for c in donut["customdata"]] == ["A"]
    # the address keeps the choice: a reload shows the same filtered dashboard
    page.reload()
    _ready(page)
    assert rating.locator("summary").inner_text() == "A"


def test_a_linked_filter_offers_only_the_chosen_provinces_cities(page: Any, live: tuple[str, Any]) -> None:
    server, platform = live
    sup = platform.apps["purchasing"].tables["f_purchasing__supplier"]
    with platform.db.connect() as conn:
        rows = conn.execute(select(sup.c.province, sup.c.city)).all()
    province = max({p for p, _ in rows if p}, key=lambda p: sum(1 for q, _ in rows if q == p))
    expected = sorted({c for p, c in rows if p == province and c})
    page.goto(server + BOARD)
    _ready(page)
    city = page.locator('[data-filter="city"]')
    every = city.locator("input").evaluate_all("xs => xs.map(x => JSON.parse(x.dataset.value))")
    assert set(every) == {c for _, c in rows if c} and len(every) > len(expected)
    box = page.locator('[data-filter="province"]')
    box.locator("summary").click()
    box.locator(f"input[data-value='{json.dumps(province)}']").check()
    page.wait_for_function(f"document.querySelectorAll('[data-filter=city] input').length === {len(expected)}")
    offered = city.locator("input").evaluate_all("xs => xs.map(x => JSON.parse(x.dataset.value))")
    assert sorted(offered) == expected


def test_clicking_a_bar_opens_the_records_behind_it(page: Any, live: tuple[str, Any]) -> None:
    server, platform = live
    page.goto(server + BOARD)
    _ready(page)
    bars = _plot_data(page, "spend_by_category")[0]
    category = bars["customdata"][0][0]
    bar = _widget(page, "spend_by_category").locator(".bars .point path").first
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 3)
    page.wait_for_url(re.compile(r".*/reports/spend_by_category/records\?.*"))
    t = platform.apps["purchasing"].tables
    pr, sup = t["f_purchasing__purchase_request"], t["f_purchasing__supplier"]
    with platform.db.connect() as conn:
        ids = {r for (r,) in conn.execute(select(pr.c.id).select_from(pr.outerjoin(sup, pr.c.supplier == sup.c.id))
                                          .where(sup.c.rating.in_(["A", "B"]), pr.c.category == category))}
    assert int(page.locator("[data-drill-total]").get_attribute("data-drill-total")) == len(ids)
    shown = {int(x) for x in page.locator("[data-drill-records] tbody tr").evaluate_all("rs => rs.map(r => r.dataset.id)")}
    assert shown and shown <= ids
    page.click("text=← 返回看板")
    _ready(page)


def test_a_click_can_set_a_filter_and_zoom_a_month_into_days(page: Any, live: tuple[str, Any]) -> None:
    server, _platform = live
    page.goto(server + BOARD)
    _ready(page)
    # cross-filtering: a click on a city's bar sets the city filter (the widget says click: filter)
    city_bars = _plot_data(page, "spend_by_supplier_city")[0]
    city = city_bars["customdata"][0][0]
    bar = _widget(page, "spend_by_supplier_city").locator(".bars .point path").first
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 3)
    page.wait_for_function(f"(window.lwReports.values.city || []).join('|') === {json.dumps(city)}")
    _ready(page)
    assert [c[0] for c in _plot_data(page, "spend_by_supplier_city")[0]["customdata"]] == [city]
    # zoom: a month bar of the monthly chart opens that month by day
    monthly = _widget(page, "monthly_spend")
    month = _plot_data(page, "monthly_spend")[0]["customdata"][0][0]
    bar = monthly.locator(".trace.bars").first.locator(".point path").first
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    monthly.locator("[data-zoom-out]").wait_for(state="visible")
    _ready(page)
    days = {c[0] for trace in _plot_data(page, "monthly_spend") for c in trace["customdata"]}
    assert days and all(re.fullmatch(month + r"-\d\d", d) for d in days), (month, days)


def test_a_reader_without_rights_sees_the_widget_refused_not_its_data(chromium: Any, live: tuple[str, Any],
                                                                      request: pytest.FixtureRequest) -> None:
    server, _platform = live
    context = chromium.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        _login(page, server, "dan")  # no role: may read suppliers, not purchase requests
        page.goto(server + BOARD)
        _ready(page)
        refused = page.locator('[data-state="refused"]')
        assert refused.count() == 6
        assert "没有权限" in refused.first.inner_text()
        assert page.locator('[data-report="spend_by_category"] .js-plotly-plot').count() == 0
        assert page.locator('[data-report="spend_by_category"] [data-exports]').is_hidden()
        assert page.locator('[data-report="suppliers_by_rating"] .js-plotly-plot').count() == 1
        # on a phone the widgets stack in one column
        xs = {round(page.locator(f"[data-widget='{i}']").bounding_box()["x"]) for i in range(7)}
        assert len(xs) == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
    finally:
        context.close()
