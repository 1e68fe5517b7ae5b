"""Comments with files on a running flow: through the API (the initiator on the instance, an approver as a task
action) and on the task page in Chromium. A comment's files are the commenter's own uploads; they join the record
the flow runs on; a refused file leaves nothing behind."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.tables import files
from flow_engine.tables import history
from platform_kit import act, instance, record, start, task_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _upload(api: Any, user: str, name: str = "quote.pdf") -> dict[str, Any]:
    stored = api.as_(user).post("/api/files", files={"file": (name, PDF, "application/pdf")})
    assert stored.status_code == 201, stored.text
    return dict(stored.json())


def _comments(platform: Any, instance_id: int) -> int:
    with platform.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(history).where(
            history.c.instance_id == instance_id, history.c.action == "comment")).scalar_one())


def test_a_comment_carries_the_commenters_files_and_they_join_the_record(api, platform) -> None:  # type: ignore[no-untyped-def]
    record_id = record(api)
    iid = start(api, record_id)
    quote, scan = _upload(api, "alice", "quote.pdf"), _upload(api, "alice", "scan.pdf")
    said = api.as_("alice").post(f"/api/flows/instances/{iid}/comments",
                                 json={"text": "quote and scan attached", "attachments": [quote, scan["id"]]})
    assert said.status_code in (200, 201), said.text
    entry = [h for h in instance(api, iid)["history"] if h["action"] == "comment"][-1]
    assert entry["comment"] == "quote and scan attached"
    assert entry["files"] == [{"id": quote["id"], "name": "quote.pdf"}, {"id": scan["id"], "name": "scan.pdf"}]
    with platform.db.connect() as conn:
        rows = conn.execute(select(files.c.app, files.c.form, files.c.record_id).where(
            files.c.id.in_([quote["id"], scan["id"]]))).all()
    assert {tuple(r) for r in rows} == {("purchasing", "purchase_request", record_id)}
    # whoever may read the record may now download the file; the approver acts on it as a task action too
    assert api.as_("boss").get(f"/api/files/{quote['id']}").content == PDF
    note = _upload(api, "east_lead", "note.pdf")
    answered = act(api, "east_lead", iid, "comment", text="seen", attachments=[note["id"]])
    assert answered.status_code == 200, answered.text
    assert [h for h in instance(api, iid)["history"] if h["action"] == "comment"][-1]["files"][0]["name"] == "note.pdf"


@pytest.mark.parametrize(("attachments", "field", "words"), [
    ("not a list", "attachments", "list"),
    (["../etc/passwd"], "attachments[0]", "not a file id"),
    ([True], "attachments[0]", "not a file id"),
    (list(range(1, 12)), "attachments", "at most 10"),
])
def test_a_comment_with_malformed_attachments_is_refused_naming_them(api, platform, attachments, field,  # type: ignore[no-untyped-def]
                                                                      words) -> None:
    iid = start(api, record(api))
    said = api.as_("alice").post(f"/api/flows/instances/{iid}/comments", json={"text": "x", "attachments": attachments})
    assert said.status_code == 400, said.text
    error = said.json()["error"]
    assert words in error["message"] and error["details"][0]["field"] == field
    assert _comments(platform, iid) == 0


def test_someone_elses_file_or_a_file_of_another_record_is_refused_and_nothing_changes(api, platform) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))
    theirs = _upload(api, "boss")
    said = api.as_("alice").post(f"/api/flows/instances/{iid}/comments",
                                 json={"text": "not mine", "attachments": [_upload(api, "alice")["id"], theirs["id"]]})
    assert said.status_code == 400 and said.json()["error"]["details"][0]["field"] == "attachments[1]"
    assert _comments(platform, iid) == 0
    with platform.db.connect() as conn:  # the first file, valid on its own, was not attached either
        assert conn.execute(select(func.count()).select_from(files).where(files.c.record_id.is_not(None))).scalar_one() == 0
    # a file already on one record cannot be moved to another by a comment
    mine = _upload(api, "alice")
    assert api.as_("alice").post(f"/api/flows/instances/{iid}/comments",
                                 json={"text": "first", "attachments": [mine["id"]]}).status_code in (200, 201)
    other = start(api, record(api, title="second"))
    moved = api.as_("alice").post(f"/api/flows/instances/{other}/comments", json={"text": "again", "attachments": [mine["id"]]})
    assert moved.status_code == 400 and "another record" in moved.json()["error"]["message"]
    assert _comments(platform, other) == 0


@pytest.mark.browser
def test_on_the_task_page_an_approver_comments_with_a_file(chromium, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           request: pytest.FixtureRequest) -> None:
    from datetime import datetime, timezone

    from engine.clock import FrozenClock
    from tests.browser import login, serve, watched_page
    from tests.conftest import Api
    from tests.web.conftest_helpers import make_platform_at

    platform = make_platform_at(tmp_path, FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)))
    api = Api(platform)
    iid = start(api, record(api))
    task_id = task_of(api, "east_lead", iid)
    scan = tmp_path / "site-visit.pdf"
    scan.write_bytes(PDF)
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    try:
        with serve(platform) as server, watched_page(context, request) as page:
            login(page, server, "east_lead", "demo-pass-2026")
            page.goto(f"{server}/flows/tasks/{task_id}")
            page.fill("#lw-reason", "visited the site, photos in the file")
            page.set_input_files("[data-comment-files]", str(scan))
            page.click("[data-action=comment]")
            page.wait_for_selector("[data-comment-files] a")
            link = page.locator("[data-history] [data-comment-files] a").first
            assert link.inner_text() == "site-visit.pdf"
            assert re.fullmatch(r"/api/files/\d+", link.get_attribute("href") or "")
            assert "visited the site, photos in the file" in page.locator("[data-history]").inner_text()
    finally:
        context.close()
    entry = [h for h in instance(api, iid)["history"] if h["action"] == "comment"][-1]
    assert entry["files"][0]["name"] == "site-visit.pdf"
    platform.db.dispose()


def test_a_comment_mentions_people_who_may_read_the_record(api, platform) -> None:  # type: ignore[no-untyped-def]
    """``@username`` or ``@display name`` in a comment: a 'mention' notification with the comment and a link to the
    instance, for each mentioned person who may read the flow's record — not for others, not for the commenter,
    not for an e-mail address."""
    iid = start(api, record(api))
    said = api.as_("alice").post(f"/api/flows/instances/{iid}/comments", json={
        "text": "@east_lead 请看报价，@王财务。Bob @bob cannot see it; @nobody, me @alice, mail alice@example.com"})
    assert said.status_code in (200, 201), said.text
    ids = {name: _user_id(platform, name) for name in ("east_lead", "fin_wang", "bob", "alice")}
    assert sorted(said.json()["mentioned"]) == sorted([ids["east_lead"], ids["fin_wang"]])

    def mentions(user: str) -> list[dict[str, Any]]:
        items = api.as_(user).get("/api/notifications").json()["items"]
        return [n for n in items if n["kind"] == "mention"]

    for user in ("east_lead", "fin_wang"):
        [note] = mentions(user)
        assert note["title"].startswith("Alice mentioned you") and "请看报价" in note["body"]
        assert note["link"].endswith(f"/flows/instances/{iid}")
    assert mentions("bob") == [] and mentions("alice") == []


def _user_id(platform: Any, username: str) -> int:
    from engine.tables import users

    with platform.db.connect() as conn:
        return int(conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one())
