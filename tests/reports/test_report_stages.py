"""Measures with their own filter (conditional aggregates: count submitted, count approved … side by side in one
query) and a funnel whose stages are such measures — against counts computed in Python, on SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from conftest import ShopData, principal
from engine.errors import ValidationFailed
from test_report_definitions import hooks, problems  # noqa: F401  (the hooks fixture)
from test_report_run import q, run


def test_funnel_stages_are_filtered_measures(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "sale_stages")
    row = result["rows"][0]
    paid = [r for r in data.sales if r["status"] == "paid"]
    expected = {"all_sales": len(data.sales), "not_refunded": sum(1 for r in data.sales if r["status"] != "refunded"),
                "paid": len(paid), "paid_web": sum(1 for r in paid if r["channel"] == "web")}
    assert {k: row[k] for k in expected} == expected
    assert row["paid_share"] == q(Decimal(len(paid)) / len(data.sales), 3)
    trace = result["figure"]["data"][0]
    assert trace["type"] == "funnel"
    # one stage per aggregate measure, in definition order (the rate is a column of the data, not a stage)
    assert trace["y"] == ["全部", "未退款", "已付款", "网店已付款"]
    assert trace["x"] == [float(expected[k]) for k in ("all_sales", "not_refunded", "paid", "paid_web")]
    assert trace["customdata"] == [["all_sales"], ["not_refunded"], ["paid"], ["paid_web"]]
    assert result["drill"] is True


def test_filtered_measures_beside_plain_ones_per_dimension(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    rows = {r["channel"]: r for r in run(shop, "paid_by_channel")["rows"]}
    for channel in {r["channel"] for r in data.sales}:
        mine = [r for r in data.sales if r["channel"] == channel]
        assert rows[channel]["count"] == len(mine)
        assert rows[channel]["paid_amount"] == (q(sum(r["amount"] for r in mine if r["status"] == "paid"))
                                                if any(r["status"] == "paid" for r in mine) else None)
        assert rows[channel]["refunds"] == sum(1 for r in mine if r["status"] == "refunded")


def test_a_stage_drills_into_the_records_it_counts(shop: tuple[Any, ShopData]) -> None:
    platform, data = shop
    service = platform.services["reports"]
    ana = principal(platform, "ana")
    web = service.drill("shop", "sale_stages", ana, {"measure": "paid_web"}, size=500)
    assert sorted(i["id"] for i in web["items"]) == sorted(
        r["id"] for r in data.sales if r["status"] == "paid" and r["channel"] == "web")
    assert service.drill("shop", "sale_stages", ana, {"measure": "all_sales"}, size=1)["total"] == len(data.sales)
    for bad in ("paid_share", "nope", ["paid"]):
        with pytest.raises(ValidationFailed):
            service.drill("shop", "sale_stages", ana, {"measure": bad})


@pytest.mark.parametrize("text, expected", [
    ("key: r\ndataset: sale\nmeasures: [{agg: count, filter: \"status == 'paid'\"}]\n",
     "measures[0]: a measure with a filter needs a key"),
    ("key: r\ndataset: sale\nmeasures: [{key: p, agg: count, filter: {field: colour, op: eq, value: x}}]\n",
     "measures[0].filter.field: form 'sale' has no field 'colour'"),
    ("key: r\ndataset: sale\nmeasures: [{key: p, agg: count, filter: \"stat == 'paid'\"}]\n",
     "measures[0].filter: form 'sale' has no field 'stat'"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}, {key: x, expr: count, filter: \"status == 'paid'\"}]\n",
     "a formula measure has expr only (no agg, field or filter)"),
    ("key: r\ndataset: sale\nmeasures: [{agg: count}]\nchart: funnel\n",
     "a funnel without a dimension has one stage per measure"),
    ("key: r\ndataset: sale\ndimensions: [status, channel]\nmeasures: [{agg: count}]\nchart: funnel\n",
     "a funnel chart needs exactly one dimension (got 2) or none, with its stages as measures"),
])
def test_bad_stage_definitions_are_located(hooks: Any, text: str, expected: str) -> None:  # noqa: F811
    assert any(expected in p for p in problems(hooks, text)), problems(hooks, text)
