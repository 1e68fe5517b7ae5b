"""ASVS V14 (data protection): personal data (ID-card and bank-card numbers, fields marked ``mask: true``) is
masked in lists, record views, write answers, history and lookups for roles without the ``unmask`` right; such
roles cannot filter, sort or search by it (range filters would reveal it digit by digit — the Directus
CVE-2026-35442 / CVE-2025-30352 class); and every full view of a record of a form with ``audit_reads: true`` is
in the audit trail with who viewed it.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.tables import audit_log, users
from tests.security.seclib import CARD, ID_NUMBER, MEMBERS, VISITS, make_member

MASKED_ID = ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
MASKED_CARD = CARD[:3] + "*" * 12 + CARD[-4:]


def test_masked_everywhere_for_roles_without_the_right(sec) -> None:  # type: ignore[no-untyped-def]
    created = make_member(sec, "dora", name="Masked Mei")
    assert created["id_number"] == MASKED_ID and created["card"] == MASKED_CARD  # even the answer to the create
    dora = sec.as_("dora")
    one = dora.get(f"{MEMBERS}/{created['id']}").json()
    assert (one["id_number"], one["card"]) == (MASKED_ID, MASKED_CARD) and one["phone"].endswith("13800138000")
    listed = [r for r in dora.get(MEMBERS, params={"size": 500}).json()["items"] if r["id"] == created["id"]]
    assert listed[0]["id_number"] == MASKED_ID and listed[0]["card"] == MASKED_CARD
    changed = dora.patch(f"{MEMBERS}/{created['id']}", json={"note": "x"}).json()
    assert changed["id_number"] == MASKED_ID
    history = dora.get(f"{MEMBERS}/{created['id']}/history").json()["entries"]
    assert history[0]["changes"]["id_number"] == [None, MASKED_ID]
    assert ID_NUMBER not in str(history) and CARD not in str(history)
    visit = dora.post(VISITS, json={"member": created["id"], "day": "2026-03-02"}).json()
    assert visit["member_id_number"] == MASKED_ID  # a lookup of a masked field is masked too


def test_the_unmask_right_and_admins_see_the_values(sec) -> None:  # type: ignore[no-untyped-def]
    created = make_member(sec, "dora", name="Full Fang")
    for user in ("vera", "root"):
        one = sec.as_(user).get(f"{MEMBERS}/{created['id']}").json()
        assert one["id_number"] == ID_NUMBER and one["card"] == CARD
    history = sec.as_("vera").get(f"{MEMBERS}/{created['id']}/history").json()["entries"]
    assert history[0]["changes"]["id_number"] == [None, ID_NUMBER]


def test_no_filter_sort_or_search_on_masked_fields(sec) -> None:  # type: ignore[no-untyped-def]
    make_member(sec, "dora", name="Probe Pan")
    dora = sec.as_("dora")
    for params in ({"id_number": ID_NUMBER}, {"id_number__gte": "2"}, {"id_number__contains": "1949"},
                   {"card__blank": "false"}, {"sort": "id_number"}, {"sort": "-card"}):
        response = dora.get(MEMBERS, params=params)
        assert response.status_code == 403, params
        assert response.json()["error"]["details"][0]["code"] == "masked"
    # q searches name, id_number and card: for dora only the name counts, so the number finds nothing
    assert dora.get(MEMBERS, params={"q": ID_NUMBER[6:14]}).json()["total"] == 0
    assert dora.get(MEMBERS, params={"q": "Probe"}).json()["total"] >= 1
    vera = sec.as_("vera")
    assert vera.get(MEMBERS, params={"id_number": ID_NUMBER}).json()["total"] >= 1
    assert vera.get(MEMBERS, params={"q": ID_NUMBER[6:14]}).json()["total"] >= 1


def test_full_views_are_audited(sec) -> None:  # type: ignore[no-untyped-def]
    created = make_member(sec, "dora", name="Viewed Wu")

    def views() -> list[tuple[str, object]]:
        with sec.platform.db.connect() as conn:
            rows = conn.execute(select(users.c.username, audit_log.c.extra).join(users, users.c.id == audit_log.c.user_id)
                                .where(audit_log.c.app == "club", audit_log.c.form == "member",
                                       audit_log.c.record_id == created["id"], audit_log.c.action == "view")
                                .order_by(audit_log.c.id)).all()
        return [(r[0], r[1]) for r in rows]

    assert views() == []  # creating is not viewing
    sec.as_("dora").get(MEMBERS, params={"size": 500})  # a list is not a full view
    assert views() == []
    sec.as_("dora").get(f"{MEMBERS}/{created['id']}")
    sec.as_("vera").get(f"{MEMBERS}/{created['id']}")
    assert views() == [("dora", {"masked": ["card", "id_number"]}), ("vera", {"masked": []})]
    assert sec.as_("sam").get(f"{MEMBERS}/{created['id']}").status_code == 404
    assert [v[0] for v in views()] == ["dora", "vera"]  # a refused view is not a view


def test_forms_without_audit_reads_write_no_view_entries(sec) -> None:  # type: ignore[no-untyped-def]
    from tests.security.seclib import PURCHASES, make_purchase

    record = make_purchase(sec, "alice")
    sec.as_("alice").get(f"{PURCHASES}/{record['id']}")
    with sec.platform.db.connect() as conn:
        assert conn.execute(select(audit_log.c.id).where(audit_log.c.app == "purchasing",
                                                         audit_log.c.action == "view")).first() is None
