"""ASVS V6 (authentication): password policy wherever a password is set (V6.2), login throttling per account
and per address (V6.3.1), no account enumeration, and API tokens that are stored hashed and revocable.
"""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from engine.errors import BadRequest
from engine.identity import check_password_policy, common_passwords
from engine.tables import api_tokens
from tests.security.seclib import PURCHASES, Browser, build_platform, password_of

STRONG = "Tidal-Lantern-42"


@pytest.mark.parametrize("password, why", [
    ("Ab1!", "at least 8"),
    ("alice-2026-x", "username"),
    ("12345678901", "mix"),
    ("onlyletters", "mix"),
    ("password1", "common"),
    ("Passw0rd", "common"),
    ("qwerty123", "common"),
    ("1qaz2wsx", "common"),
    ("woaini1314", "common"),
    ("aaaa1111", "common"),        # too few distinct characters
    ("x" * 300 + "1", "at most"),
])
def test_password_policy_refuses(password, why) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadRequest) as caught:
        check_password_policy(password, "alice")
    assert why in caught.value.message


def test_password_policy_accepts_a_good_one() -> None:
    check_password_policy(STRONG, "alice")
    assert len(common_passwords()) > 400 and all(p == p.lower() for p in common_passwords())


def test_cli_user_create_applies_the_policy(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from engine.cli import main

    monkeypatch.setenv("LOOMWORK_DATABASE_URL", f"sqlite:///{tmp_path}/u.db")
    monkeypatch.setenv("LOOMWORK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LOOMWORK_APPS_DIR", str(tmp_path / "none"))
    assert main(["db", "upgrade"]) == 0
    assert main(["user", "create", "mallory", "--password", "password123"]) == 1
    assert "most common" in capsys.readouterr().err
    assert main(["user", "create", "mallory", "--password", "mallory-2026!"]) == 1
    assert main(["user", "create", "mallory", "--password", STRONG]) == 0


def test_password_change(sec, browser) -> None:  # type: ignore[no-untyped-def]
    here, elsewhere = browser(), browser()
    assert here.login("east_lead").status_code == 200 and elsewhere.login("east_lead").status_code == 200
    url = "/api/auth/password"
    assert here.send("POST", url, json={"current": "wrong-one-1", "new": STRONG}).status_code == 401
    weak = here.send("POST", url, json={"current": password_of("east_lead"), "new": "password1"})
    assert weak.status_code == 400 and "common" in weak.json()["error"]["message"]
    assert here.send("POST", url, json={"current": password_of("east_lead"), "new": STRONG}).status_code == 200
    assert here.send("GET", "/api/me").status_code == 200          # this session goes on
    assert elsewhere.send("GET", "/api/me").status_code == 401     # every other session ended
    assert Browser(sec.platform).login("east_lead").status_code == 401
    assert Browser(sec.platform).login("east_lead", STRONG).status_code == 200


def test_wrong_user_and_wrong_password_answer_alike(browser) -> None:  # type: ignore[no-untyped-def]
    a = browser().login("nobody-here", "Whatever-123")
    b = browser().login("boss", "Whatever-123")
    assert a.status_code == b.status_code == 401 and a.json() == b.json()


def test_login_throttling_per_account_per_address_and_window(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    platform = build_platform(database, tmp_path, clock, login_attempts=1)  # per address: 5 × 1
    assert Browser(platform).login("carol", "Not-Her-Pass-9").status_code == 401
    refused = Browser(platform).login("carol")  # even the right password, for 15 minutes
    assert refused.status_code == 429 and "too many" in refused.json()["error"]["message"]
    assert Browser(platform).login("boss").status_code == 200  # other accounts are not affected
    for name in ("alice", "bob", "east_lead", "ann"):  # password spraying from one address
        assert Browser(platform).login(name, "Spray-Attempt-1").status_code == 401
    assert Browser(platform).login("root").status_code == 429  # an untouched account, same address
    clock.advance(minutes=16)
    assert Browser(platform).login("root").status_code == 200
    assert Browser(platform).login("carol").status_code == 200


def test_api_tokens_are_stored_hashed_and_revocable(sec, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    b.login("bob")
    made = b.send("POST", "/api/tokens", json={"name": "integration"})
    assert made.status_code == 201
    secret, token_id = made.json()["token"], made.json()["id"]
    with sec.platform.db.connect() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).mappings().one()
    assert secret not in [str(v) for v in row.values()]
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    auth = {"Authorization": f"Bearer {secret}"}
    assert sec.client.get("/api/me", headers=auth).json()["username"] == "bob"
    # another user cannot revoke it, and learns nothing about it
    other = browser()
    other.login("alice")
    assert other.send("DELETE", f"/api/tokens/{token_id}").status_code == 404
    assert sec.client.get(PURCHASES, headers=auth).status_code == 200
    assert b.send("DELETE", f"/api/tokens/{token_id}").status_code == 204
    assert sec.client.get("/api/me", headers=auth).status_code == 401
    assert b.send("DELETE", f"/api/tokens/{token_id}").status_code == 404  # already revoked
