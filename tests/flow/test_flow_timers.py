"""Time limits: business-time arithmetic, due times on tasks, reminders and escalations."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from conftest import NOW, directory, load, load_text

from flow_engine import BusinessCalendar, Notify, fire_timer, start, timers

CAL = BusinessCalendar(working_hours=(9, 18), workdays=frozenset(range(5)), holidays={date(2024, 1, 9)})


@pytest.mark.parametrize(("begin", "duration", "expected"), [
    (datetime(2024, 1, 8, 10), timedelta(hours=8), datetime(2024, 1, 8, 18)),
    (datetime(2024, 1, 8, 10), timedelta(hours=9), datetime(2024, 1, 10, 10)),  # 9 Jan is a holiday
    (datetime(2024, 1, 8, 10), timedelta(days=2), datetime(2024, 1, 11, 10)),
    (datetime(2024, 1, 5, 17), timedelta(hours=2), datetime(2024, 1, 8, 10)),  # over the weekend
    (datetime(2024, 1, 6, 12), timedelta(minutes=30), datetime(2024, 1, 8, 9, 30)),
    (datetime(2024, 1, 8, 20), timedelta(hours=1), datetime(2024, 1, 10, 10)),
    (datetime(2024, 1, 8, 7), timedelta(minutes=90), datetime(2024, 1, 8, 10, 30)),
])
def test_business_calendar_add(begin: datetime, duration: timedelta, expected: datetime) -> None:
    assert CAL.add(begin, duration) == expected


def test_business_calendar_refuses_bad_hours() -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(working_hours=(18, 9))
    with pytest.raises(ValueError):
        BusinessCalendar(working_hours=(time(9, 30), time(9, 30)))


# 09:30–17:45 (8 h 15 min a day); Sunday 7 Jan 2024 is worked (调休) and Tuesday 9 Jan is a holiday
MINUTES = BusinessCalendar(working_hours=(time(9, 30), time(17, 45)), workdays=frozenset(range(5)),
                           holidays={date(2024, 1, 9)}, extra_workdays={date(2024, 1, 7)})


@pytest.mark.parametrize(("begin", "duration", "expected"), [
    (datetime(2024, 1, 8, 9, 0), timedelta(minutes=30), datetime(2024, 1, 8, 10, 0)),  # opens at 09:30, not 09:00
    (datetime(2024, 1, 8, 17, 30), timedelta(minutes=30), datetime(2024, 1, 10, 9, 45)),  # closes at 17:45
    (datetime(2024, 1, 8, 9, 30), timedelta(hours=8, minutes=15), datetime(2024, 1, 8, 17, 45)),
    (datetime(2024, 1, 6, 12, 0), timedelta(hours=1), datetime(2024, 1, 7, 10, 30)),  # the worked Sunday counts
    (datetime(2024, 1, 5, 17, 0), timedelta(days=1), datetime(2024, 1, 7, 17, 0)),  # Friday + 1 working day
    (datetime(2024, 1, 7, 17, 0), timedelta(hours=1), datetime(2024, 1, 8, 9, 45)),  # 45 min Sunday, 15 Monday
])
def test_business_calendar_with_minutes_and_adjusted_working_days(begin: datetime, duration: timedelta,
                                                                   expected: datetime) -> None:
    assert MINUTES.add(begin, duration) == expected
    assert MINUTES.is_working_day(date(2024, 1, 7)) and not MINUTES.is_working_day(date(2024, 1, 6))


FLOW = """
key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: a, type: approval, assignees: {users: [dave]}, sla: {remind_after: 4h, escalate_after: 1d, ACTION}}
  - {id: done, type: end}
edges: [{from: start, to: a}, {from: a, to: done}]
"""


def test_due_times_in_business_and_calendar_time() -> None:
    flow = load_text(FLOW.replace("ACTION", "escalate: {action: notify_manager}, business_time: true"))
    state, _ = start(flow, {}, "alice", directory(), datetime(2024, 1, 8, 16), calendar=CAL)
    task = state.open_tasks()[0]
    assert (task.remind_at, task.escalate_at) == (datetime(2024, 1, 10, 11), datetime(2024, 1, 10, 16))
    assert timers(state) == [(task.remind_at, task.id, "remind"), (task.escalate_at, task.id, "escalate")]
    flow = load_text(FLOW.replace("ACTION", "escalate: {action: notify_manager}"))
    state, _ = start(flow, {}, "alice", directory(), datetime(2024, 1, 8, 16))
    assert state.open_tasks()[0].escalate_at == datetime(2024, 1, 9, 16)


@pytest.mark.parametrize(("action", "expect"), [
    ("escalate: {action: notify_manager}", Notify(("bob",), "escalation", "a", "t1")),
    ("escalate: {action: reassign, to: {users: [carol]}}", "carol"),
    ("escalate_to: {manager_of: assignee}", "bob"),
    ("escalate: {action: auto_approve}", "approved"),
    ("escalate: {action: auto_reject}", "rejected"),
])
def test_escalation_actions(action: str, expect: object) -> None:
    flow = load_text(FLOW.replace("ACTION", action))
    state, _ = start(flow, {}, "alice", directory(), NOW)
    later = NOW + timedelta(days=1)
    state, effects = fire_timer(flow, state, "t1", "escalate", later, directory=directory())
    if isinstance(expect, Notify):
        assert effects == [expect]
    elif expect in ("approved", "rejected"):
        assert state.outcome == expect and state.log[-1].actor == "@system"
    else:
        assert [(t.assignee, t.status) for t in state.tasks] == [("dave", "transferred"), (expect, "open")]
    again, effects = fire_timer(flow, state, "t1", "escalate", later, directory=directory())
    assert effects == [] and again == state  # fired once


def test_reminder_notifies_the_assignee_once() -> None:
    flow = load_text(FLOW.replace("ACTION", "escalate: {action: notify_manager}"))
    state, _ = start(flow, {}, "alice", directory(), NOW)
    state, effects = fire_timer(flow, state, "t1", "remind", NOW + timedelta(hours=4), directory=directory())
    assert effects == [Notify(("dave",), "reminder", "a", "t1")]
    assert [kind for _, _, kind in timers(state)] == ["escalate"]


def test_purchase_request_lead_review_due_times() -> None:
    state, _ = start(load("valid/purchase_request"), {"amount": 1, "urgent": False}, "alice", directory(), NOW,
                     calendar=CAL)
    task = state.open_tasks()[0]
    assert task.remind_at == datetime(2024, 1, 8, 18) and task.escalate_at == datetime(2024, 1, 11, 10)
