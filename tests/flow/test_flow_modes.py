"""Approval modes as a table: who acts how, in order, and where the node ends up."""
from __future__ import annotations

import pytest
from conftest import NOW, act_as, directory, load_text

from flow_engine import NotYourTask, start

A, R = "approve", "reject"


def one_node(mode: str, extra: str = "", users: str = "[u1, u2, u3]") -> str:
    return f"""
key: modes
form: purchase
nodes:
  - {{id: start, type: start}}
  - {{id: vote, type: approval, assignees: {{users: {users}}}, mode: {mode}{extra}}}
  - {{id: done, type: end, outcome: approved}}
edges: [{{from: start, to: vote}}, {{from: vote, to: done}}]
"""


# (mode, node options, [(user, action)…], expected status, outcome, open assignees afterwards)
CASES = [
    ("single", "", [("u1", A)], "finished", "approved", []),
    ("single", "", [("u3", R)], "finished", "rejected", []),
    ("any", "", [("u2", A)], "finished", "approved", []),
    ("any", "", [("u1", R)], "finished", "rejected", []),
    ("all", "", [("u1", A), ("u2", A)], "running", None, ["u3"]),
    ("all", "", [("u1", A), ("u2", A), ("u3", A)], "finished", "approved", []),
    ("all", "", [("u1", A), ("u2", R)], "finished", "rejected", []),
    ("all", ", reject_policy: after_all", [("u1", R), ("u2", A)], "running", None, ["u3"]),
    ("all", ", reject_policy: after_all", [("u1", R), ("u2", A), ("u3", A)], "finished", "rejected", []),
    ("sequential", "", [], "running", None, ["u1"]),
    ("sequential", "", [("u1", A)], "running", None, ["u2"]),
    ("sequential", "", [("u1", A), ("u2", A), ("u3", A)], "finished", "approved", []),
    ("sequential", "", [("u1", A), ("u2", R)], "finished", "rejected", []),
    ("quorum", ", quorum: {count: 2}", [("u1", A)], "running", None, ["u2", "u3"]),
    ("quorum", ", quorum: {count: 2}", [("u1", A), ("u3", A)], "finished", "approved", []),
    ("quorum", ", quorum: {count: 2}", [("u1", R)], "running", None, ["u2", "u3"]),
    ("quorum", ", quorum: {count: 2}", [("u1", R), ("u2", R)], "finished", "rejected", []),
    ("quorum", ", quorum: {count: 2}", [("u1", R), ("u2", A), ("u3", A)], "finished", "approved", []),
    ("quorum", ", quorum: {percent: 60}", [("u1", A), ("u2", A)], "finished", "approved", []),
    ("quorum", ", quorum: {percent: 60}, reject_policy: after_all", [("u1", A), ("u2", A)], "running", None, ["u3"]),
    ("quorum", ", quorum: {percent: 60}, reject_policy: after_all", [("u1", A), ("u2", A), ("u3", R)],
     "finished", "approved", []),
    ("quorum", ", quorum: {percent: 100}, reject_policy: after_all", [("u1", A), ("u2", A), ("u3", R)],
     "finished", "rejected", []),
]


@pytest.mark.parametrize(("mode", "extra", "steps", "status", "outcome", "still_open"), CASES)
def test_approval_modes(mode: str, extra: str, steps: list[tuple[str, str]], status: str, outcome: str | None,
                        still_open: list[str]) -> None:
    flow = load_text(one_node(mode, extra))
    state, _ = start(flow, {}, "alice", directory(), NOW)
    for user, action in steps:
        state = act_as(flow, state, user, action, {"reason": "no"} if action == R else None)
    assert (state.status, state.outcome) == (status, outcome)
    assert sorted(t.assignee for t in state.open_tasks()) == still_open
    if status == "finished":
        assert not [t for t in state.tasks if t.status in ("open", "waiting")]


def test_sequential_follows_the_resolved_order() -> None:
    flow = load_text(one_node("sequential", users="[u3, u1, u2]"))
    state, _ = start(flow, {}, "alice", directory(), NOW)
    order = []
    while state.open_tasks():
        user = state.open_tasks()[0].assignee
        order.append(user)
        state = act_as(flow, state, user)
    assert order == ["u3", "u1", "u2"]


def test_sequential_later_signer_cannot_act_early() -> None:
    flow = load_text(one_node("sequential"))
    state, _ = start(flow, {}, "alice", directory(), NOW)
    from flow_engine import act

    with pytest.raises(NotYourTask):
        act(flow, state, state.open_tasks()[0].id, "u2", "approve", NOW, directory=directory())


def test_any_cancels_the_others() -> None:
    flow = load_text(one_node("any"))
    state, _ = start(flow, {}, "alice", directory(), NOW)
    state = act_as(flow, state, "u2")
    assert {t.assignee: t.status for t in state.tasks} == {"u1": "cancelled", "u2": "approved", "u3": "cancelled"}
