"""The report API: runs with plotly figures, dashboards with shared, default and linked filters, drill-down,
export with formula injection neutralised, and the result cache."""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import plotly.graph_objects as go
import pytest

from conftest import ZONE, ShopData, principal


def test_every_chart_type_gives_a_valid_plotly_figure(shop: tuple[Any, ShopData], shop_api: Any) -> None:
    platform, _data = shop
    seen = set()
    for key, report in platform.apps["shop"].spec.of_kind("report").items():
        answer = shop_api.as_("max").get(f"/api/apps/shop/reports/{key}/run")
        assert answer.status_code == 200, (key, answer.text)
        figure = answer.json()["figure"]
        go.Figure(figure)  # plotly's own validation of every trace and layout property
        seen.add(report.chart.type)
        if report.chart.type in ("bar", "line", "pie", "donut", "funnel", "leaderboard") and answer.json()["rows"]:
            # each point carries its dimension values, for drill-down and cross-filtering
            assert figure["data"][0]["customdata"]
        if report.chart.type == "leaderboard":  # the value on each bar, formatted as its measure, not raw digits
            assert figure["data"][0]["texttemplate"].startswith("%{x:,") and "text" not in figure["data"][0]
    assert seen >= {"bar", "line", "area", "pie", "donut", "funnel", "number", "table", "pivot", "leaderboard",
                    "scatter", "map"}


def test_a_chart_plots_the_chosen_measures_and_a_second_axis(shop_api: Any) -> None:
    """``chart.y`` picks what a bar chart plots and ``chart.y2`` puts a figure of another scale (a count beside an
    amount) on a right-hand axis; the measures left out stay in the rows (table view, exports)."""
    answer = shop_api.as_("max").get("/api/apps/shop/reports/channel_amount_count/run").json()
    figure, rows = answer["figure"], answer["rows"]
    go.Figure(figure)
    assert [(t["type"], t["name"], t.get("yaxis")) for t in figure["data"]] == [("bar", "金额", None),
                                                                               ("scatter", "笔数", "y2")]
    bars, counts = figure["data"]
    assert bars["y"] == [float(r["sum_amount"]) for r in rows] and counts["y"] == [r["count"] for r in rows]
    assert figure["layout"]["yaxis2"]["overlaying"] == "y" and figure["layout"]["yaxis2"]["side"] == "right"
    assert all("avg_amount" in r for r in rows)  # not plotted, still reported


def test_number_card_shows_the_change(shop_api: Any) -> None:
    figure = shop_api.as_("ana").get("/api/apps/shop/reports/month_card/run").json()["figure"]
    assert figure["data"][0]["mode"] == "number+delta"


def test_map_places_every_province_once(shop: tuple[Any, ShopData], shop_api: Any) -> None:
    result = shop_api.as_("ana").get("/api/apps/shop/reports/sales_by_province/run").json()
    trace = result["figure"]["data"][0]
    assert len(trace["x"]) == 34 and len(set(zip(trace["x"], trace["y"]))) == 34
    colours = dict(zip(trace["text"], trace["marker"]["color"]))
    by_label = {r["store_area_province__label"]: float(r["sum_amount"]) for r in result["rows"]}
    assert colours["云南"] == by_label["云南省"] and colours["西藏"] == 0
    assert {"台湾", "香港", "澳门"} <= set(trace["text"])  # named, though the region data has no codes for them
    # the more, the darker: the scale runs from a light colour at 0 to a dark one at the largest value
    scale = trace["marker"]["colorscale"]

    def lightness(hex_colour: str) -> int:
        return sum(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))

    assert [stop for stop, _ in scale] == sorted(stop for stop, _ in scale)
    assert lightness(scale[0][1]) > lightness(scale[-1][1])
    top = max(colours, key=lambda name: colours[name])
    inks = dict(zip(trace["text"], trace["textfont"]["color"]))
    assert inks[top] == "#ffffff" and inks["西藏"] != "#ffffff"  # a label on a dark tile is white


def test_dashboard_with_defaults_and_shared_filters(shop: tuple[Any, ShopData], shop_api: Any) -> None:
    _platform, data = shop
    board = shop_api.as_("ana").get("/api/apps/shop/dashboards/sales_overview").json()
    assert [w["report"] for w in board["widgets"]] == ["sales_by_channel", "monthly_sales", "top_stores",
                                                       "channel_share"]
    assert board["refresh"] == 60
    assert board["widgets"][0]["cross_filter"] == {"channel": "channel"}
    channels = {r["channel"] for r in board["widgets"][0]["result"]["rows"]}
    assert channels == {"web", "shop"}  # the default of the channel filter
    this_year = [r for r in data.sales if r["sold_on"].year == 2026 and r["channel"] in ("web", "shop")]
    assert sum(r["count"] for r in board["widgets"][0]["result"]["rows"]) == len(this_year)
    chosen = shop_api.as_("ana").post("/api/apps/shop/dashboards/sales_overview", json={"filters": {
        "channel": [], "province": ["440000"], "period": {"from": "2025-01-01", "to": "2025-12-31"}}}).json()
    guangdong = {s["id"] for s in data.stores if data.area(s["area"])["province"] == "440000"}
    expected = [r for r in data.sales if r["store"] in guangdong and r["sold_on"].year == 2025]
    assert sum(r["count"] for r in chosen["widgets"][0]["result"]["rows"]) == len(expected)
    months = {r["sold_at_month"] for r in chosen["widgets"][1]["result"]["rows"]}
    assert months and all(m.startswith("2025-") for m in months)


def test_linked_filter_offers_only_the_chosen_provinces_cities(shop_api: Any) -> None:
    base = "/api/apps/shop/dashboards/sales_overview/filters"
    everything = shop_api.as_("ana").get(base + "/city/options").json()["options"]
    assert [o["value"] for o in everything] == sorted(["北京", "广州", "深圳", "昆明"])
    yunnan = shop_api.as_("ana").get(base + "/city/options", params={"parent": json.dumps(["530000"])}).json()
    assert [o["value"] for o in yunnan["options"]] == ["昆明"]
    provinces = shop_api.as_("ana").get(base + "/province/options").json()["options"]
    assert {o["label"] for o in provinces} == {"云南省", "广东省", "北京市"}
    channels = shop_api.as_("ana").get(base + "/channel/options").json()["options"]
    assert [o["value"] for o in channels] == ["web", "shop", "phone"]


def test_drill_down_lists_the_records_behind_a_bar(shop: tuple[Any, ShopData], shop_api: Any) -> None:
    _platform, data = shop
    ana = shop_api.as_("ana")
    answer = ana.post("/api/apps/shop/reports/sales_by_channel/drill?size=5",
                      json={"point": {"channel": "phone"}, "filters": {"status": ["paid"]}})
    assert answer.status_code == 200, answer.text
    expected = sorted((r["id"] for r in data.sales if r["channel"] == "phone" and r["status"] == "paid"), reverse=True)
    body = answer.json()
    assert body["total"] == len(expected) and [i["id"] for i in body["items"]] == expected[:5]
    assert body["items"][0]["number"] == f"S{expected[0]:05d}"
    month = ana.post("/api/apps/shop/reports/monthly_sales/drill", json={"point": {"sold_at_month": "2026-02"}}).json()
    assert month["total"] == sum(1 for r in data.sales if r["sold_at"].astimezone(ZONE).strftime("%Y-%m") == "2026-02")
    # drilling inside a dashboard applies its shared filters (the default channels) too
    within = ana.post("/api/apps/shop/reports/top_stores/drill", json={
        "point": {"store": 1}, "dashboard": "sales_overview", "dashboard_filters": {"period": "last_year"}}).json()
    assert within["total"] == sum(1 for r in data.sales if r["store"] == 1 and r["channel"] in ("web", "shop")
                                  and r["sold_on"].year == 2025)
    others = ana.post("/api/apps/shop/reports/amount_bins/drill", json={"point": {"amount": 2}}).json()
    assert others["total"] == sum(1 for r in data.sales if r["amount"] >= 500)


def test_export_csv_and_xlsx_neutralise_formulas(shop: tuple[Any, ShopData], shop_api: Any) -> None:
    _platform, data = shop
    answer = shop_api.as_("ana").get("/api/apps/shop/reports/by_note/export", params={"format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["note", "count", "sum_amount"]
    cells = [r[0] for r in rows[1:]]
    assert "'=1+2" in cells and "=1+2" not in cells
    assert rows[-1][0] == "合计" and int(rows[-1][1]) == len(data.sales)
    from openpyxl import load_workbook

    book = shop_api.as_("ana").get("/api/apps/shop/reports/by_note/export", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(book.content)).active
    values = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert "'=1+2" in values and all(not (isinstance(v, str) and v.startswith("=")) for v in values)
    assert all(sheet.cell(row=i, column=2).data_type == "n" for i in range(2, sheet.max_row + 1))


def test_cache_is_invalidated_by_a_write(fresh_shop: tuple[Any, ShopData]) -> None:
    platform, data = fresh_shop
    service = platform.services["reports"]
    ana = principal(platform, "ana")
    first = service.run("shop", "by_note", ana)
    again = service.run("shop", "by_note", ana)
    assert again["rows"] == first["rows"] and service.cache.hits == 1
    nick = principal(platform, "nick")
    records = platform.services["records"]
    with platform.db.begin() as conn:
        records.create(conn, platform.apps["shop"], "sale", {
            "number": "NEW-1", "store": 1, "sold_at": "2026-03-02T10:00:00+08:00", "amount": "5", "note": "vip"}, nick)
    after = service.run("shop", "by_note", ana)
    assert after["totals"]["count"] == len(data.sales) + 1
    # another caller with a narrower scope never gets the first caller's cached rows
    mine = service.run("shop", "by_note", nick)
    assert mine["totals"]["count"] == sum(1 for r in data.sales if r["owner_id"] == data.users["nick"]) + 1
