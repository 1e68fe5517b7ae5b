"""Region dimensions by province, city or district (GB/T 2260 codes), shown by name, and the zoom from a province
to its cities to their districts — on SQLite and PostgreSQL, against sums computed in Python from the same rows."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from conftest import ShopData, principal
from engine.errors import ValidationFailed
from test_report_definitions import hooks, problems  # noqa: F401  (the hooks fixture)
from test_report_run import q, run


def sums(data: ShopData, prefix: int, where: Any = lambda code: True) -> dict[str, tuple[str, int]]:
    out: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for r in data.sales:
        code = data.store(r["store"])["location"]
        if where(code):
            key = code[:prefix].ljust(6, "0")
            out[key][0] += r["amount"]
            out[key][1] += 1
    return {k: (q(v[0]), v[1]) for k, v in out.items()}


def test_city_level_groups_districts_into_their_cities(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    result = run(shop, "sales_by_city")
    assert {r["store_location"]: (r["sum_amount"], r["count"]) for r in result["rows"]} == sums(data, 4)
    labels = {r["store_location"]: r["store_location__label"] for r in result["rows"]}
    # a municipality's grouping level (110100 市辖区) is shown by the municipality's name
    assert labels == {"530100": "昆明市", "440100": "广州市", "440300": "深圳市", "110100": "北京市"}
    assert result["columns"][0]["level"] == "city" and result["zoom"] == {"store_location": "district"}


def test_zoom_from_province_to_cities_to_districts(shop: tuple[Any, ShopData]) -> None:
    _platform, data = shop
    top = run(shop, "sales_by_location")
    assert {r["store_location"] for r in top["rows"]} == {"530000", "440000", "110000"}
    assert top["zoom"] == {"store_location": "city"} and top["figure"]["data"][0]["marker"]["symbol"] == "square"

    cities = run(shop, "sales_by_location", params={"zoom": {"store_location": "440000"}})
    assert {r["store_location"]: r["sum_amount"] for r in cities["rows"]} == {
        k: v[0] for k, v in sums(data, 4, lambda c: c.startswith("44")).items()}
    assert {r["store_location__label"] for r in cities["rows"]} == {"广州市", "深圳市"}
    assert cities["zoom"] == {"store_location": "district"}
    assert cities["figure"]["data"][0]["type"] == "bar"          # the province map's cities are drawn as bars

    districts = run(shop, "sales_by_location", params={"zoom": {"store_location": "530100"}})
    assert {r["store_location"]: r["sum_amount"] for r in districts["rows"]} == {
        k: v[0] for k, v in sums(data, 6, lambda c: c.startswith("5301")).items()}
    assert {r["store_location__label"] for r in districts["rows"]} == {"昆明市五华区", "昆明市盘龙区"}
    assert districts["zoom"] == {}                                # a district is the finest level: a click drills


def test_drill_and_filter_at_city_and_district_level(shop: tuple[Any, ShopData]) -> None:
    platform, data = shop
    service = platform.services["reports"]
    ana = principal(platform, "ana")
    expected = sorted(r["id"] for r in data.sales if data.store(r["store"])["location"] == "530103")
    drilled = service.drill("shop", "sales_by_location", ana, {"zoom": {"store_location": "530100"},
                                                                "point": {"store_location": "530103"}}, size=500)
    assert sorted(item["id"] for item in drilled["items"]) == expected and drilled["total"] == len(expected)
    by_city = service.drill("shop", "sales_by_city", ana, {"point": {"store_location": "440300"}}, size=500)
    assert by_city["total"] == sum(1 for r in data.sales if data.store(r["store"])["location"].startswith("4403"))
    narrowed = run(shop, "sales_by_city", params={"filters": {"store_location": ["530100", "110100"]}})
    assert {r["store_location"] for r in narrowed["rows"]} == {"530100", "110100"}


@pytest.mark.parametrize("zoom, message", [
    ({"store_location": "530102"}, "province or a city"),         # a district has nothing finer
    ({"store_location": "5301"}, "province or a city"),
    ({"store_location": "990000"}, "province or a city"),         # no such province
    ({"store_location": "530000' OR '1'='1"}, "province or a city"),
    ({"amount": "530000"}, "not a date-bucketed dimension"),
])
def test_bad_region_zoom_is_refused(shop: tuple[Any, ShopData], zoom: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        run(shop, "sales_by_location", params={"zoom": zoom})
    assert message in str(info.value.problems[0].message)


def test_level_needs_a_region_field(hooks: Any) -> None:
    found = problems(hooks, "key: r\ndataset: sale\ndimensions: [{field: store.city, level: city}]\n"
                            "measures: [{agg: count}]\n")
    assert any("dimensions[0].level: level needs a region field; 'store.city' is a text field" in p for p in found)
