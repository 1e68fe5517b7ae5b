"""The field-level change list between versions (the versions panel's visual diff): items matched by key or id,
so a moved field is one "reordered" entry and its changes are named by its key; formatting alone is no change."""
from __future__ import annotations

import pytest

from designer_support import dapi, folder, plat  # noqa: F401  (fixtures)
from designer_ui.changes import changes, diff_data

URL = "/api/designer/apps/purchasing"
FORM = "forms/purchase_request.yaml"

OLD = """key: f
fields:
  - {key: a, type: text, label: A}
  - {key: b, type: money, max: 100}
  - {key: c, type: date}
"""
NEW = """# a comment and block style: no change by themselves
key: f
fields:
  - key: b
    type: money
    max: 200
  - {key: a, type: text, label: A}
  - {key: d, type: integer}
"""


def test_items_are_matched_by_key() -> None:
    got = changes({"forms/f.yaml": OLD, "forms/gone.yaml": "key: g\n"}, {"forms/f.yaml": NEW, "forms/new.yaml": "key: n\n"})
    assert [(f["file"], f["change"]) for f in got] == [("forms/f.yaml", "changed"), ("forms/gone.yaml", "removed"),
                                                       ("forms/new.yaml", "added")]
    assert got[0]["items"] == [
        {"path": "fields[b].max", "change": "changed", "old": 100, "new": 200},
        {"path": "fields[d]", "change": "added", "new": {"key": "d", "type": "integer"}},
        {"path": "fields[c]", "change": "removed", "old": {"key": "c", "type": "date"}},
        {"path": "fields", "change": "reordered", "old": ["a", "b"], "new": ["b", "a"]},
    ]
    assert changes({"a.yaml": OLD}, {"a.yaml": OLD.replace("{key: a, type: text, label: A}", "{key: a, label: A, type: text}")}) == [
        {"file": "a.yaml", "change": "changed", "items": [{"path": "", "change": "formatting", "old": None, "new": None}],
         "truncated": False}]


@pytest.mark.parametrize("old, new, expected", [
    ({"edges": [{"from": "a", "to": "b"}]}, {"edges": [{"from": "a", "to": "b", "if": "x > 1"}]},
     [{"path": "edges[a→b].if", "change": "added", "new": "x > 1"}]),
    ({"rules": [["-"], ["1"]]}, {"rules": [["-"], ["2"]]},
     [{"path": "rules", "change": "changed", "old": [["-"], ["1"]], "new": [["-"], ["2"]]}]),
    ({"label": {"zh-CN": "甲", "en": "A"}}, {"label": {"zh-CN": "甲", "en": "B"}},
     [{"path": "label.en", "change": "changed", "old": "A", "new": "B"}]),
])
def test_lists_without_identity_and_nested_values(old, new, expected) -> None:  # type: ignore[no-untyped-def]
    assert diff_data(old, new) == expected


def test_changes_between_a_version_and_the_draft_over_http(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    got = dapi.as_("dora").get(f"{URL}/files/{FORM}").json()
    data = got["data"]
    amount = next(f for f in data["fields"] if f["key"] == "amount")
    amount["max"] = 5000
    data["fields"].append({"key": "ref", "type": "text"})
    assert dapi.as_("dora").request("PUT", f"{URL}/files/{FORM}", json={"token": got["token"], "data": data}).status_code == 200
    listed = dapi.as_("dora").get(f"{URL}/changes?old=1&new=draft").json()
    assert [f["file"] for f in listed["files"]] == [FORM]
    items = {(i["path"], i["change"]) for i in listed["files"][0]["items"]}
    assert items == {("fields[amount].max", "changed"), ("fields[ref]", "added")}
    assert dapi.as_("dora").post(f"{URL}/publish", json={"message": "smaller"}).status_code == 200
    between = dapi.as_("dora").get(f"{URL}/changes?old=1&new=2").json()
    assert between["files"] == listed["files"]
    assert dapi.as_("dora").get(f"{URL}/changes?old=1&new=x").status_code == 400
    assert dapi.as_("dora").get(f"{URL}/changes?old=9").status_code == 404
    assert dapi.as_("alice").get(f"{URL}/changes?old=1").status_code == 403
