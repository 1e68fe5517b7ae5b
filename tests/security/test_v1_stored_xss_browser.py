"""V1 encoding: stored XSS in a real browser (headless Chromium). Markup planted where users and designers type —
labels and option labels of a definition, record values, rich text, a flow comment and an attachment's file name —
must show as text on every page that shows it, and no planted script may run."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from engine.clock import FrozenClock
from engine.db import make_engine
from engine.identity import sync_org
from engine.platform import Platform
from engine.settings import Settings
from seclib import CLUB, CARD, ID_NUMBER  # type: ignore[import-not-found]
from tests.browser import ARTIFACTS, serve
from tests.conftest import Api

pytestmark = pytest.mark.browser


def payload(n: int) -> str:
    """Markup that would set ``window.__xss`` to ``n`` if it ran, in three ways."""
    return (f'<img src=x onerror="window.__xss={n}"><script>window.__xss={n}</script>'
            f'<svg onload="window.__xss={n}"></svg>"\'><b>x{n}</b>')


LABEL, OPTION, NAME, NOTE, BIO, COMMENT, FILE = (payload(n) for n in range(1, 8))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _hostile_club(folder: Path) -> None:
    shutil.copytree(CLUB, folder)
    form = folder / "forms" / "member.yaml"
    text = form.read_text()
    text = text.replace("  - {key: name, type: text, required: true, max_length: 100}",
                        "  - key: name\n    type: text\n    required: true\n    max_length: 400\n"
                        f"    label: {json.dumps(LABEL)}\n    help: {json.dumps(LABEL)}")
    text = text.replace("  - {key: level, type: select, options: [gold, silver]}",
                        f"  - key: level\n    type: select\n    options:\n      - {{value: gold, label: {json.dumps(OPTION)}}}\n"
                        "      - {value: silver, label: Silver}")
    text = text.replace("  - {key: note, type: textarea}", "  - {key: note, type: textarea, max_length: 2000}")
    form.write_text(text)
    (folder / "flows").mkdir()
    (folder / "flows" / "member_review.yaml").write_text(
        "key: member_review\nform: member\nlabel: Review\nnodes:\n  - {id: start, type: start}\n"
        "  - {id: check, type: approval, name: Check, assignees: {role: supervisor}}\n"
        "  - {id: done, type: end, outcome: approved}\n"
        "edges:\n  - {from: start, to: check}\n  - {from: check, to: done}\n")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("xss")
    _hostile_club(tmp / "apps" / "club")
    url = f"sqlite:///{tmp / 'xss.db'}"
    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))
    settings = Settings.from_env({"database_url": url, "var_dir": str(tmp / "var"), "attachments_dir": str(tmp / "files"),
                                  "apps_dir": str(tmp / "apps"), "secret_key": "xss-suite-secret-" + "k" * 24},
                                 environ={})
    platform = Platform(settings, clock=clock, engine=make_engine(url))
    platform.upgrade_db()
    platform.publish_folder(tmp / "apps" / "club", "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["club"].spec.org, clock.now(), with_users=True)
    api = Api(platform)
    stored = api.as_("dora").post("/api/files", params={"app": "club", "form": "member", "field": "docs"},
                                  files={"file": (FILE + ".pdf", PDF, "application/pdf")})
    assert stored.status_code in (200, 201), stored.text
    member = api.as_("dora").post("/api/apps/club/forms/member/records", json={
        "name": NAME, "id_number": ID_NUMBER, "card": CARD, "level": "gold", "note": NOTE, "bio": BIO,
        "docs": [stored.json()]})
    assert member.status_code == 201, member.text
    started = api.as_("dora").post("/api/apps/club/flows/member_review/instances", json={"record_id": member.json()["id"]})
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]
    commented = api.as_("dora").post(f"/api/flows/instances/{instance_id}/comments", json={"text": COMMENT})
    assert commented.status_code in (200, 201), commented.text
    with serve(platform) as server:
        yield {"server": server, "member": member.json()["id"], "instance": instance_id}
    platform.db.dispose()


def test_planted_markup_shows_as_text_and_never_runs(chromium: Any, planted: dict[str, Any]) -> None:
    server = planted["server"]
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(server + "/login")
        page.fill("input[name=username]", "vera")
        page.fill("input[name=password]", "club-pass-2026")
        page.click("button[type=submit]")
        page.wait_for_url(server + "/")
        member, instance = planted["member"], planted["instance"]
        pages = {  # page → the planted texts it must show as text
            f"/apps/club/forms/member": [NAME, LABEL],
            f"/apps/club/forms/member/{member}": [NAME, LABEL, NOTE, "x5"],
            f"/apps/club/forms/member/{member}/edit": [LABEL],
            f"/flows/instances/{instance}": [COMMENT],
            "/inbox": [],
        }
        for path, texts in pages.items():
            response = page.goto(server + path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
            assert page.evaluate("window.__xss === undefined"), f"planted markup ran on {path}"
            shown = page.locator("body").inner_text()
            for text in texts:
                # shown as text: the visible text holds the markup's characters (rich text keeps only safe tags,
                # so its bold part shows, not its script)
                assert text in shown, (path, text[:30])
        # the attachment's name is cut to its last part when stored, and shows as a link's text, never as markup
        page.goto(server + f"/apps/club/forms/member/{member}")
        link = page.locator('[data-key="docs"] a[href^="/api/files/"]')
        assert link.count() == 1 and link.inner_text().endswith(".pdf")
        assert page.locator('[data-key="docs"] img, [data-key="docs"] script, [data-key="docs"] svg').count() == 0
        # rich text keeps its harmless markup (bold) and loses the rest
        assert page.locator('[data-key="bio"] b').inner_text() == "x5"
        assert page.locator('[data-key="bio"] script, [data-key="bio"] svg, [data-key="bio"] [onerror]').count() == 0
        # the option's label shows in the edit form's select, as text
        page.goto(server + f"/apps/club/forms/member/{member}/edit")
        assert OPTION in page.locator('[data-key="level"] select').inner_text()
        assert page.evaluate("window.__xss === undefined")
        assert dialogs == []
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "stored_xss.png"), full_page=True)
        raise
    finally:
        context.close()
