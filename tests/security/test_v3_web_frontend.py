"""ASVS V3 (web frontend security), V3.3 cookies and V3.5 browser origin separation: every state-changing request
authenticated by the session cookie needs the CSRF token of that very session; the cookie is HttpOnly and
SameSite. The routes are enumerated from the application, so endpoints added later are covered too.
"""
from __future__ import annotations

import re

from fastapi.routing import APIRoute

from tests.security.seclib import PURCHASES

#: state-changing routes that need no signed-in user at all
PUBLIC_WRITES = {"/api/auth/login", "/login"}
#: read-only routes anyone may fetch (the API description and the definition formats)
PUBLIC_READS = {"/api/openapi.json", "/docs", "/docs/oauth2-redirect", "/api/meta-schemas", "/api/meta-schemas/{kind}",
                "/login", "/lang/{code}", "/api/regions", "/static/{rel:path}", "/vendor/{package}/{rel:path}", "/favicon.ico"}
#: page posts that answer a missing CSRF token by sending the browser home, doing nothing
REDIRECTING = {"/logout"}


def concrete(path: str) -> str:
    values = {"app": "purchasing", "form": "purchase_request", "kind": "form"}
    return re.sub(r"{(\w+)(:\w+)?}", lambda m: values.get(m.group(1), "1"), path)


def api_routes(routes, prefix: str = ""):  # type: ignore[no-untyped-def]
    """Every APIRoute of the application, through included routers too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            extra = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            yield from api_routes(inner.routes, prefix + extra)


def routes(app, writes: bool):  # type: ignore[no-untyped-def]
    for path, route in api_routes(app.routes):
        for method in route.methods:
            if (method in ("POST", "PUT", "PATCH", "DELETE")) == writes:
                yield method, path


def test_every_state_changing_route_refuses_a_cookie_without_csrf(browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    assert b.login("alice").status_code == 200
    checked = 0
    for method, path in routes(b.app, writes=True):
        if path in PUBLIC_WRITES:
            continue
        response = b.send(method, concrete(path), csrf=False, json={}, follow_redirects=False)
        checked += 1
        if path in REDIRECTING:
            assert response.status_code == 303 and b.send("GET", "/api/me").status_code == 200, path
            continue
        assert response.status_code == 403, (method, path, response.status_code, response.text[:200])
        if path.startswith("/api/"):
            assert "CSRF" in response.json()["error"]["message"]
    assert checked >= 6  # records create/update/delete, files, tokens, logout, password, publish …


def test_the_token_of_another_session_does_not_work(browser) -> None:  # type: ignore[no-untyped-def]
    mine, other = browser(), browser()
    mine.login("alice")
    other.login("alice")
    assert mine.csrf != other.csrf
    forged = mine.send("POST", PURCHASES, csrf=False, headers={"X-CSRF-Token": other.csrf},
                       json={"title": "forged", "amount": "1"})
    assert forged.status_code == 403
    ok = mine.send("POST", PURCHASES, json={"title": "real", "amount": "1"})
    assert ok.status_code == 201


def test_every_other_route_needs_a_signed_in_user(browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()  # never signs in
    checked = 0
    for writes in (False, True):
        for method, path in routes(b.app, writes=writes):
            if path in PUBLIC_WRITES or path in PUBLIC_READS:
                continue
            response = b.send(method, concrete(path), json={}, follow_redirects=False)
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path, response.status_code)
            else:  # a page sends the visitor to the login page (or refuses a form post outright)
                assert response.status_code in (303, 401, 403), (method, path, response.status_code)
                if response.status_code == 303:
                    assert response.headers["location"].startswith("/login"), (method, path)
            checked += 1
    assert checked >= 10


def test_session_cookie_flags(browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    response = b.login("alice")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


def test_bearer_tokens_need_no_csrf_and_ignore_cookies(sec, browser) -> None:  # type: ignore[no-untyped-def]
    assert sec.as_("alice").post(PURCHASES, json={"title": "api", "amount": "1"}).status_code == 201
    b = browser()
    b.login("alice")
    bad = b.send("POST", PURCHASES, csrf=False, headers={"Authorization": "Bearer lw_not-a-token"},
                 json={"title": "x", "amount": "1"})
    assert bad.status_code == 401  # a wrong token is never rescued by a cookie
