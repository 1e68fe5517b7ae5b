"""Runtime state of a flow instance and the effects the runtime returns, as frozen, JSON-serialisable data.

``InstanceState.to_dict()`` gives plain JSON (datetimes as ISO 8601 text) that ``InstanceState.from_dict`` reads
back; the store persists it together with the effects, in one transaction.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Mapping
from typing import Any, ClassVar

#: Version of the serialised state (``to_dict()["format"]``).
STATE_FORMAT = 1

OPEN, WAITING = "open", "waiting"
RUNNING, ERROR, FINISHED, WITHDRAWN = "running", "error", "finished", "withdrawn"
#: The pseudo-user that acts for the system (subflow completion, automatic escalation).
SYSTEM = "@system"


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Effect):
            out["effect"] = type(value).__name__
        return out
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class _Record:
    """Mixin: ``to_dict``/``from_dict`` for the state records (times named in ``_times``)."""

    _times: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        names = cls.__dict__.get("_field_names")
        if names is None:
            names = frozenset(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
            cls._field_names = names  # type: ignore[attr-defined]
        times = cls._times
        args = {}
        for k, v in data.items():
            if k in names:
                if k in times:
                    v = _time(v)
                elif type(v) is list:
                    v = tuple(v)
                args[k] = v
        return cls(**args)


@dataclass(frozen=True)
class Task(_Record):
    """A piece of work for one person at one visit of a node.

    ``status``: open, waiting (suspended for signers added before it), approved, rejected, returned, transferred,
    cancelled. ``kind``: approval, fill, resubmit (the initiator after a return) or subflow (the system).
    """

    _times = ("created_at", "closed_at", "remind_at", "escalate_at")

    id: str
    node: str
    assignee: str
    status: str
    created_at: datetime
    kind: str = "approval"
    visit: int = 1
    closed_at: datetime | None = None
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    reason: str | None = None
    added_by: str | None = None
    blocks: str | None = None
    acted_by: str | None = None


@dataclass(frozen=True)
class ActiveNode(_Record):
    """A node the instance is at: ``queue`` holds people still to get a task in turn; ``voters`` counts votes."""

    _times = ("entered_at",)

    node: str
    visit: int
    entered_at: datetime
    queue: tuple[str, ...] = ()
    voters: int = 0


@dataclass(frozen=True)
class Visit(_Record):
    """One pass through a node, for the history and reports."""

    _times = ("entered_at", "left_at")

    node: str
    visit: int
    entered_at: datetime
    left_at: datetime | None = None
    result: str | None = None


@dataclass(frozen=True)
class LogEntry(_Record):
    """One action in the history: who did what, when, on which task."""

    _times = ("at",)

    at: datetime
    actor: str
    action: str
    node: str | None = None
    task: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FailureInfo(_Record):
    """Why an instance stopped (the failing node and message) and what ``retry`` redoes.

    ``retry`` enters ``resume`` again (``step`` enter) or leaves it again with ``result`` (``step`` leave).
    """

    _times = ("at",)

    node: str
    message: str
    at: datetime
    step: str = "leave"
    resume: str = ""
    result: str = "approved"


@dataclass(frozen=True)
class InstanceState(_Record):
    """Everything about one running (or finished) flow instance."""

    _times = ("started_at", "finished_at")

    id: str
    flow: str
    version: str
    initiator: str
    status: str
    values: Mapping[str, Any]
    started_at: datetime
    tasks: tuple[Task, ...] = ()
    active: tuple[ActiveNode, ...] = ()
    arrivals: Mapping[str, int] = field(default_factory=dict)
    visits: tuple[Visit, ...] = ()
    log: tuple[LogEntry, ...] = ()
    outcome: str | None = None
    finished_at: datetime | None = None
    failure: FailureInfo | None = None
    acted: bool = False
    seq: int = 0

    def task(self, task_id: str) -> Task | None:
        """The task with ``task_id``, or None."""
        return next((t for t in self.tasks if t.id == task_id), None)

    def open_tasks(self) -> list[Task]:
        """Tasks waiting for someone to act."""
        return [t for t in self.tasks if t.status == OPEN]

    @property
    def position(self) -> list[str]:
        """Ids of the nodes the instance is at."""
        return [a.node for a in self.active]

    def to_dict(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, **_dump(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstanceState:
        if data.get("format", STATE_FORMAT) != STATE_FORMAT:
            raise ValueError(f"unsupported state format {data.get('format')!r}")
        return cls(
            id=data["id"], flow=data["flow"], version=data["version"], initiator=data["initiator"],
            status=data["status"], values=dict(data["values"]), started_at=_time(data["started_at"]),  # type: ignore
            tasks=tuple(Task.from_dict(t) for t in data.get("tasks", ())),
            active=tuple(ActiveNode.from_dict(a) for a in data.get("active", ())),
            arrivals=dict(data.get("arrivals", {})),
            visits=tuple(Visit.from_dict(v) for v in data.get("visits", ())),
            log=tuple(LogEntry.from_dict(e) for e in data.get("log", ())),
            outcome=data.get("outcome"), finished_at=_time(data.get("finished_at")),
            failure=FailureInfo.from_dict(data["failure"]) if data.get("failure") else None,
            acted=bool(data.get("acted", False)), seq=int(data.get("seq", 0)),
        )


class Effect(_Record):
    """Base of the effects: what the caller must do or record after a step."""


@dataclass(frozen=True)
class TaskCreated(Effect):
    task: Task


@dataclass(frozen=True)
class TaskClosed(Effect):
    task: Task


@dataclass(frozen=True)
class Notify(Effect):
    """Tell ``users``: kind is cc, reminder, escalation, returned or finished."""

    users: tuple[str, ...]
    kind: str
    node: str | None = None
    task: str | None = None


@dataclass(frozen=True)
class NodeEntered(Effect):
    node: str
    visit: int
    at: datetime


@dataclass(frozen=True)
class NodeLeft(Effect):
    node: str
    visit: int
    at: datetime
    result: str


@dataclass(frozen=True)
class FlowFinished(Effect):
    outcome: str
    at: datetime


@dataclass(frozen=True)
class FlowFailed(Effect):
    node: str
    message: str
    at: datetime


@dataclass(frozen=True)
class RunActions(Effect):
    """Hand ``actions`` of an automation node to the automation runner."""

    node: str
    actions: tuple[Any, ...]


@dataclass(frozen=True)
class StartSubflow(Effect):
    """Start flow ``flow``; complete ``task`` (as ``SYSTEM``) with approve or reject when it finishes."""

    node: str
    flow: str
    task: str


@dataclass(frozen=True)
class Commented(Effect):
    task: str | None
    actor: str
    text: str
    attachments: tuple[str, ...]
    at: datetime
