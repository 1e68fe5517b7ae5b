"""Flows as an app definition kind: checked against the app's forms, roles and tables with located errors;
`loomwork check` and `loomwork export-bpmn`; the BPMN and simulation endpoints."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import DefinitionErrors
from engine.loader import load_app, read_app_folder
from engine.plugins import Hooks, load_builtin
from flow_engine import FlowSpec
from platform_kit import APPS, app_copy

BAD = """key: bad
form: purchase_request
nodes:
  - {id: start, type: start}
  - {id: check, type: approval, assignees: [{role: buyr}, {decision: nope}, {field: title}], fields: {amout: editable}}
  - {id: again, type: subflow, flow: purchase_approval}
  - {id: done, type: end}
edges:
  - {from: start, to: check, if: "amount > 'x'"}
  - {from: start, to: again, default: true}
  - {from: check, to: done}
  - {from: again, to: done}
"""


def load(folder: Path):  # type: ignore[no-untyped-def]
    files, errors = read_app_folder(folder)
    return load_app(files, load_builtin(Hooks()).kinds, pre_errors=errors)


def test_the_purchasing_flow_loads_as_a_definition() -> None:
    app = load(APPS / "purchasing")
    flow = app.of_kind("flow")["purchase_approval"]
    assert isinstance(flow, FlowSpec) and flow.form == "purchase_request" and flow.start_on == "manual"
    assert [n.id for n in flow.nodes if n.type == "approval"] == ["lead_review", "buyer_check",
                                                                   "finance_countersign", "director_review"]


def test_unknown_roles_fields_tables_and_forms_point_at_file_and_line(tmp_path: Path) -> None:
    folder = app_copy(tmp_path, {"bad": BAD, "orphan": BAD.replace("key: bad", "key: orphan").replace(
        "form: purchase_request", "form: purchase_requst")})
    with pytest.raises(DefinitionErrors) as caught:
        load(folder)
    texts = [str(e) for e in caught.value.errors]
    assert "flows/bad.yaml:5:52: nodes[1].assignees[0].role: unknown role 'buyr' (did you mean 'buyer'?)" in texts
    assert "flows/bad.yaml:5:70: nodes[1].assignees[1].decision: unknown decision table 'nope'" in texts
    assert any(t.startswith("flows/bad.yaml:5:85: nodes[1].assignees[2].field: field 'title' is a text field")
               for t in texts)
    assert "flows/bad.yaml:5:103: nodes[1].fields.amout: unknown field 'amout' (did you mean 'amount'?)" in texts
    assert "flows/bad.yaml:9:35: edges[0].if: cannot order a money and text with >" in texts
    assert "flows/orphan.yaml:2:7: form: unknown form 'purchase_requst' (did you mean 'purchase_request'?)" in texts


def test_a_badly_shaped_name_points_at_file_line_and_field(tmp_path: Path) -> None:
    text = (APPS / "purchasing" / "flows" / "purchase_approval.yaml").read_text()
    text = text.replace("name: {zh-CN: 采购复核, en: Buyer check}", "name: {zh-CN: 采购复核, english: Buyer check}")
    folder = app_copy(tmp_path, {"purchase_approval": text})
    with pytest.raises(DefinitionErrors) as caught:
        load(folder)
    [error] = caught.value.errors
    assert (error.file, error.line, error.path) == ("flows/purchase_approval.yaml", 20, "nodes[2].name")
    assert "english" in error.message


def test_loomwork_check_validates_flows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(APPS / "purchasing")]) == 0
    folder = app_copy(tmp_path, {"bad": BAD})
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "flows/bad.yaml:5:52: nodes[1].assignees[0].role: unknown role 'buyr'" in out


def test_export_bpmn_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--apps-dir", str(APPS), "export-bpmn", "purchasing", "purchase_approval"]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    loom = "{https://loomwork.dev/schema/bpmn/1}type"
    tasks = [t.get(loom) for t in root.findall(".//bpmn:userTask", ns)]
    assert sorted(tasks) == ["approval"] * 4 + ["resubmit"]  # returns to the initiator: a resubmit task
    assert root.find(".//bpmndi:BPMNDiagram", ns) is not None
    target = tmp_path / "out.bpmn"
    assert main(["--apps-dir", str(APPS), "export-bpmn", "purchasing", "purchase_approval", "-o", str(target)]) == 0
    assert target.read_text().startswith("<?xml")
    assert main(["--apps-dir", str(APPS), "export-bpmn", "purchasing", "nope"]) == 1
    assert "no flow 'nope'" in capsys.readouterr().err


def test_bpmn_and_flow_list_endpoints(api) -> None:  # type: ignore[no-untyped-def]
    response = api.as_("alice").get("/api/apps/purchasing/flows/purchase_approval/bpmn")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert b"multiInstanceLoopCharacteristics" in response.content
    flows = api.as_("alice").get("/api/apps/purchasing/flows").json()["flows"]
    assert [f["key"] for f in flows] == ["purchase_approval"]
    assert flows[0]["label"] == "采购审批" and flows[0]["nodes"][2]["name"] == "采购复核"  # alice reads zh-CN
    assert api.as_("alice").get("/api/apps/purchasing/flows/nope/bpmn").status_code == 404


def test_simulate_shows_path_and_people_and_saves_nothing(api) -> None:  # type: ignore[no-untyped-def]
    url = "/api/apps/purchasing/flows/purchase_approval/simulate"
    big = api.as_("alice").post(url, json={"values": {"amount": "900000", "title": "plant"}}).json()
    assert [p["node"] for p in big["path"]] == ["start", "lead_review", "buyer_check", "finance_countersign",
                                               "director_review", "cc_buyers", "approved"]
    assert [p["username"] for p in big["people"]["lead_review"]] == ["east_lead"]
    assert sorted(p["username"] for p in big["people"]["finance_countersign"]) == ["boss", "fin_wang"]
    assert big["outcome"] == "approved" and big["error"] is None
    small = api.as_("alice").post(url, json={"values": {"amount": "20", "urgent": True}}).json()
    assert [p["node"] for p in small["path"]] == ["start", "buyer_check", "cc_buyers", "approved"]
    assert small["path"][1]["name"] == "采购复核"  # in alice's language
    bad = api.as_("alice").post(url, json={"values": {"amount": "lots", "colour": "red"}})
    assert bad.status_code == 422 and {d["field"] for d in bad.json()["error"]["details"]} == {"amount", "colour"}
    assert api.as_("alice").get("/api/flows/inbox").json()["counts"]["initiated"] == 0
