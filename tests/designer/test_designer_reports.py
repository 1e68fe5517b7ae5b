"""The report builder's API: the datasets and their fields, the preview of an unsaved report over the published
data with the designer's own rights, saving a report through the draft machinery, and a report on a removed field
shown where it is and refusing publish."""
from __future__ import annotations

import pytest

from designer_support import dapi, folder, plat  # noqa: F401  (fixtures)

URL = "/api/designer/apps/purchasing"
RECORDS = "/api/apps/purchasing/forms/purchase_request/records"
FORM = "forms/purchase_request.yaml"
NEW = "reports/spend_by_urgency.yaml"
REPORT = {"key": "spend_by_urgency", "label": "Spend by urgency", "dataset": "purchase_request",
          "dimensions": ["category"], "measures": [{"agg": "sum", "field": "amount"}, {"agg": "count"}],
          "chart": "bar"}


def _records(dapi) -> None:  # type: ignore[no-untyped-def]
    for user, amount, category in [("alice", 100, "it"), ("alice", 250, "it"), ("bob", 40, "travel")]:
        res = dapi.as_(user).post(RECORDS, json={"title": f"{category} {amount}", "amount": amount,
                                                 "category": category})
        assert res.status_code in (200, 201), res.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_datasets_list_forms_subtables_relations_and_flow_history(dapi) -> None:  # type: ignore[no-untyped-def]
    got = dapi.as_("dora").get(f"{URL}/datasets").json()
    assert got["source"] == "draft"
    by_name = {d["name"]: d for d in got["datasets"]}
    assert {"purchase_request", "supplier", "flow_history:purchase_approval",
            "flow_history:purchase_approval.tasks"} <= set(by_name)
    fields = {f["name"]: f for f in by_name["purchase_request"]["fields"]}
    assert fields["amount"]["numeric"] and fields["amount"]["type"] == "money"
    assert fields["created_at"]["temporal"] and fields["category"]["options"] == ["it", "office", "travel"]
    assert "supplier.city" in fields  # a field of the related record
    history = {f["name"] for f in by_name["flow_history:purchase_approval"]["fields"]}
    assert {"node", "duration_s", "record.amount"} <= history
    assert "user" in {f["name"] for f in by_name["flow_history:purchase_approval.tasks"]["fields"]}
    assert dapi.as_("alice").get(f"{URL}/datasets").status_code == 403


def test_preview_runs_an_unsaved_report_with_the_designers_rights(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    _records(dapi)
    res = dapi.as_("admin").post(f"{URL}/report-preview", json={"path": NEW, "data": REPORT})
    assert res.status_code == 200, res.text
    result = res.json()["result"]
    assert {r["category"]: (r["sum_amount"], r["count"]) for r in result["rows"]} == {
        "it": ("350.00", 2), "travel": ("40.00", 1)}
    assert result["figure"]["data"][0]["type"] == "bar"
    # a designer who may not read the form sees why, not its data
    denied = dapi.as_("dora").post(f"{URL}/report-preview", json={"path": NEW, "data": REPORT}).json()
    assert "result" not in denied and "purchase_request" in denied["message"]
    # nothing was written
    assert not (folder / NEW).exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_preview_of_a_report_on_an_unknown_field_is_located(dapi) -> None:  # type: ignore[no-untyped-def]
    bad = REPORT | {"dimensions": ["categroy"]}
    got = dapi.as_("admin").post(f"{URL}/report-preview", json={"path": NEW, "data": bad}).json()
    assert "result" not in got
    assert [(e["file"], e["path"]) for e in got["errors"]] == [(NEW, "dimensions[0]")]
    assert "category" in got["errors"][0]["hint"]


def test_a_report_saved_as_a_draft_publishes_and_a_removed_field_refuses_publish(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    res = dapi.as_("dora").request("PUT", f"{URL}/files/{NEW}", json={"token": "new", "data": REPORT})
    assert res.status_code == 200, res.text
    assert res.json()["valid"] and res.json()["kind"] == "report"
    text = (folder / NEW).read_text()
    assert text.startswith("key: spend_by_urgency\n") and "dataset: purchase_request" in text
    assert dapi.as_("dora").post(f"{URL}/publish", json={"message": "new report"}).status_code == 200
    # the form loses the field the report groups by: the report is where the problem is, and publish is refused
    form = dapi.as_("dora").get(f"{URL}/files/{FORM}").json()
    form["data"]["fields"] = [f for f in form["data"]["fields"] if f["key"] != "category"]
    saved = dapi.as_("dora").request("PUT", f"{URL}/files/{FORM}", json={"token": form["token"], "data": form["data"]})
    assert saved.status_code == 200 and not saved.json()["valid"]
    mine = [e for e in saved.json()["errors"] if e["file"] == NEW]
    assert mine and mine[0]["path"] == "dimensions[0]" and "category" in mine[0]["message"]
    refused = dapi.as_("dora").post(f"{URL}/publish", json={"message": "drop category"})
    assert refused.status_code == 422
    assert NEW in {d["file"] for d in refused.json()["error"]["details"]}
    # the report opens with its problem listed
    opened = dapi.as_("dora").get(f"{URL}/files/{NEW}").json()
    assert any(e["file"] == NEW and e["path"] == "dimensions[0]" for e in opened["errors"])


BOARD = "reports/draft_board.yaml"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_dashboard_preview_runs_widgets_with_the_drafts_shared_filter_defaults(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    _records(dapi)
    board = {"kind": "dashboard", "key": "draft_board",
             "filters": [{"key": "category", "field": "purchase_request.category", "default": ["travel"]}],
             "widgets": [{"report": "spend_by_category", "x": 0, "y": 0, "w": 6, "h": 4},
                         {"report": "not_published", "x": 6, "y": 0, "w": 6, "h": 4}]}
    got = dapi.as_("admin").post(f"{URL}/dashboard-preview", json={"path": BOARD, "data": board}).json()
    rows = got["widgets"][0]["result"]["rows"]
    assert [(r["category"], r["sum_amount"]) for r in rows] == [("travel", "40.00")]
    assert got["filters"] == {"category": ["travel"]}
    # a widget on a report the app does not have: the widget says so, the draft's problem is located
    assert "not published" in got["widgets"][1]["message"]
    assert [(e["file"], e["path"]) for e in got["errors"]] == [(BOARD, "widgets[1].report")]
    # without the default every category shows (the draft's errors aside)
    board["filters"][0].pop("default")
    board["widgets"].pop()
    got = dapi.as_("admin").post(f"{URL}/dashboard-preview", json={"path": BOARD, "data": board}).json()
    assert got["errors"] == [] and len(got["widgets"][0]["result"]["rows"]) == 2
    # a bad path is refused naming it; nothing is written
    assert dapi.as_("admin").post(f"{URL}/dashboard-preview", json={"path": "../x.yaml", "data": board}).status_code == 400
    assert not (folder / BOARD).exists()
