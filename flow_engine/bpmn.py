"""BPMN 2.0 interchange: ``to_bpmn(flow)`` writes XML that bpmn.io and Camunda Modeler open (with a diagram);
``from_bpmn(xml)`` reads the same subset back into definition data.

Mapping: approval/fill → userTask (approval modes as ``multiInstanceLoopCharacteristics`` over the collection
``assignees_<node>`` (item ``<node>_assignee``; each instance's ``<node>_vote`` is collected in ``votes_<node>``) with
a ``completionCondition`` in terms of ``nrOfInstances``, ``nrOfCompletedInstances`` and the vote counters
``nrOfApprovals``, ``nrOfRejections``, ``nrOfReturns``, so the activity ends when Loomwork's runtime decides);
exclusive → exclusiveGateway with ``default``; parallel/join → parallelGateway (a split that several paths reach
gets an ``<id>__merge`` exclusiveGateway in front, or BPMN would wait for all of them); notify → sendTask;
automation → serviceTask; subflow → callActivity; SLAs → non-interrupting boundary timer events.

What happens on a decision: every userTask is followed by an ``<id>__verdict`` exclusiveGateway on the vote
(``<node>_vote`` is ``approve``, ``reject`` or ``return:<target>``; ``votes_<node>`` for multi-instance tasks):
rejected → the terminate end event ``<id>__rejected`` (outcome ``rejected``: the whole instance ends, parallel
branches included); returned → a sequence flow back to every node the return may go to (``previous``,
``any_earlier`` and node ids resolved to the earlier user nodes, ``initiator`` → the ``<start>__resubmit`` userTask,
which goes on from the start); otherwise on along the node's own edges (their conditions and default on the same
gateway, after the rejection and return flows: an exclusive gateway takes the first flow whose condition holds).
Other nodes with conditional edges get an ``<id>__branch`` exclusiveGateway after them. What BPMN has no element
for (assignee rules, field rights, reasons, the return rules themselves …) travels in ``loom:`` extension elements
and attributes (``loom:type`` marks what the export adds), so a round trip keeps the whole definition.
"""
from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, NamedTuple
from xml.etree import ElementTree as ET

import networkx as nx

from .dump import node_to_data, text_to_data
from .spec import RETURN_KEYWORDS, EdgeSpec, FlowSpec, NodeSpec, format_duration, return_scope

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
LAYER_GAP, ROW_GAP, MARGIN = 170, 160, 60
#: Layout: a rejection end sits this far below its verdict gateway; loops back run in lanes above the diagram.
REJECT_DROP, LANE_TOP, LANE_GAP = 35, 20, 14
ELEMENT = {"start": "startEvent", "end": "endEvent", "approval": "userTask", "fill": "userTask",
           "exclusive": "exclusiveGateway", "parallel": "parallelGateway", "join": "parallelGateway",
           "notify": "sendTask", "automation": "serviceTask", "subflow": "callActivity"}
#: Keys of a node's definition that BPMN itself carries (the rest goes to the loom extension).
_STRUCTURAL = {"id", "type", "name", "mode", "quorum", "outcome", "flow"}
BRANCH, MERGE, VERDICT, REJECTED = "__branch", "__merge", "__verdict", "__rejected"


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


def completion_condition(node: NodeSpec, returns: bool = False) -> str | None:
    """The multi-instance completion condition for a user node's mode (None: when all have completed).

    Besides the BPMN counters ``nrOfInstances`` and ``nrOfCompletedInstances`` it reads ``nrOfApprovals``,
    ``nrOfRejections`` and ``nrOfReturns`` (the completed instances whose ``<node>_vote`` is ``approve``, ``reject``
    or ``return:<target>``): a node stops as soon as Loomwork's runtime decides it. ``returns``: the node allows
    returns (a return ends the node at once).
    """
    back = " or nrOfReturns >= 1" if returns else ""
    if node.type == "fill" or node.mode == "any":
        return "nrOfCompletedInstances >= 1"
    if node.mode == "sequential" or (node.mode == "all" and node.reject_policy != "after_all"):
        return "nrOfRejections >= 1" + back
    if node.mode == "quorum" and node.quorum is not None and node.reject_policy != "after_all":
        if node.quorum.count is not None:
            count = node.quorum.count
            return (f"nrOfApprovals >= {count} or (nrOfRejections >= 1 and nrOfRejections > nrOfInstances - {count})"
                    + back)
        percent = f"{node.quorum.percent:g}"
        return (f"nrOfApprovals * 100 >= nrOfInstances * {percent} or "
                f"(nrOfInstances - nrOfRejections) * 100 < nrOfInstances * {percent}" + back)
    return back.removeprefix(" or ") or None


def _multi(node: NodeSpec) -> bool:
    return node.is_user_node and not (node.type == "approval" and node.mode == "single")


def reject_condition(node: NodeSpec, returns: bool = False) -> str:
    """When the node's verdict gateway routes to rejection: over ``<node>_vote`` (a single task) or the collection
    ``votes_<node>`` of the visit that just ended, consistent with the mode and the completion condition."""
    if not _multi(node):
        return f"{node.id}_vote == 'reject'"
    votes = f"votes_{node.id}"
    no_return = f" and {votes}.count('approve') + {votes}.count('reject') == len({votes})" if returns else ""
    if node.type == "approval" and node.mode == "quorum" and node.quorum is not None:
        approvals = f"{votes}.count('approve')"
        if node.quorum.count is not None:
            return (f"{approvals} < {node.quorum.count} and {approvals} < len(assignees_{node.id})" + no_return)
        return f"{approvals} * 100 < len(assignees_{node.id}) * {node.quorum.percent:g}" + no_return
    if node.type == "approval" and node.mode == "all" and node.reject_policy == "after_all":
        return f"'reject' in {votes}" + no_return
    return f"'reject' in {votes}"  # the node stopped at the first rejection or return: at most one of them


def return_condition(node: NodeSpec, target: str) -> str:
    """When the node's verdict gateway routes back to ``target`` (a node id or ``initiator``)."""
    if not _multi(node):
        return f"{node.id}_vote == 'return:{target}'"
    return f"'return:{target}' in votes_{node.id}"


def return_targets(flow: FlowSpec, node_id: str) -> list[str]:
    """Every place a return from ``node_id`` can go: earlier user nodes (definition order), then ``initiator``.

    ``previous`` becomes the nearest user nodes upstream on every path (past nodes that may be skipped; the
    initiator when a path has none), ``any_earlier`` every earlier user node of the same parallel branch or before
    it and the initiator, a node id itself.
    """
    node = flow.node(node_id)
    allowed = set(node.returnable_to)
    if not allowed:
        return []

    def fits(target: str) -> bool:
        return flow.node(target).is_user_node and return_scope(flow.branches, node_id, target)[2] is None

    earlier: set[str] = set()
    todo, seen = [node_id], {node_id}
    while todo:
        for edge in flow.into(todo.pop()):
            if edge.source not in seen:
                seen.add(edge.source)
                earlier.add(edge.source)
                todo.append(edge.source)
    out: set[str] = {t for t in allowed if t not in RETURN_KEYWORDS}
    initiator = bool(allowed & {"initiator", "any_earlier"})
    if "any_earlier" in allowed:
        out |= {n for n in earlier if fits(n)}
    if "previous" in allowed:
        todo, seen = [node_id], {node_id}
        while todo:
            current = todo.pop()
            sources = [e.source for e in flow.into(current)]
            if flow.node(current).type == "start":
                initiator = True
            for source in sources:
                if source in seen:
                    continue
                seen.add(source)
                if fits(source):
                    out.add(source)
                    if flow.node(source).if_none != "skip":
                        continue
                todo.append(source)
    ordered = [n.id for n in flow.nodes if n.id in out]
    return ordered + (["initiator"] if initiator else [])


# -- export -----------------------------------------------------------------------------------------------------------
class _El(NamedTuple):
    """One BPMN flow element: its id, BPMN tag, the Loomwork node it is (None for the ones the export adds), what
    it is to Loomwork (``loom:type``) and the node it belongs to."""

    id: str
    kind: str
    node: NodeSpec | None
    loom: str
    owner: str


def _bpmn_graph(flow: FlowSpec) -> tuple[list[_El], list[dict[str, Any]]]:
    """BPMN elements and sequence flows, with the gateways, rejection ends, back edges and the initiator's resubmit
    task made explicit. A flow is a dict: ``id``, ``source``, ``target``, ``edge`` (the Loomwork edge or None),
    ``condition``, ``kind`` (None, ``reject``, ``return``, ``resubmit``), ``back`` (drawn as a loop back),
    ``name``."""
    elements: list[_El] = []
    flows: list[dict[str, Any]] = []
    returns = {n.id: return_targets(flow, n.id) for n in flow.nodes if n.is_user_node}
    start = flow.start
    resubmit = f"{start.id}__resubmit" if any("initiator" in t for t in returns.values()) else None
    start_outs = flow.out(start.id)
    start_branches = any(e.condition is not None or e.default for e in start_outs)
    merged = {n.id for n in flow.nodes if n.type == "parallel" and len(flow.into(n.id)) > 1}
    if resubmit and not start_branches and start_outs and flow.node(start_outs[0].target).type == "parallel":
        merged.add(start_outs[0].target)

    def flow_of(fid: str, source: str, target: str, edge: EdgeSpec | None = None, **extra: Any) -> None:
        flows.append({"id": fid, "source": source, "target": target, "edge": edge,
                      "condition": edge.condition if edge is not None else None, "kind": None, "back": False,
                      "name": None, **extra})

    def entry(node_id: str) -> str:
        return node_id + MERGE if node_id in merged else node_id

    for node in flow.nodes:
        if node.type == "start" and resubmit:  # drawn above the start event
            elements.append(_El(resubmit, "userTask", None, "resubmit", start.id))
            target = start.id + BRANCH if start_branches else entry(start_outs[0].target)
            flow_of(f"Flow_{resubmit}", resubmit, target, kind="resubmit")
        if node.id in merged:  # paths meeting at a split merge first: a parallel gateway would wait for all
            elements.append(_El(node.id + MERGE, "exclusiveGateway", None, "merge", node.id))
            flow_of(f"Flow_{node.id}{MERGE}", node.id + MERGE, node.id)
        elements.append(_El(node.id, ELEMENT[node.type], node, node.type, node.id))
        outs = flow.out(node.id)
        source = node.id
        if node.is_user_node:  # the verdict: rejected, returned, or on along the node's own edges
            source = node.id + VERDICT
            elements.append(_El(source, "exclusiveGateway", None, "verdict", node.id))
            flow_of(f"Flow_{source}", node.id, source)
            end = node.id + REJECTED
            flow_of(f"Flow_{node.id}__reject", source, end, condition=reject_condition(node, bool(returns[node.id])),
                    kind="reject", name="rejected")
            for target in returns[node.id]:
                flow_of(f"Flow_{node.id}__return_{target}", source, resubmit if target == "initiator" else target,
                        condition=return_condition(node, target), kind="return", back=True, to=target,
                        name=f"return to {target}")
        elif any(e.condition is not None or e.default for e in outs) and node.type != "exclusive":
            source = node.id + BRANCH
            elements.append(_El(source, "exclusiveGateway", None, "branch", node.id))
            flow_of(f"Flow_{source}", node.id, source)
        for edge in outs:
            flow_of(f"Flow_{edge.id}", source, entry(edge.target), edge)
    for node in flow.nodes:  # last, so that layers keep the nodes in definition order
        if node.is_user_node:
            elements.append(_El(node.id + REJECTED, "endEvent", None, "rejected", node.id + REJECTED))
    return elements, flows


def _layout(elements: list[_El], flows: list[dict[str, Any]]) -> dict[str, tuple[int, int, int, int]]:
    """Bounds (x, y, width, height) per element: layers by topological generation of the forward flows, centred
    rows; a rejection end right below its verdict gateway; room above for the lanes of the loops back."""
    graph = nx.DiGraph()
    placed = [e for e in elements if e.loom != "rejected"]
    graph.add_nodes_from(e.id for e in placed)
    graph.add_edges_from((f["source"], f["target"]) for f in flows if not f["back"] and f["kind"] != "reject")
    kinds = {e.id: e.kind for e in elements}
    order = {e.id: i for i, e in enumerate(elements)}
    try:
        layers = [sorted(layer, key=order.get) for layer in nx.topological_generations(graph)]
    except nx.NetworkXUnfeasible:  # not a DAG (never for a checked flow): one element per layer
        layers = [[e.id] for e in placed]
    widest = max(len(layer) for layer in layers)
    lanes = sum(1 for f in flows if f["back"])
    top_room = LANE_TOP + lanes * LANE_GAP if lanes else 0
    bounds = {}
    for i, layer in enumerate(layers):
        top = MARGIN + top_room + (widest - len(layer)) * ROW_GAP // 2
        for j, element_id in enumerate(layer):
            width, height = SIZES.get(kinds[element_id], TASK_SIZE)
            cx = MARGIN + 50 + i * LAYER_GAP
            cy = top + 40 + j * ROW_GAP
            bounds[element_id] = (cx - width // 2, cy - height // 2, width, height)
    for f in flows:
        if f["kind"] == "reject":
            x, y, w, h = bounds[f["source"]]
            width, height = SIZES["endEvent"]
            bounds[f["target"]] = (x + w // 2 - width // 2, y + h + REJECT_DROP, width, height)
    return bounds


def _waypoints(src: tuple[int, int, int, int], dst: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    sx, sy = src[0] + src[2], src[1] + src[3] // 2
    tx, ty = dst[0], dst[1] + dst[3] // 2
    if sy == ty:
        return [(sx, sy), (tx, ty)]
    mid = (sx + tx) // 2
    return [(sx, sy), (mid, sy), (mid, ty), (tx, ty)]


def _routes(flows: list[dict[str, Any]], bounds: dict[str, tuple[int, int, int, int]]) -> dict[str, list[tuple[int, int]]]:
    """Waypoints per sequence flow: elbows left to right; a rejection straight down from its gateway; a loop back
    up from its gateway to a lane of its own above the diagram, along it and down into the target's top."""
    out = {}
    lane = 0
    for f in flows:
        src, dst = bounds[f["source"]], bounds[f["target"]]
        if f["kind"] == "reject":
            x = src[0] + src[2] // 2
            out[f["id"]] = [(x, src[1] + src[3]), (x, dst[1])]
        elif f["back"]:
            y = MARGIN // 2 + lane * LANE_GAP
            lane += 1
            sx, tx = src[0] + src[2] // 2, dst[0] + dst[2] // 2
            out[f["id"]] = [(sx, src[1]), (sx, y), (tx, y), (tx, dst[1])]
        else:
            out[f["id"]] = _waypoints(src, dst)
    return out


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
    label = text_to_data(flow.label_text, flow.label)
    if isinstance(label, dict):  # BPMN's name holds the app's language; every language travels in loom
        ext = ET.SubElement(process, _q(BPMN, "extensionElements"))
        ET.SubElement(ext, _q(LOOM, "definition")).text = json.dumps({"label": label}, ensure_ascii=False)
    boundaries: list[tuple[str, str, NodeSpec]] = []
    for element_id, kind, node, loom, owner in elements:
        attrs = {"id": element_id}
        if node is not None and node.name:
            attrs["name"] = node.name
        elif node is not None and node.type == "end":
            attrs["name"] = node.outcome or ""
        elif loom == "rejected":
            attrs["name"] = "rejected"
        elif loom == "resubmit":
            attrs["name"] = "Resubmit"
        if kind == "exclusiveGateway":
            default = next((f for f in flows if f["source"] == element_id and f["edge"] and f["edge"].default), None)
            if default is None and loom == "verdict":  # approved: on along the node's one plain edge
                plain = [f for f in flows if f["source"] == element_id and f["kind"] is None]
                if len(plain) == 1 and plain[0]["condition"] is None:
                    default = plain[0]
                    attrs[_q(LOOM, "implicitDefault")] = "true"
            if default:
                attrs["default"] = default["id"]
        attrs[_q(LOOM, "type")] = loom
        if node is not None and node.type == "end":
            attrs[_q(LOOM, "outcome")] = node.outcome or ""
        if loom == "rejected":
            attrs[_q(LOOM, "outcome")] = "rejected"
        if node is not None and node.type == "subflow":
            attrs["calledElement"] = f"Process_{node.flow}"
        el = ET.SubElement(process, _q(BPMN, kind), attrs)
        data = node_to_data(node) if node else {}
        extra = {k: v for k, v in data.items() if k not in _STRUCTURAL or (k == "name" and isinstance(v, dict))}
        if node is not None and node.type == "approval":
            extra["mode"] = node.mode
            if node.quorum is not None:
                extra["quorum"] = data["quorum"]
        if extra:
            ext = ET.SubElement(el, _q(BPMN, "extensionElements"))
            ordered = dict(sorted(extra.items()))  # keys sorted, texts in their languages' order
            ET.SubElement(ext, _q(LOOM, "definition")).text = json.dumps(ordered, ensure_ascii=False)
        for flow_id in incoming.get(element_id, ()):
            ET.SubElement(el, _q(BPMN, "incoming")).text = flow_id
        for flow_id in outgoing.get(element_id, ()):
            ET.SubElement(el, _q(BPMN, "outgoing")).text = flow_id
        if node is not None and _multi(node):
            _loop(el, node, bool(return_targets(flow, node.id)))
        if loom == "rejected":  # a rejection ends the whole instance, parallel branches included
            ET.SubElement(el, _q(BPMN, "terminateEventDefinition"), {"id": f"{element_id}_def"})
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
        attrs = {"id": f["id"], "sourceRef": f["source"], "targetRef": f["target"]}
        if f["name"]:
            attrs["name"] = f["name"]
        if f["kind"]:
            attrs[_q(LOOM, "kind")] = f["kind"]
        if f.get("to"):
            attrs[_q(LOOM, "to")] = f["to"]
        sf = ET.SubElement(process, _q(BPMN, "sequenceFlow"), attrs)
        if f["condition"] is not None:
            ET.SubElement(sf, _q(BPMN, "conditionExpression"), {_q(XSI, "type"): "bpmn:tFormalExpression"}).text = \
                f["condition"]
    _diagram(root, flow, elements, flows, timers)
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _loop(el: ET.Element, node: NodeSpec, returns: bool) -> None:
    loop = ET.SubElement(el, _q(BPMN, "multiInstanceLoopCharacteristics"),
                         {"isSequential": "true" if node.mode == "sequential" else "false"})
    ET.SubElement(loop, _q(BPMN, "loopDataInputRef")).text = f"assignees_{node.id}"
    ET.SubElement(loop, _q(BPMN, "loopDataOutputRef")).text = f"votes_{node.id}"
    ET.SubElement(loop, _q(BPMN, "inputDataItem"), {"id": f"{node.id}_assignee", "name": "assignee"})
    ET.SubElement(loop, _q(BPMN, "outputDataItem"), {"id": f"{node.id}_vote", "name": "vote"})
    condition = completion_condition(node, returns)
    if condition:
        ET.SubElement(loop, _q(BPMN, "completionCondition"), {_q(XSI, "type"): "bpmn:tFormalExpression"}).text = \
            condition


def _diagram(root: ET.Element, flow: FlowSpec, elements: list[_El], flows: list[dict[str, Any]],
             timers: list[tuple[str, str]]) -> None:
    bounds = _layout(elements, flows)
    routes = _routes(flows, bounds)
    diagram = ET.SubElement(root, _q(BPMNDI, "BPMNDiagram"), {"id": f"Diagram_{flow.key}"})
    plane = ET.SubElement(diagram, _q(BPMNDI, "BPMNPlane"), {"id": f"Plane_{flow.key}",
                                                              "bpmnElement": f"Process_{flow.key}"})

    def shape(element_id: str, box: tuple[int, int, int, int], **extra: str) -> None:
        attrs = {"id": f"{element_id}_di", "bpmnElement": element_id, **extra}
        sh = ET.SubElement(plane, _q(BPMNDI, "BPMNShape"), attrs)
        x, y, w, h = box
        ET.SubElement(sh, _q(DC, "Bounds"), {"x": str(x), "y": str(y), "width": str(w), "height": str(h)})

    for element in elements:
        shape(element.id, bounds[element.id],
              **({"isMarkerVisible": "true"} if element.kind == "exclusiveGateway" else {}))
    for i, (timer_id, host) in enumerate(timers):
        x, y, w, h = bounds[host]
        shape(timer_id, (x + 10 + (i % 2) * 44, y + h - 18, 36, 36))
    for f in flows:
        edge = ET.SubElement(plane, _q(BPMNDI, "BPMNEdge"), {"id": f"{f['id']}_di", "bpmnElement": f["id"]})
        for x, y in routes[f["id"]]:
            ET.SubElement(edge, _q(DI, "waypoint"), {"x": str(x), "y": str(y)})


# -- import -----------------------------------------------------------------------------------------------------------
_TYPES = {"startEvent": "start", "endEvent": "end", "userTask": "approval", "exclusiveGateway": "exclusive",
          "sendTask": "notify", "serviceTask": "automation", "callActivity": "subflow", "task": "automation"}


#: Sequence flows the export adds for rejections, returns and resubmission (not edges of the definition).
_SYNTHETIC_FLOWS = ("reject", "return", "resubmit")


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
    if match := re.match(r"nrOfApprovals >= (\d+)\b", condition):
        return {"count": int(match.group(1))}
    if match := re.match(r"nrOfApprovals \* 100 >= nrOfInstances \* ([\d.]+)\b", condition):
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
    own = process.findtext(f"{_q(BPMN, 'extensionElements')}/{_q(LOOM, 'definition')}")
    if own and isinstance(json.loads(own).get("label"), dict):
        out["label"] = json.loads(own)["label"]  # every language of the label
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
        loom = el.get(_q(LOOM, "type"))
        if tag == "exclusiveGateway" and el.get("default") and el.get(_q(LOOM, "implicitDefault")) != "true":
            defaults.add(el.get("default") or "")
        if loom in ("branch", "verdict"):  # the node's own edges leave from its gateway
            branches.add(el.get("id") or "")
            continue
        if loom == "merge":
            merges.add(el.get("id") or "")
            continue
        if loom in ("rejected", "resubmit"):  # made by the export from the nodes' rejection and return rules
            continue
        kind = el.get(_q(LOOM, "type")) or _TYPES.get(tag)
        if tag == "parallelGateway" and kind is None:
            kind = "parallel" if len(el.findall(_q(BPMN, "outgoing"))) > 1 else "join"
        if kind is None:
            raise ValueError(f"unsupported BPMN element {tag} ({el.get('id')})")
        node: dict[str, Any] = {"id": el.get("id"), "type": kind}
        text = el.findtext(f"{_q(BPMN, 'extensionElements')}/{_q(LOOM, 'definition')}")
        extra = json.loads(text) if text else {}
        if el.get("name") and (kind != "end" or el.get("name") != el.get(_q(LOOM, "outcome"))):
            node["name"] = el.get("name")  # (an end without a name shows its outcome)
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
        if target in branches or source in merges or sf.get(_q(LOOM, "kind")) in _SYNTHETIC_FLOWS:
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
def diagram(flow: FlowSpec, locale: str | None = None) -> dict[str, Any]:
    """The layout of the exported diagram as JSON data for pages: one box per element (flow nodes and what the
    export adds — gateways, rejection ends, the resubmit task —, each with the ``node`` it belongs to) and the
    waypoints of every sequence flow. Node names are in ``locale`` (the app's language when None)."""
    elements, flows = _bpmn_graph(flow)
    bounds = _layout(elements, flows)
    routes = _routes(flows, bounds)
    shapes = []
    for element_id, kind, node, loom, owner in elements:
        x, y, w, h = bounds[element_id]
        kind_name = node.type if node else {"rejected": "end", "resubmit": "resubmit"}.get(loom, "gateway")
        name = ((node.label_in(locale) if locale else node.label) if node
                else {"rejected": "rejected", "resubmit": "Resubmit"}.get(loom, ""))
        shapes.append({"id": element_id, "node": owner, "element": kind, "type": kind_name, "name": name,
                       "x": x, "y": y, "width": w, "height": h})
    edges = [{"id": f["id"], "source": f["source"], "target": f["target"],
              "edge": f["edge"].id if f["edge"] is not None else None, "kind": f["kind"] or "flow",
              "condition": f["edge"].condition if f["edge"] is not None else None,
              "waypoints": [list(p) for p in routes[f["id"]]]} for f in flows]
    width = max((s["x"] + s["width"] for s in shapes), default=0) + MARGIN
    height = max((s["y"] + s["height"] for s in shapes), default=0) + MARGIN
    return {"shapes": shapes, "edges": edges, "width": width, "height": height}
