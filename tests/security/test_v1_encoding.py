"""ASVS V1 (encoding and sanitization), V1.2 injection prevention: SQL injection through every client-supplied
list parameter — filter names, operators and values, sort, search text, page and size — on both databases.

Anchors: Frappe CVE-2024-24813 (SQL through report/count parameters), NocoBase CVE-2026-52887 (filter values
concatenated into SQL). Each hostile request must answer 4xx or an ordinary page, never 5xx, never leak SQL, and
the data must be intact afterwards with no record outside the caller's scope returned.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.tables import users

from tests.security.seclib import PURCHASES, assert_no_leak, make_purchase

PAYLOADS = [
    "' OR '1'='1",
    "1 OR 1=1",
    "1; DROP TABLE lw_users; --",
    "1) UNION SELECT id, password_hash FROM lw_users --",
    "x' UNION SELECT NULL,NULL--",
    "'; SELECT pg_sleep(5); --",
    "1' AND (SELECT COUNT(*) FROM lw_users) > 0 AND '1'='1",
    "\" OR \"\"=\"",
    "%' OR 1=1 --",
    "\\",
    "'",
    "title) OR (1=1",
    "0x7e",
    "😀" * 50,
    "a" * 5000,
    "\x00",
    "abc\x00' OR 1=1",
]
FIELDS = ["title", "amount", "quantity", "needed_by", "urgent", "category", "supplier", "id", "owner_id"]
OPS = ["", "__ne", "__in", "__gt", "__gte", "__lt", "__lte", "__blank", "__contains"]


@pytest.fixture(scope="module")
def seeded(sec):  # type: ignore[no-untyped-def]
    mine = [make_purchase(sec, "alice", title=f"alice {i}", amount=str(100 + i))["id"] for i in range(3)]
    make_purchase(sec, "bob", title="bob secret", amount="999")
    return sec, mine


def users_count(api) -> int:  # type: ignore[no-untyped-def]
    with api.platform.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(users)).scalar_one()


def check(response, mine: list[int], *sent: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert_no_leak(response, *sent)
    if response.status_code == 200:
        body = response.json()
        assert {r["id"] for r in body["items"]} <= set(mine), "a record outside the caller's scope leaked"
        assert body["total"] <= len(mine)
        assert all("bob" not in r["title"] for r in body["items"])


def test_filter_values(seeded) -> None:  # type: ignore[no-untyped-def]
    api, mine = seeded
    alice = api.as_("alice")
    before = users_count(api)
    # every payload against every field (plain equality) and against every operator (fields in rotation)
    combos = {(f, "", p) for f in FIELDS for p in PAYLOADS}
    combos |= {(FIELDS[(i + j) % len(FIELDS)], op, p) for i, op in enumerate(OPS) for j, p in enumerate(PAYLOADS)}
    for field, op, payload in sorted(combos):
        check(alice.get(PURCHASES, params={field + op: payload}), mine, payload)
    assert users_count(api) == before
    assert alice.get(PURCHASES).json()["total"] == 3


def test_filter_names_and_operators(seeded) -> None:  # type: ignore[no-untyped-def]
    api, mine = seeded
    alice = api.as_("alice")
    for payload in PAYLOADS + ["title__eq__eq", "title__", "__", "amount__between", "password_hash", "lw_users.id",
                               "title;--", "owner_id__in"]:
        response = alice.get(PURCHASES, params={payload: "1"})
        check(response, mine, payload)
        if response.status_code == 200:  # only a real field with a real operator is ever accepted
            assert payload in ("owner_id__in", "title__"), payload  # "title__" is title with the default operator


def test_sort(seeded) -> None:  # type: ignore[no-untyped-def]
    api, mine = seeded
    alice = api.as_("alice")
    for payload in PAYLOADS + ["(SELECT 1)", "amount desc", "1", "-", "--", ",", "amount,,title", "-" * 300,
                               "CASE WHEN 1=1 THEN amount END", "amount;DELETE FROM lw_users"]:
        response = alice.get(PURCHASES, params={"sort": payload})
        check(response, mine, payload)
        if payload not in (",", "amount,,title"):
            assert response.status_code in (200, 400, 422), payload
    assert [r["title"] for r in alice.get(PURCHASES, params={"sort": "-amount"}).json()["items"]] == [
        "alice 2", "alice 1", "alice 0"]


def test_search_text(seeded) -> None:  # type: ignore[no-untyped-def]
    api, mine = seeded
    alice = api.as_("alice")
    for payload in PAYLOADS:
        response = alice.get(PURCHASES, params={"q": payload})
        check(response, mine, payload)
        assert response.status_code in (200, 400, 422)
    assert alice.get(PURCHASES, params={"q": "bob"}).json()["total"] == 0  # search never widens the scope


@pytest.mark.parametrize("params", [
    {"page": "0"}, {"page": "-1"}, {"size": "0"}, {"size": "100000"}, {"page": "1e3"}, {"page": "' OR 1=1"},
    {"size": "1; DROP TABLE lw_users"}, {"page": str(10 ** 30)}, {"page": str(2 ** 62)}, {"page": str(2 ** 63)},
    {"size": str(2 ** 64)}, {"page": "NaN"}, {"page": "1.5"},
])
def test_page_and_size(seeded, params) -> None:  # type: ignore[no-untyped-def]
    api, mine = seeded
    response = api.as_("alice").get(PURCHASES, params=params)
    check(response, mine, *params.values())
    if response.status_code == 200:
        assert response.json()["items"] == []  # a page far past the end is empty, not an error


def test_record_ids_in_paths(seeded) -> None:  # type: ignore[no-untyped-def]
    api, mine = seeded
    alice = api.as_("alice")
    for raw in ["1 OR 1=1", "1;--", "-1", "0", str(2 ** 63), str(10 ** 30), "%27", "1%20UNION%20SELECT%201"]:
        for method in ("GET", "PATCH", "DELETE"):
            response = alice.request(method, f"{PURCHASES}/{raw}", json={"title": "x"} if method == "PATCH" else None)
            assert response.status_code in (400, 404, 422), (raw, method, response.status_code, response.text[:200])
            assert_no_leak(response, raw)
        assert alice.get(f"{PURCHASES}/{raw}/history").status_code in (400, 404, 422)


def test_values_with_nul_and_sql_are_stored_as_data(sec) -> None:  # type: ignore[no-untyped-def]
    lead = sec.as_("east_lead")  # a requester of its own (alice's records are the module's fixed set)
    text = "Robert'); DROP TABLE lw_users;-- \\ \" %_"
    created = make_purchase(sec, "east_lead", title=text, note=text)
    assert lead.get(f"{PURCHASES}/{created['id']}").json()["title"] == text
    assert lead.get(PURCHASES, params={"title": text}).json()["total"] == 1
    response = lead.post(PURCHASES, json={"title": "nul\x00byte", "amount": "1"})
    assert response.status_code in (400, 422), response.text  # refused with a clear error, never a database error
    assert_no_leak(response)
