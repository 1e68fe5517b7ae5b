"""A browser-like test client that signs in through the login page."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient

from engine.platform import Platform
from engine.web.app import create_app

PASSWORD = "demo-pass-2026"  # tests/apps/purchasing/org.yaml


class Browser:
    """A TestClient holding a session cookie, as a browser would after signing in on /login."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.client = TestClient(create_app(platform), raise_server_exceptions=False, follow_redirects=False)
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD) -> "Browser":
        r = self.client.post("/login", data={"username": username, "password": password, "next": "/"})
        assert r.status_code == 303, r.text
        page = self.client.get("/")
        self.csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text).group(1)
        return self

    def get(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kw)

    def send(self, method: str, url: str, **kw):  # type: ignore[no-untyped-def]
        headers = {"X-CSRF-Token": self.csrf} | dict(kw.pop("headers", {}) or {})
        return self.client.request(method, url, headers=headers, **kw)
