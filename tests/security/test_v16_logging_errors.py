"""ASVS V16 (security logging and error handling): a database failure answers the one generic 500 body — no SQL,
no stack trace, no path — and is logged for the administrator; authorization failures (401/403, and reads of
records out of scope answered as 404) are logged.
"""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from tests.security.seclib import LEAKS, PURCHASES, assert_no_leak, make_purchase

GENERIC = {"error": {"status": 500, "code": "internal", "message": "internal error; the administrator can find it "
                                                                   "in the log", "details": []}}


@pytest.fixture
def broken_supplier_table(sec):  # type: ignore[no-untyped-def]
    """Renames the supplier table behind the platform's back, and puts it back afterwards."""
    live = sec.platform.apps["purchasing"]
    name = sec.platform.services["records"].table(live, live.spec.forms["supplier"]).name
    with sec.platform.db.begin() as conn:
        conn.execute(text(f'ALTER TABLE "{name}" RENAME TO "{name}_moved"'))
    yield name
    with sec.platform.db.begin() as conn:
        conn.execute(text(f'ALTER TABLE "{name}_moved" RENAME TO "{name}"'))


def test_database_errors_answer_the_generic_body(sec, broken_supplier_table, caplog) -> None:  # type: ignore[no-untyped-def]
    url = "/api/apps/purchasing/forms/supplier/records"
    with caplog.at_level(logging.ERROR, logger="loomwork"):
        responses = [sec.as_("carol").get(url), sec.as_("carol").get(url + "/1"),
                     sec.as_("carol").post(url, json={"name": "Acme"})]
    for response in responses:
        assert response.status_code == 500 and response.json() == GENERIC
        assert_no_leak(response)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "internal error on GET" in logged and broken_supplier_table in caplog.text  # the details are in the log


def test_4xx_bodies_carry_no_internals(sec) -> None:  # type: ignore[no-untyped-def]
    alice = sec.as_("alice")
    for response in (alice.post(PURCHASES, content=b"{not json", headers={"Content-Type": "application/json"}),
                     alice.post(PURCHASES, json={"title": "x" * 300, "amount": "abc"}),
                     alice.get(PURCHASES, params={"sort": "nope"}),
                     alice.get(f"{PURCHASES}/abc"),
                     alice.patch(f"{PURCHASES}/1", json=[1, 2])):
        assert 400 <= response.status_code < 500
        assert_no_leak(response, "x" * 300)
        assert set(response.json()) == {"error"}


def test_authorization_failures_are_logged(sec, caplog) -> None:  # type: ignore[no-untyped-def]
    record = make_purchase(sec, "alice")
    with caplog.at_level(logging.WARNING, logger="loomwork"):
        sec.client.get(PURCHASES)                                            # 401 no credentials
        sec.client.get(PURCHASES, headers={"Authorization": "Bearer lw_x"})  # 401 bad token
        sec.as_("carol").post(PURCHASES, json={"title": "x", "amount": "1"})  # 403 no create right
        sec.as_("bob").get(f"{PURCHASES}/{record['id']}")                    # 404 out of scope
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("refused GET" in m and "401" not in m for m in messages) >= 2
    assert any("refused POST" in m and "may not create" in m for m in messages)
    assert any("bob may not read purchasing.purchase_request record" in m for m in messages)


def test_leak_words_are_meaningful() -> None:
    assert "SELECT " in LEAKS and "Traceback" in LEAKS  # the list the other modules rely on
