"""The portal frame: sign in and out, navigation from app menus, language switch, static and vendor files."""
from __future__ import annotations

import re

from webclient import PASSWORD, Browser  # type: ignore[import-not-found]


def test_pages_need_a_signed_in_user_and_login_returns_to_the_page(browser: Browser) -> None:
    r = browser.get("/apps/purchasing")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fapps%2Fpurchasing"
    r = browser.client.post("/login", data={"username": "alice", "password": PASSWORD,
                                            "next": "/apps/purchasing/forms/purchase_request"})
    assert r.status_code == 303 and r.headers["location"] == "/apps/purchasing/forms/purchase_request"
    assert "lw_session" in r.cookies


def test_wrong_password_shows_the_message_and_keeps_the_username(browser: Browser) -> None:
    r = browser.client.post("/login", data={"username": "alice", "password": "nope-nope-1", "next": "/"})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text and 'value="alice"' in r.text
    assert "lw_session" not in r.cookies


def test_login_never_redirects_to_another_site(browser: Browser) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = browser.client.post("/login", data={"username": "alice", "password": PASSWORD, "next": target})
        assert r.headers["location"] == "/"


def test_navigation_follows_the_menu_and_the_users_roles(browser: Browser) -> None:
    home = browser.login("alice").get("/").text  # requester: the supplier entry is for buyers only
    assert 'href="/apps/purchasing/forms/purchase_request"' in home and "采购申请" in home
    assert "/apps/purchasing/forms/supplier" not in home
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in home
    carol = Browser(browser.platform).login("carol").get("/").text
    assert "/apps/purchasing/forms/supplier" in carol and "供应商" in carol


def test_language_switch_changes_the_texts_and_returns_to_the_page(browser: Browser) -> None:
    browser.login("alice")
    r = browser.get("/lang/en?next=/")
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = browser.get("/").text
    assert '<html lang="en">' in page and "Sign out" in page and ">Purchasing<" in page
    assert browser.get("/lang/fr").status_code == 404


def test_logout_needs_the_csrf_token_and_ends_the_session(browser: Browser) -> None:
    browser.login("alice")
    browser.client.post("/logout", data={"csrf_token": "forged"})
    assert browser.get("/").status_code == 200  # still signed in: a forged form does nothing
    r = browser.client.post("/logout", data={"csrf_token": browser.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert browser.get("/").status_code == 303


def test_home_shows_the_panels_of_the_engines(browser: Browser) -> None:
    from engine.web.portal import Panel

    def broken(request, platform, who):  # type: ignore[no-untyped-def]
        raise RuntimeError("a broken panel")

    def mine(request, platform, who):  # type: ignore[no-untyped-def]
        return Panel(title="<b>Reminders</b>", items=({"label": f"call {who.username}", "url": "/x", "meta": "today"},))

    browser.platform.hooks.home_panels.extend([broken, mine])
    page = browser.login("alice").get("/").text
    assert "&lt;b&gt;Reminders&lt;/b&gt;" in page and "call alice" in page
    # the notifications bell is drawn (an inline SVG with a name for screen readers), not an emoji that needs a font
    bell = page.split("data-lw-bell", 1)[1].split("</a>", 1)[0]
    assert "<svg" in bell and 'aria-label="通知"' in bell and "🔔" not in page


def test_error_pages_are_html_in_the_users_language(browser: Browser) -> None:
    r = browser.login("alice").get("/apps/nope")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"] and "找不到" in r.text


def test_static_and_vendor_files_stay_inside_their_folders(browser: Browser) -> None:
    r = browser.get("/static/portal.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"] and "lw.api" in r.text
    assert browser.get("/static/../templating.py").status_code == 404
    assert browser.get("/static/%2e%2e/web/templating.py").status_code == 404
    assert browser.get("/vendor/not-declared/index.js").status_code == 404
    r = browser.get("/vendor/signature_pad/dist/signature_pad.umd.min.js")
    assert r.status_code == 200 and "SignaturePad" in r.text


def test_csrf_token_of_the_page_is_accepted_by_the_api(browser: Browser) -> None:
    browser.login("alice")
    r = browser.send("POST", "/api/apps/purchasing/forms/purchase_request/records", json={"title": "Chairs", "amount": 10})
    assert r.status_code == 201, r.text
    forged = browser.client.post("/api/apps/purchasing/forms/purchase_request/records", json={"title": "x", "amount": 1},
                                 headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    assert re.fullmatch(r"[0-9a-f]{64}", browser.csrf)
