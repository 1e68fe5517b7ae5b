"""The records API: CRUD, lists, rights with scopes, optimistic concurrency, audit, and every kind of bad input."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.tables import audit_log

URL = "/api/apps/purchasing/forms/purchase_request/records"
SUPPLIERS = "/api/apps/purchasing/forms/supplier/records"


def make(api, user="alice", **values):  # type: ignore[no-untyped-def]
    body = {"title": "chairs", "amount": "1200.50"} | values
    response = api.as_(user).post(URL, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def audit_count(api) -> int:  # type: ignore[no-untyped-def]
    with api.platform.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.form.is_not(None))).scalar_one()


def test_create_read_update_delete(api) -> None:  # type: ignore[no-untyped-def]
    created = make(api, quantity=4, needed_by="2026-04-01", category="office")
    assert created["amount"] == "1200.50" and created["quantity"] == 4 and created["urgent"] is False  # default
    assert created["row_version"] == 1 and created["def_version"] == 1
    assert created["created_at"] == "2026-03-02T01:30:00+00:00"
    one = api.as_("alice").get(f"{URL}/{created['id']}")
    assert one.json() == created and one.headers["etag"] == '"1"'
    changed = api.as_("alice").patch(f"{URL}/{created['id']}", json={"amount": 99.9}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["amount"] == "99.90" and changed.json()["row_version"] == 2
    assert changed.json()["title"] == "chairs"  # partial update keeps the rest
    assert api.as_("alice").delete(f"{URL}/{created['id']}", headers={"If-Match": '"2"'}).status_code == 204
    assert api.as_("alice").get(f"{URL}/{created['id']}").status_code == 404


def test_money_is_exact(api) -> None:  # type: ignore[no-untyped-def]
    ids = [make(api, amount=a)["id"] for a in ("1.10", "2.20", "1234567.89")]
    got = [api.as_("alice").get(f"{URL}/{i}").json()["amount"] for i in ids]
    assert got == ["1.10", "2.20", "1234567.89"]
    bad = api.as_("alice").post(URL, json={"title": "x", "amount": "1.005"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0] == {
        "field": "amount", "message": "at most 2 decimal places", "code": "scale"}


def test_list_filters_sort_search_and_pages(api) -> None:  # type: ignore[no-untyped-def]
    for i, (title, amount, cat) in enumerate([("desk lamp", 30, "office"), ("laptop", 9000, "it"),
                                              ("monitor", 1500, "it"), ("train tickets", 800, "travel")]):
        make(api, title=title, amount=amount, category=cat, quantity=i + 1)
    alice = api.as_("alice")
    titles = lambda r: [x["title"] for x in r.json()["items"]]  # noqa: E731
    assert titles(alice.get(URL, params={"category": "it", "sort": "amount"})) == ["monitor", "laptop"]
    assert titles(alice.get(URL, params={"amount__gte": "800", "amount__lt": "9000", "sort": "-amount"})) == ["monitor", "train tickets"]
    assert titles(alice.get(URL, params={"category__in": "travel,office", "sort": "title"})) == ["desk lamp", "train tickets"]
    assert titles(alice.get(URL, params={"q": "lap"})) == ["laptop"]
    page = alice.get(URL, params={"sort": "quantity", "size": 2, "page": 2}).json()
    assert page["total"] == 4 and [x["title"] for x in page["items"]] == ["monitor", "train tickets"]
    assert titles(alice.get(URL, params={"needed_by__blank": "true", "size": 1})) == ["train tickets"]


@pytest.mark.parametrize("params, field", [
    ({"nope": "1"}, "nope"),
    ({"amount__gte": "lots"}, "amount"),
    ({"sort": "password_hash"}, "password_hash"),
    ({"sort": "amount; DROP TABLE lw_users"}, "amount; DROP TABLE lw_users"),
    ({"amount__gte": "1 OR 1=1"}, "amount"),
])
def test_bad_list_parameters_are_refused_naming_the_field(api, params, field) -> None:  # type: ignore[no-untyped-def]
    response = api.as_("alice").get(URL, params=params)
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == field


def test_search_text_is_a_bound_value(api) -> None:  # type: ignore[no-untyped-def]
    make(api, title="100% done_ok")
    alice = api.as_("alice")
    assert alice.get(URL, params={"q": "' OR '1'='1"}).json()["total"] == 0
    assert alice.get(URL, params={"q": "%"}).json()["total"] == 1   # % is a literal, not a wildcard
    assert alice.get(URL, params={"q": "_"}).json()["total"] == 1


@pytest.mark.parametrize("body, problems", [
    ({"amount": "10"}, [("title", "required")]),
    ({"title": "x", "amount": "ten"}, [("amount", "type")]),
    ({"title": "x", "amount": 0}, [("amount", "min")]),
    ({"title": "x", "amount": 5, "quantity": 1.5}, [("quantity", "type")]),
    ({"title": "x", "amount": 5, "needed_by": "2025-02-30"}, [("needed_by", "format")]),
    ({"title": "x", "amount": 5, "category": "food"}, [("category", "enum")]),
    ({"title": "x", "amount": 5, "urgent": "yes"}, [("urgent", "type")]),
    ({"title": "x\ny", "amount": 5}, [("title", "format")]),
    ({"title": "x", "amount": 5, "colour": "red"}, [("colour", "unknown")]),
    ({"title": "x", "amount": 5, "owner_id": 1, "row_version": 7}, [("owner_id", "protected"), ("row_version", "protected")]),
    ({"title": "x", "amount": 5, "supplier": 999}, [("supplier", "reference")]),
    ([1, 2], [("_body", "type")]),
])
def test_invalid_submissions_name_each_field_and_write_nothing(api, body, problems) -> None:  # type: ignore[no-untyped-def]
    before = audit_count(api)
    response = api.as_("alice").post(URL, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert [(d["field"], d["code"]) for d in error["details"]] == problems
    assert audit_count(api) == before
    assert api.as_("alice").get(URL).json()["total"] == 0


def test_malformed_requests(api) -> None:  # type: ignore[no-untyped-def]
    alice = api.as_("alice")
    bad_json = alice.post(URL, content=b'{"title": ', headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["message"].startswith("invalid JSON body")
    nan = alice.post(URL, content=b'{"title": "x", "amount": NaN}', headers={"Content-Type": "application/json"})
    assert nan.status_code == 400
    huge = alice.post(URL, content=b'{"title": "' + b"x" * 3_000_000 + b'"}', headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    assert alice.get("/api/apps/purchasing/forms/nothing/records").status_code == 404
    assert alice.get("/api/apps/nothing/forms/x/records").status_code == 404
    assert alice.patch(f"{URL}/1", json={}, headers={"If-Match": "soon"}).status_code in (400, 404)


def test_no_login_and_bad_token(api) -> None:  # type: ignore[no-untyped-def]
    response = api.as_(None).get(URL)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    forged = api.client.get(URL, headers={"Authorization": "Bearer lw_forged"})
    assert forged.status_code == 401


def test_scopes_hide_records_outside_them(api) -> None:  # type: ignore[no-untyped-def]
    mine = make(api, "alice")          # east_sh, under east
    theirs = make(api, "bob")          # west
    # requester: own only; another's record answers exactly as a missing one
    assert api.as_("alice").get(f"{URL}/{theirs['id']}").status_code == 404
    assert api.as_("alice").patch(f"{URL}/{theirs['id']}", json={"amount": 1}).status_code == 404
    assert api.as_("alice").delete(f"{URL}/{theirs['id']}").status_code == 404
    assert [r["id"] for r in api.as_("alice").get(URL).json()["items"]] == [mine["id"]]
    # buyer in east: department_tree reaches east_sh (alice) but not west (bob); read-only for delete
    carol = api.as_("carol")
    assert [r["id"] for r in carol.get(URL).json()["items"]] == [mine["id"]]
    assert carol.get(f"{URL}/{theirs['id']}").status_code == 404
    assert carol.patch(f"{URL}/{mine['id']}", json={"note": "checked"}).status_code == 200
    assert carol.delete(f"{URL}/{mine['id']}").status_code == 403
    # finance reads everything, may not create or change
    boss = api.as_("boss")
    assert boss.get(URL).json()["total"] == 2
    assert boss.post(URL, json={"title": "x", "amount": 1}).status_code == 403
    assert boss.patch(f"{URL}/{mine['id']}", json={"amount": 2}).status_code == 403
    # admin may do everything
    assert api.as_("admin").delete(f"{URL}/{theirs['id']}").status_code == 204


def test_wrong_role_cannot_create(api) -> None:  # type: ignore[no-untyped-def]
    response = api.as_("alice").post(SUPPLIERS, json={"name": "ACME"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert api.as_("carol").post(SUPPLIERS, json={"name": "ACME"}).status_code == 201


def test_stale_if_match_gets_412_and_changes_nothing(api) -> None:  # type: ignore[no-untyped-def]
    record = make(api)
    url = f"{URL}/{record['id']}"
    assert api.as_("alice").patch(url, json={"amount": 2}, headers={"If-Match": '"1"'}).status_code == 200
    stale = api.as_("alice").patch(url, json={"amount": 3}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    assert api.as_("alice").get(url).json()["amount"] == "2.00"
    assert api.as_("alice").delete(url, headers={"If-Match": '"1"'}).status_code == 412


def test_unique_fields_are_enforced_by_the_database(api) -> None:  # type: ignore[no-untyped-def]
    assert api.as_("carol").post(SUPPLIERS, json={"name": "ACME"}).status_code == 201
    again = api.as_("carol").post(SUPPLIERS, json={"name": "ACME"})
    assert again.status_code == 422 and again.json()["error"]["details"] == [
        {"field": "name", "message": "this value is already used by another record", "code": "unique"}]


def test_relation_to_an_existing_record(api) -> None:  # type: ignore[no-untyped-def]
    supplier = api.as_("carol").post(SUPPLIERS, json={"name": "ACME", "rating": "A"}).json()
    assert supplier["rating"] == "A"
    record = make(api, supplier=supplier["id"])
    assert record["supplier"] == supplier["id"]


def test_history_has_field_level_changes(api) -> None:  # type: ignore[no-untyped-def]
    record = make(api, quantity=2)
    api.as_("alice").patch(f"{URL}/{record['id']}", json={"quantity": 5, "note": "more"})
    entries = api.as_("alice").get(f"{URL}/{record['id']}/history").json()["entries"]
    assert [e["action"] for e in entries] == ["create", "update"]
    assert entries[1]["changes"] == {"quantity": [2, 5], "note": [None, "more"]}
    assert entries[1]["version"] == 1 and entries[0]["changes"]["amount"] == [None, "1200.50"]
    assert api.as_("bob").get(f"{URL}/{record['id']}/history").status_code == 404


def test_openapi_shows_each_forms_fields(api) -> None:  # type: ignore[no-untyped-def]
    doc = api.client.get("/api/openapi.json").json()
    schema = doc["components"]["schemas"]["purchasing.purchase_request.input"]
    assert schema["properties"]["amount"]["title"] == "金额"
    assert schema["required"] == ["title", "amount"]
    assert schema["properties"]["category"]["enum"] == ["it", "office", "travel", None]
    assert URL.replace("{app}", "purchasing") in doc["paths"]
