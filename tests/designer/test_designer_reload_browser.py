"""The apps folder's reload status in the designer (headless Chromium): an administrator sees, on the apps page, the
last commit published from the git apps folder (commit, author, message, time) and the commit refused because its
definitions do not check, with its located problems; "Reload now" publishes the fixed commit and the app serves it.
A designer who is not an administrator gets no panel, and the API refuses them (403).
Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.scheduler import run_jobs

from designer_support import dapi, folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

FORM = "forms/purchase_request.yaml"


def _git(root: Path, *args: str, author: str = "Setup <setup@example.com>") -> str:
    name, email = author[:-1].split(" <")
    return subprocess.run(["git", "-C", str(root), "-c", f"user.name={name}", "-c", f"user.email={email}", *args],
                          check=True, capture_output=True, text=True).stdout


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _apps_job(plat) -> None:  # type: ignore[no-untyped-def]
    [result] = run_jobs(plat, "apps")
    assert result.error is None, result.error


def test_admins_see_the_reload_status_and_reload_now(server, browser, folder, plat, dapi) -> None:  # type: ignore[no-untyped-def]
    repo = folder.parent
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "initial")
    first = _git(repo, "rev-parse", "HEAD").strip()
    _apps_job(plat)  # the first look: HEAD holds what is published
    _edit(folder / FORM, "type: date}", "type: no_such_type}")
    _git(repo, "commit", "-q", "-am", "break the form", author="Hanna Hand <hanna@example.com>")
    bad = _git(repo, "rev-parse", "HEAD").strip()
    _apps_job(plat)  # refused: version 1 keeps serving
    assert plat.apps["purchasing"].version == 1

    page = browser()
    sign_in(page, server, "admin")
    panel = page.get_by_test_id("reload-panel")
    panel.get_by_test_id("reload-published").wait_for()
    assert "git repository" in panel.get_by_test_id("reload-mode").inner_text()
    assert panel.get_by_test_id("reload-published-commit").inner_text() == first[:12]
    assert panel.get_by_test_id("reload-published-author").inner_text() == "Setup <setup@example.com>"
    assert panel.get_by_test_id("reload-published-message").inner_text() == "initial"
    assert panel.get_by_test_id("reload-published-time").inner_text().strip()
    error = panel.get_by_test_id("reload-error").inner_text()
    assert bad[:12] in error and "Hanna Hand" in error and "break the form" in error
    problems = panel.get_by_test_id("reload-problems").inner_text()
    assert f"purchasing/{FORM}:" in problems and "no_such_type" in problems

    # the fix is committed; "Reload now" publishes it without waiting for the job
    _edit(folder / FORM, "type: no_such_type}", "type: date}")
    _edit(folder / FORM, "label: 标题", "label: 主题")
    _git(repo, "commit", "-q", "-am", "fix the form", author="Hanna Hand <hanna@example.com>")
    panel.get_by_test_id("reload-now").click()
    panel.get_by_test_id("reload-result").filter(has_text="purchasing version 2 (new)").wait_for()
    panel.get_by_test_id("reload-published-message").filter(has_text="fix the form").wait_for()
    assert panel.get_by_test_id("reload-error").count() == 0
    assert panel.get_by_test_id("reload-published-author").inner_text() == "Hanna Hand <hanna@example.com>"
    assert plat.apps["purchasing"].version == 2
    assert plat.apps["purchasing"].spec.forms["purchase_request"].field("title").label.get("zh-CN") == "主题"


def test_a_designer_who_is_not_an_admin_gets_no_reload_panel(server, browser, dapi) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "dora")
    page.get_by_test_id("app-purchasing").wait_for()
    page.wait_for_timeout(300)
    assert page.get_by_test_id("reload-panel").count() == 0
    assert dapi.as_("dora").get("/api/admin/apps/reload-status").status_code == 403
    assert dapi.as_("dora").post("/api/admin/apps/reload").status_code == 403
