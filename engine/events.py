"""Events the engines hand to each other inside the transaction of a change (see ``engine.plugins.Hooks``).

``RecordEvent`` lives with the record service (``forms_engine.records``); flows emit ``FlowEvent``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: What happened to a flow instance.
FLOW_EVENT_KINDS = ("started", "node_entered", "node_left", "finished", "error")


@dataclass(frozen=True)
class FlowEvent:
    """One step of a flow instance, passed to every ``hooks.flow_events`` handler as ``handler(conn, event)``.

    Attributes:
        app: the app key.
        flow: the flow key.
        instance_id: the instance (``lw_flow_instances.id``).
        form: the form whose record the flow moves.
        record_id: that record.
        kind: started, node_entered, node_left, finished or error.
        node: the node entered or left (the failing node for ``error``; the start node for ``started``).
        outcome: the node's result for ``node_left`` (approved, rejected, skipped …), the flow's outcome for
            ``finished`` (approved, rejected, withdrawn …), the error message for ``error``.
        actor_id: the user whose action caused it (None for the system: timers, automations).
        at: when.
    """

    app: str
    flow: str
    instance_id: int
    form: str
    record_id: int
    kind: str
    node: str | None
    outcome: str | None
    actor_id: int | None
    at: datetime

    def __post_init__(self) -> None:
        if self.kind not in FLOW_EVENT_KINDS:
            raise ValueError(f"unknown flow event kind {self.kind!r}; one of {', '.join(FLOW_EVENT_KINDS)}")
