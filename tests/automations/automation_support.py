"""Shared helpers of the automation tests: the ordering app (tests/apps/ordering) with automations added per test."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import select

from engine.identity import load_principal, sync_org
from engine.tables import users
from tests.conftest import APPS

APP = "ordering"


def publish(platform: Any, tmp_path: Path, files: Mapping[str, str]) -> Any:
    """Copy the ordering app, add ``files`` (e.g. ``{"automations/a.yaml": "..."}``), publish it and load its org."""
    folder = tmp_path / "apps" / APP
    if not folder.exists():
        shutil.copytree(APPS / APP, folder)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    platform.publish_folder(folder, "tester", "automations")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps[APP].spec.org, platform.clock.now(), with_users=True)
    return platform.apps[APP]


def who(platform: Any, username: str) -> Any:
    with platform.db.connect() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one()
        return load_principal(conn, user_id)


def user_id(platform: Any, username: str) -> int:
    return int(who(platform, username).id)


def create(platform: Any, form: str, body: Mapping[str, Any], username: str = "carol") -> dict[str, Any]:
    actor = who(platform, username)
    with platform.db.begin() as conn:
        return platform.services["records"].create(conn, platform.apps[APP], form, dict(body), actor)


def update(platform: Any, form: str, record_id: int, body: Mapping[str, Any], username: str = "carol") -> dict[str, Any]:
    actor = who(platform, username)
    with platform.db.begin() as conn:
        return platform.services["records"].update(conn, platform.apps[APP], form, record_id, dict(body), actor,
                                                   if_match=None)


def records(platform: Any, form: str) -> list[dict[str, Any]]:
    actor = who(platform, "admin")
    with platform.db.connect() as conn:
        return platform.services["records"].list(conn, platform.apps[APP], form, actor,
                                                 size=500, sort="id")["items"]
