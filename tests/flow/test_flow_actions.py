"""Task actions: return, transfer, add signer, withdraw, comment, and every way of acting wrongly."""
from __future__ import annotations

from typing import Any

import pytest
from conftest import NOW, act_as, directory, load, load_text

from engine.errors import BadRequest, Conflict, Forbidden, NotFound
from flow_engine import (AlreadyActed, Commented, InstanceFinished, InvalidPayload, NotYourTask, Notify,
                         ReasonRequired, ReturnNotAllowed, TaskAlreadyClosed, TaskNotFound, UnknownAction, act, start)

PURCHASE = {"amount": 600000, "urgent": False}


def begin(values: dict[str, Any] = PURCHASE, name: str = "valid/purchase_request") -> tuple[Any, Any]:
    flow = load(name)
    state, _ = start(flow, values, "alice", directory(), NOW)
    return flow, state


def to_finance(flow: Any, state: Any) -> Any:
    return act_as(flow, state, "bob", payload={"values": {"opinion": "ok"}})


def test_reject_requires_a_reason_when_configured() -> None:
    flow, state = begin()
    with pytest.raises(ReasonRequired):
        act_as(flow, state, "bob", "reject")
    state = act_as(flow, state, "bob", "reject", {"reason": "over budget"})
    assert state.outcome == "rejected"
    assert state.tasks[0].reason == "over budget" and state.log[-1].detail == {"reason": "over budget"}


def test_return_to_initiator_then_resubmit_resolves_assignees_afresh() -> None:
    flow, state = begin()
    task = state.open_tasks()[0]
    with pytest.raises(ReasonRequired):
        act_as(flow, state, "bob", "return", {"to": "initiator"})
    state, effects = act(flow, state, task.id, "bob", "return", NOW, {"to": "initiator", "reason": "add a quote"},
                         directory=directory())
    assert Notify(("alice",), "returned", "lead_review", task.id) in effects
    resubmit = state.open_tasks()[0]
    assert (resubmit.assignee, resubmit.kind, resubmit.node) == ("alice", "resubmit", "start")
    org = directory()
    org.departments["sales"] = ("company", "dave")  # a new manager since
    state, _ = act(flow, state, resubmit.id, "alice", "approve", NOW, {"values": {"urgent": False}}, directory=org)
    assert [(t.assignee, t.node, t.visit) for t in state.open_tasks()] == [("dave", "lead_review", 2)]


def test_return_to_a_named_earlier_node() -> None:
    flow, state = begin()
    state = to_finance(flow, state)
    state = act_as(flow, state, "fin1")
    state = act_as(flow, state, "fin2", "return", {"to": "lead_review"})
    assert state.position == ["lead_review"]
    assert [t.status for t in state.tasks if t.node == "finance_review"] == ["approved", "returned"]
    assert state.open_tasks()[0].visit == 2
    with pytest.raises(ReturnNotAllowed):
        act_as(flow, state, "bob", "return", {"to": "finance_review", "reason": "x"})


def test_return_to_previous() -> None:
    flow, state = begin()
    state = to_finance(flow, state)
    state = act_as(flow, state, "fin1")
    state = act_as(flow, state, "fin2")
    assert state.position == ["director_review"]
    state = act_as(flow, state, "dir1", "return", {"to": "previous"})
    assert state.position == ["finance_review"]
    assert sorted(t.assignee for t in state.open_tasks()) == ["fin1", "fin2"]


@pytest.mark.parametrize(("target", "error"), [
    ("initiator", ReturnNotAllowed), ("previous", ReturnNotAllowed), ("approved", ReturnNotAllowed),
])
def test_returns_the_node_does_not_allow(target: str, error: type) -> None:
    flow, state = begin({"amount": 600000, "urgent": True})
    state = act_as(flow, state, "fin1")
    state = act_as(flow, state, "fin2")
    with pytest.raises(error):  # director_review allows only `previous`; lead_review was never visited
        act_as(flow, state, "dir1", "return", {"to": "lead_review" if target == "previous" else target})
    if target == "previous":
        state = act_as(flow, state, "dir1", "return", {"to": "previous"})
        assert state.position == ["finance_review"]


def test_any_earlier_allows_every_passed_user_node() -> None:
    flow, state = begin({"days": 9}, "valid/leave_request")
    state = act_as(flow, state, "bob")
    state = act_as(flow, state, "hr1", "return", {"to": "lead"})
    assert state.position == ["lead"]


def test_transfer_moves_the_task() -> None:
    flow, state = begin()
    with pytest.raises(InvalidPayload):
        act_as(flow, state, "bob", "transfer", {"to": "nobody"})
    with pytest.raises(InvalidPayload):
        act_as(flow, state, "bob", "transfer", {"to": "bob"})
    state = act_as(flow, state, "bob", "transfer", {"to": "dave"})
    assert [(t.assignee, t.status, t.added_by) for t in state.tasks] == [
        ("bob", "transferred", None), ("dave", "open", "bob")]
    assert not state.acted  # the initiator may still withdraw
    state = act_as(flow, state, "dave", payload={"values": {"opinion": "ok"}})
    assert state.position == ["finance_review"]


def test_add_signer_before_suspends_the_task() -> None:
    flow, state = begin()
    state = act_as(flow, state, "bob", "add_signer", {"users": ["carol"], "position": "before"})
    assert [(t.assignee, t.status) for t in state.tasks] == [("bob", "waiting"), ("carol", "open")]
    with pytest.raises(TaskAlreadyClosed):
        act(flow, state, state.tasks[0].id, "bob", "approve", NOW, directory=directory())
    state = act_as(flow, state, "carol", payload={"values": {"opinion": "ok"}})
    assert [t.assignee for t in state.open_tasks()] == ["bob"] and state.position == ["lead_review"]
    state = act_as(flow, state, "bob")
    assert state.position == ["finance_review"]


def test_add_signer_after_joins_a_running_countersign() -> None:
    flow, state = begin()
    state = to_finance(flow, state)
    state = act_as(flow, state, "fin1", "add_signer", {"users": "fin3", "position": "after"})
    state = act_as(flow, state, "fin1")
    state = act_as(flow, state, "fin2")
    assert state.position == ["finance_review"]  # fin3 must sign too
    state = act_as(flow, state, "fin3")
    assert state.position == ["director_review"]


def test_add_signer_after_in_sequential_comes_next() -> None:
    flow, state = begin({"days": 9}, "valid/leave_request")
    state = act_as(flow, state, "bob")
    assert [t.assignee for t in state.open_tasks()] == ["hr1"]
    state = act_as(flow, state, "hr1", "add_signer", {"users": ["carol"]})
    state = act_as(flow, state, "hr1")
    assert [t.assignee for t in state.open_tasks()] == ["carol"]
    state = act_as(flow, state, "carol")
    assert [t.assignee for t in state.open_tasks()] == ["boss"]
    state = act_as(flow, state, "boss")
    assert state.outcome == "approved"


@pytest.mark.parametrize("payload", [{"users": []}, {"users": ["ghost"]}, {"users": ["fin2"]},
                                     {"users": ["carol"], "position": "sideways"}])
def test_add_signer_refuses_bad_payloads(payload: dict[str, Any]) -> None:
    flow, state = begin()
    state = to_finance(flow, state)
    with pytest.raises(InvalidPayload):
        act_as(flow, state, "fin1", "add_signer", payload)


def test_withdraw_while_nobody_acted() -> None:
    flow, state = begin()
    with pytest.raises(NotYourTask):
        act(flow, state, None, "bob", "withdraw", NOW, directory=directory())
    state, effects = act(flow, state, None, "alice", "withdraw", NOW, directory=directory())
    assert (state.status, state.outcome) == ("withdrawn", "withdrawn")
    assert [t.status for t in state.tasks] == ["cancelled"]
    with pytest.raises(InstanceFinished):
        act(flow, state, None, "alice", "withdraw", NOW, directory=directory())


def test_withdraw_after_someone_acted() -> None:
    flow, state = begin()
    state = to_finance(flow, state)
    with pytest.raises(AlreadyActed) as caught:
        act(flow, state, None, "alice", "withdraw", NOW, directory=directory())
    assert caught.value.status == 409


def test_comment_records_without_moving() -> None:
    flow, state = begin()
    task = state.open_tasks()[0]
    after, effects = act(flow, state, task.id, "alice", "comment", NOW, {"text": "quote attached",
                                                                         "attachments": ["f1"]}, directory=directory())
    assert effects == [Commented(task.id, "alice", "quote attached", ("f1",), NOW)]
    assert after.position == state.position and after.log[-1].action == "comment"
    with pytest.raises(NotYourTask):
        act(flow, state, task.id, "dave", "comment", NOW, {"text": "hi"}, directory=directory())
    with pytest.raises(InvalidPayload):
        act(flow, state, task.id, "bob", "comment", NOW, {}, directory=directory())


def test_acting_twice_and_wrong_actors() -> None:
    flow, state = begin()
    task = state.open_tasks()[0]
    with pytest.raises(NotYourTask) as forbidden:
        act(flow, state, task.id, "dave", "approve", NOW, directory=directory())
    after = act_as(flow, state, "bob", payload={"values": {"opinion": "ok"}})
    with pytest.raises(TaskAlreadyClosed) as twice:
        act(flow, after, task.id, "bob", "approve", NOW, directory=directory())
    with pytest.raises(TaskNotFound) as missing:
        act(flow, after, "t999", "bob", "approve", NOW, directory=directory())
    with pytest.raises(UnknownAction) as unknown:
        act(flow, after, task.id, "bob", "approve_all", NOW, directory=directory())
    assert isinstance(forbidden.value, Forbidden) and isinstance(twice.value, Conflict)
    assert isinstance(missing.value, NotFound) and isinstance(unknown.value, BadRequest)
    assert twice.value.to_dict()["error"]["code"] == "conflict"


def test_steps_do_not_change_the_state_they_were_given() -> None:
    flow, state = begin()
    before = state.to_dict()
    to_finance(flow, state)
    assert state.to_dict() == before


def test_reject_by_a_signer_added_before_rejects_the_blocked_vote() -> None:
    flow = load_text("""
key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: a, type: approval, assignees: {users: [u1, u2]}, mode: all, reject_policy: after_all}
  - {id: done, type: end}
edges: [{from: start, to: a}, {from: a, to: done}]
""")
    state, _ = start(flow, {}, "alice", directory(), NOW)
    state = act_as(flow, state, "u1", "add_signer", {"users": ["u3"], "position": "before"})
    state = act_as(flow, state, "u3", "reject")
    assert [(t.assignee, t.status) for t in state.tasks] == [("u1", "rejected"), ("u2", "open"), ("u3", "rejected")]
    state = act_as(flow, state, "u2")
    assert state.outcome == "rejected"
