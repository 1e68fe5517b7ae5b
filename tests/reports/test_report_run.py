"""Reports compiled to SQL give the figures a plain Python computation over the same rows gives, on SQLite and
PostgreSQL alike: dimensions, buckets in the app's time zone, bins, joins over two relations, sub-tables,
measures, formulas, comparisons, running totals, top N with others, totals."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from conftest import ZONE, ShopData, principal


def q(value: Decimal, places: int = 2) -> str:
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def group(rows: list[dict[str, Any]], key: Any) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return out


def run(shop: Any, key: str, user: str = "ana", params: dict[str, Any] | None = None) -> dict[str, Any]:
    platform, _data = shop
    return platform.services["reports"].run("shop", key, principal(platform, user), params)


def test_measures_per_channel(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "sales_by_channel")
    expected = []
    for channel, rows in group(data.sales, lambda r: r["channel"]).items():
        total = sum(r["amount"] for r in rows)
        expected.append({
            "channel": channel, "count": len(rows), "sum_amount": q(total), "avg_amount": q(total / len(rows)),
            "count_distinct_store": len({r["store"] for r in rows}),
            "min_sold_on": min(r["sold_on"] for r in rows).isoformat(), "max_amount": q(max(r["amount"] for r in rows)),
            "ticket": q(total / len(rows)),
        })
    expected.sort(key=lambda e: -Decimal(e["sum_amount"]))
    got = [{k: r[k] for k in expected[0]} for r in result["rows"]]
    assert got == expected
    labels = {r["channel"]: r["channel__label"] for r in result["rows"]}
    assert labels["web"] == "网店" and labels[None] == "（空）"


def test_month_buckets_follow_the_app_time_zone(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "monthly_sales")
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for r in data.sales:
        sums[r["sold_at"].astimezone(ZONE).strftime("%Y-%m")] += r["amount"]
    months = sorted(sums)
    assert [r["sold_at_month"] for r in result["rows"]] == months
    assert [r["sum_amount"] for r in result["rows"]] == [q(sums[m]) for m in months]
    running = Decimal(0)
    for row, month in zip(result["rows"], months):
        running += sums[month]
        assert row["cumulative"] == q(running)
    # 23:59 on 28 February in Shanghai is 15:59 UTC: it belongs to February, not to March
    feb = next(r for r in data.sales if r["sold_at"] == datetime(2026, 2, 28, 15, 59, tzinfo=timezone.utc))
    assert feb["sold_at"].astimezone(ZONE).month == 2


@pytest.mark.parametrize("unit, fmt", [
    ("day", lambda d: d.isoformat()),
    ("week", lambda d: (d - timedelta(days=d.weekday())).isoformat()),
    ("quarter", lambda d: f"{d.year}-Q{(d.month - 1) // 3 + 1}"),
    ("year", lambda d: str(d.year)),
])
def test_other_buckets(shop: tuple[Any, ShopData], unit: str, fmt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    platform, data = shop
    from dataclasses import replace

    live = platform.apps["shop"]
    report = live.spec.of_kind("report")["monthly_sales"]
    dim = replace(report.dimensions[0], bucket=unit)
    patched = replace(report, dimensions=(dim,), measures=(report.measures[0],))
    reports = dict(live.spec.specs["report"])
    reports["monthly_sales"] = patched
    from types import MappingProxyType

    specs = dict(live.spec.specs)
    specs["report"] = MappingProxyType(reports)
    monkeypatch.setattr(live, "spec", replace(live.spec, specs=MappingProxyType(specs)))
    result = run(shop, "monthly_sales")
    counts: dict[str, Decimal] = defaultdict(Decimal)
    for r in data.sales:
        counts[fmt(r["sold_at"].astimezone(ZONE).date())] += r["amount"]
    assert {r["sold_at_month"]: r["sum_amount"] for r in result["rows"]} == {k: q(v) for k, v in counts.items()}


def test_zoom_into_a_month_shows_its_days(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "monthly_sales", params={"zoom": {"sold_at_month": "2026-02"}})
    days: dict[str, Decimal] = defaultdict(Decimal)
    for r in data.sales:
        local = r["sold_at"].astimezone(ZONE)
        if (local.year, local.month) == (2026, 2):
            days[local.date().isoformat()] += r["amount"]
    assert {r["sold_at_month"]: r["sum_amount"] for r in result["rows"]} == {k: q(v) for k, v in days.items()}
    assert result["columns"][0]["bucket"] == "day"


def test_numeric_bins(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "amount_bins")
    bins = [sum(1 for r in data.sales if r["amount"] < 100), sum(1 for r in data.sales if 100 <= r["amount"] < 500),
            sum(1 for r in data.sales if r["amount"] >= 500)]
    assert [r["count"] for r in result["rows"]] == bins
    assert [r["amount__label"] for r in result["rows"]] == ["< 100", "100 – 500", "≥ 500"]


def test_join_over_two_relations_groups_by_province(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "sales_by_province")
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for r in data.sales:
        sums[data.area(data.store(r["store"])["area"])["province"]] += r["amount"]
    assert {r["store_area_province"]: r["sum_amount"] for r in result["rows"]} == {k: q(v) for k, v in sums.items()}
    assert {r["store_area_province__label"] for r in result["rows"]} == {"云南省", "广东省", "北京市"}


def test_subtable_dataset_with_parent_filter_and_totals(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "product_lines")
    paid = {r["id"] for r in data.sales if r["status"] == "paid"}
    lines = [line for line in data.lines if line["parent_id"] in paid]
    expected = {}
    for product, rows in group(lines, lambda r: r["product"]).items():
        expected[product] = (sum(r["qty"] for r in rows), len(rows), q(sum(r["price"] for r in rows)))
    assert {r["product"]: (r["sum_qty"], r["count"], r["sum_price"]) for r in result["rows"]} == expected
    assert [r["product"] for r in result["rows"]] == sorted(expected)  # code-point order on both databases
    assert result["totals"] == {"sum_qty": sum(r["qty"] for r in lines), "count": len(lines),
                                "sum_price": q(sum(r["price"] for r in lines))}


def test_top_n_with_others(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "top_stores")
    sums = {k: sum(r["amount"] for r in v) for k, v in group(data.sales, lambda r: r["store"]).items()}
    ranked = sorted(sums, key=lambda k: -sums[k])
    rows = result["rows"]
    assert [r["store"] for r in rows[:2]] == ranked[:2]
    assert rows[0]["store__label"] == data.store(ranked[0])["name"]
    assert rows[2]["_other"] is True and rows[2]["store__label"] == "其他"
    assert rows[2]["sum_amount"] == q(sum(sums[k] for k in ranked[2:]))
    assert rows[2]["count"] == sum(1 for r in data.sales if r["store"] in ranked[2:])
    # a client may ask for a different N, within the definition's shape
    assert len(run(shop, "top_stores", params={"limit": 4})["rows"]) == 5


def test_formula_dividing_by_zero_is_empty(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    rows = {r["status"]: r for r in run(shop, "discount_rate")["rows"]}
    refunded = [r for r in data.sales if r["status"] == "refunded"]
    assert rows["refunded"]["sum_discount"] == "0.00"
    assert rows["refunded"]["per_discount"] is None  # division by zero: empty, not an error
    opened = [r for r in data.sales if r["status"] == "open"]
    share = sum(r["discount"] for r in opened) / sum(r["amount"] for r in opened)
    assert rows["open"]["share"] == q(share, 4)
    assert set(rows) == {"open", "refunded"} and refunded


def test_period_comparisons(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    [row] = run(shop, "month_card")["rows"]  # the clock says 2 March 2026

    def within(r: dict[str, Any], start: date, end: date) -> bool:
        return start <= r["sold_on"] < end

    march = [r for r in data.sales if within(r, date(2026, 3, 1), date(2026, 4, 1))]
    february = [r for r in data.sales if within(r, date(2026, 2, 1), date(2026, 3, 1))]
    last_march = [r for r in data.sales if within(r, date(2025, 3, 1), date(2025, 4, 1))]
    assert row["sum_amount"] == q(sum(r["amount"] for r in march))
    assert row["sum_amount__previous"] == q(sum(r["amount"] for r in february))
    now, then = sum(r["amount"] for r in march), sum(r["amount"] for r in february)
    assert row["sum_amount__change"] == q((now - then) / then, 4)
    assert (row["count_ly"], row["count_ly__previous"]) == (len(march), len(last_march))


def test_pivot_and_user_and_department_names(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    pivot = run(shop, "channel_status")
    counts = {k: len(v) for k, v in group(data.sales, lambda r: (r["channel"], r["status"])).items()}
    assert {(r["channel"], r["status"]): r["count"] for r in pivot["rows"]} == counts
    board = run(shop, "seller_board")
    names = {r["seller"]: r["seller__label"] for r in board["rows"]}
    assert names[data.users["nick"]] == "Nick" and names[None] == "（空）"
    assert {r["team__label"] for r in board["rows"]} == {"北区", "南区", "（空）"}


def test_current_user_filter(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "my_sales", user="max")
    mine = [r for r in data.sales if r["seller"] == data.users["max"]]
    assert sum(r["count"] for r in result["rows"]) == len(mine) > 0
    assert run(shop, "my_sales", user="ana")["rows"] == []


def test_client_filters_narrow_with_bound_values(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    params = {"filters": {"status": ["paid", "open"], "sold_on": {"from": "2025-06-01", "to": "2025-12-31"},
                          "amount": {"from": "100"}, "store.city": ["昆明"]}}
    result = run(shop, "sales_by_channel", params=params)
    kunming = {s["id"] for s in data.stores if s["city"] == "昆明"}
    rows = [r for r in data.sales if r["status"] in ("paid", "open") and date(2025, 6, 1) <= r["sold_on"] <= date(2025, 12, 31)
            and r["amount"] >= 100 and r["store"] in kunming]
    assert sum(r["count"] for r in result["rows"]) == len(rows) > 0
    blank = run(shop, "sales_by_channel", params={"filters": {"channel": [None]}})
    assert [r["count"] for r in blank["rows"]] == [sum(1 for r in data.sales if r["channel"] is None)]
    relative = run(shop, "sales_by_channel", params={"filters": {"sold_on": {"range": "last_30_days"}}})
    recent = [r for r in data.sales if date(2026, 2, 1) <= r["sold_on"] <= date(2026, 3, 2)]
    assert sum(r["count"] for r in relative["rows"]) == len(recent)


def test_percentiles(shop: tuple[Any, ShopData], backend_of: str, monkeypatch: pytest.MonkeyPatch) -> None:
    platform, data = shop
    from dataclasses import replace
    from types import MappingProxyType

    from engine.i18n import Text
    from report_engine.spec import Measure

    live = platform.apps["shop"]
    report = live.spec.of_kind("report")["amount_bins"]
    ref = report.dimensions[0].ref
    patched = replace(report, dimensions=(), measures=(Measure("p90", "percentile", Text.of("p90"), ref, Decimal("0.9"),
                                                               scale=2, format="money"),), chart=replace(report.chart, type="number"))
    specs = dict(live.spec.specs)
    specs["report"] = MappingProxyType(dict(specs["report"]) | {"amount_bins": patched})
    monkeypatch.setattr(live, "spec", replace(live.spec, specs=MappingProxyType(specs)))
    if backend_of == "sqlite":
        from report_engine.service import Unsupported

        with pytest.raises(Unsupported, match="percentile, which needs PostgreSQL"):
            run(shop, "amount_bins")
        return
    values = sorted(r["amount"] for r in data.sales)
    pos = Decimal("0.9") * (len(values) - 1)
    lo = int(pos)
    expected = values[lo] + (values[lo + 1] - values[lo]) * (pos - lo)
    assert run(shop, "amount_bins")["rows"][0]["p90"] == q(expected)


def test_comparison_with_a_formula_per_dimension_and_a_total_row(shop: tuple[Any, ShopData]) -> None:
    """Current and previous period from one scan; a formula compared too; the total row has its comparison."""
    _platform, data = shop
    result = run(shop, "channel_compare")

    def within(r: dict[str, Any], start: date, end: date) -> bool:
        return start <= r["sold_on"] < end

    march = [r for r in data.sales if within(r, date(2026, 3, 1), date(2026, 4, 1))]
    february = [r for r in data.sales if within(r, date(2026, 2, 1), date(2026, 3, 1))]
    rows = {r["channel"]: r for r in result["rows"]}
    for channel in {r["channel"] for r in march + february}:
        now = [r for r in march if r["channel"] == channel]
        then = [r for r in february if r["channel"] == channel]
        row = rows[channel]
        assert row["sum_amount"] == (q(sum(r["amount"] for r in now)) if now else None)
        assert row["sum_amount__previous"] == (q(sum(r["amount"] for r in then)) if then else None)
        assert row["count"] == len(now)
        if now and then:
            ticket_now = sum(r["amount"] for r in now) / len(now)
            ticket_then = sum(r["amount"] for r in then) / len(then)
            assert row["ticket"] == q(ticket_now) and row["ticket__previous"] == q(ticket_then)
            assert Decimal(row["ticket__change"]) == pytest.approx((ticket_now - ticket_then) / ticket_then,
                                                                  abs=Decimal("0.0001"))
    totals = result["totals"]
    now_sum, then_sum = sum(r["amount"] for r in march), sum(r["amount"] for r in february)
    assert totals["sum_amount"] == q(now_sum) and totals["sum_amount__previous"] == q(then_sum)
    assert totals["sum_amount__change"] == q((now_sum - then_sum) / then_sum, 4)
    assert totals["count"] == len(march)
