"""The designer's API: reading and saving drafts with version tokens, checks located in the file, publish with rule
tests, versions, diff, roll back, git, and rights — on SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
import pytest
import yaml

from designer_support import dapi, folder, plat  # noqa: F401  (fixtures)

FORM = "forms/purchase_request.yaml"
URL = "/api/designer/apps/purchasing"
#: tests of file handling that touch the database only to sign in: SQLite is enough (publishing runs on both)
FILES_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

COMMENTED = """# Purchase requests: hand-written, with comments the designer must keep.
key: purchase_request
label: {zh-CN: 采购申请, en: Purchase request}
title_field: title
fields:
  - {key: title, type: text, label: 标题, required: true, max_length: 200}
  # how much is asked for, in yuan
  - {key: amount, type: money, label: 金额, min: 1, max: 10000000, required: true}
  - {key: price, type: money}
  - {key: quantity, type: integer, min: 1}  # pieces
  - {key: total, type: formula, expr: "price * quantity", result: money}
  - {key: note, type: textarea, max_length: 2000}
  - {key: supplier, type: relation, to: supplier}
  - {key: needed_by, type: date}
  - {key: urgent, type: boolean, default: false}
  - {key: category, type: select, options: [{value: it, label: IT}, {value: office, label: 办公}, {value: travel, label: 差旅}]}
permissions:
  requester: {create: true, read: own, update: own, delete: own}
"""


def _read(dapi, path=FORM, who="admin"):  # type: ignore[no-untyped-def]
    res = dapi.as_(who).get(f"{URL}/files/{path}")
    assert res.status_code == 200, res.text
    return res.json()


def _save(dapi, token, *, data=None, content=None, path=FORM, who="admin"):  # type: ignore[no-untyped-def]
    body = {"token": token} | ({"data": data} if data is not None else {"content": content})
    return dapi.as_(who).request("PUT", f"{URL}/files/{path}", json=body)


def test_lists_apps_and_files_and_reads_a_file_with_its_token(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    apps = dapi.as_("admin").get("/api/designer/apps").json()
    assert [a["key"] for a in apps["apps"]] == ["purchasing"]
    assert apps["apps"][0]["published_version"] == 1
    files = {f["path"]: f for f in dapi.as_("admin").get(f"{URL}/files").json()["files"]}
    assert files[FORM]["kind"] == "form" and files["rules/approval_level.yaml"]["kind"] == "decision_table"
    got = _read(dapi)
    assert got["content"] == (folder / FORM).read_text()
    assert got["data"]["key"] == "purchase_request" and got["errors"] == []
    assert got["token"] == files[FORM]["token"]
    meta = dapi.as_("admin").get("/api/designer/meta").json()
    assert {"text", "subtable", "formula", "section"} <= {t["name"] for t in meta["field_types"]}
    assert "PMT" in {f["name"] for f in meta["functions"]} and "form" in meta["schemas"]


@FILES_ONLY
def test_a_one_field_change_is_one_hunk_and_comments_survive(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    (folder / FORM).write_text(COMMENTED)
    got = _read(dapi)
    data = got["data"]
    data["fields"][1]["max"] = 5000000
    res = _save(dapi, got["token"], data=data)
    assert res.status_code == 200, res.text
    after = (folder / FORM).read_text()
    changed = [(a, b) for a, b in zip(COMMENTED.splitlines(), after.splitlines()) if a != b]
    assert len(after.splitlines()) == len(COMMENTED.splitlines())
    assert changed == [("  - {key: amount, type: money, label: 金额, min: 1, max: 10000000, required: true}",
                        "  - {key: amount, type: money, label: 金额, min: 1, max: 5000000, required: true}")]
    # moving a field carries its comment along; a new field is written in the file's own style
    data["fields"].insert(0, data["fields"].pop(1))
    data["fields"].append({"key": "lines", "type": "subtable", "fields": [{"key": "item", "type": "text"}]})
    res = _save(dapi, res.json()["token"], data=data)
    text = (folder / FORM).read_text()
    assert text.startswith("# Purchase requests: hand-written")
    assert "fields:\n  # how much is asked for, in yuan\n  - {key: amount," in text
    assert "  - {key: quantity, type: integer, min: 1}  # pieces\n" in text
    assert "  - key: lines\n    type: subtable\n    fields:\n      - {key: item, type: text}\n" in text
    assert res.json()["valid"] is True
    # saving the same data again changes nothing on disk
    before = (folder / FORM).read_bytes()
    assert _save(dapi, res.json()["token"], data=data).status_code == 200
    assert (folder / FORM).read_bytes() == before


@FILES_ONLY
def test_stale_token_is_a_conflict_and_never_overwrites(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    first = _read(dapi)
    second = _read(dapi, who="dora")
    data = first["data"]
    data["fields"][0]["label"] = "主题"
    assert _save(dapi, first["token"], data=data).status_code == 200
    mine = (folder / FORM).read_text()
    other = second["data"]
    other["fields"][0]["label"] = "名称"
    res = _save(dapi, second["token"], data=other, who="dora")
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "conflict" and "changed by someone else" in res.json()["error"]["message"]
    assert (folder / FORM).read_text() == mine
    # a change made by hand on disk is a conflict too
    token = _read(dapi)["token"]
    (folder / FORM).write_text(mine.replace("主题", "手改"))
    assert _save(dapi, token, data=data).status_code == 409
    assert "手改" in (folder / FORM).read_text()
    # creating a file that exists is refused; a new file needs the token "new"
    assert _save(dapi, "new", data=data).status_code == 409
    res = _save(dapi, "new", data={"key": "memo", "label": "Memo", "fields": [{"key": "body", "type": "textarea"}]},
                path="forms/memo.yaml")
    assert res.status_code == 200 and res.json()["valid"] is True
    assert yaml.safe_load((folder / "forms/memo.yaml").read_text())["fields"] == [{"key": "body", "type": "textarea"}]


def test_problems_are_located_and_publish_is_refused(dapi, plat, folder) -> None:  # type: ignore[no-untyped-def]
    (folder / FORM).write_text(COMMENTED)
    got = _read(dapi)
    data = got["data"]
    data["fields"][2]["key"] = "title"                      # a key clash
    del data["fields"][3]                                   # quantity, still used by the formula total
    res = dapi.as_("admin").post(f"{URL}/check", json={"path": FORM, "data": data})
    errors = res.json()["errors"]
    by_path = {e["path"]: e for e in errors}
    assert by_path["fields[2].key"]["message"] == "duplicate field key 'title'"
    assert by_path["fields[2].key"]["file"] == FORM and by_path["fields[2].key"]["line"] == 9
    assert "quantity" in by_path["fields[3].expr"]["message"] and by_path["fields[3].expr"]["line"] == 9 + 1
    assert _read(dapi)["content"] == COMMENTED  # a check writes nothing
    saved = _save(dapi, got["token"], data=data).json()   # a draft with problems is kept, and says so
    assert saved["valid"] is False and {e["path"] for e in saved["errors"]} >= {"fields[2].key", "fields[3].expr"}
    res = dapi.as_("admin").post(f"{URL}/publish", json={"message": "try"})
    assert res.status_code == 422 and res.json()["error"]["code"] == "definition_invalid"
    assert {d["path"] for d in res.json()["error"]["details"]} >= {"fields[2].key", "fields[3].expr"}
    assert [v.number for v in plat.versions("purchasing")] == [1]


def test_publish_versions_diff_and_rollback(dapi, plat, folder) -> None:  # type: ignore[no-untyped-def]
    assert dapi.as_("admin").post(f"{URL}/publish", json={}).status_code == 400  # a message is required
    got = _read(dapi)
    data = got["data"]
    data["fields"][0]["label"] = "主题"
    _save(dapi, got["token"], data=data)
    history = dapi.as_("dora").get(f"{URL}/versions").json()
    assert history["draft_changed"] is True and history["git"] is None
    draft_diff = dapi.as_("dora").get(f"{URL}/diff", params={"old": 1, "new": "draft"}).text
    assert "-  - {key: title, type: text, label: 标题" in draft_diff and "+  - {key: title, type: text, label: 主题" in draft_diff
    res = dapi.as_("dora").post(f"{URL}/publish", json={"message": "rename the title"})
    assert res.status_code == 200, res.text
    assert (res.json()["number"], res.json()["author"], res.json()["changed"]) == (2, "dora", True)
    assert plat.apps["purchasing"].version == 2
    versions = dapi.as_("dora").get(f"{URL}/versions").json()
    assert [(v["number"], v["author"], v["message"]) for v in versions["versions"]] == [
        (2, "dora", "rename the title"), (1, "setup", "first")]
    assert versions["draft_changed"] is False
    assert "label: 主题" in dapi.as_("dora").get(f"{URL}/diff", params={"old": 1, "new": 2}).text
    res = dapi.as_("dora").post(f"{URL}/rollback", json={"version": 1})
    assert res.status_code == 200 and res.json()["number"] == 3
    assert "label: 标题" in (folder / FORM).read_text()  # the folder holds the rolled-back files again
    assert dapi.as_("dora").get(f"{URL}/versions").json()["draft_changed"] is False


def test_failing_rule_tests_refuse_publish(dapi, plat, folder) -> None:  # type: ignore[no-untyped-def]
    path = "rules/approval_level.yaml"
    got = _read(dapi, path)
    data = got["data"]
    data["tests"][0]["expect"]["level"] = "board"
    assert _save(dapi, got["token"], data=data, path=path).json()["valid"] is True
    ran = dapi.as_("admin").post(f"{URL}/rule-tests").json()
    assert (ran["passed"], ran["failed"]) == (3, 1)
    assert "approval_level test 1 FAILED" in ran["failures"][0]
    # the editor runs them on its unsaved grid too
    data["tests"][0]["expect"]["level"] = "team"
    ran = dapi.as_("admin").post(f"{URL}/rule-tests", json={"path": path, "data": data}).json()
    assert (ran["passed"], ran["failed"]) == (4, 0)
    data["tests"][0]["expect"]["level"] = "board"
    res = dapi.as_("admin").post(f"{URL}/publish", json={"message": "x"})
    assert res.status_code == 422 and res.json()["error"]["code"] == "rule_tests_failed"
    assert res.json()["error"]["details"][0]["file"] == path
    assert [v.number for v in plat.versions("purchasing")] == [1]


@FILES_ONLY
def test_rights_csrf_and_paths(dapi, plat) -> None:  # type: ignore[no-untyped-def]
    assert dapi.as_(None).get(f"{URL}/files").status_code == 401
    assert dapi.as_("alice").get(f"{URL}/files").status_code == 403
    assert dapi.as_("alice").post(f"{URL}/publish", json={"message": "x"}).status_code == 403
    assert dapi.as_("dora").get(f"{URL}/files").status_code == 200
    for bad in ("../../etc/passwd.yaml", "forms/.hidden.yaml", "forms/x.py", "nowhere/x.yaml", "forms/a/b.yaml"):
        res = _save(dapi, "new", content="key: x\n", path=bad)
        assert res.status_code in (400, 404), (bad, res.status_code)
    # a browser session must send the CSRF token with every change
    client = dapi.client
    login = client.post("/api/auth/login", json={"username": "dora", "password": "demo-pass-2026"})
    assert login.status_code == 200
    token = _read(dapi)["token"]
    body = {"token": token, "content": "key: purchase_request\n"}
    assert client.put(f"{URL}/files/{FORM}", json=body).status_code == 403
    ok = client.put(f"{URL}/files/{FORM}", json=body, headers={"X-CSRF-Token": login.json()["csrf_token"]})
    assert ok.status_code == 200 and ok.json()["valid"] is False


@FILES_ONLY
def test_preview_runs_conditions_and_formulas(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(COMMENTED)
    data["fields"].append({"key": "reason", "type": "text", "visible_if": "amount > 1000"})
    res = dapi.as_("admin").post(f"{URL}/preview", json={"path": FORM, "data": data,
                                                        "values": {"amount": "5000", "price": "2.5", "quantity": "4"}})
    out = res.json()
    assert out["visible"]["reason"] is True and out["computed"]["total"] == "10.00"
    out = dapi.as_("admin").post(f"{URL}/preview", json={"path": FORM, "data": data, "values": {"amount": "10"}}).json()
    assert out["visible"]["reason"] is False


@FILES_ONLY
def test_simulate_a_draft_flow(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    flow = {"key": "request_approval", "form": "purchase_request", "nodes": [
        {"id": "start", "type": "start"},
        {"id": "route", "type": "exclusive"},
        {"id": "buyer_review", "type": "approval", "assignees": {"role": "buyer"}},
        {"id": "finance_review", "type": "approval", "assignees": {"role": "finance"}},
        {"id": "done", "type": "end", "outcome": "approved"}],
        "edges": [{"from": "start", "to": "route"},
                  {"from": "route", "to": "finance_review", "if": "amount > 5000"},
                  {"from": "route", "to": "buyer_review", "default": True},
                  {"from": "buyer_review", "to": "done"}, {"from": "finance_review", "to": "done"}]}
    path = "flows/request_approval.yaml"
    big = dapi.as_("admin").post(f"{URL}/simulate", json={"path": path, "data": flow, "record": {"amount": "8000"}}).json()
    finance = [u["username"] for u in yaml.safe_load((folder / "org.yaml").read_text())["users"] if "finance" in u.get("roles", [])]
    assert big["path"] == ["start", "route", "finance_review", "done"]
    assert big["people"] == {"finance_review": finance} and finance
    small = dapi.as_("admin").post(f"{URL}/simulate", json={"path": path, "data": flow, "record": {"amount": "80"}}).json()
    assert small["path"] == ["start", "route", "buyer_review", "done"]
    flow["edges"].append({"from": "done", "to": "nowhere"})
    bad = dapi.as_("admin").post(f"{URL}/simulate", json={"path": path, "data": flow, "record": {}}).json()
    assert any("nowhere" in e["message"] and e["path"].startswith("edges[5]") for e in bad["errors"])


def test_publish_commits_when_the_apps_folder_is_a_git_repository(dapi, plat, folder) -> None:  # type: ignore[no-untyped-def]
    root = folder.parent
    run = lambda *args: subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True)  # noqa: E731
    run("init", "-q")
    run("-c", "user.name=Setup", "-c", "user.email=setup@example.com", "add", ".")
    run("-c", "user.name=Setup", "-c", "user.email=setup@example.com", "commit", "-q", "-m", "initial")
    got = _read(dapi, who="dora")
    data = got["data"]
    data["fields"][0]["label"] = "主题"
    _save(dapi, got["token"], data=data, who="dora")
    res = dapi.as_("dora").post(f"{URL}/publish", json={"message": "rename the title"}).json()
    assert res["git"]["committed"] is True
    log = run("log", "-1", "--format=%an <%ae>|%s").stdout.strip()
    assert log == "Dora Designer <dora@example.com>|rename the title"
    assert run("status", "--porcelain").stdout == ""
    history = dapi.as_("dora").get(f"{URL}/versions").json()["git"]
    assert [c["message"] for c in history] == ["rename the title", "initial"]
    assert history[0]["author"] == "Dora Designer"


@FILES_ONLY
def test_the_designer_page_is_served_with_its_libraries(dapi) -> None:  # type: ignore[no-untyped-def]
    page = dapi.as_("dora").get("/designer/")
    assert page.status_code == 200 and "/designer/static/app.js" in page.text
    assert '<a href="/designer/"' in page.text  # the navigation links designers to it
    assert "/designer/" not in dapi.as_("alice").get("/").text
    assert dapi.as_("alice").get("/designer/").status_code == 403
    anonymous = dapi.as_(None).get("/designer/", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert dapi.as_("dora").get("/designer/static/form_designer.js").status_code == 200
    assert dapi.as_(None).get("/designer/static/form_designer.js", follow_redirects=False).status_code == 303
    assert dapi.as_("dora").get("/designer/static/..%2Fpages.py").status_code == 404
    lib = dapi.client.get("/vendor/sortablejs/Sortable.min.js")
    assert lib.status_code == 200 and "Sortable" in lib.text[:3000]
    assert dapi.client.get("/vendor/drawflow/dist/drawflow.min.js").status_code == 200


@FILES_ONLY
def test_one_expression_is_checked_against_the_draft_form(dapi) -> None:  # type: ignore[no-untyped-def]
    form = _read(dapi)["data"]
    form["fields"].append({"key": "lines", "type": "subtable", "fields": [{"key": "qty", "type": "integer"}]})

    def check(expr, field=""):  # type: ignore[no-untyped-def]
        res = dapi.as_("dora").post(f"{URL}/expression", json={"path": FORM, "data": form, "field": field, "expr": expr})
        assert res.status_code == 200, res.text
        return res.json()

    assert check("amount > 1000 and supplier.rating == 'A'") == {"ok": True, "type": "boolean"}
    bad = check("amout > 1000")
    assert not bad["ok"] and "amout" in bad["message"] and bad["hint"] == "did you mean 'amount'?" and bad["col"] == 1
    assert not check("amount >> 1")["ok"]
    assert not check("NOSUCHFN(amount)")["ok"]
    # inside a sub-table row: the row's fields and the parent record
    row = f"fields[{len(form['fields']) - 1}].fields[0]"
    assert check("qty * parent.amount", row)["ok"] and not check("qty * amount", row)["ok"]
    assert check("")["ok"]
    assert dapi.as_("alice").post(f"{URL}/expression", json={"path": FORM, "expr": "1"}).status_code == 403
    assert dapi.as_("dora").post(f"{URL}/expression", json={"path": FORM, "expr": 5}).status_code == 400
