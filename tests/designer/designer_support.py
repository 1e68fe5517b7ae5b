"""Fixtures of the designer tests: a temporary copy of the purchasing app, with a designer (dora) added.

A helper module rather than a conftest.py, so the root conftest keeps the module name ``conftest``."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from engine.identity import sync_org

from tests.conftest import APPS, Api, make_platform


def copy_app(tmp_path: Path) -> Path:
    """A copy of the purchasing app with a ``designer`` role and a user holding it (dora)."""
    target = tmp_path / "apps" / "purchasing"
    shutil.copytree(APPS / "purchasing", target)
    org_file = target / "org.yaml"
    org = yaml.safe_load(org_file.read_text())
    org["roles"].append({"key": "designer", "label": "设计者"})
    org["users"].append({"username": "dora", "name": "Dora Designer", "email": "dora@example.com",
                         "department": org["departments"][0]["key"], "roles": ["designer"]})
    org_file.write_text(yaml.safe_dump(org, allow_unicode=True, sort_keys=False))
    return target


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return copy_app(tmp_path)


@pytest.fixture
def plat(database, tmp_path, clock, folder):  # type: ignore[no-untyped-def]
    p = make_platform(database, tmp_path, clock, apps_dir=folder.parent)
    p.publish_folder(folder, "setup", "first")
    with p.db.begin() as conn:
        sync_org(conn, p.apps["purchasing"].spec.org, clock.now(), with_users=True)
    return p


@pytest.fixture
def dapi(plat) -> Api:  # type: ignore[no-untyped-def]
    return Api(plat)


class LiveServer:
    """The platform's ASGI app served by uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, platform) -> None:  # type: ignore[no-untyped-def]
        import socket
        import threading

        import uvicorn

        from engine.web.app import create_app

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(platform), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
