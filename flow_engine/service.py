"""The flow service (``platform.services["flows"]``): flows running inside the platform.

Each operation — start, a task action, withdraw, retry, a fired timer — runs the pure runtime on the instance's
state and writes the result with ``store.persist_step`` in the caller's transaction, together with the record
changes the node allows, the audit entry, the history, the notifications and the ``hooks.flow_events`` calls.
The instance row is locked (PostgreSQL) and guarded by ``row_version``, so concurrent actions advance a flow once.

Instances are pinned to the app version and the flow's definition hash they started under: acting on an old
instance loads that version's definitions, whatever is live now.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
from collections import OrderedDict
from contextvars import ContextVar
from datetime import datetime, timedelta
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from engine import audit
from engine.appspec import AppSpec
from engine.direct import Direct
from engine.errors import BadRequest, Conflict, Forbidden, NotFound
from engine.events import FlowEvent
from engine.permissions import SYSTEM as SYSTEM_PRINCIPAL
from engine.permissions import Principal, effective, in_scope

from . import runtime
from .business_time import BusinessCalendar
from .comments import attach_comment_files, notify_mentions
from .directory import DbDirectory
from .errors import FieldNotEditable, InvalidPayload, TaskNotFound, UnknownAction
from .spec import FlowSpec
from .state import (ERROR, FINISHED, OPEN, RUNNING, SYSTEM, Effect, FlowFailed, FlowFinished, InstanceState,
                    NodeEntered, NodeLeft, RunActions, StartSubflow)
from .store import OPEN_TASKS, StepInfo, due_timers, lock_instance, persist_step, task_and_instance
from .tables import delegations, instances, timers

log = logging.getLogger("loomwork.flows")

#: Task actions the API accepts (``submit`` is approve for fill tasks; ``delegate`` hands a task over like transfer).
TASK_ACTIONS = ("approve", "submit", "reject", "return", "transfer", "delegate", "add_signer", "comment")
#: How long a worker's claim on a timer that failed keeps others away, before another try.
TIMER_LEASE = timedelta(minutes=5)
#: Most tries of a failing timer before it is parked (kept, with its last error, for an admin).
TIMER_ATTEMPTS = 5
#: Most pinned versions kept loaded.
VERSION_CACHE = 32

# run on the driver's cursor at every start (compiled once per dialect, bound parameters only)
_BUSY = Direct(select(instances.c.id).where(
    instances.c.app == bindparam("b_app"), instances.c.form == bindparam("b_form"),
    instances.c.record_id == bindparam("b_record"), instances.c.flow == bindparam("b_flow"),
    or_(instances.c.status == bindparam("b_running"), instances.c.status == bindparam("b_error"))).limit(1))
_INSTANCE_KEYS = ("app", "flow", "form", "record_id", "title", "app_version", "flow_hash", "status", "outcome",
                  "position", "error", "initiator_id", "parent_id", "parent_task", "state", "row_version",
                  "started_at", "updated_at", "finished_at")
_INSERT_INSTANCE = Direct(insert(instances).returning(instances.c.id), keys=_INSTANCE_KEYS)

#: The traces of the decision tables consulted while computing the current step (assignees ``{decision: key}``),
#: written to the history with the step so the decision can be audited later. Reset by each ``_decide``.
_STEP_DECISIONS: ContextVar[list[dict[str, Any]] | None] = ContextVar("lw_flow_step_decisions", default=None)

_DELEGATED = (select(delegations.c.user_id, delegations.c.delegate_id)
              .where(delegations.c.user_id.in_(bindparam("b_ids", expanding=True)),
                     delegations.c.starts_at <= bindparam("b_now"), delegations.c.ends_at > bindparam("b_now"),
                     delegations.c.revoked_at.is_(None)).order_by(delegations.c.id))


@dataclasses.dataclass(frozen=True)
class Pinned:
    """The definitions an instance runs under."""

    app: AppSpec
    flow: FlowSpec
    calendar: BusinessCalendar
    zone: ZoneInfo
    relations: frozenset[str]


class FlowService:
    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self._versions: OrderedDict[tuple[str, int], AppSpec] = OrderedDict()
        self._pinned: dict[tuple[str, int, str], Pinned] = {}
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._by_id: dict[Any, Any] = {}
        #: username ↔ id, shared by every step's directory (ids and usernames never change)
        self.names: dict[str, int] = {}

    # -- definitions ---------------------------------------------------------------------------------------------------
    def flow(self, app_key: str, flow_key: str) -> FlowSpec:
        """A live flow definition (404 if none)."""
        live = self.platform.app(app_key)
        flow = live.spec.of_kind("flow").get(flow_key)
        if flow is None:
            raise NotFound(f"app '{app_key}' has no flow '{flow_key}'")
        return flow

    def _app_version(self, app_key: str, number: int) -> AppSpec:
        live = self.platform.apps.get(app_key)
        if live is not None and live.version == number:
            return live.spec
        key = (app_key, number)
        if key not in self._versions:
            row = self.platform.version_row(app_key, number)
            self._versions[key] = self.platform.load_files(row["files"]).with_version(number)
            while len(self._versions) > VERSION_CACHE:
                self._versions.popitem(last=False)
        return self._versions[key]

    def pinned(self, app_key: str, version: int, flow_key: str, flow_hash: str | None = None) -> Pinned:
        cache_key = (app_key, version, flow_key)
        found = self._pinned.get(cache_key)
        if found is None:
            spec = self._app_version(app_key, version)
            flow = spec.of_kind("flow").get(flow_key)
            if flow is None:
                raise NotFound(f"app '{app_key}' version {version} has no flow '{flow_key}'")
            s = spec.settings
            calendar = BusinessCalendar((s.work_start, s.work_end), s.work_days, s.holidays, s.extra_workdays)
            relations = set()
            for edge in flow.edges:
                if edge.compiled is not None:
                    relations.update(r.split(".", 1)[0] for r in edge.compiled.reads if "." in r)
            found = Pinned(spec, flow, calendar, ZoneInfo(s.timezone), frozenset(relations))
            self._pinned[cache_key] = found
        if flow_hash is not None and found.flow.version != flow_hash:
            raise Conflict(f"flow '{flow_key}' of {app_key} version {version} does not match the instance's "
                           f"definition hash {flow_hash}")
        return found

    def _decide(self, pinned: Pinned) -> Callable[[str, Mapping[str, Any]], Any]:
        traces: list[dict[str, Any]] = []
        _STEP_DECISIONS.set(traces)

        def decide(key: str, values: Mapping[str, Any]) -> Any:
            table = pinned.app.of_kind("decision_table").get(key)
            if table is None:
                raise InvalidPayload(f"no decision table '{key}'")
            decision = table.evaluate_record(values)
            if len(traces) < 100:
                traces.append(decision.trace)
            result = decision.result
            if isinstance(result, Mapping):
                result = next(iter(result.values()), None)
            if isinstance(result, list):
                flat: list[Any] = []
                for item in result:
                    flat.extend(item.values() if isinstance(item, Mapping) else [item])
                result = flat
            return result

        return decide

    def _now(self, pinned: Pinned) -> datetime:
        return self.platform.clock.now().astimezone(pinned.zone)

    # -- records ---------------------------------------------------------------------------------------------------------
    def _records(self) -> Any:
        records = self.platform.services.get("records")
        if records is None:
            raise NotFound("the record service is not available")
        return records

    def _record_row(self, conn: Connection, live: Any, form: Any, record_id: int) -> Mapping[str, Any]:
        table = self._records().table(live, form)
        query = self._by_id.get(table)
        if query is None:
            query = self._by_id[table] = Direct(select(table).where(table.c.id == bindparam("b_id")))
        row = query.first(conn, {"b_id": record_id})
        if row is None:
            raise NotFound(f"no {form.key} record {record_id}")
        return row

    def _values(self, conn: Connection, live: Any, form: Any, row: Mapping[str, Any], pinned: Pinned,
                directory: DbDirectory) -> dict[str, Any]:
        """The record as the flow sees it: users as usernames, departments as keys, related records nested."""
        records = self._records()
        values = records.values_of(conn, live, form, row)
        people: list[int] = []
        for f in form.fields:
            if f.type == "user" and values.get(f.key) is not None:
                people.extend(values[f.key] if f.many else [values[f.key]])
        names = directory.usernames(people) if people else {}
        for f in form.fields:
            value = values.get(f.key)
            if f.type == "user" and value is not None:
                values[f.key] = [names.get(v) for v in value] if f.many else names.get(value)
            elif f.type == "department" and value is not None:
                values[f.key] = ([directory.department_key(v) for v in value] if f.many
                                 else directory.department_key(value))
            elif f.type == "relation" and f.key in pinned.relations and not f.many:
                target = live.spec.forms.get(f.to)
                if value is None or target is None:
                    values[f.key] = None
                else:
                    table = records.table(live, target)
                    rel = conn.execute(select(table).where(table.c.id == value)).mappings().first()
                    values[f.key] = None if rel is None else {t.key: rel[t.key] for t in target.stored_fields}
        return values

    def _title(self, form: Any, row: Mapping[str, Any]) -> str:
        if form.title_field and row.get(form.title_field) is not None:
            return str(row[form.title_field])[:200]
        return f"{form.label.get()} #{row['id']}"

    # -- starting ---------------------------------------------------------------------------------------------------------
    def start(self, conn: Connection, app_key: str, flow_key: str, record_id: int, who: Principal, *,
              check_rights: bool = True, parent: tuple[int, str] | None = None) -> dict[str, Any]:
        """Start ``flow_key`` for a record; the caller (initiator) must be able to read the record."""
        live = self.platform.app(app_key)
        flow = self.flow(app_key, flow_key)
        form = live.spec.forms[flow.form]
        row = self._record_row(conn, live, form, record_id)
        if check_rights:
            grant = effective(form.permissions, who)
            if not in_scope(grant.read, row, who):
                raise NotFound(f"no {form.key} record {record_id}")
        busy = _BUSY.first(conn, {"b_app": app_key, "b_form": form.key, "b_record": record_id, "b_flow": flow_key,
                                  "b_running": RUNNING, "b_error": ERROR})
        if busy is not None and parent is None:
            raise Conflict(f"{form.key} record {record_id} is already in flow '{flow_key}' (instance {busy.id})",
                           details=[{"instance": busy.id}])
        pinned = self.pinned(app_key, live.version, flow_key)
        now = self._now(pinned)
        directory = DbDirectory(conn, self.names, now)
        actor = self._actor(who)
        title = self._title(form, row)
        empty = InstanceState("", flow.key, flow.version, actor, RUNNING, {}, now)
        inst: dict[str, Any] = {
            "app": app_key, "flow": flow_key, "form": form.key, "record_id": record_id, "title": title,
            "app_version": live.version, "flow_hash": flow.version, "status": RUNNING, "outcome": None, "position": [],
            "error": None, "initiator_id": who.id or None, "parent_id": parent[0] if parent else None,
            "parent_task": parent[1] if parent else None, "state": empty.to_dict(), "row_version": 0,
            "started_at": now, "updated_at": now, "finished_at": None}
        # the row as written is the row: no reading it back
        instance_id = inst["id"] = int(_INSERT_INSTANCE.rows(conn, inst)[0][0])
        values = self._values(conn, live, form, row, pinned, directory)
        state, effects = runtime.start(flow, values, actor, directory, now, instance_id=str(instance_id),
                                       calendar=pinned.calendar, decide=self._decide(pinned))
        self._emit(conn, inst, "started", flow.start.id, None, who.id or None, now)
        status = self._commit(conn, inst, pinned, dataclasses.replace(empty, id=str(instance_id)), state, effects,
                              directory, who, now, action="start")
        return {"id": int(instance_id), "status": status}

    def startable(self, conn: Connection, live: Any, form_key: str, record_id: int, who: Principal
                  ) -> list[dict[str, Any]]:
        """The flows of a form ``who`` may start for this record (from its page): those not running for it."""
        flows = [f for f in live.spec.of_kind("flow").values() if f.form == form_key and f.start_on != "submit"]
        if not flows:
            return []
        running = set(conn.execute(select(instances.c.flow).where(
            instances.c.app == live.key, instances.c.form == form_key, instances.c.record_id == record_id,
            instances.c.status.in_((RUNNING, ERROR)))).scalars())
        return [{"key": f.key, "label": f.label or f.key,
                 "url": f"/api/apps/{live.key}/flows/{f.key}/instances"} for f in flows if f.key not in running]

    def on_record_created(self, conn: Connection, event: Any) -> None:
        """Start every flow of the form marked ``start_on: submit`` (in the record's transaction)."""
        for flow in event.app.spec.of_kind("flow").values():
            if flow.form == event.form.key and flow.start_on == "submit":
                self.start(conn, event.app.key, flow.key, event.record_id, event.who, check_rights=False)

    # -- acting -----------------------------------------------------------------------------------------------------------
    def act(self, conn: Connection, task_id: int, who: Principal, action: str, payload: Mapping[str, Any] | None = None,
            *, if_match: int | None = None) -> dict[str, Any]:
        """One action by ``who`` on task ``task_id`` (lw_flow_tasks.id), in the caller's transaction."""
        payload = dict(payload or {})
        if action not in TASK_ACTIONS:
            raise UnknownAction(f"unknown action '{action}'", details=[{"allowed": list(TASK_ACTIONS)}])
        inst = task_and_instance(conn, task_id)  # one statement: the task's key and kind, its instance locked
        if inst is None or inst["t_kind"] == "cc":
            raise TaskNotFound(f"no task {task_id}")
        task = {"task_key": inst["t_task_key"], "kind": inst["t_kind"], "instance_id": inst["id"]}
        if if_match is not None and inst["row_version"] != if_match:
            from engine.errors import PreconditionFailed

            raise PreconditionFailed(f"instance {inst['id']} is at version {inst['row_version']}, not {if_match}; "
                                     "reload and try again")
        pinned = self.pinned(inst["app"], inst["app_version"], inst["flow"], inst["flow_hash"])
        live = self.platform.app(inst["app"])
        form = live.spec.forms[pinned.flow.form]
        now = self._now(pinned)
        directory = DbDirectory(conn, self.names, now)
        actor = self._actor(who)
        old = InstanceState.from_dict(inst["state"])
        if action == "delegate":
            action = "transfer"
            payload.setdefault("reason", "delegated")
        person_keys = {"transfer": ("to",), "add_signer": ("users", "to")}.get(action, ())
        for key in person_keys:
            if key in payload:
                payload[key] = self._people(directory, payload[key], key)
        if action == "comment" and "attachments" in payload:
            payload["attachments"] = attach_comment_files(conn, payload["attachments"], who, inst["app"], form.key,
                                                          int(inst["record_id"]))
        row = self._record_row(conn, live, form, inst["record_id"])
        runtime_task = old.task(task["task_key"])
        changes = payload.get("values")
        if changes and action in ("approve", "submit") and runtime_task is not None and runtime_task.status == OPEN:
            row = self._apply_changes(conn, live, form, pinned.flow, runtime_task, who, actor, changes, row)
        values = self._values(conn, live, form, row, pinned, directory)
        old = dataclasses.replace(old, values=values)
        if changes and action in ("approve", "submit"):
            payload["values"] = {k: values.get(k) for k in changes}
        state, effects = runtime.act(pinned.flow, old, task["task_key"], actor, action, now, payload,
                                     directory=directory, calendar=pinned.calendar, decide=self._decide(pinned))
        status = self._commit(conn, inst, pinned, old, state, effects, directory, who, now, action=action,
                              task_key=task["task_key"],
                              extra={k: payload[k] for k in ("reason", "to", "users", "position") if k in payload})
        return {"task": int(task_id), "instance": inst["id"], "action": action, "status": status}

    def _apply_changes(self, conn: Connection, live: Any, form: Any, flow: FlowSpec, task: Any, who: Principal,
                       actor: str, changes: Any, row: Mapping[str, Any]) -> Mapping[str, Any]:
        """The record changes a node allows, validated and saved by the record service (same transaction)."""
        if not isinstance(changes, Mapping):
            raise InvalidPayload("values must be a mapping of field → value")
        if task.assignee != actor:
            return row  # the runtime refuses the action itself
        node = flow.node(task.node)
        if task.kind != "resubmit":
            locked = [k for k in changes if node.rights.right(k) not in ("editable", "required")]
            if locked:
                raise FieldNotEditable(f"not editable at '{node.id}': {', '.join(sorted(locked))}", details=[
                    {"field": k, "message": f"{node.rights.right(k)} at {node.label}", "code": "not_editable"}
                    for k in sorted(locked)])
        unknown = [k for k in changes if k not in form.by_key]
        if unknown:
            raise InvalidPayload(f"unknown field: {', '.join(sorted(unknown))}",
                                 details=[{"field": k, "message": "unknown field", "code": "unknown"} for k in unknown])
        self._records().update(conn, live, form.key, row["id"], dict(changes), who, if_match=None,
                               check_rights=False)
        return self._record_row(conn, live, form, row["id"])

    def _people(self, directory: DbDirectory, value: Any, key: str) -> Any:
        """User ids (or usernames) in a payload → usernames, refusing unknown people."""
        def one(item: Any) -> str:
            if isinstance(item, int) and not isinstance(item, bool):
                name = directory.username(item)
                if name is None:
                    raise InvalidPayload(f"{key}: no user {item}", details=[{"field": key, "message": "unknown user"}])
                return name
            if isinstance(item, str) and directory.user_exists(item):
                return item
            raise InvalidPayload(f"{key}: no user {item!r}", details=[{"field": key, "message": "unknown user"}])

        return [one(v) for v in value] if isinstance(value, list) else one(value)

    def withdraw(self, conn: Connection, instance_id: int, who: Principal, reason: str | None = None) -> dict[str, Any]:
        inst, pinned, old, directory, now = self._load(conn, instance_id)
        payload = {"reason": reason} if reason else {}
        state, effects = runtime.act(pinned.flow, old, None, self._actor(who), "withdraw", now, payload,
                                     directory=directory, calendar=pinned.calendar, decide=self._decide(pinned))
        status = self._commit(conn, inst, pinned, old, state, effects, directory, who, now, action="withdraw")
        return {"instance": instance_id, "status": status}

    def comment(self, conn: Connection, instance_id: int, who: Principal, text: str,
                attachments: list[Any] | None = None) -> dict[str, Any]:
        """A comment on the instance, by the initiator or anyone holding a task in it."""
        inst, pinned, old, directory, now = self._load(conn, instance_id)
        actor = self._actor(who)
        mine = [t for t in old.tasks if t.assignee == actor]
        if not mine and actor != old.initiator:
            raise Forbidden("only the initiator and the people with a task in this flow can comment")
        task = (mine or list(old.tasks) or [None])[-1]
        if task is None:
            raise InvalidPayload("this instance has no task to comment on yet")
        _STEP_DECISIONS.set(None)  # a comment consults no table
        files = attach_comment_files(conn, attachments, who, inst["app"], pinned.flow.form, int(inst["record_id"]))
        state, effects = runtime.act(pinned.flow, old, task.id, actor, "comment", now,
                                     {"text": text, "attachments": files}, directory=directory)
        status = self._commit(conn, inst, pinned, old, state, effects, directory, who, now, action="comment")
        live = self.platform.app(inst["app"])
        form = live.spec.forms[pinned.flow.form]
        told = notify_mentions(conn, self.platform, text=text, who=who, app=inst["app"], form=form,
                               row=self._record_row(conn, live, form, inst["record_id"]),
                               title=inst["title"] or f"{form.key} #{inst['record_id']}",
                               link=f"/api/flows/instances/{inst['id']}")
        return {"instance": instance_id, "status": status, "mentioned": told}

    def retry(self, conn: Connection, instance_id: int, who: Principal) -> dict[str, Any]:
        """An admin redoes the step that stopped an instance in its error state, on the record as it is now."""
        if not who.is_admin:
            raise Forbidden("only administrators can retry a stopped flow")
        inst, pinned, old, directory, now = self._load(conn, instance_id)
        state, effects = runtime.retry(pinned.flow, old, self._actor(who), directory, now, calendar=pinned.calendar,
                                       decide=self._decide(pinned))
        status = self._commit(conn, inst, pinned, old, state, effects, directory, who, now, action="retry")
        return {"instance": instance_id, "status": status}

    def batch(self, conn: Connection, task_ids: list[int], who: Principal, action: str = "approve",
              payload: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The same action on several tasks; each succeeds or fails alone (a savepoint each)."""
        out = []
        for task_id in task_ids:
            try:
                with conn.begin_nested():
                    out.append({"task": task_id, "ok": True} | self.act(conn, task_id, who, action, payload))
            except (BadRequest, Conflict, Forbidden, NotFound) as exc:
                out.append({"task": task_id, "ok": False, "error": exc.to_dict()["error"]})
        return out

    def _load(self, conn: Connection, instance_id: int) -> tuple[Any, Pinned, InstanceState, DbDirectory, datetime]:
        inst = lock_instance(conn, instance_id)
        if inst is None:
            raise NotFound(f"no flow instance {instance_id}")
        pinned = self.pinned(inst["app"], inst["app_version"], inst["flow"], inst["flow_hash"])
        live = self.platform.app(inst["app"])
        form = live.spec.forms[pinned.flow.form]
        now = self._now(pinned)
        directory = DbDirectory(conn, self.names, now)
        row = self._record_row(conn, live, form, inst["record_id"])
        old = InstanceState.from_dict(inst["state"])
        old = dataclasses.replace(old, values=self._values(conn, live, form, row, pinned, directory))
        return inst, pinned, old, directory, now

    # -- timers ---------------------------------------------------------------------------------------------------------
    def fire_due_timers(self, limit: int = 500) -> int:
        """Fire due reminders and escalations (the scheduler's ``flow_timers`` job); returns how many fired.

        Each timer fires in its own transaction. On PostgreSQL the timer row is claimed with ``FOR UPDATE SKIP
        LOCKED``, so several workers never fire one twice; a failing timer is retried after a lease, then parked.
        """
        fired = 0
        db = self.platform.db
        for _ in range(limit):
            now = self.platform.clock.now()
            due: list[Mapping[str, Any]] = []
            try:
                with db.begin() as conn:
                    due = due_timers(conn, now, now - TIMER_LEASE, 1)
                    if not due:
                        break
                    timer = due[0]
                    self._fire(conn, timer, now)
                    fired += 1
            except Exception as exc:  # noqa: BLE001 - one bad timer must not stop the others; it is recorded
                if not due:
                    raise
                log.warning("flow timer %s failed: %s", due[0]["id"], exc)
                self._park(due[0], now, exc)
        return fired

    def _fire(self, conn: Connection, timer: Mapping[str, Any], now: datetime) -> None:
        inst = lock_instance(conn, timer["instance_id"])
        if inst is not None and inst["status"] == RUNNING:
            inst, pinned, old, directory, local = self._load(conn, timer["instance_id"])
            state, effects = runtime.fire_timer(pinned.flow, old, timer["task_key"], timer["kind"], local,
                                                directory=directory, calendar=pinned.calendar,
                                                decide=self._decide(pinned))
            if effects or state is not old:
                self._commit(conn, inst, pinned, old, state, effects, directory, SYSTEM_PRINCIPAL, local,
                             action=timer["kind"], task_key=timer["task_key"])
        conn.execute(timers.delete().where(timers.c.id == timer["id"]))

    def _park(self, timer: Mapping[str, Any], now: datetime, exc: Exception) -> None:
        with self.platform.db.begin() as conn:
            attempts = int(timer["attempts"] or 0) + 1
            # parked timers move far ahead so the job stops picking them; an admin sees last_error
            later = now + (TIMER_LEASE if attempts < TIMER_ATTEMPTS else timedelta(days=3650))
            conn.execute(update(timers).where(timers.c.id == timer["id"]).values(
                attempts=attempts, claimed_by=self.worker, claimed_at=later - TIMER_LEASE,
                last_error=f"{type(exc).__name__}: {exc}"[:2000]))

    # -- persisting a step ------------------------------------------------------------------------------------------------
    def _actor(self, who: Principal) -> str:
        return SYSTEM if who.id == 0 else who.username

    def _commit(self, conn: Connection, inst: Mapping[str, Any], pinned: Pinned, old: InstanceState,
                new: InstanceState, effects: list[Effect], directory: DbDirectory, who: Principal, now: datetime, *,
                action: str, task_key: str | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Persist a step with everything that goes with it; returns the instance's status afterwards."""
        new, effects = self._delegate(conn, pinned, old, new, list(effects), directory, now)
        flow = pinned.flow
        info = StepInfo(actor_id=who.id or None, title=inst["title"], app=inst["app"], form=inst["form"],
                        record_id=inst["record_id"], link=f"/api/flows/instances/{inst['id']}",
                        flow_label=flow.label or flow.key)
        decided = _STEP_DECISIONS.get()
        _STEP_DECISIONS.set(None)
        if decided:
            info.notes.append({"kind": "action", "action": "decision", "detail": {"decisions": list(decided)}})
        followups = self._side_effects(conn, inst, pinned, effects, who, info)
        done = persist_step(conn, inst, flow, old, new, effects, directory, info, now,
                            self.platform.services.get("notifications"))
        audit.record(conn, at=now, user_id=who.id or None, app=inst["app"], form=inst["form"],
                     record_id=inst["record_id"], action=f"flow_{action}"[:32], def_version=inst["app_version"],
                     extra={"instance": inst["id"], "flow": inst["flow"], "task": task_key, "status": new.status,
                            "position": [a.node for a in new.active], **dict(extra or {})})
        for effect in effects:
            if isinstance(effect, NodeEntered):
                self._emit(conn, inst, "node_entered", effect.node, None, who.id or None, effect.at)
            elif isinstance(effect, NodeLeft):
                self._emit(conn, inst, "node_left", effect.node, effect.result, who.id or None, effect.at)
            elif isinstance(effect, FlowFinished):
                self._emit(conn, inst, "finished", None, new.outcome, who.id or None, effect.at)
            elif isinstance(effect, FlowFailed):
                self._emit(conn, inst, "error", effect.node, effect.message, who.id or None, effect.at)
        if new.status != old.status and new.status in (FINISHED, "withdrawn") and inst["parent_id"]:
            followups.append(lambda: self._complete_parent(conn, inst, new))
        for step in followups:
            step()
        open_tasks = done.open_tasks
        if open_tasks is None or followups:  # an instance from before task ids were kept, or a sub-flow may have
            # come back to this one: read its open tasks
            open_tasks = [{"id": t.id, "node": t.node, "assignee_id": t.assignee_id}
                          for t in conn.execute(OPEN_TASKS, {"b_id": inst["id"]})]
        return {"status": new.status, "outcome": new.outcome, "position": [a.node for a in new.active],
                "error": new.failure.message if new.failure else None, "row_version": done.version,
                "open_tasks": open_tasks}

    def _delegate(self, conn: Connection, pinned: Pinned, old: InstanceState, new: InstanceState,
                  effects: list[Effect], directory: DbDirectory, now: datetime) -> tuple[InstanceState, list[Effect]]:
        """New open tasks of people away (a standing delegation) go to their delegates, as recorded transfers."""
        before = {t.id for t in old.tasks if t.status == OPEN}
        fresh = [t for t in new.tasks if t.status == OPEN and t.id not in before and t.kind in ("approval", "fill")]
        if not fresh:
            return new, effects
        ids = directory.user_ids(t.assignee for t in fresh)
        if not ids:
            return new, effects
        if directory.now == now and all(i in directory.away for i in ids.values()):
            to = {i: d for i, d in directory.away.items() if d is not None}  # read with the users in this step
        else:
            to = {r.user_id: r.delegate_id
                  for r in conn.execute(_DELEGATED, {"b_ids": list(ids.values()), "b_now": now})}
        if not to:
            return new, effects
        for task in fresh:
            delegate_id = to.get(ids.get(task.assignee, -1))
            delegate = directory.username(delegate_id) if delegate_id else None
            if delegate is None or delegate == task.assignee:
                continue
            try:
                new, more = runtime.act(pinned.flow, new, task.id, task.assignee, "transfer", now,
                                        {"to": delegate, "reason": "delegated while away"}, directory=directory,
                                        calendar=pinned.calendar)
            except (BadRequest, Conflict, Forbidden, NotFound):
                continue  # e.g. the delegate already signs here: the task stays with its assignee
            effects.extend(more)
        return new, effects

    def _side_effects(self, conn: Connection, inst: Mapping[str, Any], pinned: Pinned, effects: list[Effect],
                      who: Principal, info: StepInfo) -> list[Callable[[], None]]:
        later: list[Callable[[], None]] = []
        for effect in effects:
            if isinstance(effect, RunActions):
                runner = self.platform.services.get("automations")
                run = getattr(runner, "run_flow_actions", None)
                if run is None:
                    info.notes.append({"kind": "action", "node": effect.node, "action": "automation_skipped",
                                       "comment": "no automation service: actions not run",
                                       "detail": {"actions": audit.jsonable(list(effect.actions))}})
                    continue
                compiled = pinned.flow.node(effect.node).compiled_actions
                later.append(lambda e=effect, c=compiled: run(conn, app=inst["app"], form=inst["form"],
                                                              record_id=inst["record_id"], actions=c or list(e.actions),
                                                              who=who, instance_id=inst["id"], node=e.node,
                                                              flow=inst["flow"]))
            elif isinstance(effect, StartSubflow):
                later.append(lambda e=effect: self.start(conn, inst["app"], e.flow, inst["record_id"], who,
                                                         check_rights=False, parent=(inst["id"], e.task)))
        return later

    def _complete_parent(self, conn: Connection, child: Mapping[str, Any], state: InstanceState) -> None:
        parent = conn.execute(select(instances).where(instances.c.id == child["parent_id"])).mappings().first()
        if parent is None or parent["status"] != RUNNING:
            return
        inst, pinned, old, directory, now = self._load(conn, parent["id"])
        task = old.task(child["parent_task"] or "")
        if task is None or task.status != OPEN:
            return
        verdict = "approve" if state.outcome == "approved" else "reject"
        new, effects = runtime.act(pinned.flow, old, task.id, SYSTEM, verdict, now,
                                   {"reason": f"subflow {child['flow']} {state.outcome}"}, directory=directory,
                                   calendar=pinned.calendar, decide=self._decide(pinned))
        self._commit(conn, inst, pinned, old, new, effects, directory, SYSTEM_PRINCIPAL, now,
                     action="subflow_" + verdict, task_key=task.id)

    def _emit(self, conn: Connection, inst: Mapping[str, Any], kind: str, node: str | None, outcome: str | None,
              actor_id: int | None, at: datetime) -> None:
        handlers = self.platform.hooks.flow_events
        if not handlers:
            return
        event = FlowEvent(app=inst["app"], flow=inst["flow"], instance_id=int(inst["id"]), form=inst["form"],
                          record_id=int(inst["record_id"]), kind=kind, node=node, outcome=outcome, actor_id=actor_id,
                          at=at)
        for handler in handlers:
            handler(conn, event)

    # -- delegations ------------------------------------------------------------------------------------------------------
    def delegate_while_away(self, conn: Connection, who: Principal, to: Any, starts_at: datetime,
                            ends_at: datetime) -> dict[str, Any]:
        """From ``starts_at`` to ``ends_at`` new tasks of ``who`` go to ``to``."""
        if ends_at <= starts_at:
            raise InvalidPayload("ends_at must be after starts_at",
                                 details=[{"field": "ends_at", "message": "must be after starts_at"}])
        directory = DbDirectory(conn, self.names)
        name = self._people(directory, to, "to")
        delegate_id = directory.user_id(name)
        if delegate_id == who.id:
            raise InvalidPayload("cannot delegate to oneself", details=[{"field": "to", "message": "yourself"}])
        now = self.platform.clock.now()
        new_id = conn.execute(insert(delegations).values(user_id=who.id, delegate_id=delegate_id,
                                                         starts_at=starts_at, ends_at=ends_at, created_at=now,
                                                         revoked_at=None)).inserted_primary_key[0]
        return {"id": int(new_id), "to": name, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}

    def end_delegation(self, conn: Connection, who: Principal, delegation_id: int) -> None:
        done = conn.execute(update(delegations).where(
            delegations.c.id == delegation_id, delegations.c.user_id == who.id, delegations.c.revoked_at.is_(None))
            .values(revoked_at=self.platform.clock.now()))
        if done.rowcount != 1:
            raise NotFound(f"no delegation {delegation_id}")

    # -- simulation -------------------------------------------------------------------------------------------------------
    def simulate(self, conn: Connection, app_key: str, flow_key: str, values: Mapping[str, Any],
                 who: Principal) -> dict[str, Any]:
        """The path a record would take and the people it would reach, if everyone approved; nothing is saved."""
        live = self.platform.app(app_key)
        flow = self.flow(app_key, flow_key)
        pinned = self.pinned(app_key, live.version, flow_key)
        form = live.spec.forms[flow.form]
        directory = DbDirectory(conn, self.names)
        sample = self._sample(conn, live, form, values, pinned, directory)
        sim = runtime.simulate(flow, sample, directory, initiator=self._actor(who), now=self._now(pinned),
                               decide=self._decide(pinned))
        names = directory.user_ids({u for people in sim.people.values() for u in people})
        from engine.identity import user_names

        display = user_names(conn, set(names.values()))
        return {"path": [{"node": n, "name": flow.node(n).label, "type": flow.node(n).type} for n in sim.path],
                "people": {node: [{"id": names.get(u), "username": u, "name": display.get(names.get(u, -1), u)}
                                  for u in people] for node, people in sim.people.items()},
                "outcome": sim.outcome, "error": sim.error}

    def _sample(self, conn: Connection, live: Any, form: Any, values: Mapping[str, Any], pinned: Pinned,
                directory: DbDirectory) -> dict[str, Any]:
        """A sample record from JSON: each value coerced by its field type; related records by id or as objects."""
        from engine.errors import FieldProblem, ValidationFailed

        if not isinstance(values, Mapping):
            raise BadRequest("values must be an object of field → value")
        out: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        for key, value in values.items():
            f = form.by_key.get(key)
            if f is None:
                problems.append(FieldProblem(key, "unknown field", "unknown"))
                continue
            if value is None:
                out[key] = None
            elif f.type in ("user", "department"):
                out[key] = value  # usernames / department keys, as the flow sees them
            elif f.type == "relation" and isinstance(value, Mapping):
                out[key] = dict(value)
            else:
                try:
                    out[key] = f.ftype.coerce(value, f)
                except Exception as exc:  # noqa: BLE001 - field types raise their own InvalidField
                    problems.append(FieldProblem(key, str(getattr(exc, "message", exc)), "invalid"))
                    continue
                if f.type == "relation" and f.key in pinned.relations and not f.many:
                    target = live.spec.forms.get(f.to)
                    table = self._records().table(live, target)
                    rel = conn.execute(select(table).where(table.c.id == out[key])).mappings().first()
                    out[key] = None if rel is None else {t.key: rel[t.key] for t in target.stored_fields}
        if problems:
            raise ValidationFailed(problems)
        return out


