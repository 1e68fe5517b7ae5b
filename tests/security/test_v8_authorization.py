"""ASVS V8 (authorization): object-level checks on every record endpoint with another department's record id,
another app's form and a role without rights; function-level checks on admin endpoints; counts never reveal
records outside the caller's scope. A record out of scope answers exactly like a missing one (404).
"""
from __future__ import annotations

from tests.security.seclib import MEMBERS, PURCHASES, make_member, make_purchase

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_another_departments_record(sec) -> None:  # type: ignore[no-untyped-def]
    record = make_purchase(sec, "alice", title="east_sh only")  # alice: department east_sh (under east)
    url = f"{PURCHASES}/{record['id']}"
    bob = sec.as_("bob")  # department west, requester (own scope)
    missing = bob.get(f"{PURCHASES}/987654321")
    for response in (bob.get(url), bob.get(url + "/history"),
                     bob.patch(url, json={"title": "taken"}, headers={"If-Match": '"1"'}),
                     bob.delete(url, headers={"If-Match": '"1"'})):
        assert response.status_code == 404 and response.json()["error"]["code"] == missing.json()["error"]["code"]
    assert record["id"] not in [r["id"] for r in bob.get(PURCHASES, params={"size": 500}).json()["items"]]
    assert bob.get(PURCHASES, params={"id": record["id"]}).json()["total"] == 0  # counts reveal nothing
    assert sec.as_("alice").get(url).json()["title"] == "east_sh only"  # untouched
    assert sec.as_("carol").get(url).status_code == 200  # buyer of east: department_tree reaches east_sh
    assert sec.as_("carol").delete(url).status_code == 403  # … but may not delete


def test_scope_widening_through_filters_is_impossible(sec) -> None:  # type: ignore[no-untyped-def]
    make_purchase(sec, "alice", title="alice's")
    bob = sec.as_("bob")
    for params in ({"owner_id__ne": "0"}, {"owner_id__blank": "false"}, {"department_id__gte": "0"},
                   {"q": "alice"}, {"id__gt": "0", "size": 500}):
        items = bob.get(PURCHASES, params=params).json()["items"]
        assert all(r["owner_id"] == items[0]["owner_id"] for r in items)
        assert "alice's" not in [r["title"] for r in items]


def test_another_apps_form(sec) -> None:  # type: ignore[no-untyped-def]
    alice = sec.as_("alice")  # purchasing roles only
    assert alice.get("/api/apps/fieldlab/forms/party/records").status_code == 403
    assert alice.post("/api/apps/fieldlab/forms/party/records", json={"name": "x"}).status_code == 403
    member = make_member(sec, "dora")
    assert alice.get(f"{MEMBERS}/{member['id']}").status_code == 404
    # a record id of one form used under another form or app reaches nothing
    purchase = make_purchase(sec, "alice")
    crossed = sec.as_("dora").get(f"{MEMBERS}/{purchase['id']}")
    assert crossed.status_code == 404 or "title" not in crossed.json()  # at most a member of dora's own
    assert alice.get("/api/apps/nope/forms/purchase_request/records").status_code == 404
    assert alice.get("/api/apps/purchasing/forms/nope/records").status_code == 404


def test_files_of_records_out_of_scope(sec) -> None:  # type: ignore[no-untyped-def]
    dora = sec.as_("dora")
    up = dora.post("/api/files", files={"file": ("card.png", PNG, "image/png")})
    assert up.status_code == 201, up.text
    file_id = up.json()["id"]
    assert sec.as_("sam").get(f"/api/files/{file_id}").status_code == 404  # not attached yet: uploader only
    member = make_member(sec, "dora", docs=[{"id": file_id}])
    assert dora.get(f"/api/files/{file_id}").status_code == 200
    assert sec.as_("sam").get(f"/api/files/{file_id}").status_code == 404  # club_south desk: other department
    assert sec.as_("alice").get(f"/api/files/{file_id}").status_code == 404  # another app's user
    assert sec.as_("vera").get(f"/api/files/{file_id}").status_code == 200  # supervisor reads all
    # another user's unattached upload cannot be attached to one's own record
    theirs = sec.as_("sam").post("/api/files", files={"file": ("x.png", PNG, "image/png")}).json()["id"]
    stolen = dora.post(MEMBERS, json={"name": "thief", "docs": [{"id": theirs}]})
    assert stolen.status_code == 422 and stolen.json()["error"]["details"][0]["field"] == "docs"
    # nor an attached file of another record
    again = dora.post(MEMBERS, json={"name": "copy", "docs": [{"id": file_id}]})
    assert again.status_code == 422
    assert member["docs"][0]["id"] == file_id


def test_admin_functions_refused_to_staff(sec) -> None:  # type: ignore[no-untyped-def]
    alice = sec.as_("alice")
    assert alice.get("/api/apps/purchasing/versions").status_code == 403
    assert alice.post("/api/apps/purchasing/versions", json={"rollback_to": 1}).status_code == 403
    assert alice.post("/api/apps/purchasing/versions", json={"files": {"app.yaml": "key: purchasing"},
                                                              "message": "x"}).status_code == 403
    assert alice.get("/api/apps/purchasing/versions/1/diff/1").status_code == 403
    assert sec.as_("admin").get("/api/apps/purchasing/versions").status_code == 200


def test_rights_follow_the_role_not_the_request(sec) -> None:  # type: ignore[no-untyped-def]
    carol = sec.as_("carol")  # buyer: no create right on purchase requests
    assert carol.post(PURCHASES, json={"title": "x", "amount": "1"}).status_code == 403
    boss = sec.as_("boss")  # finance: read all, nothing else
    record = make_purchase(sec, "bob")
    assert boss.get(f"{PURCHASES}/{record['id']}").status_code == 200
    assert boss.patch(f"{PURCHASES}/{record['id']}", json={"title": "y"}).status_code == 403
    assert boss.delete(f"{PURCHASES}/{record['id']}").status_code == 403
