"""FlowSpec → definition data: the YAML/JSON shape the loader reads (for the designer, BPMN and round trips)."""
from __future__ import annotations

from typing import Any

from engine.i18n import DEFAULT_LOCALE, Text

from .spec import AssigneeRule, FlowSpec, FORMAT_VERSION, NodeSpec, SlaSpec, format_duration


def text_to_data(text: Text, plain: str) -> Any:
    """A translatable text as written: one text, or a mapping of language → text when it has several."""
    values = dict(text.values)
    if not values or (len(values) == 1 and DEFAULT_LOCALE in values):
        return values.get(DEFAULT_LOCALE, plain) if values else plain
    return values


def rule_to_data(rule: AssigneeRule) -> dict[str, Any]:
    """One assignee rule as written in a definition."""
    if rule.kind == "users":
        return {"users": list(rule.value)}
    if rule.kind == "manager_of" and rule.levels != 1:
        return {"manager_of": rule.value, "levels": rule.levels}
    return {rule.kind: rule.value}


def sla_to_data(sla: SlaSpec) -> dict[str, Any]:
    """An SLA as written in a definition."""
    out: dict[str, Any] = {}
    if sla.remind_after:
        out["remind_after"] = format_duration(sla.remind_after)
    if sla.escalate_after:
        out["escalate_after"] = format_duration(sla.escalate_after)
    if sla.escalate:
        escalate: dict[str, Any] = {"action": sla.escalate.action}
        if sla.escalate.to:
            escalate["to"] = [rule_to_data(r) for r in sla.escalate.to]
        out["escalate"] = escalate
    if sla.business_time:
        out["business_time"] = True
    return out


def node_to_data(node: NodeSpec) -> dict[str, Any]:
    """One node as written in a definition (defaults left out)."""
    out: dict[str, Any] = {"id": node.id, "type": node.type}
    if node.name:
        out["name"] = text_to_data(node.name_text, node.name)
    if node.assignees:
        out["assignees"] = [rule_to_data(r) for r in node.assignees]
    if node.type in ("approval", "fill", "notify") and node.if_none != "error":
        out["if_none"] = node.if_none
    if node.type == "approval":
        if node.mode != "single":
            out["mode"] = node.mode
        if node.quorum is not None:
            out["quorum"] = ({"count": node.quorum.count} if node.quorum.count is not None
                             else {"percent": node.quorum.percent})
        if node.reject_policy != "immediate":
            out["reject_policy"] = node.reject_policy
    if node.is_user_node:
        if node.rights.rights:
            out["fields"] = dict(node.rights.rights)
        if node.rights.default != "readonly":
            out["default_rights"] = node.rights.default
        if node.sla is not None:
            out["sla"] = sla_to_data(node.sla)
        if node.returnable_to:
            out["returnable_to"] = list(node.returnable_to)
        if node.require_reason:
            out["require_reason"] = sorted(node.require_reason)
    if node.type == "end":
        out["outcome"] = node.outcome
    if node.type == "automation":
        out["actions"] = list(node.actions)
    if node.type == "subflow":
        out["flow"] = node.flow
    return out


def to_definition(flow: FlowSpec) -> dict[str, Any]:
    """The whole flow as definition data; ``load_flow`` of it gives an equal spec."""
    out: dict[str, Any] = {"format": FORMAT_VERSION, "key": flow.key, "form": flow.form}
    if flow.label:
        out["label"] = text_to_data(flow.label_text, flow.label)
    if flow.start_on != "manual":
        out["start_on"] = flow.start_on
    out["nodes"] = [node_to_data(n) for n in flow.nodes]
    edges = []
    for edge in flow.edges:
        item: dict[str, Any] = {"id": edge.id, "from": edge.source, "to": edge.target}
        if edge.condition is not None:
            item["if"] = edge.condition
        if edge.default:
            item["default"] = True
        edges.append(item)
    out["edges"] = edges
    return out
