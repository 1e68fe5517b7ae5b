"""Rights and hostile input: a report counts only rows its reader may read, refuses a form the reader cannot
read, and every client-supplied parameter is checked against the definition (values bound, names refused)."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import ShopData


def total_count(result: dict[str, Any]) -> int:
    return sum(r["count"] for r in result["rows"])


def test_rows_outside_the_readers_scope_are_never_counted(shop: tuple[Any, ShopData], shop_api: Any) -> None:
    _platform, data = shop
    nick = data.users["nick"]
    own = shop_api.as_("nick").get("/api/apps/shop/reports/sales_by_channel/run")
    assert own.status_code == 200, own.text
    assert total_count(own.json()) == sum(1 for r in data.sales if r["owner_id"] == nick)
    north = {data.departments["north"]}
    managed = shop_api.as_("max").get("/api/apps/shop/reports/sales_by_channel/run").json()
    assert total_count(managed) == sum(1 for r in data.sales if r["department_id"] in north)
    everyone = shop_api.as_("ana").get("/api/apps/shop/reports/sales_by_channel/run").json()
    assert total_count(everyone) == len(data.sales)
    # drill-down honours the same scope
    drilled = shop_api.as_("nick").post("/api/apps/shop/reports/sales_by_channel/drill",
                                        json={"point": {"channel": "web"}}).json()
    assert drilled["total"] == sum(1 for r in data.sales if r["owner_id"] == nick and r["channel"] == "web")
    assert all(item["owner_id"] == nick for item in drilled["items"])
    # a sub-table dataset is limited by the scope of the records owning the rows
    lines = shop_api.as_("nick").get("/api/apps/shop/reports/product_lines/run").json()
    mine = {r["id"] for r in data.sales if r["owner_id"] == nick and r["status"] == "paid"}
    assert lines["totals"]["count"] == sum(1 for line in data.lines if line["parent_id"] in mine)


def test_a_report_on_a_form_the_user_cannot_read_is_403(shop_api: Any) -> None:
    answer = shop_api.as_("gus").get("/api/apps/shop/reports/sales_by_channel/run")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    assert shop_api.as_("gus").post("/api/apps/shop/reports/sales_by_channel/drill",
                                    json={"point": {"channel": "web"}}).status_code == 403
    assert shop_api.as_("gus").get("/api/apps/shop/reports/sales_by_channel/export?format=csv").status_code == 403
    board = shop_api.as_("gus").get("/api/apps/shop/dashboards/sales_overview")
    assert board.status_code == 200
    assert all(w["error"]["status"] == 403 and "result" not in w for w in board.json()["widgets"])
    assert shop_api.as_(None).get("/api/apps/shop/reports/sales_by_channel/run").status_code == 401


INJECTIONS = ["web' OR '1'='1", "1; DROP TABLE f_shop__sale; --", "') UNION SELECT password_hash FROM lw_users --",
              "\" OR \"\"=\"", "%' --"]


def test_sql_injection_through_every_client_parameter(shop: tuple[Any, ShopData], shop_api: Any) -> None:
    for payload in INJECTIONS:
        check_payload(shop, shop_api, payload)


def check_payload(shop: tuple[Any, ShopData], shop_api: Any, payload: str) -> None:
    platform, data = shop
    ana = shop_api.as_("ana")
    base = "/api/apps/shop/reports/sales_by_channel"
    refused = [
        ana.post(base + "/run", json={"filters": {payload: ["web"]}}),            # filter name
        ana.post(base + "/run", json={"filters": {"channel": [payload]}}),        # value of a select: not an option
        ana.post(base + "/run", json={"filters": {"amount": [payload]}}),         # value of a number
        ana.post(base + "/run", json={"filters": {"sold_on": {"from": payload}}}),
        ana.post(base + "/run", json={"filters": {"sold_on": {"range": payload}}}),
        ana.post(base + "/run", json={"sort": payload}),
        ana.post(base + "/run", json={"sort": ["-count", payload]}),
        ana.post(base + "/run", json={"limit": payload}),
        ana.post(base + "/run", json={payload: 1}),
        ana.get(base + "/run", params={"filters": json.dumps({payload: 1})}),
        ana.get(base + "/run", params={"sort": payload}),
        ana.post("/api/apps/shop/reports/monthly_sales/run", json={"zoom": {"sold_at_month": payload}}),
        ana.post("/api/apps/shop/reports/monthly_sales/run", json={"zoom": {payload: "2026-01"}}),
        ana.post(base + "/drill", json={"point": {payload: "web"}}),
        ana.post(base + "/drill", json={"point": {"channel": payload}}),
        ana.post("/api/apps/shop/dashboards/sales_overview", json={"filters": {payload: ["web"]}}),
        ana.post("/api/apps/shop/dashboards/sales_overview", json={"filters": {"channel": [payload]}}),
        ana.post("/api/apps/shop/dashboards/sales_overview", json={"filters": {"period": payload}}),
        ana.get(base + "/export", params={"format": payload}),
    ]
    for answer in refused:
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.status_code, answer.text)
        assert answer.json()["error"]["code"] in ("validation_failed", "bad_request", "not_found")
    # values of text fields are legal input: they are bound, so they simply match nothing
    text = ana.post(base + "/run", json={"filters": {"store.city": [payload]}})
    assert text.status_code == 200 and text.json()["rows"] == []
    board = ana.post("/api/apps/shop/dashboards/sales_overview", json={"filters": {"city": [payload]}})
    assert board.status_code == 200
    assert all(w["result"]["rows"] == [] for w in board.json()["widgets"] if w["report"] != "monthly_sales")
    options = ana.get("/api/apps/shop/dashboards/sales_overview/filters/city/options",
                      params={"parent": json.dumps([payload[:6].ljust(6, "0")]) if payload[:6].isdigit() else payload,
                              "q": payload})
    assert options.status_code in (200, 422) and (options.status_code == 422 or options.json()["options"] == [])
    with platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(platform.apps["shop"].tables["f_shop__sale"])
                            ).scalar_one() == len(data.sales)


def test_filter_by_a_field_the_report_does_not_offer_is_refused(shop_api: Any) -> None:
    answer = shop_api.as_("ana").post("/api/apps/shop/reports/sales_by_channel/run",
                                      json={"filters": {"discount": ["1"]}})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "filters.discount"
    wrong_type = shop_api.as_("ana").post("/api/apps/shop/reports/sales_by_channel/run",
                                          json={"filters": {"amount": {"from": "ten"}}})
    assert wrong_type.status_code == 422 and "not a number" in wrong_type.text
