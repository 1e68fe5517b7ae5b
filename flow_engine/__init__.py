"""Loomwork's flow engine: flow specs, load-time checks, the in-memory runtime and BPMN interchange.

Load a definition with ``load_flow`` (raises ``engine.errors.DefinitionErrors`` listing every problem), run it
with ``start`` / ``act`` / ``retry`` / ``fire_timer`` (pure functions: state in, state and effects out), try it
with ``simulate``, and exchange it as BPMN 2.0 with ``to_bpmn`` / ``from_bpmn``.
"""
from .assignees import AssigneeError, Directory, MemoryDirectory, resolve
from .bpmn import from_bpmn, to_bpmn
from .business_time import BusinessCalendar
from .dump import to_definition
from .errors import (AlreadyActed, FieldNotEditable, InstanceFinished, InstanceInError, InvalidPayload, NotYourTask,
                     ReasonRequired, RequiredFieldsMissing, ReturnNotAllowed, TaskAlreadyClosed, TaskNotFound,
                     UnknownAction)
from .loader import load_flow, load_flow_text
from .runtime import ACTIONS, Simulation, act, fire_timer, retry, simulate, start, timers
from .spec import (AssigneeRule, EdgeSpec, EscalationSpec, FieldRights, FlowSpec, NodeSpec, QuorumSpec, SlaSpec,
                   parse_duration)
from .state import (SYSTEM, ActiveNode, Commented, Effect, FailureInfo, FlowFailed, FlowFinished, InstanceState,
                    LogEntry, NodeEntered, NodeLeft, Notify, RunActions, StartSubflow, Task, TaskClosed, TaskCreated,
                    Visit)

__all__ = [
    "ACTIONS", "SYSTEM", "ActiveNode", "AlreadyActed", "AssigneeError", "AssigneeRule", "BusinessCalendar",
    "Commented", "Directory", "EdgeSpec", "Effect", "EscalationSpec", "FailureInfo", "FieldNotEditable",
    "FieldRights", "FlowFailed", "FlowFinished", "FlowSpec", "InstanceFinished", "InstanceInError", "InstanceState",
    "InvalidPayload", "LogEntry", "MemoryDirectory", "NodeEntered", "NodeLeft", "NodeSpec", "NotYourTask", "Notify",
    "QuorumSpec", "ReasonRequired", "RequiredFieldsMissing", "ReturnNotAllowed", "RunActions", "Simulation",
    "SlaSpec", "StartSubflow", "Task", "TaskAlreadyClosed", "TaskClosed", "TaskCreated", "TaskNotFound",
    "UnknownAction", "Visit", "act", "fire_timer", "load_flow", "load_flow_text", "parse_duration", "resolve",
    "retry", "simulate", "start", "timers", "to_bpmn", "from_bpmn", "to_definition",
]
