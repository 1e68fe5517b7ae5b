"""Automation specs: immutable, built once when an app is loaded (``loader.build_automation``).

An automation is ``when`` (one trigger) → optional ``if`` (a compiled expression) → ``then`` (actions in order).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

#: Trigger kinds.
TRIGGERS = ("record", "flow", "schedule", "date", "button")
#: Record events a record trigger listens to (``saved`` is created or updated).
RECORD_EVENTS = ("created", "updated", "deleted", "saved")
#: Flow events a flow trigger listens to.
FLOW_EVENTS = ("started", "entered", "left", "finished")
#: Action kinds, in the order the docs list them.
ACTIONS = ("set", "create", "update", "start_flow", "notify", "webhook")


@dataclass(frozen=True)
class Schedule:
    """``every`` hour | day | week | month, ``at`` HH:MM (minute past the hour for ``hour``), ``on`` a weekday
    (week: 0 = Monday) or a day of the month (month: 1..31, the last day when the month is shorter)."""

    every: str
    hour: int = 0
    minute: int = 0
    on: int | None = None

    def describe(self) -> str:
        at = f"{self.hour:02d}:{self.minute:02d}"
        if self.every == "hour":
            return f"every hour at :{self.minute:02d}"
        if self.every == "week":
            return f"every week on {('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')[self.on or 0]} at {at}"
        if self.every == "month":
            return f"every month on day {self.on or 1} at {at}"
        return f"every day at {at}"


@dataclass(frozen=True)
class Trigger:
    """What starts an automation.

    Attributes:
        kind: record, flow, schedule, date or button.
        form: the form whose records it runs on (None for a schedule without records).
        event: record: created/updated/deleted/saved; flow: started/entered/left/finished.
        changed: record updates: run only when one of these fields changed.
        change_from, change_to: with one changed field: its value before / after (None: any).
        flow, node, outcome: flow triggers.
        schedule: schedule and date triggers (a date trigger's ``at``).
        where: schedule and date triggers: which records (compiled, over the form's fields).
        date_field, offset_days: date triggers: the record's date field and the days after it (negative: before).
        button, label, roles: button triggers: the action's name, its label and who may press it (empty: anyone
            who may update the record).
    """

    kind: str
    form: str | None = None
    event: str | None = None
    changed: tuple[str, ...] = ()
    change_from: tuple[bool, Any] = (False, None)
    change_to: tuple[bool, Any] = (False, None)
    flow: str | None = None
    node: str | None = None
    outcome: str | None = None
    schedule: Schedule | None = None
    where: Any = None
    date_field: str | None = None
    offset_days: int = 0
    button: str | None = None
    label: str | None = None
    roles: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the run log: ``record updated: purchase_request (status → approved)``."""
        if self.kind == "record":
            text = f"record {self.event}: {self.form}"
            if self.changed:
                text += f" ({', '.join(self.changed)} changed)"
            return text
        if self.kind == "flow":
            return f"flow {self.flow}: {self.event}" + (f" {self.node}" if self.node else "") + (
                f" ({self.outcome})" if self.outcome else "")
        if self.kind == "schedule":
            return f"schedule: {self.schedule.describe() if self.schedule else ''}" + (
                f" over {self.form}" if self.form else "")
        if self.kind == "date":
            days = abs(self.offset_days)
            side = "before" if self.offset_days < 0 else "after"
            return f"date: {days} days {side} {self.form}.{self.date_field}"
        return f"button {self.button}: {self.form}"


@dataclass(frozen=True)
class Template:
    """Text with ``{{ expression }}`` parts, compiled once: ``parts`` alternate literal text and expressions."""

    source: str
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Action:
    """One step of ``then``.

    Attributes:
        kind: set, create, update, start_flow, notify or webhook.
        index: its position in ``then`` (for messages and the run log).
        form: create/update: the target form.
        values: set/create/update: field → compiled expression.
        each: create: how many records: ("one",), ("count", expr), ("rows", sub-table key), ("list", expr) or
            ("schedule", {principal, rate, months, method: expr}).
        match: update: target field → compiled expression of the triggering record (an equality filter in SQL).
        where: update: compiled condition over each target record (``record.x`` is the triggering record).
        flow: start_flow: the flow key.
        users, roles, user_fields: notify: usernames, role keys, user fields of the record.
        title, body: notify: templates.
        url, payload: webhook: the URL and an optional body (field → compiled expression).
        limit: update: the most records one run may change.
    """

    kind: str
    index: int
    form: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    each: tuple[Any, ...] = ("one",)
    match: Mapping[str, Any] = field(default_factory=dict)
    where: Any = None
    flow: str | None = None
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    user_fields: tuple[str, ...] = ()
    title: Template | None = None
    body: Template | None = None
    url: str | None = None
    payload: Mapping[str, Any] | None = None
    limit: int = 1000


@dataclass(frozen=True)
class AutomationSpec:
    key: str
    label: str
    description: str
    trigger: Trigger
    condition: Any
    actions: tuple[Action, ...]
    enabled: bool = True
    file: str = ""
    #: who the actions act as: ``actor`` (the person whose change triggered the run; the default) or ``platform``
    #: (the platform itself, as flow automation nodes and scheduled runs do: fields only it may change can be set)
    run_as: str = "actor"
