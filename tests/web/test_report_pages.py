"""Report engine pages over HTTP on SQLite and PostgreSQL: menu entries, plotly.js, the KPI home panel, the
drill-down page with rights and filters, bad addresses, and the dashboard options checked at load time."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.errors import DefinitionErrors
from engine.platform import Platform
from tests.conftest import APPS
from webclient import Browser  # type: ignore[import-not-found]

BOARD = "/apps/purchasing/dashboards/purchasing_board"


@pytest.fixture
def filled(platform: Platform) -> Platform:
    from forms_engine.fake import generate

    generate(platform, "purchasing", "supplier", 8, seed=1, days=60)
    generate(platform, "purchasing", "purchase_request", 120, seed=2, days=60)
    return platform


def _boot(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="rd-boot">(.*?)</script>', html, re.S)
    assert found, "the page carries its first state"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def _tables(platform: Platform) -> tuple[Any, Any]:
    t = platform.apps["purchasing"].tables
    return t["f_purchasing__purchase_request"], t["f_purchasing__supplier"]


def test_menu_entries_lead_to_the_dashboard_and_report_pages(filled: Platform) -> None:
    from engine.loader import read_app_folder

    files = dict(read_app_folder(APPS / "purchasing")[0])
    files["app.yaml"] = files["app.yaml"].replace("menu:\n", "menu:\n  - {label: 看板, dashboard: purchasing_board}\n"
                                                               "  - {label: 月度, report: monthly_spend}\n")
    filled.publish_files(files, "tester", "menu")
    boss = Browser(filled).login("boss")
    home = boss.get("/").text
    assert f'href="{BOARD}"' in home and 'href="/apps/purchasing/reports/monthly_spend"' in home
    page = boss.get(BOARD)
    assert page.status_code == 200 and '<script src="/vendor/plotly.min.js"></script>' in page.text
    boot = _boot(page.text)
    assert [w["report"] for w in boot["widgets"]][:2] == ["spend_this_month", "requests_this_month"]
    assert boot["values"]["rating"] == ["A", "B"]  # the default of a multi-select filter
    assert {w["click"] for w in boot["widgets"]} == {"drill", "filter", "zoom"}
    assert 'data-value=\'"A"\' checked' in page.text
    js = boss.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert b"plotly.js" in js.content[:400]
    assert Browser(filled).client.get("/vendor/plotly.min.js").status_code == 303  # for signed-in users
    report = boss.get("/apps/purchasing/reports/monthly_spend")
    assert report.status_code == 200 and _boot(report.text)["widgets"][0]["click"] == "zoom"
    assert boss.get("/apps/purchasing/dashboards/nope").status_code == 404
    anonymous = Browser(filled).client.get(BOARD)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")


def test_home_panel_shows_the_kpis_of_the_home_dashboard(filled: Platform) -> None:
    pr, _sup = _tables(filled)
    boss = Browser(filled).login("boss")
    html = boss.get("/").text
    assert 'data-kpi="spend_this_month"' in html and 'data-kpi="requests_this_month"' in html
    start = filled.clock.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)  # UTC; the app is +8
    from datetime import timedelta

    _t, sup = _tables(filled)
    with filled.db.connect() as conn:
        count = conn.execute(select(func.count()).select_from(pr.outerjoin(sup, pr.c.supplier == sup.c.id)).where(
            pr.c.created_at >= start - timedelta(hours=8), sup.c.rating.in_(["A", "B"]))).scalar_one()
    card = re.search(r'data-kpi="requests_this_month">.*?<strong class="rd-kpi-value">([^<]*)</strong>', html, re.S)
    assert card and card.group(1) == f"{count:,}"
    money = re.search(r'data-kpi="spend_this_month">.*?<strong class="rd-kpi-value">([^<]*)</strong>', html, re.S)
    assert money and re.fullmatch(r"¥[\d,]+\.\d\d", money.group(1))
    dan = Browser(filled).login("dan")  # may not read purchase requests: no KPI panel at all
    assert "data-kpis" not in dan.get("/").text


def test_drill_page_lists_only_records_the_reader_may_open(filled: Platform) -> None:
    pr, sup = _tables(filled)
    alice = Browser(filled).login("alice")  # requester: reads her own requests only
    with filled.db.connect() as conn:
        alice_id = conn.execute(select(func.min(pr.c.owner_id))).scalar_one()  # any owner works; find alice's id
        from engine.tables import users

        alice_id = conn.execute(select(users.c.id).where(users.c.username == "alice")).scalar_one()
        mine = {r for (r,) in conn.execute(select(pr.c.id).select_from(pr.outerjoin(sup, pr.c.supplier == sup.c.id))
                                            .where(pr.c.owner_id == alice_id, pr.c.category == "it",
                                                   sup.c.rating.in_(["A", "B"])))}
    url = ("/apps/purchasing/reports/spend_by_category/records?dashboard=purchasing_board&label=IT&point="
           + json.dumps({"category": "it"}))
    page = alice.get(url)
    assert page.status_code == 200
    assert f'data-drill-total="{len(mine)}"' in page.text
    shown = {int(x) for x in re.findall(r'<tr data-id="(\d+)">', page.text)}
    assert shown == mine
    assert "IT 的明细" in page.text and f'href="{BOARD}?filters=' not in page.text  # no filters sent: plain back link
    # dashboard filters narrow the drill too; an injection attempt is a value, never SQL
    page = alice.get(url + "&dashboard_filters=" + json.dumps({"rating": ["C"]}))
    with filled.db.connect() as conn:
        only_c = conn.execute(select(func.count()).select_from(pr.outerjoin(sup, pr.c.supplier == sup.c.id)).where(
            pr.c.owner_id == alice_id, pr.c.category == "it", sup.c.rating == "C")).scalar_one()
    assert f'data-drill-total="{only_c}"' in page.text
    bad = alice.get(url.replace("point=", "x=") + "&point=" + json.dumps({"category": "it' OR 1=1 --"}))
    assert bad.status_code == 422 and "lw-alert-error" in bad.text
    assert alice.get(url.replace(json.dumps({"category": "it"}), "{oops")).status_code == 400
    assert Browser(filled).login("dan").get(url).status_code == 403  # a form the reader may not read


def test_a_dashboard_address_with_bad_filters_falls_back_to_the_defaults(filled: Platform) -> None:
    boss = Browser(filled).login("boss")
    for bad in ("{oops", json.dumps({"rating": ["Z"]}), json.dumps({"nope": [1]})):
        page = boss.get(BOARD, params={"filters": bad})
        assert page.status_code == 200 and "lw-alert-warn" in page.text
        assert _boot(page.text)["values"]["rating"] == ["A", "B"]
    page = boss.get(BOARD, params={"filters": json.dumps({"rating": ["C"], "province": [], "city": []})})
    assert _boot(page.text)["values"]["rating"] == ["C"] and "lw-alert-warn" not in page.text


def test_pages_speak_the_chosen_language(filled: Platform) -> None:
    boss = Browser(filled).login("boss")
    boss.get("/lang/en")
    boot = _boot(boss.get(BOARD).text)
    assert boot["lang"] == "en" and boot["texts"]["total"] == "Total"
    donut = next(w for w in boot["widgets"] if w["report"] == "suppliers_by_rating")
    assert donut["title"] == "Suppliers by rating"
    # the API the page calls answers in the page's language too (labels of blanks, options, titles)
    answer = boss.send("POST", "/api/apps/purchasing/dashboards/purchasing_board", json={})
    assert answer.json()["label"] == "Purchasing board"
    table = next(w for w in answer.json()["widgets"] if w["report"] == "spend_by_supplier")
    assert any(r["supplier__label"] == "(blank)" for r in table["result"]["rows"]) or all(
        r["supplier"] is not None for r in table["result"]["rows"])


def _with(platform: Platform, name: str, text: str) -> dict[str, str]:
    from engine.loader import read_app_folder

    files, _ = read_app_folder(APPS / "purchasing")
    return dict(files) | {name: text}


def test_dashboard_click_and_home_options_are_checked_with_file_and_line(platform: Platform) -> None:
    bad = ("kind: dashboard\nkey: b2\nhome: true\nfilters:\n  - {key: rating, field: supplier.rating}\nwidgets:\n"
           "  - {report: spend_by_category, click: filter}\n  - {report: spend_by_category, click: zoom}\n")
    with pytest.raises(DefinitionErrors) as caught:
        platform.load_files(_with(platform, "reports/b2.yaml", bad))
    texts = [str(e) for e in caught.value.errors]
    assert any(t.startswith("reports/b2.yaml:7:") and "cannot set a dashboard filter" in t for t in texts), texts
    assert any(t.startswith("reports/b2.yaml:8:") and "no date or region dimension to zoom into" in t for t in texts), texts
    with pytest.raises(DefinitionErrors) as caught:
        platform.load_files(_with(platform, "reports/b2.yaml", "kind: dashboard\nkey: b2\nhome: sometimes\n"
                                  "widgets:\n  - {report: spend_by_category, click: explode}\n"))
    texts = [str(e) for e in caught.value.errors]
    assert any("reports/b2.yaml:3:" in t and "home" in t for t in texts), texts
    assert any("reports/b2.yaml:5:" in t and "click" in t for t in texts), texts


def test_every_relative_range_has_a_label_in_both_languages() -> None:
    from report_engine import dates
    from report_engine.pages import RANGE_TEXTS, format_value

    assert set(RANGE_TEXTS) == set(dates.RANGES)
    assert format_value("1234567.5", "money", 2, "zh-CN") == "¥1,234,567.50"
    assert format_value("-3", "money", 2, "en", "USD") == "-$3.00"
    assert format_value("0.1234", "percent", 4, "zh-CN") == "12.34%"   # a fraction at 4 places: 2 decimals of a percent
    assert format_value(Decimal("12"), "integer", 0, "en") == "12"
    assert format_value(None, "money", 2, "en") == "–"
