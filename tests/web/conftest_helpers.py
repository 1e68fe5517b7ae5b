"""Building a platform for a live server: both test apps on SQLite, their demo users loaded."""
from __future__ import annotations

from pathlib import Path

from engine.clock import FrozenClock
from engine.db import make_engine
from engine.identity import sync_org
from engine.platform import Platform
from engine.settings import Settings

APPS = Path(__file__).resolve().parents[1] / "apps"


def make_platform_at(tmp: Path, clock: FrozenClock) -> Platform:
    url = f"sqlite:///{tmp / 'live.db'}"
    settings = Settings.from_env({"database_url": url, "var_dir": str(tmp / "var"), "attachments_dir": str(tmp / "files"),
                                  "apps_dir": str(APPS), "secret_key": "browser-test-key"})
    platform = Platform(settings, clock=clock, engine=make_engine(url))
    platform.upgrade_db()
    for app in ("fieldlab", "purchasing"):
        platform.publish_folder(APPS / app, "tester", "first")
        with platform.db.begin() as conn:
            sync_org(conn, platform.apps[app].spec.org, clock.now(), with_users=True)
    return platform
