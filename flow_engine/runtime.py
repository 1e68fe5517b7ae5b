"""The flow runtime: pure, in-memory steps from one ``InstanceState`` to the next, with the effects to apply.

No database, no clock, no globals: time comes in as ``now``, people through a ``Directory``. Every step either
returns a whole new state or raises a typed error and changes nothing. A condition or assignee rule that fails
while the flow advances stops the instance in its ``error`` state at the node it was leaving (never
half-advanced); ``retry`` redoes that step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .assignees import AssigneeError, Decide, Directory, resolve
from .business_time import BusinessCalendar
from .errors import (AlreadyActed, FieldNotEditable, InstanceFinished, InstanceInError, InvalidPayload, NotYourTask,
                     ReasonRequired, RequiredFieldsMissing, ReturnNotAllowed, StepRuleFailed, TaskAlreadyClosed,
                     TaskNotFound, UnknownAction)
from .spec import FlowSpec, NodeSpec, return_scope
from .state import (ERROR, FINISHED, OPEN, RUNNING, SYSTEM, WAITING, WITHDRAWN, ActiveNode, Commented, Effect,
                    FailureInfo, FlowFailed, FlowFinished, InstanceState, LogEntry, NodeEntered, NodeLeft, Notify,
                    RunActions, StartSubflow, Task, TaskClosed, TaskCreated, Visit)

ACTIONS = ("approve", "reject", "return", "transfer", "add_signer", "withdraw", "comment")
#: Actions that count as "someone acted" (after which the initiator can no longer withdraw).
DECISIONS = frozenset({"approve", "reject", "return", "add_signer"})
#: Role whose members get the tasks of a node with ``if_none: admin``.
ADMIN_ROLE = "admin"
#: Most automatic steps one action may take (a guard; checked flows never get near it).
MAX_STEPS = 10_000


def _with(record: Any, **changes: Any) -> Any:
    """A copy of a frozen state record with ``changes`` (``dataclasses.replace`` without its per-call checks)."""
    new = object.__new__(type(record))
    new.__dict__.update(record.__dict__, **changes)
    return new


class _Stop(Exception):
    """A failure while advancing: the instance goes to its error state."""

    def __init__(self, node: str, message: str, step: str) -> None:
        super().__init__(message)
        self.node, self.message, self.step = node, message, step


@dataclass
class Context:
    """What a step needs from outside: the organisation, the business calendar, decision tables."""

    directory: Directory
    calendar: BusinessCalendar | None = None
    decide: Decide | None = None
    admin_role: str = ADMIN_ROLE


@dataclass
class _Run:
    """A mutable working copy of an instance during one step."""

    flow: FlowSpec
    ctx: Context
    now: datetime
    s: dict[str, Any]
    tasks: dict[str, Task]
    active: dict[str, ActiveNode]
    arrivals: dict[str, int]
    visits: list[Visit]
    log: list[LogEntry]
    effects: list[Effect] = field(default_factory=list)

    @classmethod
    def of(cls, flow: FlowSpec, state: InstanceState, ctx: Context, now: datetime) -> _Run:
        scalars = {k: getattr(state, k) for k in ("id", "flow", "version", "initiator", "status", "started_at",
                                                  "outcome", "finished_at", "failure", "acted", "seq")}
        scalars["values"] = dict(state.values)
        return cls(flow, ctx, now, scalars, {t.id: t for t in state.tasks}, {a.node: a for a in state.active},
                   dict(state.arrivals), list(state.visits), list(state.log))

    def freeze(self) -> InstanceState:
        return InstanceState(**self.s, tasks=tuple(self.tasks.values()), active=tuple(self.active.values()),
                             arrivals=dict(self.arrivals), visits=tuple(self.visits), log=tuple(self.log))

    def snapshot(self) -> _Run:
        scalars = dict(self.s, values=dict(self.s["values"]))
        return _Run(self.flow, self.ctx, self.now, scalars, dict(self.tasks), dict(self.active),
                    dict(self.arrivals), list(self.visits), list(self.log), list(self.effects))

    # -- bookkeeping ----------------------------------------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        self.s["seq"] += 1
        return f"{prefix}{self.s['seq']}"

    def visit_no(self, node_id: str) -> int:
        return 1 + sum(1 for v in self.visits if v.node == node_id)

    def close(self, task: Task, status: str, actor: str | None = None, reason: str | None = None) -> Task:
        closed = _with(task, status=status, closed_at=self.now, acted_by=actor, reason=reason,
                         remind_at=None, escalate_at=None)
        self.tasks[task.id] = closed
        self.effects.append(TaskClosed(closed))
        return closed

    def new_task(self, node: NodeSpec, assignee: str, visit: int, *, kind: str | None = None,
                 added_by: str | None = None, blocks: str | None = None, status: str = OPEN) -> Task:
        remind = escalate = None
        if node.sla is not None:
            add = self._adder(node.sla.business_time)
            remind = add(node.sla.remind_after) if node.sla.remind_after else None
            escalate = add(node.sla.escalate_after) if node.sla.escalate_after else None
        task = Task(self.next_id("t"), node.id, assignee, status, self.now,
                    kind or ("fill" if node.type == "fill" else "approval"), visit, remind_at=remind,
                    escalate_at=escalate, added_by=added_by, blocks=blocks)
        self.tasks[task.id] = task
        self.effects.append(TaskCreated(task))
        return task

    def _adder(self, business: bool) -> Callable[[Any], datetime]:
        if business:
            calendar = self.ctx.calendar or BusinessCalendar()
            return lambda d: calendar.add(self.now, d)
        return lambda d: self.now + d

    def node_tasks(self, node_id: str, visit: int) -> list[Task]:
        return [t for t in self.tasks.values() if t.node == node_id and t.visit == visit]

    def record(self, actor: str, action: str, node: str | None, task: str | None, **detail: Any) -> None:
        self.log.append(LogEntry(self.now, actor, action, node, task, detail))

    # -- moving through the graph ---------------------------------------------------------------------------------
    def enter(self, node_id: str, budget: list[int]) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Stop(node_id, f"more than {MAX_STEPS} automatic steps", "enter")
        node = self.flow.node(node_id)
        if node.type == "join" and node_id in self.active:
            self.arrivals[node_id] = self.arrivals.get(node_id, 0) + 1
        else:
            visit = self.visit_no(node_id)
            self.visits.append(Visit(node_id, visit, self.now))
            self.effects.append(NodeEntered(node_id, visit, self.now))
            self.active[node_id] = ActiveNode(node_id, visit, self.now)
            if node.type == "join":
                self.arrivals[node_id] = 1
        kind = node.type
        if kind == "end":
            self.leave(node_id, node.outcome or "approved", budget, route=False)
            self.finish(FINISHED, node.outcome or "approved")
        elif kind in ("start", "exclusive", "parallel"):
            self.leave(node_id, "passed", budget)
        elif kind == "join":
            split = self.flow.joins.get(node_id)
            needed = len(self.flow.out(split)) if split else len(self.flow.into(node_id))
            if self.arrivals[node_id] >= needed:
                self.arrivals.pop(node_id, None)
                self.leave(node_id, "joined", budget)
        elif kind == "notify":
            users = self.people(node)
            if users:
                self.effects.append(Notify(tuple(users), "cc", node_id))
            self.leave(node_id, "notified", budget)
        elif kind == "automation":
            self.effects.append(RunActions(node_id, node.actions))
            self.leave(node_id, "ran", budget)
        elif kind == "subflow":
            task = self.new_task(node, SYSTEM, self.active[node_id].visit, kind="subflow")
            self.effects.append(StartSubflow(node_id, node.flow or "", task.id))
        else:
            self.start_people(node, budget)

    def people(self, node: NodeSpec) -> list[str]:
        try:
            users = resolve(node.assignees, self.s["values"], self.s["initiator"], self.ctx.directory,
                            decide=self.ctx.decide)
        except AssigneeError as exc:
            raise _Stop(node.id, exc.message, "enter") from None
        if not users and node.if_none == "admin":
            users = list(self.ctx.directory.users_with_role(self.ctx.admin_role))
        if not users and node.if_none == "error":
            raise _Stop(node.id, f"nobody to assign at node '{node.id}'", "enter")
        return users

    def start_people(self, node: NodeSpec, budget: list[int]) -> None:
        users = self.people(node)
        if not users:
            self.leave(node.id, "skipped", budget)
            return
        active = self.active[node.id]
        if node.mode == "sequential":
            self.new_task(node, users[0], active.visit)
            self.active[node.id] = _with(active, queue=tuple(users[1:]), voters=len(users))
        else:
            for user in users:
                self.new_task(node, user, active.visit)
            self.active[node.id] = _with(active, voters=len(users))

    def leave(self, node_id: str, result: str, budget: list[int], *, route: bool = True) -> None:
        active = self.active.pop(node_id)
        for i in range(len(self.visits) - 1, -1, -1):
            if self.visits[i].node == node_id and self.visits[i].left_at is None:
                self.visits[i] = _with(self.visits[i], left_at=self.now, result=result)
                break
        self.effects.append(NodeLeft(node_id, active.visit, self.now, result))
        if route:
            for target in self.route(node_id):
                self.enter(target, budget)

    def route(self, node_id: str) -> list[str]:
        node = self.flow.node(node_id)
        outs = self.flow.out(node_id)
        if node.type == "parallel" or len(outs) <= 1:
            return [e.target for e in outs]
        default = None
        for edge in outs:
            if edge.default:
                default = edge
                continue
            if edge.compiled is None:
                raise _Stop(node_id, f"condition {edge.condition!r} was not compiled", "leave")
            try:
                hit = edge.compiled.evaluate(self.s["values"])
            except Exception as exc:  # noqa: BLE001 - any failure of a condition stops the instance
                message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                raise _Stop(node_id, f"condition {edge.condition!r} failed: {message}", "leave") from None
            if hit:
                return [edge.target]
        if default is None:
            raise _Stop(node_id, f"no branch of '{node_id}' matched and it has no default", "leave")
        return [default.target]

    def finish(self, status: str, outcome: str, *, notify: bool = True) -> None:
        for task in list(self.tasks.values()):
            if task.status in (OPEN, WAITING):
                self.close(task, "cancelled")
        for node_id in list(self.active):
            self.leave(node_id, outcome, [MAX_STEPS], route=False)
        self.arrivals.clear()
        self.s.update(status=status, outcome=outcome, finished_at=self.now)
        self.effects.append(FlowFinished(outcome, self.now))
        if notify:
            self.effects.append(Notify((self.s["initiator"],), "finished"))


def _guarded(run: _Run, step: str, node: str, result: str = "approved") -> _Run:
    """Enter ``node`` or leave it with ``result`` (``step``), advancing as far as the flow goes.

    If that fails, return the run as it was before, in its error state, remembering the step for ``retry``.
    """
    before = run.snapshot()
    try:
        if step == "enter":
            run.enter(node, [MAX_STEPS])
        else:
            run.leave(node, result, [MAX_STEPS])
        return run
    except _Stop as stop:
        before.s.update(status=ERROR, failure=FailureInfo(stop.node, stop.message, before.now, step, node, result))
        before.effects.append(FlowFailed(stop.node, stop.message, before.now))
        return before


def start(flow: FlowSpec, record_values: Mapping[str, Any], initiator: str, directory: Directory, now: datetime, *,
          instance_id: str = "", calendar: BusinessCalendar | None = None,
          decide: Decide | None = None) -> tuple[InstanceState, list[Effect]]:
    """Start an instance of ``flow`` for a record: runs up to the first tasks."""
    state = InstanceState(instance_id, flow.key, flow.version, initiator, RUNNING, dict(record_values), now)
    run = _Run.of(flow, state, Context(directory, calendar, decide), now)
    run.record(initiator, "start", flow.start.id, None)
    run = _guarded(run, "enter", flow.start.id)
    return run.freeze(), run.effects


def retry(flow: FlowSpec, state: InstanceState, actor: str, directory: Directory, now: datetime, *,
          calendar: BusinessCalendar | None = None, decide: Decide | None = None,
          values: Mapping[str, Any] | None = None) -> tuple[InstanceState, list[Effect]]:
    """Redo the step that stopped an instance in its error state (optionally with corrected record values)."""
    if state.status != ERROR or state.failure is None:
        raise InvalidPayload("only an instance in its error state can be retried")
    run = _Run.of(flow, state, Context(directory, calendar, decide), now)
    failure = state.failure
    run.s.update(status=RUNNING, failure=None)
    if values:
        run.s["values"].update(values)
    run.record(actor, "retry", failure.resume, None)
    run = _guarded(run, failure.step, failure.resume, failure.result)
    return run.freeze(), run.effects


def act(flow: FlowSpec, state: InstanceState, task_id: str | None, actor: str, action: str, now: datetime,
        payload: Mapping[str, Any] | None = None, *, directory: Directory, calendar: BusinessCalendar | None = None,
        decide: Decide | None = None) -> tuple[InstanceState, list[Effect]]:
    """Apply ``action`` by ``actor`` on task ``task_id`` (``withdraw`` needs no task).

    Payload keys: ``reason`` (reject, return), ``comment``, ``values`` (field changes, approve), ``to`` (return:
    ``previous``, ``initiator`` or a node id; transfer: a user id), ``users`` and ``position`` (add_signer:
    ``before``/``after``), ``text`` and ``attachments`` (comment).

    Raises:
        UnknownAction, TaskNotFound, NotYourTask, TaskAlreadyClosed, InstanceFinished, InstanceInError, AlreadyActed,
        ReasonRequired, ReturnNotAllowed, RequiredFieldsMissing, FieldNotEditable, InvalidPayload.
    """
    payload = payload or {}
    action = "approve" if action == "submit" else action
    if action not in ACTIONS:
        raise UnknownAction(f"unknown action '{action}'", details=[{"allowed": list(ACTIONS)}])
    if state.status in (FINISHED, WITHDRAWN):
        raise InstanceFinished(f"the instance is {state.status}{f' ({state.outcome})' if state.outcome else ''}")
    if state.status == ERROR and action != "comment":
        raise InstanceInError(f"instance stopped at '{state.failure.node if state.failure else '?'}': "
                              f"{state.failure.message if state.failure else ''}; an admin must retry it")
    run = _Run.of(flow, state, Context(directory, calendar, decide), now)
    if action == "withdraw":
        return _withdraw(run, actor, payload)
    task = state.task(task_id or "")
    if task is None:
        raise TaskNotFound(f"no task '{task_id}' in this instance")
    if action == "comment":
        return _comment(run, task, actor, payload)
    if task.status != OPEN:
        raise TaskAlreadyClosed(f"task '{task.id}' is {task.status}, not open")
    if actor != task.assignee:
        raise NotYourTask(f"task '{task.id}' belongs to someone else")
    node = flow.node(task.node)
    if action in node.require_reason and not str(payload.get("reason") or "").strip():
        raise ReasonRequired(f"a reason is required to {action} at '{node.id}'")
    handler = _HANDLERS[action]
    if action in DECISIONS:
        run.s["acted"] = True
    run = handler(run, node, task, actor, payload)
    return run.freeze(), run.effects


# -- actions ----------------------------------------------------------------------------------------------------------
def _apply_values(run: _Run, node: NodeSpec, changes: Mapping[str, Any]) -> None:
    if not isinstance(changes, Mapping):
        raise InvalidPayload("values must be a mapping of field → value")
    locked = [k for k in changes if node.rights.right(k) not in ("editable", "required")]
    if locked:
        raise FieldNotEditable(f"not editable at '{node.id}': {', '.join(sorted(locked))}")
    run.s["values"].update(changes)
    missing = [k for k, r in node.rights.rights.items() if r == "required" and run.s["values"].get(k) in (None, "", [])]
    if missing:
        raise RequiredFieldsMissing(f"required at '{node.id}': {', '.join(sorted(missing))}",
                                    details=[{"field": k, "message": "required"} for k in sorted(missing)])
    _check_rules(node, run.s["values"])


def _check_rules(node: NodeSpec, values: Mapping[str, Any]) -> None:
    """The node's validation rules against the record as it will be saved; every failing rule is reported."""
    from engine.errors import FieldProblem

    problems = []
    for rule in node.validations:
        try:
            held = rule.compiled.evaluate(values)
        except Exception as exc:  # noqa: BLE001 - a rule that cannot be evaluated (a blank input) does not hold
            held, note = False, f" ({getattr(exc, 'message', exc)})"
        else:
            note = ""
        if held is not True:
            reads = sorted(getattr(rule.compiled, "reads", ()) or ())
            problems.append(FieldProblem(reads[0].split(".", 1)[0] if reads else "", str(rule.message) + note,
                                         "rule"))
    if problems:
        raise StepRuleFailed(problems)


def _approve(run: _Run, node: NodeSpec, task: Task, actor: str, payload: Mapping[str, Any]) -> _Run:
    if task.kind == "resubmit":  # the initiator may correct any field before resubmitting
        run.s["values"].update(payload.get("values") or {})
    elif task.kind != "subflow":
        _apply_values(run, node, payload.get("values") or {})
    run.close(task, "approved", actor, payload.get("comment"))
    run.record(actor, "approve", node.id, task.id, **_note(payload))
    if task.kind == "resubmit":
        return _guarded(run, "leave", node.id, "resubmitted")
    if task.blocks:
        _release(run, task)
        return run
    return _decide(run, node)


def _reject(run: _Run, node: NodeSpec, task: Task, actor: str, payload: Mapping[str, Any]) -> _Run:
    if task.blocks:  # a signer added before rejects: the task they blocked counts as rejected
        blocked = run.tasks[task.blocks]
        for other in run.node_tasks(node.id, task.visit):
            if other.blocks == task.blocks and other.status == OPEN and other.id != task.id:
                run.close(other, "cancelled")
        run.close(blocked, "rejected", actor, payload.get("reason"))
    run.close(task, "rejected", actor, payload.get("reason"))
    run.record(actor, "reject", node.id, task.id, **_note(payload))
    return _decide(run, node)


def _release(run: _Run, task: Task) -> None:
    """A signer added before approved: when all such signers did, the task they blocked opens again."""
    pending = [t for t in run.tasks.values() if t.blocks == task.blocks and t.status in (OPEN, WAITING)]
    if not pending:
        blocked = run.tasks[task.blocks or ""]
        reopened = _with(blocked, status=OPEN)
        run.tasks[blocked.id] = reopened
        run.effects.append(TaskCreated(reopened))


def _decide(run: _Run, node: NodeSpec) -> _Run:
    """Count the votes at ``node`` and approve, reject or keep waiting."""
    active = run.active[node.id]
    tasks = [t for t in run.node_tasks(node.id, active.visit) if not t.blocks]
    approved = sum(1 for t in tasks if t.status == "approved")
    rejected = sum(1 for t in tasks if t.status == "rejected")
    pending = sum(1 for t in tasks if t.status in (OPEN, WAITING)) + len(active.queue)
    mode = node.mode if node.type == "approval" else "any"
    verdict = None
    if mode in ("single", "any", "sequential"):
        if rejected:
            verdict = "rejected"
        elif approved and active.queue:  # the next in turn (sequential, or signers added after)
            run.active[node.id] = _with(active, queue=active.queue[1:])
            run.new_task(node, active.queue[0], active.visit)
        elif approved:
            verdict = "approved"
    else:
        total = active.voters
        needed = total if mode == "all" else (node.quorum.needed(total) if node.quorum else total)
        if node.reject_policy == "after_all":
            if not pending:
                verdict = "approved" if approved >= needed else "rejected"
        elif approved >= needed:
            verdict = "approved"
        elif rejected > total - needed:
            verdict = "rejected"
    if verdict is None:
        return run
    for task in run.node_tasks(node.id, active.visit):
        if task.status in (OPEN, WAITING):
            run.close(task, "cancelled")
    if verdict == "rejected":
        run.leave(node.id, "rejected", [MAX_STEPS], route=False)
        run.finish(FINISHED, "rejected")
        return run
    return _guarded(run, "leave", node.id)


def _return(run: _Run, node: NodeSpec, task: Task, actor: str, payload: Mapping[str, Any]) -> _Run:
    target = str(payload.get("to") or "previous")
    allowed = set(node.returnable_to)
    if not allowed:
        raise ReturnNotAllowed(f"node '{node.id}' does not allow returns")
    if target == "previous":
        if not allowed & {"previous", "any_earlier"}:
            raise ReturnNotAllowed(f"node '{node.id}' does not allow returning to the previous node")
        target = _previous(run, node.id) or "initiator"
    elif target == "initiator":
        if not allowed & {"initiator", "any_earlier"}:
            raise ReturnNotAllowed(f"node '{node.id}' does not allow returning to the initiator")
    else:
        visited = {v.node for v in run.visits if v.left_at is not None}
        earlier = target in visited and _earlier(run.flow, target, node.id)
        if not (target in allowed or ("any_earlier" in allowed and earlier)):
            raise ReturnNotAllowed(f"node '{node.id}' cannot return to '{target}'")
        if not earlier or not run.flow.by_id[target].is_user_node:
            raise ReturnNotAllowed(f"'{target}' is not an earlier node this instance passed")
    split, branch = None, None
    if target != "initiator":
        split, branch, problem = return_scope(run.flow.branches, node.id, target)
        if problem:
            raise ReturnNotAllowed(f"node '{node.id}' cannot return to '{target}': {problem}")
    run.close(task, "returned", actor, payload.get("reason"))
    run.record(actor, "return", node.id, task.id, to=target, **_note(payload))
    # Inside a parallel branch only that branch goes back: its open tasks close, its nodes (and the joins of splits
    # nested in it) are left; the other branches and the arrivals at the split's own join stay as they are.
    for other in list(run.tasks.values()):
        if other.status in (OPEN, WAITING) and (branch is None or other.node in branch):
            run.close(other, "cancelled")
    for node_id in list(run.active):
        if branch is None or node_id in branch:
            run.leave(node_id, "returned", [MAX_STEPS], route=False)
    if branch is None:
        run.arrivals.clear()
    else:
        for join in [j for j in run.arrivals if j in branch]:
            del run.arrivals[join]
    if target == "initiator":
        start = run.flow.start
        visit = run.visit_no(start.id)
        run.visits.append(Visit(start.id, visit, run.now))
        run.effects.append(NodeEntered(start.id, visit, run.now))
        run.active[start.id] = ActiveNode(start.id, visit, run.now, voters=1)
        run.new_task(start, run.s["initiator"], visit, kind="resubmit")
        run.effects.append(Notify((run.s["initiator"],), "returned", node.id, task.id))
        return run
    return _guarded(run, "enter", target)


def _earlier(flow: FlowSpec, target: str, node_id: str) -> bool:
    seen, todo = set(), [node_id]
    while todo:
        for edge in flow.into(todo.pop()):
            if edge.source == target:
                return True
            if edge.source not in seen:
                seen.add(edge.source)
                todo.append(edge.source)
    return False


def _previous(run: _Run, node_id: str) -> str | None:
    """The user node this instance passed most recently before ``node_id``: an earlier node of the same parallel
    branch or one outside parallel branches (never a node of a sibling branch, nor one inside a branch that
    ``node_id`` is not in)."""
    flow = run.flow
    for visit in reversed(run.visits):
        if (visit.left_at is not None and visit.node != node_id and flow.by_id[visit.node].is_user_node
                and visit.result == "approved" and _earlier(flow, visit.node, node_id)
                and return_scope(flow.branches, node_id, visit.node)[2] is None):
            return visit.node
    return None


def _transfer(run: _Run, node: NodeSpec, task: Task, actor: str, payload: Mapping[str, Any]) -> _Run:
    to = payload.get("to")
    if not isinstance(to, str) or not run.ctx.directory.user_exists(to):
        raise InvalidPayload(f"transfer needs `to`: a known user, got {to!r}")
    if to == actor:
        raise InvalidPayload("cannot transfer a task to oneself")
    run.close(task, "transferred", actor, payload.get("reason"))
    run.new_task(node, to, task.visit, kind=task.kind, added_by=actor, blocks=task.blocks)
    run.record(actor, "transfer", node.id, task.id, to=to, **_note(payload))
    return run


def _add_signer(run: _Run, node: NodeSpec, task: Task, actor: str, payload: Mapping[str, Any]) -> _Run:
    users = payload.get("users", payload.get("to"))
    users = [users] if isinstance(users, str) else list(users or [])
    position = payload.get("position", "after")
    if position not in ("before", "after"):
        raise InvalidPayload("position is before or after")
    if not users or not all(isinstance(u, str) and run.ctx.directory.user_exists(u) for u in users):
        raise InvalidPayload(f"add_signer needs `users`: known user ids, got {users!r}")
    if task.kind not in ("approval", "fill"):
        raise InvalidPayload(f"cannot add signers to a {task.kind} task")
    active = run.active[node.id]
    busy = {t.assignee for t in run.node_tasks(node.id, active.visit) if t.status in (OPEN, WAITING)}
    if busy & set(users) or set(active.queue) & set(users):
        raise InvalidPayload(f"already signing at '{node.id}': {', '.join(sorted(busy & set(users)))}")
    if position == "before":
        run.tasks[task.id] = _with(task, status=WAITING)
        for user in users:
            run.new_task(node, user, task.visit, added_by=actor, blocks=task.id)
    elif node.mode in ("all", "quorum") and node.type == "approval":
        for user in users:
            run.new_task(node, user, task.visit, added_by=actor)
        run.active[node.id] = _with(active, voters=active.voters + len(users))
    else:
        run.active[node.id] = _with(active, queue=tuple(users) + active.queue, voters=active.voters + len(users))
    run.record(actor, "add_signer", node.id, task.id, users=users, position=position)
    return run


def _withdraw(run: _Run, actor: str, payload: Mapping[str, Any]) -> tuple[InstanceState, list[Effect]]:
    if actor != run.s["initiator"]:
        raise NotYourTask("only the initiator can withdraw")
    resubmitting = any(t.kind == "resubmit" and t.status == OPEN for t in run.tasks.values())
    if run.s["acted"] and not resubmitting:
        raise AlreadyActed("someone has already acted on this instance")
    run.record(actor, "withdraw", None, None, **_note(payload))
    run.finish(WITHDRAWN, "withdrawn", notify=False)
    return run.freeze(), run.effects


def _comment(run: _Run, task: Task, actor: str, payload: Mapping[str, Any]) -> tuple[InstanceState, list[Effect]]:
    text = str(payload.get("text") or payload.get("comment") or "").strip()
    if not text:
        raise InvalidPayload("a comment needs `text`")
    if actor not in (task.assignee, run.s["initiator"]):
        raise NotYourTask("only the task's assignee or the initiator can comment here")
    attachments = tuple(str(a) for a in payload.get("attachments") or ())
    run.record(actor, "comment", task.node, task.id, text=text, attachments=list(attachments))
    run.effects.append(Commented(task.id, actor, text, attachments, run.now))
    return run.freeze(), run.effects


def _note(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: payload[k] for k in ("reason", "comment") if payload.get(k)}


_HANDLERS: dict[str, Callable[[_Run, NodeSpec, Task, str, Mapping[str, Any]], _Run]] = {
    "approve": _approve, "reject": _reject, "return": _return, "transfer": _transfer, "add_signer": _add_signer,
}


# -- timers -----------------------------------------------------------------------------------------------------------
def timers(state: InstanceState) -> list[tuple[datetime, str, str]]:
    """Pending timers as ``(when, task id, "remind" | "escalate")``, earliest first, for the scheduler."""
    out = []
    for task in state.open_tasks():
        if task.remind_at:
            out.append((task.remind_at, task.id, "remind"))
        if task.escalate_at:
            out.append((task.escalate_at, task.id, "escalate"))
    return sorted(out)


def fire_timer(flow: FlowSpec, state: InstanceState, task_id: str, kind: str, now: datetime, *,
               directory: Directory, calendar: BusinessCalendar | None = None,
               decide: Decide | None = None) -> tuple[InstanceState, list[Effect]]:
    """Fire a task's reminder or escalation. A timer of a closed task (or one already fired) does nothing."""
    task = state.task(task_id)
    if task is None:
        raise TaskNotFound(f"no task '{task_id}' in this instance")
    when = task.remind_at if kind == "remind" else task.escalate_at if kind == "escalate" else None
    if kind not in ("remind", "escalate"):
        raise InvalidPayload("timer kind is remind or escalate")
    if state.status != RUNNING or task.status != OPEN or when is None:
        return state, []
    node = flow.node(task.node)
    run = _Run.of(flow, state, Context(directory, calendar, decide), now)
    if kind == "remind":
        run.tasks[task.id] = _with(task, remind_at=None)
        run.effects.append(Notify((task.assignee,), "reminder", node.id, task.id))
        run.record(SYSTEM, "remind", node.id, task.id)
        return run.freeze(), run.effects
    run.tasks[task.id] = task = _with(task, escalate_at=None)
    escalation = node.sla.escalate if node.sla else None
    action = escalation.action if escalation else "notify_manager"
    run.record(SYSTEM, "escalate", node.id, task.id, escalation=action)
    rules = escalation.to if escalation else ()
    if action in ("notify_manager", "reassign"):
        if rules:
            people = resolve(rules, run.s["values"], run.s["initiator"], directory, decide=decide,
                             assignee=task.assignee)
        else:
            manager = directory.manager_of(task.assignee, 1)
            people = [manager] if manager else []
        if action == "notify_manager" or not people:
            run.effects.append(Notify(tuple(people) or (task.assignee,), "escalation", node.id, task.id))
            return run.freeze(), run.effects
        run.close(task, "transferred", SYSTEM, "escalated")
        for user in people[:1]:
            run.new_task(node, user, task.visit, kind=task.kind, added_by=SYSTEM, blocks=task.blocks)
        return run.freeze(), run.effects
    verdict = "approve" if action == "auto_approve" else "reject"
    run.s["acted"] = True
    run = _HANDLERS[verdict](run, node, task, SYSTEM,
                             {"reason": "escalated", "comment": f"auto {verdict} after the time limit"})
    return run.freeze(), run.effects


# -- simulation -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Simulation:
    """What a flow would do for a record if every task were approved: the path, the people, the outcome."""

    path: tuple[str, ...]
    people: Mapping[str, tuple[str, ...]]
    outcome: str | None
    error: str | None = None


def simulate(flow: FlowSpec, record_values: Mapping[str, Any], directory: Directory, *,
             initiator: str = "initiator", now: datetime | None = None, decide: Decide | None = None,
             max_steps: int = 1_000) -> Simulation:
    """Run ``flow`` on a sample record, approving every task, without saving anything."""
    now = now or datetime(2000, 1, 3, 9, 0)
    state, effects = start(flow, record_values, initiator, directory, now, decide=decide)
    trail = list(effects)
    for _ in range(max_steps):
        pending = state.open_tasks()
        if state.status != RUNNING or not pending:
            break
        task = pending[0]
        run = _Run.of(flow, state, Context(directory, None, decide), now)
        run.close(task, "approved", task.assignee)  # field rights are not checked: the record is a sample
        if task.kind == "resubmit":
            run = _guarded(run, "leave", task.node, "resubmitted")
        elif task.blocks:
            _release(run, task)
        else:
            run = _decide(run, flow.node(task.node))
        state = run.freeze()
        trail.extend(run.effects)
    path = tuple(e.node for e in trail if isinstance(e, NodeEntered))
    people: dict[str, list[str]] = {}
    for effect in trail:
        if isinstance(effect, TaskCreated) and effect.task.assignee not in people.setdefault(effect.task.node, []):
            people[effect.task.node].append(effect.task.assignee)
    error = state.failure.message if state.failure else None
    return Simulation(path, {k: tuple(v) for k, v in people.items()}, state.outcome, error)


def path_of(state: InstanceState) -> list[str]:
    """The nodes an instance entered, in order (from its history)."""
    return [v.node for v in state.visits]


def open_tasks_for(state: InstanceState, user: str) -> Sequence[Task]:
    """The open tasks of ``user`` in this instance."""
    return [t for t in state.open_tasks() if t.assignee == user]
