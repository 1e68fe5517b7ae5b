"""ASVS V7 (session management): a new session id at every login (no fixation), sessions stored hashed, ended
server-side by logout, and expired after the configured idle time.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from engine.tables import sessions
from engine.web.auth import SESSION_COOKIE
from tests.security.seclib import password_of


def login_with_cookie(client, cookie: str) -> str:  # type: ignore[no-untyped-def]
    """Sign in as alice sending ``cookie`` as the session cookie; returns the session id the server sets."""
    response = client.post("/api/auth/login", json={"username": "alice", "password": password_of("alice")},
                           headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert response.status_code == 200
    return response.cookies[SESSION_COOKIE]


def me(client, cookie: str) -> int:  # type: ignore[no-untyped-def]
    return client.get("/api/me", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}).status_code


def test_login_issues_a_fresh_session_id(browser) -> None:  # type: ignore[no-untyped-def]
    client = browser().client
    planted = "attacker-chosen-session-id"
    first = login_with_cookie(client, planted)
    assert first and first != planted
    assert me(client, planted) == 401  # the planted id never became a session
    assert me(client, first) == 200
    second = login_with_cookie(client, first)  # signing in again, with a live session cookie
    assert second != first
    assert me(client, first) == 401  # the previous session was ended
    assert me(client, second) == 200


def test_sessions_are_stored_hashed(sec, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    b.login("bob")
    cookie = b.client.cookies.get(SESSION_COOKIE)
    with sec.platform.db.connect() as conn:
        ids = [r[0] for r in conn.execute(select(sessions.c.id))]
    assert cookie not in ids and hashlib.sha256(cookie.encode()).hexdigest() in ids


def test_logout_ends_the_session_on_the_server(browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    b.login("bob")
    cookie = b.client.cookies.get(SESSION_COOKIE)
    assert b.send("POST", "/api/auth/logout").status_code == 200
    assert me(browser().client, cookie) == 401


def test_idle_sessions_expire(sec, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    b.login("bob")
    assert b.send("GET", "/api/me").status_code == 200
    clock = sec.platform.clock
    clock.advance(seconds=sec.platform.settings.session_max_age + 60)
    try:
        assert b.send("GET", "/api/me").status_code == 401
    finally:
        clock.advance(seconds=-(sec.platform.settings.session_max_age + 60))
