"""Reloading app definitions while serving: the ``apps`` job publishes hand commits of a git apps folder (committed
content only, with the commit's author and message; a bad commit is reported once and not published), the admin
reload (API and CLI), and other processes picking up newer versions — real git, SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import cli
from engine.apps_reload import read_state
from engine.notifications import notifications
from engine.scheduler import Scheduler, run_jobs
from engine.tables import users

from tests.conftest import Api, make_platform
from tests.engine.test_versions import folder, plat  # noqa: F401  (the same fixtures: a copy of the purchasing app)

FORM = "forms/purchase_request.yaml"
RULES = "rules/approval_level.yaml"


def _git(root: Path, *args: str, author: str = "Setup <setup@example.com>") -> str:
    name, email = author[:-1].split(" <")
    env_args = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    return subprocess.run(["git", "-C", str(root), *env_args, *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(folder: Path) -> Path:
    root = folder.parent
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "initial")
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _apps_job(plat):  # type: ignore[no-untyped-def]
    [result] = run_jobs(plat, "apps")
    assert result.error is None, result.error
    return result.handled


def _admin_notes(plat) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with plat.db.connect() as conn:
        admin = conn.execute(select(users.c.id).where(users.c.username == "admin")).scalar_one()
        return [(r.kind, r.title) for r in conn.execute(select(notifications).where(notifications.c.user_id == admin))]


def test_a_hand_commit_is_published_by_the_job_with_its_author_and_message_and_a_draft_is_not(plat, repo, folder) -> None:  # type: ignore[no-untyped-def]
    assert _apps_job(plat) == 0  # the first look: HEAD holds what version 1 holds
    assert [v.number for v in plat.versions("purchasing")] == [1]
    # a draft (uncommitted) alone: HEAD did not move, nothing is published
    _edit(folder / RULES, "\n", "\n# draft, not ready\n")
    assert _apps_job(plat) == 0
    assert [v.number for v in plat.versions("purchasing")] == [1]
    # a hand commit of another file, with the draft still uncommitted in the working tree
    _edit(folder / FORM, "label: 标题", "label: 主题")
    _git(repo, "add", f"purchasing/{FORM}")
    _git(repo, "commit", "-q", "-m", "rename the title\n\nasked by the buyers", author="Hanna Hand <hanna@example.com>")
    assert _apps_job(plat) == 1
    latest = plat.versions("purchasing")[0]
    assert (latest.number, latest.author, latest.message) == (2, "Hanna Hand", "rename the title\n\nasked by the buyers")
    files = plat.version_row("purchasing", 2)["files"]
    assert "label: 主题" in files[FORM] and "# draft, not ready" not in files[RULES]
    assert plat.apps["purchasing"].version == 2
    assert plat.apps["purchasing"].spec.hash == latest.hash
    assert _apps_job(plat) == 0  # seen: not published again
    assert read_state(plat)["commit"] == _git(repo, "rev-parse", "HEAD").strip()


def test_a_bad_commit_keeps_the_last_version_serving_reports_its_errors_once_and_is_not_retried(plat, repo, folder) -> None:  # type: ignore[no-untyped-def]
    _apps_job(plat)
    _edit(folder / FORM, "type: date}", "type: no_such_type}")
    _git(repo, "commit", "-q", "-am", "break the form", author="Hanna Hand <hanna@example.com>")
    bad = _git(repo, "rev-parse", "HEAD").strip()
    assert _apps_job(plat) == 1  # one folder with problems
    assert [v.number for v in plat.versions("purchasing")] == [1] and plat.apps["purchasing"].version == 1
    state = read_state(plat)
    assert state["commit"] == bad and state["ok"] is False and state["published"] == []
    [problem] = state["problems"]
    line = (folder / FORM).read_text().splitlines().index(
        next(x for x in (folder / FORM).read_text().splitlines() if "no_such_type" in x)) + 1
    assert problem["folder"] == "purchasing"
    assert any(e["file"] == FORM and e["line"] == line and "no_such_type" in e["text"] for e in problem["errors"])
    notes = _admin_notes(plat)
    assert len(notes) == 1 and notes[0][0] == "apps_reload" and bad[:12] in notes[0][1]
    # the same commit is not tried again
    assert _apps_job(plat) == 0
    assert len(_admin_notes(plat)) == 1
    api = Api(plat)
    status = api.as_("admin").get("/api/admin/apps/reload-status")
    assert status.status_code == 200 and status.json()["git"] is True
    assert status.json()["last"]["problems"][0]["errors"][0]["file"] == FORM
    # who made the refused commit and when; what still serves is the last commit that was published
    last, published = status.json()["last"], status.json()["last_published"]
    assert (last["commit"], last["author"], last["email"], last["message"]) == (
        bad, "Hanna Hand", "hanna@example.com", "break the form")
    assert last["committed_at"][:4] >= "2020" and last["ok"] is False
    assert published["commit"] == _git(repo, "rev-parse", "HEAD~1").strip() and published["message"] == "initial"
    assert published["author"] == "Setup" and "problems" not in published
    assert api.as_("alice").get("/api/admin/apps/reload-status").status_code == 403
    # a fixing commit is published
    _edit(folder / FORM, "type: no_such_type}", "type: date}")
    _edit(folder / FORM, "label: 标题", "label: 主题")
    _git(repo, "commit", "-q", "-am", "fix the form", author="Hanna Hand <hanna@example.com>")
    assert _apps_job(plat) == 1
    assert plat.versions("purchasing")[0].message == "fix the form" and plat.apps["purchasing"].version == 2
    assert read_state(plat)["ok"] is True


def test_admin_reload_publishes_the_working_tree_and_reports_located_problems(plat, folder) -> None:  # type: ignore[no-untyped-def]
    api = Api(plat)
    assert api.as_("alice").post("/api/admin/apps/reload").status_code == 403
    assert api.client.post("/api/admin/apps/reload").status_code == 401
    same = api.as_("admin").post("/api/admin/apps/reload")
    assert same.status_code == 200, same.text
    assert same.json()["published"] == [{"folder": "purchasing", "app": "purchasing", "version": 1, "changed": False}]
    _edit(folder / FORM, "label: 标题", "label: 主题")
    res = api.as_("admin").post("/api/admin/apps/reload")
    assert res.status_code == 200 and res.json()["source"] == "folder"
    assert res.json()["published"][0]["version"] == 2 and res.json()["published"][0]["changed"] is True
    assert plat.versions("purchasing")[0].author == "admin" and plat.apps["purchasing"].version == 2
    _edit(folder / FORM, "type: date}", "type: no_such_type}")
    bad = api.as_("admin").post("/api/admin/apps/reload")
    assert bad.status_code == 422
    body = bad.json()
    assert body["error"]["code"] == "definition_invalid"
    assert any(d["folder"] == "purchasing" and d["file"] == FORM and d["line"] > 1 and "no_such_type" in d["message"]
               for d in body["error"]["details"])
    assert [v.number for v in plat.versions("purchasing")] == [2, 1] and plat.apps["purchasing"].version == 2


def test_admin_reload_of_a_git_folder_publishes_head_not_drafts(plat, repo, folder) -> None:  # type: ignore[no-untyped-def]
    _edit(folder / FORM, "label: 标题", "label: 草稿")  # a draft only
    res = Api(plat).as_("admin").post("/api/admin/apps/reload")
    assert res.status_code == 200 and res.json()["source"] == "git"
    assert res.json()["published"][0]["changed"] is False
    assert [v.number for v in plat.versions("purchasing")] == [1]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the command reaches the database by its URL only,
# and the PostgreSQL fixture gives each test a schema of its own that a URL does not name
def test_the_cli_reloads_and_exits_1_on_problems(plat, folder, tmp_path, database, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LOOMWORK_DATABASE_URL", database[0])
    monkeypatch.setenv("LOOMWORK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LOOMWORK_SECRET_KEY", "test-secret-key")
    _edit(folder / FORM, "label: 标题", "label: 主题")
    assert cli.main(["--apps-dir", str(folder.parent), "apps", "reload", "--author", "ops"]) == 0
    assert "purchasing: version 2 (published now)" in capsys.readouterr().out
    assert plat.versions("purchasing")[0].author == "ops"
    _edit(folder / FORM, "type: date}", "type: no_such_type}")
    assert cli.main(["--apps-dir", str(folder.parent), "apps", "reload"]) == 1
    err = capsys.readouterr().err
    assert f"not published: purchasing/{FORM}:" in err and "no_such_type" in err
    assert [v.number for v in plat.versions("purchasing")] == [2, 1]


def test_another_process_serves_a_version_published_elsewhere(plat, database, tmp_path, clock, folder) -> None:  # type: ignore[no-untyped-def]
    other = make_platform(database, tmp_path, clock, apps_dir=folder.parent)
    other.activate_published()
    assert other.apps["purchasing"].version == 1
    _edit(folder / FORM, "label: 标题", "label: 主题")
    plat.publish_folder(folder, "ann", "second")
    assert other.apps["purchasing"].version == 1  # nothing told it yet
    assert _apps_job(other) == 1  # its apps job looks at the newest numbers
    assert other.apps["purchasing"].version == 2
    assert other.refresh_published() == 0  # nothing newer: no load


def test_the_apps_job_runs_on_its_own_interval_and_can_be_turned_off(plat, database, tmp_path, clock, folder) -> None:  # type: ignore[no-untyped-def]
    assert Scheduler(plat, 30).intervals()["apps"] == 10.0
    assert Scheduler(plat, 30).intervals()["outbox"] == 30.0
    off = make_platform(database, tmp_path, clock, apps_dir=folder.parent)
    off.settings = type(off.settings).from_env({**dict(off.settings.values), "apps_reload_seconds": "0"})
    _edit(folder / FORM, "label: 标题", "label: 主题")
    plat.publish_folder(folder, "ann", "second")
    assert _apps_job(off) == 0 and "purchasing" not in off.apps


def test_a_push_into_the_checked_out_branch_is_published(plat, repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _apps_job(plat)
    _git(repo, "config", "receive.denyCurrentBranch", "updateInstead")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, capture_output=True)
    _edit(clone / "purchasing" / FORM, "label: 标题", "label: 主题")
    _git(clone, "commit", "-q", "-am", "pushed from a laptop", author="Pat Pusher <pat@example.com>")
    _git(clone, "push", "-q", "origin", "HEAD")
    assert "label: 主题" in (repo / "purchasing" / FORM).read_text()  # the push updated the checked-out files
    assert _apps_job(plat) == 1
    latest = plat.versions("purchasing")[0]
    assert (latest.number, latest.author, latest.message) == (2, "Pat Pusher", "pushed from a laptop")


def test_a_commit_elsewhere_does_not_republish_an_untouched_app(plat, repo, folder) -> None:  # type: ignore[no-untyped-def]
    _apps_job(plat)
    _edit(folder / FORM, "label: 标题", "label: 主题")
    plat.publish_folder(folder, "dora", "published, not committed")  # e.g. a designer publish whose commit failed
    (repo / "README.md").write_text("the app definitions\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "a readme")
    assert _apps_job(plat) == 0
    assert [v.number for v in plat.versions("purchasing")] == [2, 1]  # HEAD's older form did not undo version 2


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_background_scheduler_runs_the_apps_job_on_its_interval(plat, database, tmp_path, clock, folder) -> None:  # type: ignore[no-untyped-def]
    import time

    other = make_platform(database, tmp_path, clock, apps_dir=folder.parent)
    other.settings = type(other.settings).from_env({**dict(other.settings.values), "apps_reload_seconds": "0.1"})
    other.activate_published()
    scheduler = Scheduler(other, 3600).start()  # the other jobs: once at start, then not for an hour
    try:
        _edit(folder / FORM, "label: 标题", "label: 主题")
        plat.publish_folder(folder, "ann", "second")
        deadline = time.monotonic() + 20
        while other.apps["purchasing"].version != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert other.apps["purchasing"].version == 2
    finally:
        scheduler.stop()


def test_serve_publishes_head_of_a_git_apps_folder_at_start_not_drafts(plat, repo, folder) -> None:  # type: ignore[no-untyped-def]
    from engine.apps_reload import publish_at_start

    _edit(folder / FORM, "label: 标题", "label: 草稿")  # a draft only
    assert publish_at_start(plat) == (["purchasing: version 1"], [])
    _git(repo, "commit", "-q", "-am", "committed now", author="Hanna Hand <hanna@example.com>")
    assert publish_at_start(plat) == (["purchasing: version 2 (published now)"], [])
    assert plat.versions("purchasing")[0].author == "Hanna Hand"
