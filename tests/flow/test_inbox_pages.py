"""The flow pages of the portal: the inbox with its four boxes and paging, a task page under the node's field
rights with the diagram and the history, an instance page, the notification centre and the home panel."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from engine.tables import users
from flow_engine.tables import tasks

from engine.web.app import create_app
from platform_kit import act, record, start, task_of

PASSWORD = "demo-pass-2026"  # tests/apps/purchasing/org.yaml


def signed_in(platform, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(platform), raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return client


def test_inbox_page_lists_tasks_per_box_and_home_shows_my_tasks(api, platform) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api, title="Desks <b>&</b> chairs"))
    lead = signed_in(platform, "east_lead")
    page = lead.get("/inbox")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    tid = task_of(api, "east_lead", iid)
    assert f'href="/flows/tasks/{tid}"' in page.text
    assert "Desks &lt;b&gt;&amp;&lt;/b&gt; chairs" in page.text and "<b>&</b>" not in page.text  # escaped
    assert re.search(r'data-box="todo">[^<]*<span class="lw-badge">1</span>', page.text)
    home = lead.get("/").text
    assert f'href="/flows/tasks/{tid}"' in home and 'href="/inbox"' in home
    mine = signed_in(platform, "alice").get("/inbox?box=initiated").text
    assert f'href="/flows/instances/{iid}"' in mine
    assert lead.get("/inbox?box=nope").status_code == 400
    assert TestClient(create_app(platform), follow_redirects=False).get("/inbox").status_code == 303  # sign in first


def test_task_page_applies_field_rights_and_shows_diagram_and_history(api, platform) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api, needed_by="2026-05-01", quantity=2))
    act(api, "east_lead", iid)
    tid = task_of(api, "carol", iid)
    page = signed_in(platform, "carol").get(f"/flows/tasks/{tid}").text
    assert 'data-key="needed_by"' not in page and "2026-05-01" not in page  # hidden at the buyer check
    # editable: the edit page's widget; read-only: shown as the record page shows it
    assert re.search(r'data-key="quantity" data-type="integer".*?<input id="f-quantity" data-input[^>]* value="2"',
                     page, re.S)
    assert re.search(r'data-key="amount" data-shown data-right="readonly"[^>]*>.*?80,000\.00', page, re.S)
    assert 'id="f-amount"' not in page
    assert 'data-node="buyer_check" data-state="active"' in page and 'data-node="lead_review" data-state="done"' in page
    assert 'data-action="approve"' in page and 'data-action="return"' in page
    assert "data-history" in page and "华东主管" in page  # who approved the lead review
    assert signed_in(platform, "bob").get(f"/flows/tasks/{tid}").status_code == 404  # not his task


def test_node_and_flow_names_show_in_the_readers_language(api, platform) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))
    act(api, "east_lead", iid)
    tid = task_of(api, "carol", iid)
    carol = signed_in(platform, "carol")  # her own setting: zh-CN
    chinese = carol.get(f"/flows/tasks/{tid}").text
    assert "<title>采购复核" in chinese and "采购审批 ·" in chinese and ">主管审批</td>" in chinese  # title, history
    assert "Buyer check" not in chinese and "Lead review" not in chinese
    carol.cookies.set("lw_lang", "en")  # the language switch: the same task in English
    english = carol.get(f"/flows/tasks/{tid}").text
    assert "<title>Buyer check" in english and "Purchase approval ·" in english and ">Lead review</td>" in english
    assert "采购复核" not in english and "主管审批" not in english
    assert re.search(r"<td>Buyer check</td>", carol.get("/inbox").text)  # the inbox too
    assert "Buyer check" in carol.get(f"/flows/instances/{iid}").text  # the diagram
    # the API answers in the user's own language; the task row keeps the app's language (reports read it)
    assert api.as_("carol").get(f"/api/flows/tasks/{tid}").json()["node"]["name"] == "采购复核"
    with platform.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "carol").values(locale="en"))
    answer = api.as_("carol").get(f"/api/flows/tasks/{tid}").json()
    assert (answer["node"]["name"], answer["task"]["node_name"]) == ("Buyer check", "Buyer check")
    assert [t["node_name"] for t in api.as_("carol").get("/api/flows/inbox/todo").json()["items"]] == ["Buyer check"]
    with platform.db.connect() as conn:
        assert conn.execute(select(tasks.c.node_name).where(tasks.c.id == tid)).scalar_one() == "采购复核"


def test_instance_and_notification_pages(api, platform) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))
    alice = signed_in(platform, "alice")
    page = alice.get(f"/flows/instances/{iid}").text
    assert 'data-status="running"' in page and "data-withdraw" in page
    assert 'data-node="lead_review" data-state="active"' in page
    assert signed_in(platform, "bob").get(f"/flows/instances/{iid}").status_code == 404
    notes = signed_in(platform, "east_lead").get("/notifications").text
    assert f'href="/flows/instances/{iid}"' in notes and 'data-kind="task"' in notes
