"""What the browser tests share: a live server for a platform, headless Chromium, signing in, and a page that keeps
a screenshot when its test fails.

    with serve(platform) as server: ...          # http://127.0.0.1:PORT, uvicorn in a thread
    with chromium_browser() as browser: ...      # Debian's /usr/bin/chromium through Playwright (no download)
    login(page, server, "ana", "pass")

The root conftest keeps each phase's report on the test item (``item.rep_call``) and offers a module-scoped
``chromium`` fixture built on these.
"""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(platform: Any) -> Iterator[str]:
    """Serve ``platform`` over HTTP on a free local port until the block ends; yields the base URL."""
    import uvicorn

    from engine.web.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    else:  # pragma: no cover - a server that never starts fails the test that needs it
        raise RuntimeError("the test server did not start within 20 s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@contextmanager
def chromium_browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def login(page: Any, server: str, username: str, password: str) -> None:
    page.goto(server + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")


@contextmanager
def watched_page(context: Any, request: pytest.FixtureRequest, timeout_ms: int = 15000) -> Iterator[Any]:
    """A new page of ``context`` that fails its test on any script error and keeps a screenshot when it fails."""
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        page.close()
    assert errors == [], errors  # no script error on the page
