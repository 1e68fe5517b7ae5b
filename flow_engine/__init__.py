"""Loomwork's flow engine: flow specs, load-time checks, the in-memory runtime and BPMN interchange."""
from .loader import load_flow, load_flow_text
from .spec import (AssigneeRule, EdgeSpec, EscalationSpec, FieldRights, FlowSpec, NodeSpec, QuorumSpec, SlaSpec,
                   parse_duration)

__all__ = ["AssigneeRule", "EdgeSpec", "EscalationSpec", "FieldRights", "FlowSpec", "NodeSpec", "QuorumSpec",
           "SlaSpec", "load_flow", "load_flow_text", "parse_duration"]
