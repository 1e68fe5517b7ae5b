"""BPMN 2.0 export: valid against the BPMN XSD, complete diagram, the mapping of modes, branches and timers, and
a lossless round trip through ``from_bpmn``."""
from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from conftest import DATA, load
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from lxml import etree

from flow_engine import load_flow
from flow_engine.bpmn import BPMN, BPMNDI, DC, DI, from_bpmn, iso_duration, parse_iso_duration, to_bpmn
from flow_engine.dump import to_definition
from engine.source import parse_text

VALID = sorted(p.stem for p in (DATA / "valid").glob("*.yaml"))
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "exclusiveGateway", "parallelGateway", "sendTask",
              "serviceTask", "callActivity", "boundaryEvent")


def export(name: str) -> ET.Element:
    return ET.fromstring(to_bpmn(load(f"valid/{name}")))


@pytest.mark.parametrize("name", VALID)
def test_export_is_valid_bpmn(name: str) -> None:
    xml = to_bpmn(load(f"valid/{name}"))
    BpmnValidator().validate(etree.fromstring(xml.encode()))  # the BPMN 2.0 XSD shipped with SpiffWorkflow


@pytest.mark.parametrize("name", VALID)
def test_every_node_has_a_shape_and_every_flow_an_edge(name: str) -> None:
    root = export(name)
    process = root.find("bpmn:process", NS)
    assert process is not None
    nodes = [el for el in process if el.tag.split("}")[1] in FLOW_NODES]
    flows = process.findall("bpmn:sequenceFlow", NS)
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert {n.get("id") for n in nodes} == set(shapes)
    assert {f.get("id") for f in flows} == set(edges)
    for shape in shapes.values():
        bounds = shape.find("dc:Bounds", NS)
        assert bounds is not None and int(bounds.get("width") or 0) > 0
    for edge in edges.values():
        assert len(edge.findall("di:waypoint", NS)) >= 2
    plane = root.find(".//bpmndi:BPMNPlane", NS)
    assert plane is not None and plane.get("bpmnElement") == process.get("id")


@pytest.mark.parametrize("name", VALID)
def test_incoming_and_outgoing_on_every_node(name: str) -> None:
    process = export(name).find("bpmn:process", NS)
    assert process is not None
    flows = {f.get("id"): f for f in process.findall("bpmn:sequenceFlow", NS)}
    for el in process:
        if el.tag.split("}")[1] not in FLOW_NODES or el.tag.endswith("boundaryEvent"):
            continue
        ins = [i.text for i in el.findall("bpmn:incoming", NS)]
        outs = [o.text for o in el.findall("bpmn:outgoing", NS)]
        assert ins == [k for k, f in flows.items() if f.get("targetRef") == el.get("id")]
        assert outs == [k for k, f in flows.items() if f.get("sourceRef") == el.get("id")]
        assert ins or outs


def test_branches_defaults_and_conditions() -> None:
    process = export("purchase_request").find("bpmn:process", NS)
    assert process is not None
    gateway = process.find("bpmn:exclusiveGateway[@id='finance_review__verdict']", NS)  # verdict and branches at once
    assert gateway is not None and gateway.get("default") == "Flow_e5"
    assert process.find("bpmn:exclusiveGateway[@id='finance_review__branch']", NS) is None
    condition = process.find("bpmn:sequenceFlow[@id='Flow_e4']/bpmn:conditionExpression", NS)
    assert condition is not None and condition.text == "amount > 500000"
    exclusive = export("expense_claim").find("bpmn:process/bpmn:exclusiveGateway[@id='route']", NS)
    assert exclusive is not None and exclusive.get("default") is None  # covered by a complete pair


@pytest.mark.parametrize(("node", "sequential", "condition"), [
    ("finance_review", "false", "nrOfReturns >= 1"),  # all, reject_policy after_all: only a return stops it early
    ("director_review", "false", "nrOfApprovals * 100 >= nrOfInstances * 60 or "
                                 "(nrOfInstances - nrOfRejections) * 100 < nrOfInstances * 60 or nrOfReturns >= 1"),
])
def test_multi_instance_modes(node: str, sequential: str, condition: str | None) -> None:
    task = export("purchase_request").find(f"bpmn:process/bpmn:userTask[@id='{node}']", NS)
    assert task is not None
    loop = task.find("bpmn:multiInstanceLoopCharacteristics", NS)
    assert loop is not None and loop.get("isSequential") == sequential
    assert loop.findtext("bpmn:completionCondition", namespaces=NS) == condition
    assert loop.findtext("bpmn:loopDataInputRef", namespaces=NS) == f"assignees_{node}"


def test_sequential_any_and_quorum_count() -> None:
    process = export("supplier_purchase").find("bpmn:process", NS)
    assert process is not None
    loops = {t.get("id"): t.find("bpmn:multiInstanceLoopCharacteristics", NS) for t in process.findall("bpmn:userTask", NS)}
    assert loops["initial_review"] is None  # single: a plain user task
    assert loops["sign_off"] is not None and loops["sign_off"].get("isSequential") == "true"
    assert loops["finance_review"].findtext("bpmn:completionCondition", namespaces=NS) == "nrOfCompletedInstances >= 1"
    assert process.find("bpmn:parallelGateway[@id='checks']", NS) is not None
    assert process.find("bpmn:parallelGateway[@id='checks_done']", NS) is not None


def test_sla_becomes_boundary_timers() -> None:
    process = export("purchase_request").find("bpmn:process", NS)
    assert process is not None
    timers = {b.get("id"): b for b in process.findall("bpmn:boundaryEvent", NS)}
    assert set(timers) == {"lead_review__remind", "lead_review__escalate"}
    assert timers["lead_review__escalate"].get("attachedToRef") == "lead_review"
    assert timers["lead_review__escalate"].findtext(".//bpmn:timeDuration", namespaces=NS) == "P2D"
    assert timers["lead_review__remind"].get("cancelActivity") == "false"


def test_translated_names_export_in_the_apps_language_and_come_back_whole() -> None:
    flow = load("valid/leave_request")
    process = ET.fromstring(to_bpmn(flow)).find("bpmn:process", NS)
    assert process is not None and process.get("name") == "请假审批"
    lead = process.find("bpmn:userTask[@id='lead']", NS)
    assert lead is not None and lead.get("name") == "主管审批"  # what other tools show
    data = from_bpmn(to_bpmn(flow))
    assert data["label"] == {"zh-CN": "请假审批", "en": "Leave request"}
    assert next(n for n in data["nodes"] if n["id"] == "lead")["name"] == {"zh-CN": "主管审批", "en": "Lead's approval"}
    assert next(n for n in data["nodes"] if n["id"] == "start")["name"] == "提交"


@pytest.mark.parametrize("name", VALID)
def test_round_trip(name: str) -> None:
    flow = load(f"valid/{name}")
    data = from_bpmn(to_bpmn(flow))
    assert data == to_definition(flow)
    import yaml

    again = load_flow(parse_text(yaml.safe_dump(data, allow_unicode=True), f"{name}.yaml"))
    assert again.nodes == flow.nodes and again.edges == flow.edges and dict(again.joins) == dict(flow.joins)


@pytest.mark.parametrize(("text", "iso"), [("30m", "PT30M"), ("8h", "PT8H"), ("2d", "P2D"), ("26h", "P1DT2H")])
def test_iso_durations(text: str, iso: str) -> None:
    from flow_engine import parse_duration

    assert iso_duration(parse_duration(text)) == iso
    assert parse_iso_duration(iso) == parse_duration(text)


LOOM = "{https://loomwork.dev/schema/bpmn/1}"


def _flows_from(process: ET.Element, source: str) -> dict[str, ET.Element]:
    return {f.get("targetRef") or "": f for f in process.findall("bpmn:sequenceFlow", NS) if f.get("sourceRef") == source}


def test_rejection_ends_the_instance_from_a_verdict_gateway() -> None:
    process = export("purchase_request").find("bpmn:process", NS)
    assert process is not None
    task = process.find("bpmn:userTask[@id='lead_review']", NS)
    assert task is not None and task.findtext("bpmn:outgoing", namespaces=NS) == "Flow_lead_review__verdict"
    out = _flows_from(process, "lead_review__verdict")
    assert list(out) == ["lead_review__rejected", "start__resubmit", "finance_review"]
    assert out["lead_review__rejected"].findtext("bpmn:conditionExpression", namespaces=NS) == \
        "lead_review_vote == 'reject'"
    end = process.find("bpmn:endEvent[@id='lead_review__rejected']", NS)
    assert end is not None and end.get(f"{LOOM}outcome") == "rejected"
    assert end.find("bpmn:terminateEventDefinition", NS) is not None  # parallel branches end too
    gateway = process.find("bpmn:exclusiveGateway[@id='lead_review__verdict']", NS)
    assert gateway is not None and gateway.get("default") == "Flow_e3"  # approved: on along the one plain edge
    conditions = {t: f.findtext("bpmn:conditionExpression", namespaces=NS)
                  for t, f in _flows_from(process, "finance_review__verdict").items()}
    assert conditions == {  # countersign with reject_policy after_all: a return wins over a rejection
        "finance_review__rejected": "'reject' in votes_finance_review and votes_finance_review.count('approve') + "
                                    "votes_finance_review.count('reject') == len(votes_finance_review)",
        "lead_review": "'return:lead_review' in votes_finance_review",
        "start__resubmit": "'return:initiator' in votes_finance_review",
        "director_review": "amount > 500000", "approved": None}
    quorum = _flows_from(process, "director_review__verdict")["director_review__rejected"]
    assert quorum.findtext("bpmn:conditionExpression", namespaces=NS).startswith(
        "votes_director_review.count('approve') * 100 < len(assignees_director_review) * 60")


@pytest.mark.parametrize(("name", "node", "targets"), [
    ("purchase_request", "director_review", ["finance_review"]),  # previous: the node before it on every path
    ("purchase_request", "finance_review", ["lead_review", "initiator"]),
    ("leave_request", "hr", ["lead", "initiator"]),  # any_earlier
    ("supplier_purchase", "audit", []),
])
def test_returns_go_back_to_every_allowed_target(name: str, node: str, targets: list[str]) -> None:
    process = export(name).find("bpmn:process", NS)
    assert process is not None
    back = [f for f in process.findall("bpmn:sequenceFlow", NS) if f.get(f"{LOOM}kind") == "return"
            and f.get("sourceRef") == f"{node}__verdict"]
    assert [f.get(f"{LOOM}to") for f in back] == targets
    for flow in back:
        to = flow.get(f"{LOOM}to")
        assert flow.get("targetRef") == ("start__resubmit" if to == "initiator" else to)
        assert f"return:{to}" in (flow.findtext("bpmn:conditionExpression", namespaces=NS) or "")


def test_the_resubmit_task_goes_on_from_the_start() -> None:
    process = export("purchase_request").find("bpmn:process", NS)
    assert process is not None
    resubmit = process.find("bpmn:userTask[@id='start__resubmit']", NS)
    assert resubmit is not None and resubmit.get(f"{LOOM}type") == "resubmit"
    assert list(_flows_from(process, "start__resubmit")) == ["start__branch"]  # the start's own branches
    assert export("supplier_purchase").find("bpmn:process/bpmn:userTask[@id='start__resubmit']", NS) is None


def test_back_flows_are_drawn_above_and_rejections_below() -> None:
    root = export("purchase_request")
    bounds = {s.get("bpmnElement"): s.find("dc:Bounds", NS) for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    box = {k: tuple(int(b.get(a) or 0) for a in ("x", "y", "width", "height")) for k, b in bounds.items() if b is not None}
    top = min(y for k, (x, y, w, h) in box.items())
    points = {e.get("bpmnElement"): [(int(p.get("x") or 0), int(p.get("y") or 0)) for p in e.findall("di:waypoint", NS)]
              for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    back = points["Flow_finance_review__return_lead_review"]
    assert len(back) == 4 and back[1][1] < top and back[1][1] == back[2][1]  # a lane above every shape
    assert back[-1] == (box["lead_review"][0] + box["lead_review"][2] // 2, box["lead_review"][1])
    gx, gy, gw, gh = box["lead_review__verdict"]
    ex, ey, ew, eh = box["lead_review__rejected"]
    assert ex + ew // 2 == gx + gw // 2 and ey > gy + gh  # right under its gateway
    assert points["Flow_lead_review__reject"] == [(gx + gw // 2, gy + gh), (gx + gw // 2, ey)]
    lanes = {p[1][1] for k, p in points.items() if "__return_" in (k or "")}
    assert len(lanes) == sum(1 for k in points if "__return_" in (k or ""))  # one lane per back flow


def test_loan_flows_export_valid_bpmn_and_round_trip() -> None:
    from engine.loader import load_app_folder
    from engine.plugins import Hooks, load_builtin
    from tests.loan.loan_data import LOAN_DIR

    app = load_app_folder(LOAN_DIR, load_builtin(Hooks()).kinds)
    for flow in app.of_kind("flow").values():
        xml = to_bpmn(flow)
        BpmnValidator().validate(etree.fromstring(xml.encode()))
        assert from_bpmn(xml) == to_definition(flow)
