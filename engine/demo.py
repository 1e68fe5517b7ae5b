"""Demo set-up for ``make run``: publish every app, create its demo organisation and users, fill its forms (the
forms engine's generator) and run some of the records through its flows (the flow engine's ``demo.flows``)."""
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
        if make_demo is None:
            continue
        last = None
        for last in make_demo(platform, live, rows):
            yield last
        run_flows = platform.services.get("demo_flows")  # the flow engine's runs through demo.flows
        if run_flows is not None and last is not None and not last.endswith("demo data already there"):
            yield from run_flows(platform, live, rows)
