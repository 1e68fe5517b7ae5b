"""The import page in real headless Chromium against a live server on SQLite (warehouse test app): upload a CSV,
change the mapping, see the dry run's problems by row and column, import the valid rows and watch the progress."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.db import make_engine
from engine.identity import sync_org
from engine.platform import Platform
from engine.settings import Settings
from tests.browser import chromium_browser, serve
from tests.conftest import APPS

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Platform]]:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))
    settings = Settings.from_env({"database_url": url, "var_dir": str(tmp_path / "var"), "apps_dir": str(APPS),
                                  "attachments_dir": str(tmp_path / "files"), "secret_key": "import-page-key"})
    platform = Platform(settings, clock=clock, engine=make_engine(url))
    platform.upgrade_db()
    platform.publish_folder(APPS / "warehouse", "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["warehouse"].spec.org, clock.now(), with_users=True)
    with serve(platform) as server:
        yield server, platform
    platform.db.dispose()


def test_upload_map_check_and_import_in_the_browser(live: tuple[str, Platform], tmp_path: Path) -> None:
    base, platform = live
    data = tmp_path / "suppliers.csv"
    data.write_text("编号,Supplier name,额度\nS1,<b>Acme</b>,10\nS2,Beta,-3\nS3,Gamma,7\n", encoding="utf-8")
    with chromium_browser() as browser:
        page = browser.new_page()
        page.set_default_timeout(10000)
        page.goto(base + "/login")
        page.fill("input[name=username]", "max")
        page.fill("input[name=password]", "stock-pass-2026")
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.goto(base + "/apps/warehouse/forms/supplier/import")
        page.set_input_files("[data-io-file]", str(data))
        page.click("[data-io-upload] button[type=submit]")
        page.wait_for_selector("[data-io-mapping]:not([hidden])")
        # matched by label; the unmatched column is mapped by the user
        assert page.input_value('[data-io-column="A"]') == "code"
        assert page.input_value('[data-io-column="B"]') == ""
        assert page.locator("[data-io-columns] tr >> nth=1").inner_text().count("<b>Acme</b>") == 1  # shown as text
        page.select_option('[data-io-column="B"]', "name")
        page.click('[data-io-run="dry-run"]')
        page.wait_for_selector('[data-io-status][data-status="checked"]')
        problems = page.locator("[data-io-problems] tbody tr")
        assert problems.count() == 1
        row = problems.first.inner_text()
        assert "3" in row and "C 额度" in row and "at least 0" in row
        page.select_option("[data-io-mode]", "valid_only")
        page.click('[data-io-run="commit"]')
        page.wait_for_selector('[data-io-status][data-status="done"]')
        assert page.locator("[data-io-percent]").inner_text() == "100%"
        assert page.locator("[data-io-rejected]").is_visible()
    table = platform.apps["warehouse"].tables["f_warehouse__supplier"]
    with platform.db.connect() as conn:
        names = sorted(conn.execute(select(table.c.name)).scalars())
        assert names == ["<b>Acme</b>", "Gamma"]
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 2
