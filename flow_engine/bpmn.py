"""BPMN 2.0 interchange: ``to_bpmn(flow)`` writes XML that bpmn.io and Camunda Modeler open (with a diagram);
``from_bpmn(xml)`` reads the same subset back into definition data.

Mapping: approval/fill → userTask (approval modes as ``multiInstanceLoopCharacteristics`` over the collection
``assignees_<node>`` (item ``<node>_assignee``; each instance's ``<node>_vote`` is collected in ``votes_<node>``) with
a ``completionCondition`` in terms of ``nrOfInstances``, ``nrOfCompletedInstances`` and
``nrOfApprovals``); exclusive → exclusiveGateway with ``default``; a non-gateway node with conditional edges gets
an ``<id>__branch`` exclusiveGateway after it; parallel/join → parallelGateway (a split that several paths reach
gets an ``<id>__merge`` exclusiveGateway in front, or BPMN would wait for all of them); notify → sendTask; automation →
serviceTask; subflow → callActivity; SLAs → non-interrupting boundary timer events. What BPMN has no element for
(assignee rules, field rights, reasons, returns …) travels in ``loom:`` extension elements, so a round trip keeps
the whole definition.
"""
from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import networkx as nx

from .dump import node_to_data
from .spec import FlowSpec, NodeSpec, format_duration

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LOOM = "https://loomwork.dev/schema/bpmn/1"
for _prefix, _uri in (("bpmn", BPMN), ("bpmndi", BPMNDI), ("dc", DC), ("di", DI), ("xsi", XSI), ("loom", LOOM)):
    ET.register_namespace(_prefix, _uri)

#: Shape sizes (width, height) by BPMN element.
SIZES = {"startEvent": (36, 36), "endEvent": (36, 36), "exclusiveGateway": (50, 50), "parallelGateway": (50, 50)}
TASK_SIZE = (100, 80)
#: Layout: distance between layers and between lanes of a layer.
LAYER_GAP, ROW_GAP, MARGIN = 170, 130, 60
ELEMENT = {"start": "startEvent", "end": "endEvent", "approval": "userTask", "fill": "userTask",
           "exclusive": "exclusiveGateway", "parallel": "parallelGateway", "join": "parallelGateway",
           "notify": "sendTask", "automation": "serviceTask", "subflow": "callActivity"}
#: Keys of a node's definition that BPMN itself carries (the rest goes to the loom extension).
_STRUCTURAL = {"id", "type", "name", "mode", "quorum", "outcome", "flow"}
BRANCH, MERGE = "__branch", "__merge"


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def iso_duration(delta: timedelta) -> str:
    """``timedelta`` → ISO 8601 duration (``P2D``, ``PT8H``, ``PT30M``)."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    out = "P" + (f"{days}D" if days else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return out + ("T" + time if time else "") if (days or time) else "PT0M"


_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


def parse_iso_duration(text: str) -> timedelta:
    """ISO 8601 ``PnDTnHnM`` → ``timedelta`` (``ValueError`` otherwise)."""
    match = _ISO.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def completion_condition(node: NodeSpec) -> str | None:
    """The multi-instance completion condition for an approval node's mode (None: when all have completed)."""
    if node.type == "fill" or node.mode == "any":
        return "nrOfCompletedInstances >= 1"
    if node.mode == "quorum" and node.quorum is not None and node.reject_policy != "after_all":
        if node.quorum.count is not None:
            return f"nrOfApprovals >= {node.quorum.count}"
        return f"nrOfApprovals * 100 >= nrOfInstances * {node.quorum.percent:g}"
    return None


# -- export -----------------------------------------------------------------------------------------------------------
def _bpmn_graph(flow: FlowSpec) -> tuple[list[tuple[str, str, NodeSpec | None]], list[dict[str, Any]]]:
    """BPMN elements (id, element, node) and sequence flows, with branch gateways made explicit."""
    elements: list[tuple[str, str, NodeSpec | None]] = []
    flows: list[dict[str, Any]] = []
    merged = {n.id for n in flow.nodes if n.type == "parallel" and len(flow.into(n.id)) > 1}
    for node in flow.nodes:
        if node.id in merged:  # paths meeting at a split merge first: a parallel gateway would wait for all
            elements.append((node.id + MERGE, "exclusiveGateway", None))
            flows.append({"id": f"Flow_{node.id}{MERGE}", "source": node.id + MERGE, "target": node.id, "edge": None})
        elements.append((node.id, ELEMENT[node.type], node))
        outs = flow.out(node.id)
        branching = any(e.condition is not None or e.default for e in outs) and node.type != "exclusive"
        source = node.id
        if branching:
            source = node.id + BRANCH
            elements.append((source, "exclusiveGateway", None))
            flows.append({"id": f"Flow_{node.id}{BRANCH}", "source": node.id, "target": source, "edge": None})
        for edge in outs:
            target = edge.target + MERGE if edge.target in merged else edge.target
            flows.append({"id": f"Flow_{edge.id}", "source": source, "target": target, "edge": edge})
    return elements, flows


def _layout(elements: list[tuple[str, str, NodeSpec | None]],
            flows: list[dict[str, Any]]) -> dict[str, tuple[int, int, int, int]]:
    """Bounds (x, y, width, height) per element: layers by topological generation, centred rows."""
    graph = nx.DiGraph()
    graph.add_nodes_from(e[0] for e in elements)
    graph.add_edges_from((f["source"], f["target"]) for f in flows)
    kinds = {e[0]: e[1] for e in elements}
    order = {e[0]: i for i, e in enumerate(elements)}
    try:
        layers = [sorted(layer, key=order.get) for layer in nx.topological_generations(graph)]
    except nx.NetworkXUnfeasible:  # not a DAG (never for a checked flow): one element per layer
        layers = [[e[0]] for e in elements]
    widest = max(len(layer) for layer in layers)
    bounds = {}
    for i, layer in enumerate(layers):
        top = MARGIN + (widest - len(layer)) * ROW_GAP // 2
        for j, element_id in enumerate(layer):
            width, height = SIZES.get(kinds[element_id], TASK_SIZE)
            cx = MARGIN + 50 + i * LAYER_GAP
            cy = top + 40 + j * ROW_GAP
            bounds[element_id] = (cx - width // 2, cy - height // 2, width, height)
    return bounds


def _waypoints(src: tuple[int, int, int, int], dst: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    sx, sy = src[0] + src[2], src[1] + src[3] // 2
    tx, ty = dst[0], dst[1] + dst[3] // 2
    if sy == ty:
        return [(sx, sy), (tx, ty)]
    mid = (sx + tx) // 2
    return [(sx, sy), (mid, sy), (mid, ty), (tx, ty)]


def to_bpmn(flow: FlowSpec) -> str:
    """The flow as a BPMN 2.0 XML document with a complete ``bpmndi`` diagram."""
    elements, flows = _bpmn_graph(flow)
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for f in flows:
        outgoing.setdefault(f["source"], []).append(f["id"])
        incoming.setdefault(f["target"], []).append(f["id"])
    root = ET.Element(_q(BPMN, "definitions"), {
        "id": f"Definitions_{flow.key}", "targetNamespace": "https://loomwork.dev/bpmn",
        "exporter": "Loomwork", "exporterVersion": "1"})
    process = ET.SubElement(root, _q(BPMN, "process"), {
        "id": f"Process_{flow.key}", "name": flow.label or flow.key, "isExecutable": "true",
        _q(LOOM, "form"): flow.form, _q(LOOM, "key"): flow.key})
    boundaries: list[tuple[str, str, NodeSpec]] = []
    for element_id, kind, node in elements:
        attrs = {"id": element_id}
        if node is not None and node.name:
            attrs["name"] = node.name
        elif node is not None and node.type == "end":
            attrs["name"] = node.outcome or ""
        if kind == "exclusiveGateway":
            default = next((f["id"] for f in flows if f["source"] == element_id and f["edge"] and f["edge"].default),
                           None)
            if default:
                attrs["default"] = default
        if node is not None:
            attrs[_q(LOOM, "type")] = node.type
            if node.type == "end":
                attrs[_q(LOOM, "outcome")] = node.outcome or ""
            if node.type == "subflow":
                attrs["calledElement"] = f"Process_{node.flow}"
        else:
            attrs[_q(LOOM, "type")] = "merge" if element_id.endswith(MERGE) else "branch"
        el = ET.SubElement(process, _q(BPMN, kind), attrs)
        extra = {k: v for k, v in node_to_data(node).items() if k not in _STRUCTURAL} if node else {}
        if node is not None and node.type == "approval":
            extra["mode"] = node.mode
            if node.quorum is not None:
                extra["quorum"] = node_to_data(node)["quorum"]
        if extra:
            ext = ET.SubElement(el, _q(BPMN, "extensionElements"))
            ET.SubElement(ext, _q(LOOM, "definition")).text = json.dumps(extra, ensure_ascii=False, sort_keys=True)
        for flow_id in incoming.get(element_id, ()):
            ET.SubElement(el, _q(BPMN, "incoming")).text = flow_id
        for flow_id in outgoing.get(element_id, ()):
            ET.SubElement(el, _q(BPMN, "outgoing")).text = flow_id
        if node is not None and node.is_user_node and not (node.type == "approval" and node.mode == "single"):
            _loop(el, node)
        if node is not None and node.sla is not None:
            boundaries.append((element_id, kind, node))
    timers = []
    for element_id, _, node in boundaries:
        sla = node.sla
        assert sla is not None
        for which, delay in (("remind", sla.remind_after), ("escalate", sla.escalate_after)):
            if delay is None:
                continue
            interrupting = which == "escalate" and sla.escalate is not None and sla.escalate.action != "notify_manager"
            timer_id = f"{element_id}__{which}"
            ev = ET.SubElement(process, _q(BPMN, "boundaryEvent"), {
                "id": timer_id, "name": f"{which} after {format_duration(delay)}", "attachedToRef": element_id,
                "cancelActivity": "true" if interrupting else "false", _q(LOOM, "timer"): which})
            definition = ET.SubElement(ev, _q(BPMN, "timerEventDefinition"), {"id": f"{timer_id}_def"})
            ET.SubElement(definition, _q(BPMN, "timeDuration"), {_q(XSI, "type"): "bpmn:tFormalExpression"}).text = \
                iso_duration(delay)
            timers.append((timer_id, element_id))
    for f in flows:
        sf = ET.SubElement(process, _q(BPMN, "sequenceFlow"), {"id": f["id"], "sourceRef": f["source"],
                                                                "targetRef": f["target"]})
        edge = f["edge"]
        if edge is not None and edge.condition is not None:
            ET.SubElement(sf, _q(BPMN, "conditionExpression"), {_q(XSI, "type"): "bpmn:tFormalExpression"}).text = \
                edge.condition
    _diagram(root, flow, elements, flows, timers)
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _loop(el: ET.Element, node: NodeSpec) -> None:
    loop = ET.SubElement(el, _q(BPMN, "multiInstanceLoopCharacteristics"),
                         {"isSequential": "true" if node.mode == "sequential" else "false"})
    ET.SubElement(loop, _q(BPMN, "loopDataInputRef")).text = f"assignees_{node.id}"
    ET.SubElement(loop, _q(BPMN, "loopDataOutputRef")).text = f"votes_{node.id}"
    ET.SubElement(loop, _q(BPMN, "inputDataItem"), {"id": f"{node.id}_assignee", "name": "assignee"})
    ET.SubElement(loop, _q(BPMN, "outputDataItem"), {"id": f"{node.id}_vote", "name": "vote"})
    condition = completion_condition(node)
    if condition:
        ET.SubElement(loop, _q(BPMN, "completionCondition"), {_q(XSI, "type"): "bpmn:tFormalExpression"}).text = \
            condition


def _diagram(root: ET.Element, flow: FlowSpec, elements: list[tuple[str, str, NodeSpec | None]],
             flows: list[dict[str, Any]], timers: list[tuple[str, str]]) -> None:
    bounds = _layout(elements, flows)
    diagram = ET.SubElement(root, _q(BPMNDI, "BPMNDiagram"), {"id": f"Diagram_{flow.key}"})
    plane = ET.SubElement(diagram, _q(BPMNDI, "BPMNPlane"), {"id": f"Plane_{flow.key}",
                                                              "bpmnElement": f"Process_{flow.key}"})

    def shape(element_id: str, box: tuple[int, int, int, int], **extra: str) -> None:
        attrs = {"id": f"{element_id}_di", "bpmnElement": element_id, **extra}
        sh = ET.SubElement(plane, _q(BPMNDI, "BPMNShape"), attrs)
        x, y, w, h = box
        ET.SubElement(sh, _q(DC, "Bounds"), {"x": str(x), "y": str(y), "width": str(w), "height": str(h)})

    for element_id, kind, _ in elements:
        shape(element_id, bounds[element_id], **({"isMarkerVisible": "true"} if kind == "exclusiveGateway" else {}))
    for i, (timer_id, host) in enumerate(timers):
        x, y, w, h = bounds[host]
        shape(timer_id, (x + 10 + (i % 2) * 44, y + h - 18, 36, 36))
    for f in flows:
        edge = ET.SubElement(plane, _q(BPMNDI, "BPMNEdge"), {"id": f"{f['id']}_di", "bpmnElement": f["id"]})
        for x, y in _waypoints(bounds[f["source"]], bounds[f["target"]]):
            ET.SubElement(edge, _q(DI, "waypoint"), {"x": str(x), "y": str(y)})


# -- import -----------------------------------------------------------------------------------------------------------
_TYPES = {"startEvent": "start", "endEvent": "end", "userTask": "approval", "exclusiveGateway": "exclusive",
          "sendTask": "notify", "serviceTask": "automation", "callActivity": "subflow", "task": "automation"}


def _mode_from(el: ET.Element, extra: dict[str, Any]) -> str | None:
    loop = el.find(_q(BPMN, "multiInstanceLoopCharacteristics"))
    if loop is None:
        return "single"
    if loop.get("isSequential") == "true":
        return "sequential"
    condition = (loop.findtext(_q(BPMN, "completionCondition")) or "").strip()
    if condition == "nrOfCompletedInstances >= 1":
        return "any"
    if condition.startswith("nrOfApprovals") or "quorum" in extra:
        return "quorum"
    return "all"


def _quorum_from(el: ET.Element) -> dict[str, Any] | None:
    condition = (el.findtext(f"{_q(BPMN, 'multiInstanceLoopCharacteristics')}/{_q(BPMN, 'completionCondition')}")
                 or "").strip()
    if match := re.fullmatch(r"nrOfApprovals >= (\d+)", condition):
        return {"count": int(match.group(1))}
    if match := re.fullmatch(r"nrOfApprovals \* 100 >= nrOfInstances \* ([\d.]+)", condition):
        percent = float(match.group(1))
        return {"percent": int(percent) if percent.is_integer() else percent}
    return None


def from_bpmn(xml: str) -> dict[str, Any]:
    """Definition data for the BPMN subset ``to_bpmn`` writes (load it with ``load_flow``)."""
    root = ET.fromstring(xml)
    process = root.find(_q(BPMN, "process"))
    if process is None:
        raise ValueError("no bpmn:process in the document")
    key = process.get(_q(LOOM, "key")) or (process.get("id") or "flow").removeprefix("Process_")
    out: dict[str, Any] = {"format": 1, "key": key, "form": process.get(_q(LOOM, "form")) or key}
    if process.get("name") and process.get("name") != key:
        out["label"] = process.get("name")
    nodes: list[dict[str, Any]] = []
    branches: set[str] = set()
    merges: set[str] = set()
    defaults: set[str] = set()
    timers: dict[str, dict[str, str]] = {}
    for el in process:
        tag = el.tag.split("}")[1]
        if tag == "boundaryEvent":
            which = el.get(_q(LOOM, "timer")) or "escalate"
            duration = el.findtext(f".//{_q(BPMN, 'timeDuration')}")
            if duration:
                timers.setdefault(el.get("attachedToRef") or "", {})[f"{which}_after"] = \
                    format_duration(parse_iso_duration(duration))
            continue
        if tag == "sequenceFlow" or tag in ("extensionElements", "documentation"):
            continue
        if tag == "exclusiveGateway" and el.get("default"):
            defaults.add(el.get("default") or "")
        if el.get(_q(LOOM, "type")) == "branch":
            branches.add(el.get("id") or "")
            continue
        if el.get(_q(LOOM, "type")) == "merge":
            merges.add(el.get("id") or "")
            continue
        kind = el.get(_q(LOOM, "type")) or _TYPES.get(tag)
        if tag == "parallelGateway" and kind is None:
            kind = "parallel" if len(el.findall(_q(BPMN, "outgoing"))) > 1 else "join"
        if kind is None:
            raise ValueError(f"unsupported BPMN element {tag} ({el.get('id')})")
        node: dict[str, Any] = {"id": el.get("id"), "type": kind}
        text = el.findtext(f"{_q(BPMN, 'extensionElements')}/{_q(LOOM, 'definition')}")
        extra = json.loads(text) if text else {}
        if el.get("name") and kind != "end":
            node["name"] = el.get("name")
        if kind == "approval":
            mode = _mode_from(el, extra)
            extra.pop("mode", None)
            if mode != "single":
                node["mode"] = mode
            quorum = _quorum_from(el) or extra.pop("quorum", None)
            extra.pop("quorum", None)
            if quorum:
                node["quorum"] = quorum
        if kind == "end":
            node["outcome"] = el.get(_q(LOOM, "outcome")) or el.get("name") or "approved"
        if kind == "subflow":
            node["flow"] = (el.get("calledElement") or "").removeprefix("Process_")
        node.update(extra)
        nodes.append(node)
    by_id = {n["id"]: n for n in nodes}
    for node_id, durations in timers.items():
        if node_id in by_id:
            sla = by_id[node_id].setdefault("sla", {})
            sla.update(durations)
    edges = []
    owner = {}
    flows = process.findall(_q(BPMN, "sequenceFlow"))
    after = {}
    for sf in flows:
        if sf.get("targetRef") in branches:
            owner[sf.get("targetRef")] = sf.get("sourceRef")
        if sf.get("sourceRef") in merges:
            after[sf.get("sourceRef")] = sf.get("targetRef")
    for sf in flows:
        source, target = sf.get("sourceRef"), sf.get("targetRef")
        if target in branches or source in merges:
            continue
        target = after.get(target, target)
        edge: dict[str, Any] = {"id": (sf.get("id") or "").removeprefix("Flow_"), "from": owner.get(source, source),
                                "to": target}
        condition = sf.findtext(_q(BPMN, "conditionExpression"))
        if condition is not None and condition.strip():
            edge["if"] = condition.strip()
        if sf.get("id") in defaults:
            edge["default"] = True
        edges.append(edge)
    out["nodes"] = nodes
    out["edges"] = edges
    return out



# -- diagram data -----------------------------------------------------------------------------------------------------
def diagram(flow: FlowSpec) -> dict[str, Any]:
    """The layout of the exported diagram as JSON data for pages: one box per element (flow nodes and the gateways
    the export adds, each with the ``node`` it belongs to) and the waypoints of every sequence flow."""
    elements, flows = _bpmn_graph(flow)
    bounds = _layout(elements, flows)
    shapes = []
    for element_id, kind, node in elements:
        x, y, w, h = bounds[element_id]
        owner = node.id if node is not None else element_id.removesuffix(BRANCH).removesuffix(MERGE)
        shapes.append({"id": element_id, "node": owner, "element": kind, "type": node.type if node else "gateway",
                       "name": node.label if node else "", "x": x, "y": y, "width": w, "height": h})
    edges = [{"id": f["id"], "source": f["source"], "target": f["target"],
              "edge": f["edge"].id if f["edge"] is not None else None,
              "condition": f["edge"].condition if f["edge"] is not None else None,
              "waypoints": [list(p) for p in _waypoints(bounds[f["source"]], bounds[f["target"]])]} for f in flows]
    width = max((s["x"] + s["width"] for s in shapes), default=0) + MARGIN
    height = max((s["y"] + s["height"] for s in shapes), default=0) + MARGIN
    return {"shapes": shapes, "edges": edges, "width": width, "height": height}
