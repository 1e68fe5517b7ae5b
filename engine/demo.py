"""Demo set-up for ``make run``: publish every app, create its demo organisation and users."""
from __future__ import annotations

from typing import Any, Iterator

from .identity import sync_org


def load_demo(platform: Any, rows: int | None = None) -> Iterator[str]:
    platform.upgrade_db()
    for info in platform.sync_apps_dir():
        yield f"{info.app}: version {info.number}" + (" (published now)" if info.changed else "")
    for live in platform.apps.values():
        with platform.db.begin() as conn:
            sync_org(conn, live.spec.org, platform.clock.now(), with_users=True)
        users = len(live.spec.org.users)
        if users:
            yield f"{live.key}: {users} demo users (password: {live.spec.org.demo_password})"
        make_demo = platform.services.get("demo_data")  # the forms engine's generator
        if make_demo is not None:
            yield from make_demo(platform, live, rows)
