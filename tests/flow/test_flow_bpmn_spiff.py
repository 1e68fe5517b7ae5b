"""Differential tests: SpiffWorkflow running the exported BPMN (simpleeval script environment, no ``eval``) takes
the same path through the same nodes as Loomwork's runtime, needs as many approvals per node, and — with scripted
rejections and returns (a countersign where one signer rejects, a quorum that can no longer be reached, a return to
an earlier node, to the previous one or to the initiator) — passes the same nodes in the same order and ends with
the same outcome."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from conftest import NOW, directory, load, load_text
from spiff_harness import LoomScriptEngine, Script, SimpleEvalEnvironment, next_step, spiff_play, spiff_run, spiff_spec

from flow_engine import FlowSpec, act, start

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


def loomwork_play(flow: FlowSpec, values: dict[str, Any], script: Script, org: Any,
                  initiator: str = "alice") -> tuple[list[str], str | None, Counter[str]]:
    """Play ``script`` on Loomwork's runtime as ``spiff_play`` does on Spiff: the nodes passed, the outcome and the
    approvals per node."""
    todo = list(script)
    state, _ = start(flow, values, initiator, org, NOW)
    approvals: Counter[str] = Counter()
    while state.status == "running":
        open_tasks = state.open_tasks()
        head = todo[0][0] if todo else None
        task = next((t for t in open_tasks if t.node == head), open_tasks[0])
        node = flow.node(task.node)
        step = ("start", "approve") if task.kind == "resubmit" else next_step(todo, task.node)
        payload: dict[str, Any] = {"reason": "scripted"}
        if step[1] == "approve":
            payload = {"values": {k: "x" for k, r in node.rights.rights.items() if r == "required"}}
            if task.kind != "resubmit":
                approvals[task.node] += 1
        elif step[1] == "return":
            payload["to"] = step[2]
        state, _ = act(flow, state, task.id, task.assignee, step[1], NOW, payload, directory=org)
    assert state.status == "finished", state.failure
    assert not todo, f"steps never reached: {todo}"
    return [v.node for v in state.visits], state.outcome, approvals


def same_run(flow: FlowSpec, values: dict[str, Any], script: Script, org: Any,
             initiator: str = "alice") -> tuple[list[str], str | None]:
    """Play ``script`` on both engines; they must pass the same nodes, end the same way, approve as often."""
    ours, our_outcome, our_approvals = loomwork_play(flow, values, script, org, initiator)
    counts: Counter[str] = Counter()
    theirs, their_outcome = spiff_play(flow, spiff_spec(flow), values, initiator, org, script, approvals=counts)
    assert theirs == ours
    assert their_outcome == our_outcome
    assert counts == our_approvals
    return ours, our_outcome


SMALL, LARGE = {"amount": 100, "urgent": False}, {"amount": 600000, "urgent": False}
SCRIPTED: list[tuple[str, dict[str, Any], Script, str, list[str] | None]] = [
    # rejection
    ("purchase_request", SMALL, [("lead_review", "reject")], "rejected",
     ["start", "lead_review"]),
    ("purchase_request", SMALL, [("finance_review", "approve"), ("finance_review", "reject")], "rejected",
     ["start", "lead_review", "finance_review"]),  # countersign, reject_policy after_all: the second signer rejects
    ("purchase_request", SMALL, [("finance_review", "reject")], "rejected", None),  # the other still votes
    ("purchase_request", LARGE, [("director_review", "reject"), ("director_review", "reject")], "rejected",
     ["start", "lead_review", "finance_review", "director_review"]),  # 60% of 3: two rejections decide
    ("purchase_request", LARGE, [("director_review", "reject")], "approved",
     ["start", "lead_review", "finance_review", "director_review", "approved"]),  # the other two approve
    ("leave_request", {"days": 4}, [("hr", "approve"), ("hr", "reject")], "rejected", ["start", "lead", "hr"]),
    ("expense_claim", {"amount": 10000, "requester": "dave"}, [("fill_details", "reject")], "rejected", None),
    ("expense_claim", {"amount": 10000, "requester": "dave"}, [("finance_check", "reject"), ("finance_check", "reject")],
     "rejected", None),  # quorum 2 of 3 in a parallel branch: the other branch's task is cancelled too
    ("supplier_purchase", {"amount": 100, "supplier": {"rating": "A"}}, [("sign_off", "reject")], "rejected", None),
    ("supplier_purchase", {"amount": 750000, "supplier": {"rating": "B"}},
     [("director_review", "approve"), ("director_review", "reject")], "rejected", None),  # immediate countersign
    # returns
    ("purchase_request", SMALL, [("finance_review", "return", "lead_review")], "approved",
     ["start", "lead_review", "finance_review", "lead_review", "finance_review", "approved"]),
    ("purchase_request", SMALL, [("finance_review", "approve"), ("finance_review", "return", "initiator")], "approved",
     ["start", "lead_review", "finance_review", "start", "lead_review", "finance_review", "approved"]),
    ("purchase_request", SMALL, [("lead_review", "return", "initiator"), ("lead_review", "reject")], "rejected",
     ["start", "lead_review", "start", "lead_review"]),
    ("purchase_request", LARGE, [("director_review", "return", "previous")], "approved",
     ["start", "lead_review", "finance_review", "director_review", "finance_review", "director_review", "approved"]),
    ("purchase_request", {"amount": 600000, "urgent": True}, [("director_review", "approve"),
                                                              ("director_review", "return", "previous")], "approved",
     ["start", "finance_review", "director_review", "finance_review", "director_review", "approved"]),
    ("purchase_request", LARGE, [("director_review", "reject"), ("director_review", "return", "previous"),
                                 ("finance_review", "return", "lead_review"), ("director_review", "reject"),
                                 ("director_review", "reject")], "rejected",
     ["start", "lead_review", "finance_review", "director_review", "finance_review", "lead_review",
      "finance_review", "director_review"]),
    ("leave_request", {"days": 4}, [("hr", "approve"), ("hr", "return", "lead")], "approved",
     ["start", "lead", "hr", "lead", "hr", "granted"]),
    ("leave_request", {"days": 4}, [("hr", "return", "initiator")], "approved",
     ["start", "lead", "hr", "start", "lead", "hr", "granted"]),
]


@pytest.mark.parametrize(("name", "values", "script", "outcome", "path"), SCRIPTED,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(SCRIPTED)])
def test_rejections_and_returns_take_the_same_path(name: str, values: dict[str, Any], script: Script, outcome: str,
                                                   path: list[str] | None) -> None:
    ours, our_outcome = same_run(load(f"valid/{name}"), values, script, directory())
    assert our_outcome == outcome
    if path is not None:
        assert ours == path


def _record(amount: int, rating: str) -> dict[str, Any]:
    return {"amount": amount, "customer": {"rating": rating}, "account_manager": "yang_fan", "stage": "draft",
            "loans_booked": 0}


LOAN: list[tuple[str, dict[str, Any], Script, str]] = [
    ("loan_approval", _record(800_000, "B"), [], "approved"),
    ("loan_approval", _record(800_000, "B"), [("director_countersign", "approve"), ("director_countersign", "reject")],
     "rejected"),  # the countersign: one of the risk directors rejects after the other approved
    ("loan_approval", _record(800_000, "B"), [("gm_approval", "return", "risk_review")], "approved"),
    ("loan_approval", _record(800_000, "A"), [("director_countersign", "return", "initiator")], "approved"),
    ("loan_approval", _record(100_000, "C"), [("risk_review", "return", "initial_review")], "approved"),
    ("loan_approval", _record(100_000, "C"), [("initial_review", "return", "initiator"),
                                              ("risk_review", "reject")], "rejected"),
    ("loan_approval", _record(100_000, "A"), [("contract_signing", "reject")], "rejected"),
    ("rate_exception_approval", {"stage": "draft"}, [("sign_off", "approve"), ("sign_off", "reject")], "rejected"),
    ("rate_exception_approval", {"stage": "draft"}, [("sign_off", "approve"), ("sign_off", "return", "initiator")],
     "approved"),
    ("write_off_approval", {"stage": "draft"}, [("sign_off", "approve"), ("sign_off", "approve"),
                                                 ("sign_off", "reject")], "rejected"),
]


@pytest.fixture(scope="module")
def loan_app() -> Any:
    from engine.loader import load_app_folder
    from engine.plugins import Hooks, load_builtin
    from tests.loan.loan_data import LOAN_DIR

    return load_app_folder(LOAN_DIR, load_builtin(Hooks()).kinds)


@pytest.mark.parametrize(("name", "values", "script", "outcome"), LOAN,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(LOAN)])
def test_loan_flows_take_the_same_path(loan_app: Any, name: str, values: dict[str, Any], script: Script,
                                       outcome: str) -> None:
    from tests.loan import loan_flows

    flow = loan_flows.load(loan_app, name)
    path, our_outcome = same_run(flow, values, script, loan_flows.directory(loan_app), initiator="yang_fan")
    assert our_outcome == outcome
    assert path.count(flow.start.id) == 1 + sum(1 for s in script if s[1:] == ("return", "initiator"))


BRANCHED = """
key: branched
form: purchase
nodes:
  - {id: start, type: start}
  - {id: split, type: parallel}
  - {id: a1, type: approval, assignees: {users: [u1]}}
  - {id: a2, type: approval, assignees: {users: [u2, u3]}, mode: all, returnable_to: [a1]}
  - {id: b1, type: approval, assignees: {users: [u4]}}
  - {id: join, type: join}
  - {id: done, type: end}
edges:
  - {from: start, to: split}
  - {from: split, to: a1}
  - {from: split, to: b1}
  - {from: a1, to: a2}
  - {from: a2, to: join}
  - {from: b1, to: join}
  - {from: join, to: done}
"""


@pytest.mark.parametrize(("script", "outcome", "path"), [
    # only the returning branch goes back; the other branch's task stays open and the join fires once
    ([("a1", "approve"), ("a2", "return", "a1"), ("b1", "approve")], "approved",
     ["start", "split", "a1", "b1", "a2", "a1", "join", "a2", "done"]),  # b1 arrives at the join meanwhile
    ([("b1", "approve"), ("a1", "approve"), ("a2", "approve"), ("a2", "return", "a1"), ("a1", "approve"),
      ("a2", "reject")], "rejected", ["start", "split", "a1", "b1", "join", "a2", "a1", "a2"]),
])
def test_returns_inside_a_parallel_branch(script: Script, outcome: str, path: list[str]) -> None:
    flow = load_text(BRANCHED)
    ours, our_outcome = same_run(flow, {"amount": 1}, script, directory())
    assert (ours, our_outcome) == (path, outcome)
