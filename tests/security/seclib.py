"""Helpers of the security suite: a platform serving three apps (purchasing, fieldlab and the club app with
personal data), bearer-token and browser-session clients.

Modules are named after OWASP ASVS 5.0 chapters (V1 encoding, V2 validation and business logic, V3 web frontend,
V4 API, V5 files, V6 authentication, V7 sessions, V8 authorization, V14 data protection, V15 secure coding and
concurrency, V16 logging and errors).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.identity import sync_org
from engine.platform import Platform
from engine.settings import Settings
from tests.conftest import APPS, Api

HERE = Path(__file__).parent
CLUB = HERE / "apps" / "club"
PASSWORDS = {"purchasing": "demo-pass-2026", "fieldlab": "lab-pass-2026", "club": "club-pass-2026"}
#: words that must never reach a client: SQL, driver names, stack traces, server paths
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "sqlite3", "OperationalError", "ProgrammingError", "SELECT ",
         "lw_users", "password_hash", 'File "', "/work/", "site-packages")
PURCHASES = "/api/apps/purchasing/forms/purchase_request/records"
MEMBERS = "/api/apps/club/forms/member/records"
VISITS = "/api/apps/club/forms/visit/records"
ID_NUMBER = "11010519491231002X"
CARD = "6222021234567890128"


def build_platform(database: tuple[str, object], tmp_path: Path, clock: Any, **overrides: Any) -> Platform:
    url, engine = database
    values = {"database_url": url, "var_dir": str(tmp_path / "var"), "attachments_dir": str(tmp_path / "var" / "files"),
              "apps_dir": str(APPS), "secret_key": "security-suite-secret-" + "k" * 24} | overrides
    platform = Platform(Settings.from_env(values, environ={}), clock=clock, engine=engine)  # type: ignore[arg-type]
    platform.upgrade_db()
    for folder in (APPS / "purchasing", APPS / "fieldlab", CLUB):
        platform.publish_folder(folder, "tester", "first")
    with platform.db.begin() as conn:
        for live in platform.apps.values():
            sync_org(conn, live.spec.org, clock.now(), with_users=True)
    return platform


def password_of(username: str) -> str:
    if username in ("ann", "root"):
        return PASSWORDS["fieldlab"]
    if username in ("dora", "sam", "vera"):
        return PASSWORDS["club"]
    return PASSWORDS["purchasing"]


class Browser:
    """A browser-like client: session cookie after a password login, CSRF header only when asked."""

    def __init__(self, platform: Platform) -> None:
        from fastapi.testclient import TestClient

        from engine.web.app import create_app

        self.app = create_app(platform)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.csrf = ""

    def login(self, username: str, password: str | None = None) -> Any:
        response = self.client.post("/api/auth/login", json={"username": username,
                                                            "password": password or password_of(username)})
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    def send(self, method: str, url: str, *, csrf: bool = True, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return self.client.request(method, url, headers=headers, **kwargs)


def make_purchase(api: Api, user: str = "alice", **values: Any) -> dict[str, Any]:
    response = api.as_(user).post(PURCHASES, json={"title": "chairs", "amount": "120.00"} | values)
    assert response.status_code == 201, response.text
    return response.json()


def make_member(api: Api, user: str = "dora", **values: Any) -> dict[str, Any]:
    body = {"name": "Mei", "id_number": ID_NUMBER, "card": CARD, "phone": "13800138000", "level": "gold"} | values
    response = api.as_(user).post(MEMBERS, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def assert_no_leak(response: Any, *sent: str) -> None:
    """No SQL, driver, trace or server path in the answer (the client's own input echoed back does not count)."""
    import json

    body = response.text
    pieces = set(sent) | {part.strip() for value in sent for part in value.split(",")}
    for value in sorted(pieces, key=len, reverse=True):
        body = body.replace(json.dumps(value)[1:-1], "").replace(value, "")
    for word in LEAKS:
        assert word not in body, f"{word!r} leaked in {response.status_code}: {body[:300]}"
