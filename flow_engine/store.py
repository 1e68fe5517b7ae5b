"""Persisting flow instances: one step of the pure runtime (old state → new state + effects) becomes rows.

``persist_step`` writes, in the caller's transaction: the instance row (guarded by ``row_version``), the tasks that
are new or changed, the timers that appeared or went away, insert-only history rows (per node pass, per person's
task, per action), cc copies and notifications. Nothing here commits; a failure anywhere rolls the whole step back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, tuple_, update

from engine.audit import jsonable as _jsonable
from engine.direct import Direct, DirectInsertReturning
from engine.errors import PreconditionFailed
from engine.i18n import add_messages, message

from .directory import DbDirectory
from .runtime import timers as state_timers
from .spec import FlowSpec
from .state import (OPEN, RUNNING, STATE_FORMAT, SYSTEM, Effect, FlowFailed, FlowFinished, InstanceState,
                    NodeLeft, Notify, TaskClosed, TaskCreated)
from .tables import history, instances, tasks, timers

#: Task statuses that mean the assignee acted (the "done" inbox).
ACTED = ("approved", "rejected", "returned", "transferred")
#: Task status of a cc copy (a notify node's recipients), listed in the "cc" inbox.
CC = "cc"


@dataclass
class StepInfo:
    """Who caused a step and what to write besides the state."""

    actor_id: int | None
    title: str | None
    app: str
    form: str
    record_id: int
    link: str
    flow_label: str
    notes: list[dict[str, Any]] = field(default_factory=list)


# prebuilt statements: executing them costs no statement building or cache-key generation
_INSTANCE_SELECT = select(instances).where(instances.c.id == bindparam("b_id"))
_INSTANCE = Direct(_INSTANCE_SELECT)
_INSTANCE_LOCKED = Direct(_INSTANCE_SELECT.with_for_update())
# the statements of every step run on the driver's cursor (compiled once per dialect, bound parameters only)
_UPDATE_INSTANCE = Direct(update(instances).where(instances.c.id == bindparam("b_id"),
                                                  instances.c.row_version == bindparam("b_version"))
                          .values(state=bindparam("b_state"), status=bindparam("b_status"),
                                  outcome=bindparam("b_outcome"), position=bindparam("b_position"),
                                  error=bindparam("b_error"), updated_at=bindparam("b_updated"),
                                  finished_at=bindparam("b_finished"), row_version=bindparam("b_next")))
_TASK_COLUMNS = ("node", "kind", "visit", "assignee_id", "status", "remind_at", "due_at", "acted_at", "acted_by",
                 "added_by", "reason")
_UPDATE_TASK = Direct(update(tasks).where(tasks.c.instance_id == bindparam("b_instance"),
                                          tasks.c.task_key == bindparam("b_key"))
                      .values(**{c: bindparam("b_" + c) for c in _TASK_COLUMNS}))
_NEW_TASK_KEYS = _TASK_COLUMNS + ("instance_id", "task_key", "app", "flow", "node_name", "title", "created_at")
_INSERT_TASK = DirectInsertReturning(tasks, _NEW_TASK_KEYS, (tasks.c.id, tasks.c.task_key))
_HISTORY_KEYS = ("instance_id", "app", "flow", "form", "record_id", "kind", "node", "node_name", "visit", "task_key",
                 "user_id", "actor", "action", "entered_at", "left_at", "duration_s", "comment", "detail", "at")
_INSERT_HISTORY = Direct(insert(history).inline(), keys=_HISTORY_KEYS)
_INSERT_TIMER = Direct(insert(timers).inline(),
                       keys=("instance_id", "task_key", "kind", "due_at", "attempts"))
_DELETE_TIMER = Direct(delete(timers).where(timers.c.instance_id == bindparam("b_instance"),
                                            timers.c.task_key == bindparam("b_key"),
                                            timers.c.kind == bindparam("b_kind")))
TASK_BY_ID = select(tasks).where(tasks.c.id == bindparam("b_id"))
OPEN_TASKS = (select(tasks.c.id, tasks.c.node, tasks.c.assignee_id)
              .where(tasks.c.instance_id == bindparam("b_id"), tasks.c.status == OPEN).order_by(tasks.c.id))
#: a task and its instance in one statement (the instance row locked on PostgreSQL)
_TASK_COLUMNS_JOINED = (tasks.c.task_key.label("t_task_key"), tasks.c.kind.label("t_kind"))
_TASK_INSTANCE = (select(instances, *_TASK_COLUMNS_JOINED).select_from(tasks.join(instances,
                  instances.c.id == tasks.c.instance_id)).where(tasks.c.id == bindparam("b_task")))
_TASK_INSTANCE_LOCKED = Direct(_TASK_INSTANCE.with_for_update(of=instances))
_TASK_INSTANCE = Direct(_TASK_INSTANCE)
#: the words of flow notifications, in each recipient's language (``{node}`` and ``{flow}`` in it too)
add_messages({
    "flow_note_task": {"zh-CN": "{flow} · {node}：{subject}", "en": "{flow} · {node}: {subject}"},
    "flow_note_cc": {"zh-CN": "{flow}（抄送）：{subject}", "en": "{flow} (cc): {subject}"},
    "flow_note_reminder": {"zh-CN": "催办 · {node}：{subject}", "en": "Reminder · {node}: {subject}"},
    "flow_note_escalation": {"zh-CN": "已超时 · {node}：{subject}", "en": "Past its time limit · {node}: {subject}"},
    "flow_note_returned": {"zh-CN": "退回给您 · {node}：{subject}", "en": "Returned to you · {node}: {subject}"},
    "flow_note_finished": {"zh-CN": "{flow} {outcome}：{subject}", "en": "{flow} {outcome}: {subject}"},
    "flow_note_other": {"zh-CN": "{flow}：{subject}", "en": "{flow}: {subject}"},
    "flow_outcome_approved": {"zh-CN": "已通过", "en": "approved"},
    "flow_outcome_rejected": {"zh-CN": "已驳回", "en": "rejected"},
    "flow_outcome_withdrawn": {"zh-CN": "已撤回", "en": "withdrawn"},
    "flow_outcome_finished": {"zh-CN": "已结束", "en": "finished"},
})
_NOTE_KINDS = frozenset(("cc", "reminder", "escalation", "returned", "finished"))
#: the key under which the instance's state JSON keeps its tasks' row ids (task key → lw_flow_tasks.id)
ROWS = "rows"


def lock_instance(conn: Connection, instance_id: int) -> Mapping[str, Any] | None:
    """The instance row, locked for this transaction on PostgreSQL (SQLite's writer lock covers it)."""
    query = _INSTANCE_LOCKED if conn.dialect.name == "postgresql" else _INSTANCE
    return query.first(conn, {"b_id": instance_id})


def task_and_instance(conn: Connection, task_id: int) -> Mapping[str, Any] | None:
    """The instance row of task ``task_id`` (locked on PostgreSQL) with the task's ``t_task_key`` and ``t_kind``,
    in one statement; None if there is no such task."""
    query = _TASK_INSTANCE_LOCKED if conn.dialect.name == "postgresql" else _TASK_INSTANCE
    return query.first(conn, {"b_task": task_id})


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _plain(record: Any) -> dict[str, Any]:
    out = {}
    for key, value in record.__dict__.items():
        if type(value) in _SCALARS:
            pass
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = _jsonable(value)
        out[key] = value
    return out


def dump_state(state: InstanceState, previous: InstanceState | None = None,
               source: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``state.to_dict()`` with JSON-safe record values, built without the generic walk (it runs at every step).

    ``source`` is the JSON that ``previous`` was read from: the tasks, visits, log entries and active nodes a step
    left as they were (the very same objects) are taken from it instead of being serialised again."""
    known: dict[int, Any] = {}
    if previous is not None and source:
        for name in ("tasks", "active", "visits", "log"):
            items, dumped = getattr(previous, name), source.get(name) or ()
            if len(items) == len(dumped):
                known.update(zip(map(id, items), dumped))

    def plain(record: Any) -> Any:
        found = known.get(id(record))
        return found if found is not None else _plain(record)

    return {"format": STATE_FORMAT, "id": state.id, "flow": state.flow, "version": state.version,
            "initiator": state.initiator, "status": state.status, "values": _jsonable(state.values),
            "started_at": state.started_at.isoformat(), "tasks": [plain(t) for t in state.tasks],
            "active": [plain(a) for a in state.active], "arrivals": dict(state.arrivals),
            "visits": [plain(v) for v in state.visits], "log": [plain(e) for e in state.log],
            "outcome": state.outcome, "finished_at": state.finished_at.isoformat() if state.finished_at else None,
            "failure": _plain(state.failure) if state.failure else None, "acted": state.acted, "seq": state.seq}


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def _trace(flow: FlowSpec, node_id: str, values: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Why a branch went where it went: each outgoing condition and what it gave (the default when none held)."""
    outs = flow.out(node_id)
    if len(outs) < 2 or flow.node(node_id).type == "parallel":
        return None
    from rules_engine.decision import recording

    out: list[dict[str, Any]] = []
    for edge in outs:
        if edge.default:
            out.append({"to": edge.target, "default": True})
            continue
        with recording() as found:  # a condition calling DECIDE: the table's trace is kept with the branch
            try:
                result: Any = bool(edge.compiled.evaluate(values)) if edge.compiled is not None else None
            except Exception as exc:  # noqa: BLE001 - the trace shows the failure; the runtime already acted on it
                result = f"error: {getattr(exc, 'message', exc)}"
        out.append({"to": edge.target, "if": edge.condition, "result": result,
                    **({"decisions": found.traces()} if found.decisions else {})})
    return out


@dataclass
class Persisted:
    """What a persisted step left: the instance's new ``row_version`` and its open tasks as ``{id, node,
    assignee_id}`` (ordered by id), known from the state and the task rows' ids kept in it (None for an instance
    written before those ids were kept: the caller reads them)."""

    version: int
    open_tasks: list[dict[str, Any]] | None


def persist_step(conn: Connection, row: Mapping[str, Any], flow: FlowSpec, old: InstanceState, new: InstanceState,
                 effects: Sequence[Effect], directory: DbDirectory, info: StepInfo, now: datetime,
                 notifier: Any) -> Persisted:
    """Write one step. Raises ``PreconditionFailed`` if the row changed meanwhile."""
    instance_id = row["id"]
    # people named in this step (and the assignees of the open tasks), resolved to ids at once
    names: set[str] = set()
    old_tasks = {t.id: t for t in old.tasks}
    changed = [t for t in new.tasks if old_tasks.get(t.id) != t]
    for t in changed:
        names.update(n for n in (t.assignee, t.acted_by, t.added_by) if n)
    open_now = new.open_tasks()
    names.update(t.assignee for t in open_now)
    for e in effects:
        if isinstance(e, Notify):
            names.update(e.users)
    names.update(entry.actor for entry in new.log[len(old.log):])
    names.discard(SYSTEM)
    ids = directory.ids_of(names) if names else {}

    # task rows first: the ids of new ones go into the state written below
    rows = dict((row["state"] or {}).get(ROWS) or {})
    rows.update(_sync_tasks(conn, row, flow, old_tasks, changed, ids, info))
    state = dump_state(new, old, row["state"])
    state[ROWS] = rows
    version = row["row_version"] + 1
    done = _UPDATE_INSTANCE.run(conn, {
        "b_id": instance_id, "b_version": row["row_version"], "b_state": state, "b_status": new.status,
        "b_outcome": new.outcome, "b_position": [a.node for a in new.active],
        "b_error": new.failure.message if new.failure else None, "b_updated": now, "b_finished": new.finished_at,
        "b_next": version})
    if done != 1:
        raise PreconditionFailed(f"flow instance {instance_id} was changed meanwhile; reload and try again")
    _sync_timers(conn, instance_id, old, new)
    _write_history(conn, row, flow, old, new, effects, ids, info, now)
    _notify(conn, row, flow, new, effects, ids, info, now, notifier, directory)
    open_tasks: list[dict[str, Any]] | None = None
    if all(t.id in rows for t in open_now):
        open_tasks = sorted(({"id": rows[t.id], "node": t.node, "assignee_id": ids.get(t.assignee)}
                             for t in open_now), key=lambda t: t["id"])
    return Persisted(version, open_tasks)




def _sync_tasks(conn: Connection, row: Mapping[str, Any], flow: FlowSpec, old_tasks: Mapping[str, Any],
                changed: Sequence[Any], ids: Mapping[str, int], info: StepInfo) -> dict[str, int]:
    """Update the changed task rows and insert the new ones; returns the new rows' ids by task key."""
    fresh, stale = [], []
    for t in changed:
        data = {"node": t.node, "kind": t.kind, "visit": t.visit, "assignee_id": ids.get(t.assignee),
                "status": t.status, "remind_at": t.remind_at, "due_at": t.escalate_at, "acted_at": t.closed_at,
                "acted_by": ids.get(t.acted_by) if t.acted_by and t.status in ACTED else None,
                "added_by": ids.get(t.added_by) if t.added_by else None, "reason": t.reason}
        if t.id in old_tasks:
            stale.append({"b_" + k: v for k, v in data.items()} | {"b_instance": row["id"], "b_key": t.id})
        else:
            fresh.append(data | {"instance_id": row["id"], "task_key": t.id, "app": row["app"], "flow": row["flow"],
                                 "node_name": flow.node(t.node).label, "title": info.title, "created_at": t.created_at})
    if stale:
        _UPDATE_TASK.many(conn, stale)
    if not fresh:
        return {}
    return {key: int(new_id) for new_id, key in _INSERT_TASK.rows(conn, fresh)}


def _timer_set(state: InstanceState) -> set[tuple[str, str, datetime]]:
    if state.status != RUNNING:
        return set()
    return {(task, kind, when) for when, task, kind in state_timers(state)}


def _sync_timers(conn: Connection, instance_id: int, old: InstanceState, new: InstanceState) -> None:
    before, after = _timer_set(old), _timer_set(new)
    gone = [{"b_instance": instance_id, "b_key": t, "b_kind": k} for t, k, _ in before - after]
    if gone:
        _DELETE_TIMER.many(conn, gone)
    added = after - before
    if added:
        _INSERT_TIMER.many(conn, [{"instance_id": instance_id, "task_key": t, "kind": k, "due_at": when,
                                       "attempts": 0} for t, k, when in sorted(added, key=lambda x: x[2])])


def _write_history(conn: Connection, row: Mapping[str, Any], flow: FlowSpec, old: InstanceState, new: InstanceState,
                   effects: Sequence[Effect], ids: Mapping[str, int], info: StepInfo, now: datetime) -> None:
    base = {"instance_id": row["id"], "app": row["app"], "flow": row["flow"], "form": row["form"],
            "record_id": row["record_id"]}
    empty = {"node": None, "node_name": None, "visit": None, "task_key": None, "user_id": None, "actor": None,
             "entered_at": None, "left_at": None, "duration_s": None, "comment": None, "detail": None}
    rows: list[dict[str, Any]] = []
    visits = {(v.node, v.visit): v for v in new.visits}
    for e in effects:
        if isinstance(e, NodeLeft):
            visit = visits.get((e.node, e.visit))
            entered = visit.entered_at if visit else None
            trace = _trace(flow, e.node, new.values) if e.result not in ("rejected", "returned") else None
            rows.append(base | empty | {"kind": "node", "node": e.node, "node_name": flow.node(e.node).label,
                                        "visit": e.visit, "action": e.result, "entered_at": entered, "left_at": e.at,
                                        "duration_s": _seconds(entered, e.at),
                                        "detail": {"branches": trace} if trace else None, "at": e.at})
        elif isinstance(e, TaskClosed):
            t = e.task
            rows.append(base | empty | {"kind": "task", "node": t.node, "node_name": flow.node(t.node).label,
                                        "visit": t.visit, "task_key": t.id, "user_id": ids.get(t.assignee),
                                        "actor": t.acted_by or None, "action": t.status, "entered_at": t.created_at,
                                        "left_at": t.closed_at, "duration_s": _seconds(t.created_at, t.closed_at),
                                        "comment": t.reason, "at": t.closed_at or now})
        elif isinstance(e, FlowFailed):
            rows.append(base | empty | {"kind": "action", "node": e.node, "node_name": flow.node(e.node).label,
                                        "action": "error", "comment": e.message, "at": e.at})
        elif isinstance(e, FlowFinished):
            rows.append(base | empty | {"kind": "action", "action": "finish", "detail": {"outcome": e.outcome},
                                        "at": e.at})
    for entry in new.log[len(old.log):]:
        detail = dict(entry.detail)
        comment = detail.get("reason") or detail.get("comment") or detail.get("text")
        rows.append(base | empty | {"kind": "action", "node": entry.node,
                                    "node_name": flow.node(entry.node).label if entry.node in flow.by_id else None,
                                    "task_key": entry.task, "user_id": ids.get(entry.actor), "actor": entry.actor,
                                    "action": entry.action[:32], "comment": comment,
                                    "detail": _jsonable(detail) or None, "at": entry.at})
    for note in info.notes:
        rows.append(base | empty | {"at": now} | note)
    if rows:
        _INSERT_HISTORY.many(conn, rows)


def _title(flow: FlowSpec, words: tuple[str, str | None, str | None], subject: str, locale: str) -> str:
    """A notification's title in ``locale``: ``words`` is (message kind, node id, outcome)."""
    kind, node, outcome = words
    name = flow.by_id[node].label_in(locale) if node in flow.by_id else (node or "")
    said = message(f"flow_outcome_{outcome or 'finished'}", locale)
    return message(f"flow_note_{kind}", locale, flow=flow.label_in(locale), node=name, subject=subject,
                   outcome=outcome if said.startswith("flow_outcome_") else said)


def _notify(conn: Connection, row: Mapping[str, Any], flow: FlowSpec, new: InstanceState, effects: Sequence[Effect],
            ids: Mapping[str, int], info: StepInfo, now: datetime, notifier: Any,
            directory: DbDirectory | None = None) -> None:
    """Tasks' and notify effects' notifications, each titled in its recipient's language, and cc copies."""
    messages: list[dict[str, Any]] = []
    cc_rows: list[dict[str, Any]] = []
    subject = info.title or f"{info.form} #{info.record_id}"
    for e in effects:
        if isinstance(e, TaskCreated) and e.task.status == OPEN and e.task.kind != "subflow":
            user = ids.get(e.task.assignee)
            if user:
                what = "resubmit" if e.task.kind == "resubmit" else "task"
                messages.append({"user_id": user, "kind": what, "title": ("task", e.task.node, None),
                                 "link": info.link})
        elif isinstance(e, Notify):
            node = flow.node(e.node).label if e.node in flow.by_id else None
            for name in e.users:
                user = ids.get(name)
                if not user:
                    continue
                title = (e.kind if e.kind in _NOTE_KINDS else "other", e.node, new.outcome)
                messages.append({"user_id": user, "kind": e.kind, "title": title, "link": info.link})
                if e.kind == "cc":
                    index = next((i for i, n in enumerate(flow.nodes) if n.id == e.node), 0)
                    visit = sum(1 for v in new.visits if v.node == e.node)
                    cc_rows.append({"instance_id": row["id"], "task_key": f"cc{index}.{visit}.{user}",
                                    "app": row["app"], "flow": row["flow"], "node": e.node or "",
                                    "node_name": node or "", "title": info.title, "kind": CC, "visit": 1,
                                    "assignee_id": user, "status": CC, "created_at": now})
    if cc_rows:
        existing = {r.task_key for r in conn.execute(select(tasks.c.task_key).where(
            tasks.c.instance_id == row["id"], tasks.c.task_key.in_([c["task_key"] for c in cc_rows])))}
        cc_rows = [c for c in cc_rows if c["task_key"] not in existing]
        if cc_rows:
            conn.execute(insert(tasks), cc_rows)
    if messages and notifier is not None:
        # titles in each recipient's language (read with the step's people, the rest in one query)
        locales = directory.locales_of(m["user_id"] for m in messages) if directory is not None else {}
        for m in messages:
            m["title"] = _title(flow, m["title"], subject, locales.get(m["user_id"]) or flow.locale)
        notifier.send_many(conn, [m | {"app": row["app"], "created_at": now} for m in messages])


def due_timers(conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[Mapping[str, Any]]:
    """Due timers not claimed by a live worker, locked (SKIP LOCKED) on PostgreSQL so workers never share one."""
    query = (select(timers).where(timers.c.due_at <= now,
                                  (timers.c.claimed_at.is_(None)) | (timers.c.claimed_at < lease_until))
             .order_by(timers.c.due_at, timers.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query).mappings().all())


def page_filter(column_time: Any, column_id: Any, cursor: tuple[datetime, int] | None) -> Any:
    """Keyset paging, newest first: rows strictly after the cursor (time, id)."""
    if cursor is None:
        return None
    return tuple_(column_time, column_id) < tuple_(cursor[0], cursor[1])


