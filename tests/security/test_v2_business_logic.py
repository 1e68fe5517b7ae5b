"""ASVS V2 (validation and business logic): mass assignment of system fields is refused and changes nothing
(anchor: Frappe CVE-2026-62315), sub-table rows cannot be moved to another record, and stale versions never
overwrite (V2.3 business logic, concurrency in test_v15).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.security.seclib import PURCHASES, make_purchase

SYSTEM = {"id": 999999, "owner_id": 1, "created_by": 1, "department_id": 1, "row_version": 77, "def_version": 9,
          "created_at": "2000-01-01T00:00:00+00:00", "updated_at": "2000-01-01T00:00:00+00:00",
          "status": "approved", "version": 5}


def user_id(api, username: str) -> int:  # type: ignore[no-untyped-def]
    from engine.tables import users

    with api.platform.db.connect() as conn:
        return int(conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one())


@pytest.mark.parametrize("key", sorted(SYSTEM))
def test_create_refuses_each_system_field(sec, key) -> None:  # type: ignore[no-untyped-def]
    response = sec.as_("alice").post(PURCHASES, json={"title": "mass", "amount": "5", key: SYSTEM[key]})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": key, "message": "is set by the platform and cannot be written", "code": "protected"}]


def test_update_refuses_system_fields_and_changes_nothing(sec) -> None:  # type: ignore[no-untyped-def]
    record = make_purchase(sec, "alice", title="mine")
    alice = sec.as_("alice")
    for key, value in SYSTEM.items():
        response = alice.patch(f"{PURCHASES}/{record['id']}", json={"title": "changed", key: value})
        assert response.status_code == 422, key
    after = alice.get(f"{PURCHASES}/{record['id']}").json()
    assert after == record  # nothing at all was written, not even the allowed title
    assert after["owner_id"] == user_id(sec, "alice") and after["row_version"] == 1


def test_owner_and_department_come_from_the_caller(sec) -> None:  # type: ignore[no-untyped-def]
    record = make_purchase(sec, "bob", title="bob's")
    assert record["owner_id"] == record["created_by"] == user_id(sec, "bob")
    assert sec.as_("alice").get(f"{PURCHASES}/{record['id']}").status_code == 404


def test_subtable_rows_cannot_carry_ids_or_parents(sec) -> None:  # type: ignore[no-untyped-def]
    url = "/api/apps/fieldlab/forms/party/records"
    party = sec.as_("ann").post(url, json={"name": "P"})
    assert party.status_code == 201
    orders = "/api/apps/fieldlab/forms/order/records"
    base = {"party": party.json()["id"], "payment_kind": "cash"}
    first = sec.as_("ann").post(orders, json=base | {"lines": [{"item": "a", "qty": 1, "price": "2"}]}).json()
    row_id = first["lines"][0]["id"]
    for hostile in ({"parent_id": 1}, {"row_index": -1}):
        response = sec.as_("ann").post(orders, json=base | {"lines": [{"item": "b", "qty": 1, "price": "1"} | hostile]})
        assert response.status_code == 422, hostile
    second = sec.as_("ann").post(orders, json=base | {"lines": [{"item": "b", "qty": 1, "price": "1", "id": row_id}]})
    if second.status_code == 201:  # a row id is at most ignored: the first record keeps its row
        assert sec.as_("ann").get(f"{orders}/{first['id']}").json()["lines"] == first["lines"]
    else:
        assert second.status_code == 422


def test_stale_if_match_never_overwrites(sec) -> None:  # type: ignore[no-untyped-def]
    record = make_purchase(sec, "alice", title="v1")
    alice = sec.as_("alice")
    url = f"{PURCHASES}/{record['id']}"
    assert alice.patch(url, json={"title": "v2"}, headers={"If-Match": '"1"'}).status_code == 200
    stale = alice.patch(url, json={"title": "lost"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert alice.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert alice.get(url).json()["title"] == "v2"
    for bad in ('"abc"', "1 OR 1=1", '"-1"'):
        assert alice.patch(url, json={"title": "x"}, headers={"If-Match": bad}).status_code in (400, 412)


def test_computed_fields_cannot_be_written(sec) -> None:  # type: ignore[no-untyped-def]
    party = sec.as_("ann").post("/api/apps/fieldlab/forms/party/records", json={"name": "Q"}).json()
    response = sec.as_("ann").post("/api/apps/fieldlab/forms/order/records", json={
        "party": party["id"], "payment_kind": "cash", "total": "0.01", "lines": [{"item": "a", "qty": 2, "price": "5"}]})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "total"
