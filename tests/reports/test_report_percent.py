"""Percent measures: a value is a fraction at ``scale`` decimal places (0.1234 at scale 4), and the table, the chart,
the home card and the export all show it with the same precision (12.34 %) — never re-rounded to another."""
from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from conftest import ShopData
from test_report_run import run


def rate(data: ShopData, channel: Any, places: int) -> str:
    mine = [r for r in data.sales if r["channel"] == channel]
    value = Decimal(sum(1 for r in mine if r["status"] == "paid")) / len(mine)
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def test_percent_values_and_their_display_agree(shop: tuple[Any, ShopData], shop_api: Any) -> None:
    _platform, data = shop
    result = run(shop, "paid_share")
    rows = {r["channel"]: r for r in result["rows"]}
    for channel in rows:
        assert rows[channel]["paid_rate"] == rate(data, channel, 4)
        assert rows[channel]["paid_rate_short"] == rate(data, channel, 3)
    columns = {c["key"]: c for c in result["columns"]}
    assert (columns["paid_rate"]["format"], columns["paid_rate"]["scale"]) == ("percent", 4)
    # the chart shows what the value holds: scale 4 → two decimals of a percent, scale 3 → one
    traces = {t["name"]: t for t in result["figure"]["data"]}
    assert ":,.2%}" in traces["付款率"]["hovertemplate"]
    assert ":,.1%}" in traces["付款率（一位）"]["hovertemplate"]

    # the export: xlsx cells are the numbers, formatted as percentages of the same precision; csv the fractions
    from openpyxl import load_workbook

    book = shop_api.as_("ana").get("/api/apps/shop/reports/paid_share/export", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(book.content)).active
    header = [c.value for c in sheet[1]]
    col, short = header.index("付款率") + 1, header.index("付款率（一位）") + 1
    for i in range(2, sheet.max_row + 1):
        assert sheet.cell(row=i, column=col).number_format == "0.00%"
        assert sheet.cell(row=i, column=short).number_format == "0.0%"
    web = next(r for r in result["rows"] if r["channel"] == "web")
    cells = {sheet.cell(row=i, column=1).value: sheet.cell(row=i, column=col).value for i in range(2, sheet.max_row + 1)}
    assert Decimal(str(cells[web["channel__label"]])) == Decimal(web["paid_rate"])
    answer = shop_api.as_("ana").get("/api/apps/shop/reports/paid_share/export", params={"format": "csv"})
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [line[header.index("付款率")] for line in lines[1:]] == [r["paid_rate"] for r in result["rows"]]


def test_the_home_card_formats_percent_at_the_measure_scale() -> None:
    from report_engine.pages import format_value

    assert format_value("0.1234", "percent", 4, "zh-CN") == "12.34%"
    assert format_value("0.667", "percent", 3, "en") == "66.7%"
    assert format_value("0.5", "percent", 2, "en") == "50%"
    assert format_value("0.0005", "percent", 4, "en") == "0.05%"
