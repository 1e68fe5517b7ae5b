"""The kinds without a dedicated editor — org.yaml, app.yaml (and record pages) — are edited in a form built from
their meta-schema (headless Chromium): roles, departments and users as lists of items, texts in several languages,
lists of words, tick lists of choices, nested settings; a wrong reference is shown as you type; the saved YAML holds
what was chosen and the app checks out. Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import pytest
import yaml

from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_org_and_app_files_are_edited_in_a_schema_form(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    before = yaml.safe_load((folder / "org.yaml").read_text())
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/org.yaml")
    page.get_by_test_id("schema-editor").wait_for()
    n = len(before["roles"])
    assert page.get_by_test_id("se-roles[0].key").input_value() == before["roles"][0]["key"]
    page.get_by_test_id("se-add-roles").click()
    page.get_by_test_id(f"se-roles[{n}].key").fill("auditor")
    page.get_by_test_id(f"se-roles[{n}].label").fill("审计")
    page.get_by_test_id("se-departments[2].manager").fill("alice")
    dan = next(i for i, u in enumerate(before["users"]) if u["username"] == "dan")
    page.get_by_test_id(f"se-users[{dan}].roles").fill("requester, auditor")
    # a department that does not exist: the engine says so where it is
    page.get_by_test_id(f"se-users[{dan}].department").fill("nowhere")
    page.locator(f"[data-path='users[{dan}].department'].has-error, [data-path='users[{dan}]'].has-error").first.wait_for()
    page.get_by_test_id("problems").filter(has_text="nowhere").wait_for()
    page.get_by_test_id(f"se-users[{dan}].department").fill("west")
    page.get_by_test_id("problems").filter(has_text="No problems").wait_for()
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    org = yaml.safe_load((folder / "org.yaml").read_text())
    assert org["roles"] == before["roles"] + [{"key": "auditor", "label": "审计"}]
    assert org["departments"][2] == {**before["departments"][2], "manager": "alice"}
    assert org["users"][dan] == {**before["users"][dan], "roles": ["requester", "auditor"]}
    assert org["users"][:dan] == before["users"][:dan] and org["users"][dan + 1:] == before["users"][dan + 1:]

    page.goto(f"{server.url}/designer/#/app/purchasing/edit/app.yaml")
    page.get_by_test_id("se-label-en").wait_for()
    page.get_by_test_id("se-label-en").fill("Procurement")
    page.get_by_test_id("se-holidays").fill("2026-10-01, 2026-10-02, 2026-10-05")
    page.get_by_test_id("se-working_hours.start").fill("09:00")
    page.get_by_test_id("se-working_hours.end").fill("18:00")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.get_by_test_id(f"se-working_hours.days-{day}").check()
    page.get_by_test_id("se-add-menu").click()
    page.get_by_test_id("se-menu[2].label").fill("看板")
    page.get_by_test_id("se-menu[2].dashboard").fill("purchasing_board")
    page.get_by_test_id("se-working_hours.start").fill("9 am")
    page.locator("[data-path='working_hours.start'].has-error").wait_for()
    page.get_by_test_id("se-working_hours.start").fill("09:00")
    page.locator("[data-path='working_hours.start'].has-error").wait_for(state="detached")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    settings = yaml.safe_load((folder / "app.yaml").read_text())
    assert settings["label"] == {"zh-CN": "采购", "en": "Procurement"}
    assert settings["holidays"] == ["2026-10-01", "2026-10-02", "2026-10-05"]
    assert settings["working_hours"] == {"start": "09:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    assert settings["menu"][2] == {"label": "看板", "dashboard": "purchasing_board"}
    assert settings["demo"]["rows"][0] == {"form": "supplier", "count": 12}  # what was not touched stays


def test_a_record_page_is_edited_in_a_schema_form(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    (folder / "pages").mkdir(exist_ok=True)
    (folder / "pages/supplier_page.yaml").write_text(
        "# the supplier's record page\nkey: supplier_page\nform: supplier\nsections:\n"
        "  - {label: 基本, fields: [name, rating]}\n")
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/pages/supplier_page.yaml")
    page.get_by_test_id("se-sections[0].fields").wait_for()
    assert page.get_by_test_id("se-sections[0].fields").input_value() == "name, rating"
    page.get_by_test_id("se-sections[0].columns").fill("2")
    page.get_by_test_id("se-add-related").click()
    page.get_by_test_id("se-related[0].form").fill("purchase_request")
    page.get_by_test_id("se-related[0].field").fill("supplierr")
    page.get_by_test_id("problems").filter(has_text="supplierr").wait_for()
    page.locator("[data-path^='related[0]'].has-error").first.wait_for()
    page.get_by_test_id("se-related[0].field").fill("supplier")
    page.get_by_test_id("se-related[0].columns").fill("title, amount")
    page.get_by_test_id("se-related[0].limit").fill("10")
    page.get_by_test_id("se-timeline.audit").check()
    page.get_by_test_id("problems").filter(has_text="No problems").wait_for()
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    text = (folder / "pages/supplier_page.yaml").read_text()
    assert text.startswith("# the supplier's record page\n")  # a hand-written comment survives the save
    saved = yaml.safe_load(text)
    assert saved["sections"] == [{"label": "基本", "fields": ["name", "rating"], "columns": 2}]
    assert saved["related"] == [{"form": "purchase_request", "field": "supplier", "columns": ["title", "amount"], "limit": 10}]
    assert saved["timeline"] == {"audit": True}
