"""Returns inside parallel branches: only the returning branch goes back, the join still waits for every branch;
a return to before the split resets them all; a target in a sibling branch is a definition error."""
from __future__ import annotations

from typing import Any

import pytest
from conftest import NOW, act_as, directory, load_text

from engine.errors import DefinitionErrors
from flow_engine import NodeEntered, ReturnNotAllowed, act, start

BRANCHES = """key: branch_returns
form: expense
nodes:
  - {id: start, type: start}
  - {id: prepare, type: approval, assignees: {users: [bob]}}
  - {id: split, type: parallel}
  - {id: check, type: approval, assignees: {role: finance_officer}, mode: any}
  - {id: sign, type: approval, assignees: {users: [dir1]}, returnable_to: [check, prepare, previous]}
  - {id: audit, type: approval, assignees: {users: [aud1]}, returnable_to: previous}
  - {id: merge, type: join}
  - {id: final, type: approval, assignees: {users: [cfo1]}, returnable_to: any_earlier}
  - {id: done, type: end, outcome: approved}
edges:
  - {from: start, to: prepare}
  - {from: prepare, to: split}
  - {from: split, to: check}
  - {from: split, to: audit}
  - {from: check, to: sign}
  - {from: sign, to: merge}
  - {from: audit, to: merge}
  - {from: merge, to: final}
  - {from: final, to: done}
"""


def begin() -> tuple[Any, Any]:
    flow = load_text(BRANCHES)
    state, _ = start(flow, {"amount": 100}, "alice", directory(), NOW)
    state = act_as(flow, state, "bob")
    assert sorted(state.position) == ["audit", "check"]
    return flow, state


def open_at(state: Any) -> list[tuple[str, str, int]]:
    return sorted((t.node, t.assignee, t.visit) for t in state.open_tasks())


def test_a_return_inside_a_branch_moves_only_that_branch_and_the_join_fires_once() -> None:
    flow, state = begin()
    audit_task = next(t for t in state.open_tasks() if t.node == "audit")
    state = act_as(flow, state, "fin1")
    assert open_at(state) == [("audit", "aud1", 1), ("sign", "dir1", 1)]
    org = directory()
    org.roles["finance_officer"] = ["erin"]  # the branch's target is resolved afresh
    sign = next(t for t in state.open_tasks() if t.node == "sign")
    state, effects = act(flow, state, sign.id, "dir1", "return", NOW, {"to": "check", "reason": "recheck"},
                         directory=org)
    assert open_at(state) == [("audit", "aud1", 1), ("check", "erin", 2)]
    assert state.task(audit_task.id) == audit_task  # the other branch's task is untouched
    assert state.task(sign.id).status == "returned" and sorted(state.position) == ["audit", "check"]
    assert [e.node for e in effects if isinstance(e, NodeEntered)] == ["check"]
    assert state.log[-1].action == "return" and state.log[-1].detail == {"to": "check", "reason": "recheck"}
    assert [v.result for v in state.visits if v.node == "sign"] == ["returned"]
    state = act_as(flow, state, "aud1")  # the other branch completes and waits at the join
    assert sorted(state.position) == ["check", "merge"] and dict(state.arrivals) == {"merge": 1}
    state = act_as(flow, state, "erin")
    state = act_as(flow, state, "dir1")
    assert state.position == ["final"] and not state.arrivals
    assert [v.node for v in state.visits].count("merge") == 1
    assert [v.node for v in state.visits].count("final") == 1
    state = act_as(flow, state, "cfo1")
    assert state.outcome == "approved"


def test_a_return_inside_a_branch_keeps_the_arrival_of_a_branch_already_at_the_join() -> None:
    flow, state = begin()
    state = act_as(flow, state, "aud1")
    state = act_as(flow, state, "fin2")
    assert dict(state.arrivals) == {"merge": 1} and sorted(state.position) == ["merge", "sign"]
    state = act_as(flow, state, "dir1", "return", {"to": "check"})
    assert dict(state.arrivals) == {"merge": 1} and sorted(state.position) == ["check", "merge"]
    state = act_as(flow, state, "fin1")
    assert sorted(state.position) == ["merge", "sign"]
    state = act_as(flow, state, "dir1")
    assert state.position == ["final"]
    assert [v.node for v in state.visits].count("merge") == 1


def test_a_return_to_before_the_split_resets_every_branch() -> None:
    flow, state = begin()
    state = act_as(flow, state, "fin1")
    audit_task = next(t for t in state.open_tasks() if t.node == "audit")
    state = act_as(flow, state, "dir1", "return", {"to": "prepare"})
    assert state.position == ["prepare"] and not state.arrivals
    assert state.task(audit_task.id).status == "cancelled"
    assert open_at(state) == [("prepare", "bob", 2)]
    state = act_as(flow, state, "bob")  # the split runs again
    assert open_at(state) == [("audit", "aud1", 2), ("check", "fin1", 2), ("check", "fin2", 2)]


def test_previous_inside_a_branch_stays_in_the_branch_or_goes_before_the_split() -> None:
    flow, state = begin()
    state = act_as(flow, state, "fin1")
    state = act_as(flow, state, "aud1")  # audit was approved last, but it is in the sibling branch
    state = act_as(flow, state, "dir1", "return", {"to": "previous"})
    assert sorted(state.position) == ["check", "merge"] and dict(state.arrivals) == {"merge": 1}
    assert state.log[-1].detail == {"to": "check"}
    flow, state = begin()
    state = act_as(flow, state, "fin1")
    state = act_as(flow, state, "aud1", "return", {"to": "previous"})  # the first node of its branch
    assert state.position == ["prepare"] and open_at(state) == [("prepare", "bob", 2)]


def test_returns_into_a_branch_from_elsewhere_are_refused_at_run_time() -> None:
    flow, state = begin()
    state = act_as(flow, state, "fin1")
    with pytest.raises(ReturnNotAllowed, match="cannot return to 'audit'"):
        act_as(flow, state, "dir1", "return", {"to": "audit"})
    state = act_as(flow, state, "aud1")
    state = act_as(flow, state, "dir1")
    assert state.position == ["final"]
    with pytest.raises(ReturnNotAllowed, match="inside a branch of parallel split 'split' that 'final' is not in"):
        act_as(flow, state, "cfo1", "return", {"to": "check"})
    state = act_as(flow, state, "cfo1", "return", {"to": "prepare"})
    assert state.position == ["prepare"]


def test_a_sibling_branch_target_is_a_definition_error_with_its_line() -> None:
    text = BRANCHES.replace("{id: audit, type: approval, assignees: {users: [aud1]}, returnable_to: previous}",
                            "{id: audit, type: approval, assignees: {users: [aud1]}, returnable_to: [check]}")
    with pytest.raises(DefinitionErrors) as caught:
        load_text(text)
    messages = [str(e) for e in caught.value.errors]
    assert len(messages) == 1
    assert messages[0].startswith("inline.yaml:9:")
    assert "nodes[5].returnable_to[0]: cannot return to 'check': it is in another branch of parallel split 'split'" \
        in messages[0]


def test_nested_split_inside_a_branch_goes_back_as_a_whole() -> None:
    text = """key: nested
form: expense
nodes:
  - {id: start, type: start}
  - {id: outer, type: parallel}
  - {id: head, type: approval, assignees: {users: [fin1]}}
  - {id: inner, type: parallel}
  - {id: left, type: approval, assignees: {users: [u1]}}
  - {id: right, type: approval, assignees: {users: [u2]}}
  - {id: inner_join, type: join}
  - {id: tail, type: approval, assignees: {users: [u3]}, returnable_to: [head, left]}
  - {id: other, type: approval, assignees: {users: [aud1]}}
  - {id: outer_join, type: join}
  - {id: done, type: end}
edges:
  - {from: start, to: outer}
  - {from: outer, to: head}
  - {from: outer, to: other}
  - {from: head, to: inner}
  - {from: inner, to: left}
  - {from: inner, to: right}
  - {from: left, to: inner_join}
  - {from: right, to: inner_join}
  - {from: inner_join, to: tail}
  - {from: tail, to: outer_join}
  - {from: other, to: outer_join}
  - {from: outer_join, to: done}
"""
    with pytest.raises(DefinitionErrors) as caught:  # 'left' is inside the inner split that 'tail' is after
        load_text(text)
    assert [str(e).split(": ", 2)[-1].split(" (")[0] for e in caught.value.errors] == [
        "cannot return to 'left': it is inside a branch of parallel split 'inner' that 'tail' is not in"]
    flow = load_text(text.replace("returnable_to: [head, left]", "returnable_to: [head]"))
    state, _ = start(flow, {}, "alice", directory(), NOW)
    state = act_as(flow, state, "fin1")
    state = act_as(flow, state, "u1")
    assert dict(state.arrivals) == {"inner_join": 1}
    state = act_as(flow, state, "u2")
    state = act_as(flow, state, "aud1")
    assert sorted(state.position) == ["outer_join", "tail"]
    state = act_as(flow, state, "u3", "return", {"to": "head"})
    assert sorted(state.position) == ["head", "outer_join"] and dict(state.arrivals) == {"outer_join": 1}
    for user in ("fin1", "u1", "u2", "u3"):
        state = act_as(flow, state, user)
    assert state.outcome == "approved"
