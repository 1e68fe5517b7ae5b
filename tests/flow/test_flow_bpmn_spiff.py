"""Differential test: SpiffWorkflow running the exported BPMN (simpleeval script environment, no ``eval``) takes
the same path through the same nodes as Loomwork's runtime, and needs as many approvals per node."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from conftest import NOW, directory, load
from spiff_harness import LoomScriptEngine, SimpleEvalEnvironment, spiff_run, spiff_spec

from flow_engine import act, start

CASES: list[tuple[str, dict[str, Any]]] = [
    ("purchase_request", {"amount": 100, "urgent": False}),
    ("purchase_request", {"amount": 100, "urgent": True}),
    ("purchase_request", {"amount": 500000, "urgent": False}),
    ("purchase_request", {"amount": 500001, "urgent": False}),
    ("purchase_request", {"amount": 900000, "urgent": True}),
    ("expense_claim", {"amount": 10000, "requester": "dave"}),
    ("expense_claim", {"amount": 10001, "requester": "dave"}),
    ("leave_request", {"days": 3}),
    ("leave_request", {"days": 4}),
    ("supplier_purchase", {"amount": 100, "supplier": {"rating": "A"}}),
    ("supplier_purchase", {"amount": 100, "supplier": {"rating": "B"}}),
    ("supplier_purchase", {"amount": 750000, "supplier": {"rating": "A"}}),
    ("supplier_purchase", {"amount": 750000, "supplier": {"rating": "C"}}),
]


def loomwork_run(flow: Any, values: dict[str, Any]) -> tuple[list[str], Counter[str]]:
    """Approve every open task, first created first, until the instance ends."""
    org = directory()
    state, _ = start(flow, values, "alice", org, NOW)
    approvals: Counter[str] = Counter()
    while state.status == "running":
        task = state.open_tasks()[0]
        node = flow.node(task.node)
        payload = {"values": {k: "x" for k, r in node.rights.rights.items() if r == "required"}}
        state, _ = act(flow, state, task.id, task.assignee, "approve", NOW, payload, directory=org)
        approvals[task.node] += 1
    assert state.outcome == "approved"
    return [v.node for v in state.visits], approvals


@pytest.mark.parametrize(("name", "values"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_spiff_takes_the_same_path(name: str, values: dict[str, Any]) -> None:
    flow = load(f"valid/{name}")
    ours, our_approvals = loomwork_run(flow, values)
    counts: Counter[str] = Counter()
    theirs = spiff_run(flow, spiff_spec(flow), values, "alice", directory(), approvals=counts)
    assert theirs == ours
    assert counts == our_approvals


def test_script_environment_is_simpleeval_not_eval() -> None:
    env = SimpleEvalEnvironment()
    assert env.evaluate("amount > 5 and supplier.rating == 'A'", {"amount": 6, "supplier": {"rating": "A"}})
    assert env.evaluate("P2D", {}) == "P2D"
    with pytest.raises(Exception, match="not defined|not available|Sorry"):
        env.evaluate("__import__('os').getcwd()", {})
    with pytest.raises(Exception):
        env.evaluate("(1).__class__", {})
    assert isinstance(LoomScriptEngine().environment, SimpleEvalEnvironment)
