"""The task page shows the flow's record as the forms engine's record and edit pages do, under the node's field
rights: read-only fields as the record page shows them (relation titles linking to records the reader may open,
choice labels, region names, people's names, formatted money and percent, 是/否, files, sub-table rows), editable
ones with the edit page's widgets, hidden ones nowhere in the page; changes go with the approval and are checked by
the server as before. The sample form is tests/flow/data/task_form (a field of every kind), published with the
purchasing test app."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from engine.identity import sync_org
from engine.web.app import create_app
from engine.web.templating import LANG_COOKIE
from platform_kit import APPS, user_id

HERE = Path(__file__).parent
PASSWORD = "demo-pass-2026"  # tests/apps/purchasing/org.yaml
SAMPLES = "/api/apps/purchasing/forms/task_sample/records"


def sample_app(tmp_path: Path) -> Path:
    """The purchasing app with the task sample form and its review flow."""
    folder = tmp_path / "apps" / "purchasing"
    shutil.copytree(APPS / "purchasing", folder)
    shutil.copy(HERE / "data" / "task_form" / "task_sample.yaml", folder / "forms" / "task_sample.yaml")
    shutil.copy(HERE / "data" / "task_form" / "sample_review.yaml", folder / "flows" / "sample_review.yaml")
    return folder


def publish_sample(platform: Any, tmp_path: Path) -> None:
    platform.publish_folder(sample_app(tmp_path), "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["purchasing"].spec.org, platform.clock.now(), with_users=True)


@pytest.fixture
def sample(database, tmp_path, clock) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from tests.conftest import Api, make_platform

    platform = make_platform(database, tmp_path, clock)
    publish_sample(platform, tmp_path)
    yield Api(platform)


def signed_in(platform: Any, username: str) -> TestClient:
    client = TestClient(create_app(platform), raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return client


def upload(api: Any, user: str, field: str, name: str = "quote.pdf") -> dict[str, Any]:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = api.as_(user).post(f"/api/files?app=purchasing&form=task_sample&field={field}",
                           files={"file": (name, pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    return dict(r.json())


def filed(api: Any) -> dict[str, int]:
    """A sample filed by alice and started: (record id, instance id, carol's review task id)."""
    platform = api.platform
    supplier = api.as_("east_lead").post("/api/apps/purchasing/forms/supplier/records",
                                         json={"name": "滇池办公用品有限公司"})
    assert supplier.status_code == 201, supplier.text
    # bob's purchase request is in the west: carol (a buyer in the east) may not open it
    origin = api.as_("bob").post("/api/apps/purchasing/forms/purchase_request/records",
                                 json={"title": "西部的申请", "amount": "100"})
    assert origin.status_code == 201, origin.text
    doc = upload(api, "alice", "documents")
    body = {"name": "打印机采购", "supplier": supplier.json()["id"], "origin": origin.json()["id"],
            "category": "office", "region": "530114", "handler": user_id(platform, "east_lead"),
            "budget": "40000", "fee_rate": "0.085", "flagged": True, "internal_note": "只给申请人看的备注",
            "documents": [{"id": doc["id"]}], "lines": [{"item": "激光打印机", "qty": 2}, {"item": "硒鼓", "qty": 10}]}
    rec = api.as_("alice").post(SAMPLES, json=body)
    assert rec.status_code == 201, rec.text
    started = api.as_("alice").post("/api/apps/purchasing/flows/sample_review/instances",
                                    json={"record_id": rec.json()["id"]})
    assert started.status_code == 201, started.text
    tasks = api.as_("carol").get("/api/flows/inbox/todo").json()["items"]
    task = next(t for t in tasks if t["instance"] == started.json()["id"])
    return {"record": rec.json()["id"], "instance": started.json()["id"], "task": task["id"],
            "supplier": supplier.json()["id"], "origin": origin.json()["id"]}


def item(page: str, key: str) -> str:
    """The markup of one field on the task page (its wrapper up to the next field's)."""
    m = re.search(r'<div class="lw-field[^"]*"\s+data-key="' + key + r'"(.*?)(?=<div class="lw-field[^"]*"\s+data-key=|</section>|</form>)',
                  page, re.S)
    assert m, f"no field {key} on the page"
    return m.group(1)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_read_only_fields_read_as_on_the_record_page_and_hidden_ones_are_nowhere(sample) -> None:  # type: ignore[no-untyped-def]
    ids = filed(sample)
    page = signed_in(sample.platform, "carol").get(f"/flows/tasks/{ids['task']}")
    assert page.status_code == 200, page.text
    html = page.text
    supplier = item(html, "supplier")
    assert "data-shown" in supplier and "滇池办公用品有限公司" in supplier  # the related record's title, not its id
    assert f'href="/apps/purchasing/forms/supplier/{ids["supplier"]}"' in supplier
    origin = item(html, "origin")  # a record carol may not open: no title, no link
    assert f"#{ids['origin']}" in text(origin) and "西部的申请" not in html and "href=" not in origin
    assert text(item(html, "category")).endswith("办公用品")                # the choice's label
    assert "云南省 / 昆明市 / 呈贡区" in text(item(html, "region"))
    assert text(item(html, "handler")).endswith("华东主管")                 # the user's display name
    assert text(item(html, "fee_rate")).endswith("8.5%")
    assert text(item(html, "flagged")).endswith("是")
    assert "43,400.00" in text(item(html, "total"))                          # the formula, formatted as money
    documents = item(html, "documents")
    assert "quote.pdf" in documents
    lines = item(html, "lines")
    assert "激光打印机" in lines and "硒鼓" in lines and "<table" in lines  # the sub-table's rows
    # hidden: not in the page, its markup, its embedded data
    assert 'data-key="internal_note"' not in html and "只给申请人看的备注" not in html and "internal_note" not in html
    # the status reads in the reader's language
    assert 'data-task-status="open"' in html and "待处理" in html
    english = signed_in(sample.platform, "carol")
    english.cookies.set(LANG_COOKIE, "en")
    en = english.get(f"/flows/tasks/{ids['task']}").text
    assert text(item(en, "flagged")).endswith("Yes") and text(item(en, "category")).endswith("Office")
    assert "Open" in text(en.split("data-task-status")[1][:80])


def test_editable_fields_are_the_edit_pages_widgets_and_required_ones_are_marked(sample) -> None:  # type: ignore[no-untyped-def]
    ids = filed(sample)
    html = signed_in(sample.platform, "carol").get(f"/flows/tasks/{ids['task']}").text
    decision = item(html, "decision")
    assert 'data-type="select"' in decision and "lw-required" in decision
    assert '<option value="go"' in decision and "同意采购" in decision         # labels, not raw keys
    reviewer = item(html, "reviewer")
    assert 'data-type="user"' in reviewer and ">华东主管</option>" in reviewer  # people by name
    assert 'data-type="attachment"' in item(html, "documents")               # the upload widget
    budget = item(html, "budget")
    assert 'data-type="money"' in budget and 'value="40000.00"' in budget
    assert "hidden" in item(html, "hold_reason").split(">")[0]               # its condition is false for now
    assert 'data-evaluate="/api/flows/tasks/' in html and "/static/forms/form.js" in html
    # when the task is done, nothing is editable any more
    done = sample.as_("carol").post(f"/api/flows/tasks/{ids['task']}/approve", json={"values": {"decision": "go"}})
    assert done.status_code == 200, done.text
    after = signed_in(sample.platform, "carol").get(f"/flows/tasks/{ids['task']}").text
    assert "data-type=\"select\"" not in item(after, "decision") and text(item(after, "decision")).endswith("同意采购")


def test_the_draft_is_evaluated_under_the_nodes_rights(sample) -> None:  # type: ignore[no-untyped-def]
    ids = filed(sample)
    url = f"/api/flows/tasks/{ids['task']}/evaluate"
    carol = sample.as_("carol")
    state = carol.post(url, json={"values": {"decision": "hold", "budget": "50000", "name": "changed"}}).json()
    assert state["fields"]["hold_reason"]["visible"] is True                 # the form's condition, as on the edit page
    assert state["display"]["total"] == "54,250.00"                          # the formula over the draft
    assert "internal_note" not in state["fields"] and "internal_note" not in str(state)
    assert state["fields"]["name"]["readonly"] is True                       # read-only at this node: not taken
    assert not any(e["field"] == "decision" for e in state["errors"])
    blank = carol.post(url, json={"values": {}}).json()
    assert any(e["field"] == "decision" for e in blank["errors"])           # required at this node
    assert sample.as_("dan").post(url, json={"values": {}}).status_code == 404  # not his task


def test_submitting_saves_the_changed_fields_and_a_missing_required_one_changes_nothing(sample) -> None:  # type: ignore[no-untyped-def]
    ids = filed(sample)
    act = f"/api/flows/tasks/{ids['task']}/approve"
    carol = sample.as_("carol")
    missing = carol.post(act, json={"values": {"budget": "50000"}})
    assert missing.status_code in (400, 409, 422), missing.text
    assert "decision" in missing.text
    record = sample.as_("alice").get(f"{SAMPLES}/{ids['record']}").json()
    assert record["budget"] == "40000.00" and record["decision"] is None    # nothing changed
    locked = carol.post(act, json={"values": {"decision": "go", "internal_note": "x"}})
    assert locked.status_code in (400, 403, 409, 422) and "internal_note" in locked.text
    ok = carol.post(act, json={"values": {"decision": "go", "budget": "50000"}})
    assert ok.status_code == 200, ok.text
    record = sample.as_("alice").get(f"{SAMPLES}/{ids['record']}").json()
    assert (record["decision"], record["budget"], record["total"]) == ("go", "50000.00", "54250.00")


# -- in the browser ---------------------------------------------------------------------------------------------

@pytest.fixture
def live(tmp_path: Path, clock) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    from engine.db import make_engine
    from tests.browser import serve
    from tests.conftest import Api, make_platform

    url = f"sqlite:///{tmp_path / 'live.db'}"
    platform = make_platform((url, make_engine(url)), tmp_path, clock)
    publish_sample(platform, tmp_path)
    with serve(platform) as server:
        yield server, Api(platform)
    platform.db.dispose()


@pytest.fixture
def page(chromium, request: pytest.FixtureRequest) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from tests.browser import watched_page

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    with watched_page(context, request, timeout_ms=10000) as pg:
        yield pg
    context.close()


@pytest.mark.browser
def test_in_the_browser_the_widgets_behave_as_on_the_edit_page_and_approving_saves_them(  # type: ignore[no-untyped-def]
        page, live, tmp_path: Path) -> None:
    from tests.browser import login

    server, api = live
    ids = filed(api)
    login(page, server, "carol", PASSWORD)
    page.goto(f"{server}/flows/tasks/{ids['task']}")
    record = page.locator("[data-task-record]")
    supplier = record.locator('[data-key="supplier"] a')
    assert supplier.inner_text() == "滇池办公用品有限公司"
    assert "云南省 / 昆明市 / 呈贡区" in record.locator('[data-key="region"]').inner_text()
    assert "激光打印机" in record.locator('[data-key="lines"] table').inner_text()
    assert page.locator('[data-key="internal_note"]').count() == 0
    # approving without the required decision: the server's 4xx names it, the field is marked, nothing changes
    page.click("[data-action=approve]")
    error = page.locator("[data-task-form] [data-error]")
    error.wait_for(state="visible")
    assert "decision" in error.inner_text()
    page.locator('[data-key="decision"].lw-invalid').wait_for()
    assert page.url.endswith(f"/flows/tasks/{ids['task']}")
    assert api.as_("alice").get(f"{SAMPLES}/{ids['record']}").json()["decision"] is None
    # the form's condition and formula, evaluated by the server as on the edit page
    hold = page.locator('[data-key="hold_reason"]')
    assert hold.is_hidden()
    page.select_option('[data-key="decision"] select', "hold")
    hold.wait_for(state="visible")
    hold.locator("textarea").fill("等报价")
    page.fill('[data-key="budget"] input', "50000")
    page.wait_for_function("document.querySelector('[data-key=\"total\"] [data-output]').textContent.trim() === '54,250.00'")
    # a file through the attachment service, shown in the field's list as soon as it is stored
    scan = tmp_path / "quote-2.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.set_input_files('[data-key="documents"] input[type=file]', str(scan))
    page.locator('[data-key="documents"] [data-list] li', has_text="quote-2.pdf").wait_for()
    page.select_option('[data-key="reviewer"] select', label="华东主管")
    page.click("[data-action=approve]")
    page.wait_for_url(server + "/inbox")
    saved = api.as_("alice").get(f"{SAMPLES}/{ids['record']}").json()
    assert (saved["decision"], saved["hold_reason"], saved["budget"]) == ("hold", "等报价", "50000.00")
    assert [f["name"] for f in saved["documents"]] == ["quote.pdf", "quote-2.pdf"]
    assert saved["reviewer"] == user_id(api.platform, "east_lead")
    assert saved["internal_note"] == "只给申请人看的备注" and saved["name"] == "打印机采购"  # untouched
    # finance may edit the lines: the sub-table's rows are the edit page's, a row added is saved
    page.context.clear_cookies()
    login(page, server, "fin_wang", PASSWORD)
    tasks = api.as_("fin_wang").get("/api/flows/inbox/todo").json()["items"]
    page.goto(f"{server}/flows/tasks/{tasks[0]['id']}")
    lines = page.locator('[data-task-record] [data-key="lines"][data-type="subtable"]')
    assert lines.locator("tr[data-row]").count() == 2
    assert lines.locator("tr[data-row] >> nth=0").locator('[data-key="item"] input').input_value() == "激光打印机"
    lines.locator("[data-add-row]").click()
    row = lines.locator("tr[data-row] >> nth=2")
    row.locator('[data-key="item"] input').fill("纸张")
    row.locator('[data-key="qty"] input').fill("20")
    page.click("[data-action=submit]")
    page.wait_for_url(server + "/inbox")
    saved = api.as_("alice").get(f"{SAMPLES}/{ids['record']}").json()
    assert [(r["item"], r["qty"]) for r in saved["lines"]] == [("激光打印机", 2), ("硒鼓", 10), ("纸张", 20)]
