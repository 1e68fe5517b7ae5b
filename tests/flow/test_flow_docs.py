"""Every node type, approval mode, assignee rule and action is documented and in the JSON Schema; the public API
is deliberate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import flow_engine
from flow_engine.runtime import ACTIONS
from flow_engine.spec import APPROVAL_MODES, ASSIGNEE_KINDS, ESCALATE_ACTIONS, NODE_TYPES

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "flows.md").read_text()
SCHEMA = (ROOT / "flow_engine" / "schemas" / "flow.json").read_text()


@pytest.mark.parametrize("name", [*NODE_TYPES, *APPROVAL_MODES, *ESCALATE_ACTIONS])
def test_documented_and_in_schema(name: str) -> None:
    assert f"`{name}`" in DOC
    assert f'"{name}"' in SCHEMA


@pytest.mark.parametrize("kind", ASSIGNEE_KINDS)
def test_assignee_rules_documented(kind: str) -> None:
    assert f"{{{kind}:" in DOC
    assert kind in json.loads(SCHEMA)["$defs"]["assignee_rule"]["properties"]


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_documented(action: str) -> None:
    assert f"`{action}`" in DOC


def test_exported_members() -> None:
    exported = set(flow_engine.__all__)
    assert exported == {name for name in dir(flow_engine) if not name.startswith("_")
                        and not isinstance(getattr(flow_engine, name), type(flow_engine))}
    assert {"load_flow", "start", "act", "retry", "simulate", "to_bpmn", "from_bpmn", "InstanceState"} <= exported
