"""Generated form pages over HTTP: draft evaluation, saved views, record pages, page definitions, escaping."""
from __future__ import annotations

import pytest

from engine.errors import DefinitionErrors
from engine.platform import Platform
from tests.conftest import APPS
from webclient import Browser  # type: ignore[import-not-found]

BASE = "/api/apps/purchasing/forms/purchase_request"


def test_evaluate_answers_with_the_servers_own_checks_in_the_users_language(browser: Browser) -> None:
    browser.login("alice")
    r = browser.send("POST", BASE + "/evaluate", json={"values": {"title": "", "amount": "0", "needed_by": "2025-02-30"}})
    assert r.status_code == 200
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert errors["title"]["code"] == "required" and errors["title"]["message"] == "必填"
    assert errors["needed_by"]["code"] == "format" and "2025-02-30" in errors["needed_by"]["message"]
    assert "amount" in errors
    assert r.json()["fields"]["title"] == {"visible": True, "required": True, "readonly": False}
    browser.get("/lang/en")
    r = browser.send("POST", BASE + "/evaluate", json={"values": {"title": ""}})
    assert {e["field"]: e["message"] for e in r.json()["errors"]}["title"] == "is required"


def test_evaluate_needs_the_right_to_create_or_read(browser: Browser) -> None:
    browser.login("boss")  # finance: may read, not create
    r = browser.send("POST", BASE + "/evaluate", json={"values": {}})
    assert r.status_code == 403


def test_saved_views_are_private_to_their_owner(browser: Browser) -> None:
    browser.login("alice")
    r = browser.send("POST", BASE + "/views", json={"name": "IT big", "query": "category=it&amount__gte=100&evil=1&sort=-amount"})
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["query"] == "category=it&amount__gte=100&sort=-amount"  # unknown parameters dropped
    page = browser.get("/apps/purchasing/forms/purchase_request").text
    assert "IT big" in page
    bob = Browser(browser.platform).login("bob")
    assert bob.get(BASE + "/views").json() == {"views": []}
    assert bob.send("DELETE", f"/api/views/{view['id']}").status_code == 404
    assert browser.get(BASE + "/views").json()["views"][0]["name"] == "IT big"
    assert browser.send("DELETE", f"/api/views/{view['id']}").status_code == 204
    assert browser.get(BASE + "/views").json() == {"views": []}
    assert browser.send("POST", BASE + "/views", json={"name": " ", "query": ""}).status_code == 422


def test_list_page_filters_sorts_pages_and_escapes(browser: Browser) -> None:
    browser.login("alice")
    for i, (title, cat) in enumerate([("<img src=x onerror=alert(1)>", "it"), ("Desk", "office"), ("Train", "travel")]):
        assert browser.send("POST", BASE + "/records", json={"title": title, "amount": 10 + i, "category": cat}).status_code == 201
    page = browser.get("/apps/purchasing/forms/purchase_request?category=office").text
    assert "Desk" in page and "Train" not in page
    page = browser.get("/apps/purchasing/forms/purchase_request?sort=amount").text
    assert page.index("&lt;img src=x onerror=alert(1)&gt;") < page.index("Desk") < page.index("Train")
    assert "<img src=x" not in page
    page = browser.get("/apps/purchasing/forms/purchase_request?amount__gte=oops").text
    assert "lw-alert-error" in page and "Desk" in page  # a bad filter is explained, the list still shows
    page = browser.get("/apps/purchasing/forms/purchase_request?size=20&q=Tra").text
    assert "Train" in page and "Desk" not in page


def test_record_page_shows_related_records_and_history(browser: Browser) -> None:
    carol = Browser(browser.platform).login("carol")  # buyer: suppliers
    supplier = carol.send("POST", "/api/apps/purchasing/forms/supplier/records", json={"name": "Northwind"}).json()
    browser.login("alice")
    pr = browser.send("POST", BASE + "/records", json={"title": "Paper", "amount": 5, "supplier": supplier["id"]}).json()
    browser.send("PATCH", BASE + f"/records/{pr['id']}", json={"amount": 7}, headers={"If-Match": '"1"'})
    page = browser.get(f"/apps/purchasing/forms/purchase_request/{pr['id']}").text
    assert "Northwind" in page and "5.00" in page and "7.00" in page  # relation title; history old → new
    assert "创建" in page and "修改" in page and ">update<" not in page  # the audit actions, in the user's language
    browser.get("/lang/en")
    page = browser.get(f"/apps/purchasing/forms/purchase_request/{pr['id']}").text
    assert "Created" in page and "Updated" in page
    browser.get("/lang/zh-CN")
    sup_page = carol.get(f"/apps/purchasing/forms/supplier/{supplier['id']}").text
    assert 'data-related="purchase_request"' in sup_page and "Paper" in sup_page
    edit = browser.get(f"/apps/purchasing/forms/purchase_request/{pr['id']}/edit").text
    assert 'data-version="2"' in edit
    # the relation picker starts with the chosen supplier: its JSON survives the HTML attribute (quotes escaped)
    assert _attribute(edit, "data-selected") == [{"id": supplier["id"], "title": "Northwind"}]
    new = browser.get(f"/apps/purchasing/forms/purchase_request/new?supplier={supplier['id']}").text
    assert _attribute(new, "data-selected") == [{"id": supplier["id"], "title": "Northwind"}]
    assert browser.get(f"/apps/purchasing/forms/purchase_request/{pr['id']}/print").status_code == 200
    assert Browser(browser.platform).login("bob").get(f"/apps/purchasing/forms/purchase_request/{pr['id']}").status_code == 404


def _attribute(html: str, name: str) -> object:
    """The JSON value of the first element attribute ``name`` in ``html``, as a browser reads it."""
    import json
    from html.parser import HTMLParser

    found: list[str] = []

    class Finder(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend(v or "" for k, v in attrs if k == name)

    Finder().feed(html)
    return json.loads(found[0])


def _with_page(platform: Platform, text: str) -> dict[str, str]:
    from engine.loader import read_app_folder

    files, _ = read_app_folder(APPS / "purchasing")
    return dict(files) | {"pages/supplier_360.yaml": text}


def test_page_definitions_are_checked_with_file_and_line(platform: Platform) -> None:
    bad = ("key: supplier_360\nform: supplier\nsections:\n  - {label: Main, fields: [name, ratng]}\n"
           "related:\n  - {form: purchase_request, field: title}\n")
    with pytest.raises(DefinitionErrors) as caught:
        platform.load_files(_with_page(platform, bad))
    texts = [str(e) for e in caught.value.errors]
    assert any(t.startswith("pages/supplier_360.yaml:4:") and "ratng" in t and "did you mean 'rating'" in t for t in texts)
    assert any(t.startswith("pages/supplier_360.yaml:6:") and "not a relation to 'supplier'" in t for t in texts)


def test_a_page_definition_lays_out_the_record_page(platform: Platform) -> None:
    good = ("key: supplier_360\nform: supplier\nlabel: Supplier 360\nsections:\n  - {label: Core, fields: [name, city], columns: 2}\n"
            "related:\n  - {form: purchase_request, field: supplier, label: Orders, columns: [title, amount]}\n"
            "timeline:\n  events:\n    - {form: purchase_request, field: supplier, date: needed_by, text: note, label: Need}\n")
    platform.publish_files(_with_page(platform, good), "tester", "page")
    carol = Browser(platform).login("carol")
    supplier = carol.send("POST", "/api/apps/purchasing/forms/supplier/records", json={"name": "Acme", "city": "Kunming"}).json()
    alice = Browser(platform).login("alice")
    alice.send("POST", BASE + "/records", json={"title": "Ink", "amount": 3, "supplier": supplier["id"],
                                                "needed_by": "2026-04-01", "note": "<b>soon</b>"})
    page = carol.get(f"/apps/purchasing/forms/supplier/{supplier['id']}").text
    assert "<h2>Core</h2>" in page and "Kunming" in page
    assert 'data-key="rating"' not in page  # only the fields the page lists
    assert "Orders" in page and "Ink" in page
    assert "Need · Ink" in page and "&lt;b&gt;soon&lt;/b&gt;" in page and "2026-04-01" in page


def _with_supplier_lists(lists: str) -> dict[str, str]:
    from engine.loader import read_app_folder

    files, _ = read_app_folder(APPS / "purchasing")
    return dict(files) | {"forms/supplier.yaml": files["forms/supplier.yaml"] + lists}


def test_a_forms_related_lists_choose_the_record_pages_lists(platform: Platform) -> None:
    platform.publish_files(_with_supplier_lists(
        "related_lists:\n  - {form: purchase_request, field: supplier, label: Open orders, columns: [title]}\n"),
        "tester", "lists")
    carol = Browser(platform).login("carol")
    supplier = carol.send("POST", "/api/apps/purchasing/forms/supplier/records", json={"name": "Acme"}).json()
    alice = Browser(platform).login("alice")
    alice.send("POST", BASE + "/records", json={"title": "Toner", "amount": 31415, "supplier": supplier["id"]})
    page = carol.get(f"/apps/purchasing/forms/supplier/{supplier['id']}").text
    assert "Open orders" in page and "Toner" in page
    assert "31,415" not in page and "31415" not in page  # only the listed column
    # without related_lists the default list shows the request's columns, amount among them
    platform.publish_files(_with_supplier_lists(""), "tester", "default lists")
    page = carol.get(f"/apps/purchasing/forms/supplier/{supplier['id']}").text
    assert "Open orders" not in page and "Toner" in page and "31,415" in page


def test_related_lists_that_do_not_point_here_are_definition_errors(platform: Platform) -> None:
    bad = ("related_lists:\n  - {form: purchase_request, field: title}\n"
           "  - {form: purchase_request, field: supplier, columns: [titel]}\n  - {form: nowhere, field: x}\n")
    files = _with_supplier_lists(bad)
    with pytest.raises(DefinitionErrors) as caught:
        platform.load_files(files)
    lines = files["forms/supplier.yaml"].splitlines()
    first = lines.index("related_lists:") + 2
    texts = [str(e) for e in caught.value.errors]
    assert any(t.startswith(f"forms/supplier.yaml:{first}:") and "not a single relation to 'supplier'" in t for t in texts)
    assert any(t.startswith(f"forms/supplier.yaml:{first + 1}:") and "titel" in t and "did you mean 'title'" in t
               for t in texts)
    assert any(t.startswith(f"forms/supplier.yaml:{first + 2}:") and "unknown form 'nowhere'" in t for t in texts)


def test_record_page_offers_to_start_the_forms_flows_until_one_runs(browser: Browser) -> None:
    browser.login("alice")
    r = browser.send("POST", BASE + "/records", json={"title": "chairs", "amount": "1200"})
    assert r.status_code == 201, r.text
    record_id = r.json()["id"]
    page = browser.get(f"/apps/purchasing/forms/purchase_request/{record_id}").text
    assert 'data-start-flow="/api/apps/purchasing/flows/purchase_approval/instances"' in page
    started = browser.send("POST", "/api/apps/purchasing/flows/purchase_approval/instances", json={"record_id": record_id})
    assert started.status_code == 201, started.text
    assert 'data-start-flow="' not in browser.get(f"/apps/purchasing/forms/purchase_request/{record_id}").text
    other = browser.send("POST", BASE + "/records", json={"title": "desk", "amount": "300"}).json()["id"]
    browser.login("boss")  # finance may read the request but not change it: no button to start its flow
    page = browser.get(f"/apps/purchasing/forms/purchase_request/{other}")
    assert page.status_code == 200 and 'data-start-flow="' not in page.text
