"""Every field type through the records API on both databases: good values stored and read back typed, bad values
refused with a 422 naming the field, formulas, lookups, rollups and conditions computed on the server, serial
numbers gap-free, and attachments checked, stored outside the web root and served only to readers."""
from __future__ import annotations

import io
from decimal import Decimal
import struct
import threading
import zlib

import pytest
from sqlalchemy import func, select

from engine.identity import sync_org
from engine.tables import audit_log
from tests.conftest import APPS, Api, make_platform

PARTY = "/api/apps/fieldlab/forms/party/records"
ORDER = "/api/apps/fieldlab/forms/order/records"
ID_OK = "11010519491231002X"     # GB 11643 example, checksum X
CREDIT_OK = "91350100M000100Y43"
CARD_OK = "4111111111111111"


@pytest.fixture
def lab(database, tmp_path, clock) -> Api:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock)
    platform.publish_folder(APPS / "fieldlab", "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["fieldlab"].spec.org, clock.now(), with_users=True)
    return Api(platform)


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def party(lab, **values):  # type: ignore[no-untyped-def]
    response = lab.as_("ann").post(PARTY, json={"name": "Acme"} | values)
    assert response.status_code == 201, response.text
    return response.json()


def test_checked_and_structured_values_round_trip(lab) -> None:  # type: ignore[no-untyped-def]
    got = party(lab, id_number=ID_OK, company_code=CREDIT_OK, card="4111 1111 1111 1111", mobile="+86 138-0013-8000",
                mail="Ann@Example.COM", site="https://example.com/a", region="110105",
                address={"region": "110105", "detail": "1 Main St"},
                spot={"lat": 39.9, "lng": 116.4}, bio="<p>hi<script>alert(1)</script></p>", stars=4,
                open_at="09:30", meeting="2026-03-02T10:00:00+08:00", spent=90, tags=["vip", "new"],
                channels=["web"], kind="company", share="0.125", grade="A")
    assert got["card"] == CARD_OK and got["mobile"] == "+86 13800138000"
    assert got["mail"].endswith("@example.com")
    assert "<script>" not in got["bio"] and "hi" in got["bio"]
    assert got["age"] == 76  # formula over the ID card's birth date, clock at 2026-03-02
    assert Decimal(got["share"]) == Decimal("0.125") and got["stars"] == 4 and got["open_at"].startswith("09:30")
    assert sorted(got["tags"]) == ["new", "vip"]
    again = lab.as_("ann").get(f"{PARTY}/{got['id']}").json()
    assert again == got


@pytest.mark.parametrize("field, value", [
    ("id_number", "110105194912310021"),          # wrong checksum
    ("id_number", "110105202502300023"),          # 2025-02-30 is no date
    ("company_code", "91350100M000100Y44"),       # wrong check character
    ("card", "4111111111111112"),                 # fails Luhn
    ("mobile", "12345"),
    ("mail", "not-an-email"),
    ("site", "javascript:alert(1)"),
    ("region", "999999"),                         # no such region
    ("spot", {"lat": 91, "lng": 0}),
    ("stars", 6),
    ("meeting", "2025-02-30T10:00:00"),
    ("open_at", "25:00"),
    ("tags", ["vip", "gold"]),
    ("kind", "robot"),
    ("share", "abc"),
    ("helper", 999999),
    ("team", "no-such-department"),
])
def test_bad_values_are_refused_naming_the_field(lab, field, value) -> None:  # type: ignore[no-untyped-def]
    response = lab.as_("ann").post(PARTY, json={"name": "x", field: value})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    with lab.platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.form == "party")).scalar_one() == 0


def test_unique_field_is_a_constraint(lab) -> None:  # type: ignore[no-untyped-def]
    party(lab, id_number=ID_OK)
    again = lab.as_("ann").post(PARTY, json={"name": "twin", "id_number": ID_OK})
    assert again.status_code == 422 and again.json()["error"]["details"][0]["field"] == "id_number"
    with lab.platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.form == "party")).scalar_one() == 1


def test_order_formulas_lookups_rollups_and_conditions(lab) -> None:  # type: ignore[no-untyped-def]
    acme = party(lab, grade="A")
    body = {"party": acme["id"], "payment_kind": "cash", "rate": "0.06", "months": 12,
            "lines": [{"item": "desk", "qty": 2, "price": "100.00"}, {"item": "lamp", "qty": 1, "price": "0.10"}]}
    order = lab.as_("ann").post(ORDER, json=body)
    assert order.status_code == 201, order.text
    got = order.json()
    assert [line["line_total"] for line in got["lines"]] == ["200.00", "0.10"]
    assert got["total"] == "200.10" and got["line_count"] == 2 and got["party_grade"] == "A"
    assert got["vip_discount"] == "10.01"
    assert got["monthly"] == "17.22"  # Excel: =ROUND(PMT(0.06/12,12,-200.10),2)
    assert got["ordered_on"] == "2026-03-02" and got["number"] == "OR-202603-0001"
    # a condition makes the card number required only when paying by card
    refused = lab.as_("ann").post(ORDER, json=body | {"payment_kind": "card"})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "card_no"
    # a cross-field validation names its message
    huge = lab.as_("ann").post(ORDER, json=body | {"lines": [{"item": "x", "qty": 1, "price": "2000000"}]})
    assert huge.status_code == 422 and "1,000,000" in huge.text


def test_division_by_zero_leaves_the_formula_blank(lab) -> None:  # type: ignore[no-untyped-def]
    acme = party(lab)
    got = lab.as_("ann").post(ORDER, json={"party": acme["id"], "payment_kind": "cash", "lines": []})
    assert got.status_code == 201, got.text
    assert got.json()["per_month_ratio"] is None and got.json()["total"] == "0.00"


def test_serial_numbers_are_gap_free_under_concurrent_saves(lab) -> None:  # type: ignore[no-untyped-def]
    acme = party(lab)
    token = lab.token("ann")
    numbers: list[str] = []
    errors: list[str] = []

    def save() -> None:
        response = lab.client.post(ORDER, json={"party": acme["id"], "payment_kind": "cash"},
                                   headers={"Authorization": f"Bearer {token}"})
        (numbers.append(response.json()["number"]) if response.status_code == 201 else errors.append(response.text))

    threads = [threading.Thread(target=save) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == [f"OR-202603-{i:04d}" for i in range(1, 9)]


def test_attachments_are_checked_stored_and_served_only_to_readers(lab) -> None:  # type: ignore[no-untyped-def]
    ann = lab.as_("ann")
    up = ann.post("/api/files?app=fieldlab&form=party&field=docs", files={"file": ("scan.png", png_bytes(), "image/png")})
    assert up.status_code == 201, up.text
    info = up.json()
    assert info["kind"] == "png" and info["name"] == "scan.png"
    # stored by a random name under the attachments folder, not the client's name
    stored = list((lab.platform.settings.attachments_dir and __import__("pathlib").Path(
        lab.platform.settings.attachments_dir)).rglob("*"))
    assert stored and all(p.name != "scan.png" for p in stored)
    rec = party(lab, docs=[info["id"]])
    assert rec["docs"][0]["id"] == info["id"] and rec["docs"][0]["name"] == "scan.png"
    down = ann.get(f"/api/files/{info['id']}")
    assert down.status_code == 200 and down.content == png_bytes()
    assert down.headers["x-content-type-options"] == "nosniff"
    assert lab.as_(None).get(f"/api/files/{info['id']}").status_code == 401


@pytest.mark.parametrize("name, data, code", [
    ("evil.png", b"MZ\x90\x00 this is an executable", 400),     # content does not match the name
    ("notes.txt", b"plain text", 400),                            # kind not accepted by the field
    ("../../etc/passwd.pdf", b"%PDF-1.4\n%%EOF", 201),            # path parts dropped, stored safely
])
def test_upload_checks(lab, name, data, code) -> None:  # type: ignore[no-untyped-def]
    response = lab.as_("ann").post("/api/files?app=fieldlab&form=party&field=docs", files={"file": (name, data)})
    assert response.status_code == code, response.text
    if code == 201:
        assert "/" not in response.json()["name"] and ".." not in response.json()["name"]


def test_oversized_upload_is_refused(lab) -> None:  # type: ignore[no-untyped-def]
    limit = lab.platform.settings.max_upload_bytes
    big = b"%PDF-1.4\n" + b"0" * limit
    response = lab.as_("ann").post("/api/files", files={"file": ("big.pdf", io.BytesIO(big))})
    assert response.status_code == 413


def test_attachment_of_someone_elses_unattached_upload_is_refused(lab) -> None:  # type: ignore[no-untyped-def]
    up = lab.as_("root").post("/api/files", files={"file": ("a.png", png_bytes())}).json()
    response = lab.as_("ann").post(PARTY, json={"name": "x", "docs": [up["id"]]})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "docs"
    assert lab.as_("ann").get(f"/api/files/{up['id']}").status_code == 404


def test_rollups_over_related_records_follow_their_changes(lab) -> None:  # type: ignore[no-untyped-def]
    ann = lab.as_("ann")
    acme, other = party(lab), party(lab, name="Other")
    assert acme["order_count"] == 0 and acme["card_total"] is None and acme["regular"] is False
    line = [{"item": "x", "qty": 1, "price": "50.00"}]
    cash = ann.post(ORDER, json={"party": acme["id"], "payment_kind": "cash", "lines": line}).json()
    card = ann.post(ORDER, json={"party": acme["id"], "payment_kind": "card", "card_no": CARD_OK,
                                 "lines": line * 3}).json()
    now = ann.get(f"{PARTY}/{acme['id']}").json()
    assert now["order_count"] == 2 and now["card_total"] == "150.00" and now["regular"] is True
    # moving an order to another party updates both sides; deleting one updates its party
    moved = ann.patch(f"{ORDER}/{card['id']}", json={"party": other["id"]})
    assert moved.status_code == 200, moved.text
    assert ann.get(f"{PARTY}/{acme['id']}").json()["order_count"] == 1
    assert ann.get(f"{PARTY}/{other['id']}").json()["card_total"] == "150.00"
    assert lab.as_("root").delete(f"{ORDER}/{cash['id']}").status_code == 204
    final = ann.get(f"{PARTY}/{acme['id']}").json()
    assert final["order_count"] == 0 and final["regular"] is False
    history = ann.get(f"{PARTY}/{acme['id']}/history").json()["entries"]
    assert any(e["action"] == "recalculate" for e in history)


def test_a_user_field_defaults_to_the_current_user(lab) -> None:  # type: ignore[no-untyped-def]
    got = party(lab)
    me = lab.as_("ann").get("/api/me").json()
    assert got["keeper"] == me["id"]
