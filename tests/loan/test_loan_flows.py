"""The loan approval flow and the two sequential approvals, checked against the app's forms and organisation and
walked through the flow runtime: the rating-A shortcut, the countersign above 500,000, the or-sign, returns for
more documents, field rights per node, and time limits counted in the app's business hours."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.plugins import Hooks, load_builtin
from engine.loader import load_app_folder
from flow_engine import (FieldNotEditable, Notify, ReasonRequired, RequiredFieldsMissing, RunActions, act, fire_timer,
                         simulate, start, timers)
from tests.loan import loan_flows
from tests.loan.loan_data import LOAN_DIR

SHANGHAI = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    return load_app_folder(LOAN_DIR, load_builtin(Hooks()).kinds)


@pytest.fixture(scope="module")
def approval(app):  # type: ignore[no-untyped-def]
    return loan_flows.load(app, "loan_approval")


def record(amount: int, rating: str) -> dict:
    return {"amount": amount, "customer": {"rating": rating}, "account_manager": "yang_fan", "stage": "draft"}


def people_path(flow, values, app):  # type: ignore[no-untyped-def]
    sim = simulate(flow, values, loan_flows.directory(app), initiator="yang_fan")
    assert sim.error is None and sim.outcome == "approved"
    return [n for n in sim.path if flow.node(n).type in ("approval", "fill")], sim.people


def test_every_flow_loads_against_the_app(app) -> None:  # type: ignore[no-untyped-def]
    assert {k: f.form for k, f in app.of_kind("flow").items()} == {
        "loan_approval": "loan_application", "write_off_approval": "write_off",
        "rate_exception_approval": "rate_exception"}


@pytest.mark.parametrize("amount, rating, path", [
    (800_000, "B", ["initial_review", "risk_review", "director_countersign", "gm_approval", "contract_signing",
                    "disbursement"]),
    (500_000, "C", ["initial_review", "risk_review", "gm_approval", "contract_signing", "disbursement"]),
    (100_000, "A", ["risk_review", "gm_approval", "contract_signing", "disbursement"]),
    (800_000, "A", ["risk_review", "director_countersign", "gm_approval", "contract_signing", "disbursement"]),
])
def test_the_path_depends_on_rating_and_amount(app, approval, amount, rating, path) -> None:  # type: ignore[no-untyped-def]
    nodes, people = people_path(approval, record(amount, rating), app)
    assert nodes == path
    assert people["risk_review"] == ("zhao_min", "qian_lei")
    assert people["gm_approval"] == ("zhang_wei", "li_na")
    assert people["contract_signing"] == ("yang_fan",)
    if "director_countersign" in path:
        assert people["director_countersign"] == ("wang_qiang", "lin_xue")


def _do(flow, state, app, user, action="approve", payload=None, now=MONDAY):  # type: ignore[no-untyped-def]
    task = next(t for t in state.open_tasks() if t.assignee == user)
    return act(flow, state, task.id, user, action, now, payload, directory=loan_flows.directory(app),
               calendar=loan_flows.calendar(app))


def test_countersign_needs_both_directors_and_or_sign_needs_one_manager(app, approval) -> None:  # type: ignore[no-untyped-def]
    state, effects = start(approval, record(800_000, "B"), "yang_fan", loan_flows.directory(app), MONDAY,
                           calendar=loan_flows.calendar(app))
    assert [e.actions for e in effects if isinstance(e, RunActions)] == [
        ({"set": {"stage": "'submitted'"}},)]
    assert {t.assignee for t in state.open_tasks()} == {"sun_li", "zhou_jie"}
    state, _ = _do(approval, state, app, "zhou_jie", payload={"values": {"initial_review_opinion": "资料齐全"}})
    assert {t.assignee for t in state.open_tasks()} == {"zhao_min", "qian_lei"}        # or-sign: sun_li's task gone
    state, _ = _do(approval, state, app, "qian_lei", payload={"values": {
        "risk_grade": "R2", "risk_opinion": "抵押充足", "approved_amount": 800_000, "approved_rate": 0.085}})
    assert {t.assignee for t in state.open_tasks()} == {"wang_qiang", "lin_xue"}
    state, _ = _do(approval, state, app, "wang_qiang", payload={"values": {"director_opinion": "同意"}})
    assert {t.assignee for t in state.open_tasks()} == {"lin_xue"}                     # countersign waits
    state, _ = _do(approval, state, app, "lin_xue", payload={"values": {"director_opinion": "同意"}})
    assert {t.assignee for t in state.open_tasks()} == {"zhang_wei", "li_na"}
    state, effects = _do(approval, state, app, "li_na", payload={"values": {"gm_opinion": "同意放款"}})
    assert [t.assignee for t in state.open_tasks()] == ["yang_fan"] and state.open_tasks()[0].node == "contract_signing"
    assert any(isinstance(e, RunActions) and e.actions[0] == {"set": {"stage": "'approved'"}} for e in effects)
    state, _ = _do(approval, state, app, "yang_fan", payload={"values": {"signed_on": "2026-03-04",
                                                                           "signed_contract": [{"id": 1}]}})
    assert {t.assignee for t in state.open_tasks()} == {"wu_fang", "zheng_hao"}
    state, effects = _do(approval, state, app, "wu_fang", payload={"values": {
        "disbursed_on": "2026-03-05", "payee_account": "6222024000000000011", "payee_bank": "富滇银行"}})
    assert state.outcome == "approved" and state.values["risk_grade"] == "R2"
    booked = [e for e in effects if isinstance(e, RunActions)][-1]
    assert booked.actions[1]["create"]["form"] == "disbursement"


def test_field_rights_per_node(app, approval) -> None:  # type: ignore[no-untyped-def]
    state, _ = start(approval, record(100_000, "A"), "yang_fan", loan_flows.directory(app), MONDAY)
    with pytest.raises(RequiredFieldsMissing):
        _do(approval, state, app, "zhao_min", payload={"values": {"risk_opinion": "ok"}})
    with pytest.raises(FieldNotEditable):
        _do(approval, state, app, "zhao_min", payload={"values": {
            "risk_grade": "R1", "risk_opinion": "ok", "approved_amount": 100_000, "approved_rate": 0.07,
            "amount": 200_000}})
    node = approval.node("risk_review")
    assert node.rights.right("amount") == "readonly" and node.rights.right("risk_grade") == "required"


def test_return_to_the_account_manager_for_more_documents(app, approval) -> None:  # type: ignore[no-untyped-def]
    state, _ = start(approval, record(300_000, "B"), "yang_fan", loan_flows.directory(app), MONDAY)
    with pytest.raises(ReasonRequired):
        _do(approval, state, app, "sun_li", "return", {"to": "initiator"})
    state, effects = _do(approval, state, app, "sun_li", "return", {"to": "initiator", "reason": "缺少近6个月银行流水"})
    resubmit = state.open_tasks()
    assert [(t.assignee, t.kind) for t in resubmit] == [("yang_fan", "resubmit")]
    assert any(isinstance(e, Notify) and e.kind == "returned" for e in effects)
    state, _ = _do(approval, state, app, "yang_fan")                               # documents added, resubmitted
    assert {t.assignee for t in state.open_tasks()} == {"sun_li", "zhou_jie"}


def test_time_limits_remind_then_escalate_in_business_hours(app, approval) -> None:  # type: ignore[no-untyped-def]
    friday = datetime(2026, 3, 6, 15, 0, tzinfo=SHANGHAI)
    state, _ = start(approval, record(300_000, "B"), "yang_fan", loan_flows.directory(app), friday,
                     calendar=loan_flows.calendar(app))
    due = {(task, kind): when for when, task, kind in timers(state)}
    task = next(t for t in state.open_tasks() if t.assignee == "zhou_jie")
    # 4 working hours from Friday 15:00 is Monday 10:00; one working day is Monday 15:00
    assert due[(task.id, "remind")] == datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
    assert due[(task.id, "escalate")] == datetime(2026, 3, 9, 15, 0, tzinfo=SHANGHAI)
    later = datetime(2026, 3, 9, 15, 1, tzinfo=SHANGHAI)
    state, effects = fire_timer(approval, state, task.id, "remind", later, directory=loan_flows.directory(app))
    assert effects[0] == Notify(("zhou_jie",), "reminder", "initial_review", task.id)
    state, effects = fire_timer(approval, state, task.id, "escalate", later, directory=loan_flows.directory(app))
    assert effects[0].kind == "escalation" and effects[0].users == ("sun_li",)   # the credit department's head


def test_write_off_and_rate_exception_are_approved_one_after_another(app) -> None:  # type: ignore[no-untyped-def]
    write_off = loan_flows.load(app, "write_off_approval")
    assert write_off.node("sign_off").mode == "sequential"
    _, people = people_path(write_off, {"stage": "draft"}, app)
    assert people["sign_off"] == ("wang_qiang", "wu_fang", "zhang_wei")
    rate = loan_flows.load(app, "rate_exception_approval")
    sim = simulate(rate, {"stage": "draft"}, loan_flows.directory(app), initiator="xu_jing")
    assert sim.people["sign_off"] == ("liu_yang", "wang_qiang", "zhang_wei")       # Kunming branch manager first
    state, _ = start(write_off, {"stage": "draft"}, "feng_jun", loan_flows.directory(app), MONDAY)
    assert [t.assignee for t in state.open_tasks()] == ["wang_qiang"]
    state, _ = _do(write_off, state, app, "wang_qiang", payload={"values": {"risk_opinion": "同意核销"}})
    assert [t.assignee for t in state.open_tasks()] == ["wu_fang"]
    state, _ = _do(write_off, state, app, "wu_fang", "reject", {"reason": "证据不足"})
    assert state.outcome == "rejected" and not state.open_tasks()
