"""The deployment guide and the settings page name exactly the settings that exist."""
from __future__ import annotations

import re
from pathlib import Path

from engine.settings import PREFIX, SETTINGS

DOCS = Path(__file__).resolve().parents[2] / "docs"
KNOWN = {s.env for s in SETTINGS}


def named_settings(text: str) -> set[str]:
    return set(re.findall(rf"\b{PREFIX}[A-Z0-9_]+\b", text))


def test_every_setting_is_documented() -> None:
    documented = named_settings((DOCS / "settings.md").read_text())
    assert KNOWN - documented == set()
    assert documented - KNOWN == set()


def test_the_deployment_guide_names_only_real_settings() -> None:
    named = named_settings((DOCS / "deploy.md").read_text())
    assert named, "docs/deploy.md names no setting"
    assert named - KNOWN == set()


def test_pool_settings_reach_the_engine(tmp_path: Path) -> None:
    from engine.platform import Platform
    from engine.settings import Settings

    settings = Settings.from_env({"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                                  "db_pool_size": 3, "db_max_overflow": 4, "var_dir": str(tmp_path)}, environ={})
    platform = Platform(settings)
    assert (platform.db.pool.size(), platform.db.pool._max_overflow) == (3, 4)
    platform.db.dispose()
