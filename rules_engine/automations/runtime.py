"""Running automations: record and flow events (inside the change's transaction), buttons, and one run's actions.

Every write goes through the record service, so validation, formulas, audit and further automations apply. An
automation whose actions trigger automations again (itself, or a cycle) stops at ``MAX_DEPTH`` with an error naming
the chain; any failing action raises ``AutomationFailed`` and the caller's transaction — the triggering change
included — rolls back. Each run whose condition held is written to ``lw_automation_runs``.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import Connection, insert, select

from engine.errors import Forbidden, LoomworkError, NotFound

from ..decision.table import Recording, recording
from ..env import Env
from ..errors import EvalError
from ..expr.operators import as_text
from .spec import Action, AutomationSpec, Template
from .tables import runs

log = logging.getLogger("loomwork.automations")

#: How many automations may trigger each other in one change before the chain is stopped.
MAX_DEPTH = 5
#: Most records one create action may write.
MAX_CREATE = 1000
#: Longest error text kept in the run log.
MAX_ERROR = 2000

_CHAIN: ContextVar[tuple[str, ...]] = ContextVar("loomwork_automation_chain", default=())


class AutomationFailed(LoomworkError):
    """An automation's condition or action failed; the change that triggered it is rolled back."""

    status, code = 422, "automation_failed"


class AutomationLoop(AutomationFailed):
    """Automations triggered each other deeper than ``MAX_DEPTH``."""

    code = "automation_loop"


@dataclass
class Run:
    """One run of one automation: what it runs on and what its actions did."""

    live: Any
    auto: AutomationSpec
    form: Any
    record_id: int | None
    who: Any
    trigger: dict[str, Any] = field(default_factory=dict)
    before: Mapping[str, Any] | None = None
    values: dict[str, Any] | None = None
    done: list[dict[str, Any]] = field(default_factory=list)

    @property
    def names(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "before": dict(self.before or {})}


def relation_reads(expressions: Iterable[Any]) -> frozenset[str]:
    """The relation fields whose related record expressions read (``customer`` of ``customer.rating``)."""
    out: set[str] = set()
    for e in expressions:
        for path in getattr(e, "reads", ()):
            if "." in path:
                out.add(path.split(".", 1)[0])
    return frozenset(out)


@dataclass(frozen=True)
class _Reads:
    """A dotted field path read by something that is not an expression (a notified user field of a relation)."""

    path: str

    @property
    def reads(self) -> tuple[str]:
        return (self.path,)


def _trigger_expressions(auto: AutomationSpec) -> list[Any]:
    out: list[Any] = [auto.condition, auto.trigger.where]
    for a in auto.actions:
        if a.kind in ("set", "create", "webhook"):
            out += list(a.values.values()) + list((a.payload or {}).values())
        if a.kind == "update":
            out += list(a.match.values())
        if a.kind == "create" and a.each[0] in ("count", "list"):
            out.append(a.each[1])
        if a.kind == "create" and a.each[0] == "schedule":
            out += list(a.each[1].values())
        out += [_Reads(f) for f in a.user_fields if "." in f]
        for t in (a.title, a.body):
            if t is not None:
                out += [p for p in t.parts if not isinstance(p, str)]
    return [e for e in out if e is not None]


class Automations:
    """The automation service (``platform.services["automations"]``)."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform

    # -- index ---------------------------------------------------------------------------------------------------
    def index(self, live: Any) -> dict[str, Any]:
        """Enabled automations of a live app by trigger: ("record", form), ("flow", flow), ("button", form, name)."""
        found = live.state.get("automations")
        if found is None:
            found = {}
            for auto in live.spec.of_kind("automation").values():
                if not auto.enabled:
                    continue
                t = auto.trigger
                key: tuple[Any, ...] = {"record": ("record", t.form), "flow": ("flow", t.flow),
                                        "button": ("button", t.form, t.button)}.get(t.kind, (t.kind,))
                found.setdefault(key, []).append(auto)
            live.state["automations"] = found
        return found  # type: ignore[no-any-return]

    def buttons(self, live: Any, form_key: str, who: Any) -> list[dict[str, str]]:
        """The buttons of a form ``who`` may press (for the record page)."""
        out = []
        for key, autos in self.index(live).items():
            if key[0] == "button" and key[1] == form_key:
                for auto in autos:
                    if self._may_press(auto, who):
                        out.append({"name": auto.trigger.button or "", "label": auto.trigger.label or ""})
        return out

    # -- triggers ------------------------------------------------------------------------------------------------
    def on_record(self, conn: Connection, event: Any) -> None:
        for auto in self.index(event.app).get(("record", event.form.key), ()):
            t = auto.trigger
            if t.event != event.action and not (t.event == "saved" and event.action in ("created", "updated")):
                continue
            if t.changed and not self._changed(t, event.before, event.after):
                continue
            run = Run(event.app, auto, event.form, event.record_id, self._as(auto, event.who),
                      trigger={"event": event.action, "automation": auto.key}, before=event.before)
            if event.action == "deleted":
                run.values = self._aliases(dict(event.before or {}))
            self.run(conn, run)

    @staticmethod
    def _changed(t: Any, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
        before, after = before or {}, after or {}
        changed = [k for k in t.changed if _norm(before.get(k)) != _norm(after.get(k))]
        if not changed:
            return False
        if len(t.changed) == 1:
            key = t.changed[0]
            if t.change_from[0] and not _same(before.get(key), t.change_from[1]):
                return False
            if t.change_to[0] and not _same(after.get(key), t.change_to[1]):
                return False
        return True

    def on_flow(self, conn: Connection, event: Any) -> None:
        live = self.platform.apps.get(event.app)
        if live is None:
            return
        kind = {"node_entered": "entered", "node_left": "left"}.get(event.kind, event.kind)
        for auto in self.index(live).get(("flow", event.flow), ()):
            t = auto.trigger
            if t.event != kind or (t.node is not None and t.node != event.node):
                continue
            if t.outcome is not None and t.outcome != event.outcome:
                continue
            who = self._as(auto, self._actor(conn, event.actor_id))
            form = live.spec.forms.get(event.form)
            run = Run(live, auto, form, event.record_id, who,
                      trigger={"event": kind, "flow": event.flow, "node": event.node, "outcome": event.outcome,
                               "automation": auto.key})
            self.run(conn, run)

    def run_flow_actions(self, conn: Connection, *, app: str, form: str, record_id: int, actions: Any, who: Any,
                         instance_id: int, node: str, flow: str | None = None) -> dict[str, Any]:
        """Run a flow's automation node on the instance's record, in the flow step's transaction (the flow engine
        calls this when an instance reaches the node). ``actions`` are the node's actions as compiled at load
        (``build_flow_actions``); a failing action fails the step, which leaves everything as it was. ``who``, the
        person whose action led here, is kept in the run's trigger."""
        if not isinstance(actions, AutomationSpec):
            raise AutomationFailed(f"flow {flow or ''} node '{node}': its actions were not compiled at load")
        from engine.permissions import SYSTEM

        live = self.platform.apps[app]
        # a node is a step of the process, not a person's edit: it acts as the platform (as timers do), so fields
        # that only the platform may change (``readonly``, ``readonly_if`` on the current user) can be set by it
        run = Run(live, actions, live.spec.forms.get(form), record_id, SYSTEM,
                  trigger={"event": "entered", "flow": flow, "node": node, "outcome": None,
                           "automation": actions.key, "instance": instance_id,
                           "actor": getattr(who, "username", None)})
        return self.run(conn, run)

    @staticmethod
    def _as(auto: Any, who: Any) -> Any:
        """Who a triggered run acts as: the person whose change triggered it, or the platform (``run_as``)."""
        if getattr(auto, "run_as", "actor") == "platform":
            from engine.permissions import SYSTEM

            return SYSTEM
        return who

    def _actor(self, conn: Connection, user_id: int | None) -> Any:
        from engine.identity import load_principal
        from engine.permissions import SYSTEM

        if not user_id:
            return SYSTEM
        return load_principal(conn, user_id) or SYSTEM

    def press(self, conn: Connection, live: Any, form_key: str, record_id: int, name: str, who: Any) -> dict[str, Any]:
        """Run the button ``name`` on a record: ``who`` must see the record, may update it and hold a listed role."""
        autos = self.index(live).get(("button", form_key, name))
        records = self.platform.services["records"]
        form = records.form(live, form_key)
        if not autos:
            raise NotFound(f"form '{form_key}' has no action '{name}'")
        records.get(conn, live, form_key, record_id, who)  # 404 when the record is outside the caller's reach
        grant = records.grant(form, who)
        row = records.load(conn, live, form_key, record_id)
        from engine.permissions import in_scope

        if row is None or not in_scope(grant.update, row, who):
            raise Forbidden(f"you may not change this {form_key} record")
        results = []
        for auto in autos:
            if not self._may_press(auto, who):
                raise Forbidden(f"action '{name}' is for: {', '.join(auto.trigger.roles)}")
            run = Run(live, auto, form, record_id, who, trigger={"event": "button", "button": name,
                                                                 "automation": auto.key})
            results.append(self.run(conn, run))
        return {"action": name, "runs": results}

    @staticmethod
    def _may_press(auto: AutomationSpec, who: Any) -> bool:
        roles = auto.trigger.roles
        return bool(who.is_admin or not roles or set(roles) & set(who.roles))

    # -- one run -------------------------------------------------------------------------------------------------
    def env(self, live: Any, who: Any, names: Mapping[str, Any]) -> Env:
        s = live.spec.settings
        return Env(clock=self.platform.clock.now, timezone=s.timezone,
                   user=who.to_json() if who is not None and who.id else None, holidays=s.holidays,
                   workdays=s.work_days, extra_workdays=s.extra_workdays, names=names)

    def _aliases(self, values: dict[str, Any]) -> dict[str, Any]:
        values.setdefault("owner", values.get("owner_id"))
        values.setdefault("department", values.get("department_id"))
        return values

    def load(self, conn: Connection, run: Run) -> dict[str, Any]:
        """The triggering record's values (related records that expressions read included)."""
        if run.form is None or run.record_id is None:
            return {}
        wanted = relation_reads(_trigger_expressions(run.auto))
        values = self.platform.services["records"].load(conn, run.live, run.form.key, run.record_id,
                                                       relations=wanted)
        if values is None:
            raise NotFound(f"no {run.form.key} record {run.record_id}")
        return self._aliases(values)

    def run(self, conn: Connection, run: Run) -> dict[str, Any]:
        """Check the condition and run the actions; returns the run's summary (None status when skipped)."""
        chain = _CHAIN.get()
        label = run.auto.key + (f"({run.form.key} {run.record_id})" if run.record_id is not None else "")
        if len(chain) >= MAX_DEPTH:
            raise AutomationLoop(f"automations triggered each other more than {MAX_DEPTH} times in one change; "
                                 f"stopped: {' → '.join(chain + (label,))}",
                                 details=[{"chain": list(chain + (label,))}])
        token = _CHAIN.set(chain + (label,))
        try:
            with recording() as decided:
                return self._run(conn, run, depth=len(chain), decided=decided)
        finally:
            _CHAIN.reset(token)

    def _run(self, conn: Connection, run: Run, depth: int, decided: Recording | None = None) -> dict[str, Any]:
        auto = run.auto
        if run.values is None:
            run.values = self.load(conn, run)
        env = self.env(run.live, run.who, run.names)
        if auto.condition is not None:
            ok = self._eval(auto.condition, run.values, env, auto, "if")
            if ok is not True:
                return {"automation": auto.key, "status": "skipped"}
        for action in auto.actions:
            try:
                run.done.append(getattr(self, f"_do_{action.kind}")(conn, run, action, env, depth))
            except AutomationLoop:
                raise
            except AutomationFailed as exc:
                raise AutomationFailed(f"automation '{auto.key}', action {action.index + 1} ({action.kind}): "
                                       f"{exc.message}", details=exc.details) from None
            except LoomworkError as exc:
                raise AutomationFailed(f"automation '{auto.key}' ({auto.file}), action {action.index + 1} "
                                       f"({action.kind}): {exc.message}", details=exc.details) from None
        summary = {"automation": auto.key, "status": "done", "actions": run.done}
        # the decision tables the condition, the actions and the formulas they recalculated consulted, explained
        traces = decided.traces() if decided is not None else []
        conn.execute(insert(runs).values(
            decisions=_jsonable(traces) if traces else None,
            app=run.live.key, automation=auto.key, trigger=auto.trigger.describe()[:200],
            form=run.form.key if run.form is not None else None, record_id=run.record_id,
            user_id=run.who.id or None if run.who is not None else None, status="done",
            actions=_jsonable(run.done), error=None, depth=depth, started_at=self.platform.clock.now()))
        return summary

    def _eval(self, expr: Any, values: Mapping[str, Any], env: Env, auto: AutomationSpec, where: str) -> Any:
        try:
            return expr.evaluate(values, env)
        except EvalError as exc:
            raise AutomationFailed(f"automation '{auto.key}' ({auto.file}), {where}: {exc.message} "
                                   f"in {getattr(expr, 'source', '')!r}") from None

    def _evaluate_all(self, exprs: Mapping[str, Any], values: Mapping[str, Any], env: Env,
                      auto: AutomationSpec, where: str) -> dict[str, Any]:
        return {k: self._eval(e, values, env, auto, f"{where}.{k}") for k, e in exprs.items()}

    def render(self, template: Template | None, values: Mapping[str, Any], env: Env, auto: AutomationSpec) -> str:
        if template is None:
            return ""
        out = []
        for part in template.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = self._eval(part, values, env, auto, "template")
                if type(value) is Decimal and -6 <= value.as_tuple().exponent <= 0 and abs(value.adjusted()) < 28:
                    out.append(f"{value:f}")  # a number keeps its own places in text: money 12.50 stays 12.50
                    continue
                try:
                    out.append(as_text(value))
                except EvalError:
                    out.append(str(value))
        return "".join(out)

    # -- actions -------------------------------------------------------------------------------------------------
    def _extra(self, run: Run) -> dict[str, Any]:
        return {"automation": run.auto.key, "trigger": run.auto.trigger.describe()}

    def _do_set(self, conn: Connection, run: Run, action: Action, env: Env, depth: int) -> dict[str, Any]:
        assert run.values is not None and run.record_id is not None
        body = self._evaluate_all(action.values, run.values, env, run.auto, f"then[{action.index}].set")
        records = self.platform.services["records"]
        records.update(conn, run.live, run.form.key, run.record_id, body, run.who, if_match=None, depth=depth + 1,
                       check_rights=False, audit_extra=self._extra(run))
        run.values = self.load(conn, run)
        return {"action": "set", "fields": _jsonable(body)}

    def _items(self, run: Run, action: Action, env: Env) -> list[Any]:
        how = action.each[0]
        values = run.values or {}
        if how == "one":
            return [None]
        if how == "count":
            n = self._eval(action.each[1], values, env, run.auto, "for_each.count")
            if n is None:
                return []
            if int(n) != n or not 0 <= n <= MAX_CREATE:
                raise AutomationFailed(f"for_each count must be a whole number 0..{MAX_CREATE}, got {n}")
            return list(range(1, int(n) + 1))
        if how == "rows":
            return list(values.get(action.each[1]) or [])
        if how == "list":
            items = self._eval(action.each[1], values, env, run.auto, "for_each.list")
            if items is None:
                return []
            return list(items) if isinstance(items, list) else [items]
        from ..finance import amortization_schedule

        parts = {k: self._eval(e, values, env, run.auto, f"for_each.schedule.{k}") for k, e in action.each[1].items()}
        if any(parts.get(k) is None for k in ("principal", "annual_rate", "months")):
            raise AutomationFailed("for_each schedule: principal, annual_rate and months must not be blank")
        method = METHODS.get(str(parts.get("method") or "equal_payment").strip().lower())
        if method is None:
            raise AutomationFailed(f"for_each schedule: unknown method {parts.get('method')!r}; one of "
                                   f"{', '.join(sorted(set(METHODS.values())))}")
        try:
            return amortization_schedule(parts["principal"], parts["annual_rate"], int(parts["months"]), method)
        except ValueError as exc:
            raise AutomationFailed(f"for_each schedule: {exc}") from None

    def _do_create(self, conn: Connection, run: Run, action: Action, env: Env, depth: int) -> dict[str, Any]:
        items = self._items(run, action, env)
        if len(items) > MAX_CREATE:
            raise AutomationFailed(f"one action creates at most {MAX_CREATE} records, not {len(items)}")
        records = self.platform.services["records"]
        created = []
        for i, item in enumerate(items, start=1):
            item_env = self.env(run.live, run.who, {**run.names, "item": item, "index": i})
            body = self._evaluate_all(action.values, run.values or {}, item_env, run.auto,
                                      f"then[{action.index}].create.values")
            created.append(records.create_as_system(conn, run.live, action.form, body, run.who, depth=depth + 1,
                                                    audit_extra=self._extra(run)))
        return {"action": "create", "form": action.form, "ids": created}

    def _do_update(self, conn: Connection, run: Run, action: Action, env: Env, depth: int) -> dict[str, Any]:
        records = self.platform.services["records"]
        match = self._evaluate_all(action.match, run.values or {}, env, run.auto, f"then[{action.index}].match")
        ids = records.find(conn, run.live, action.form, match, limit=action.limit + 1)
        if len(ids) > action.limit:
            raise AutomationFailed(f"update would change more than {action.limit} {action.form} records; "
                                   "narrow 'match' or raise 'limit'")
        target_env = self.env(run.live, run.who, {**run.names, "record": run.values or {}})
        wanted = relation_reads([action.where, *action.values.values()])
        changed = []
        for target_id in ids:
            values = records.load(conn, run.live, action.form, target_id, relations=wanted)
            if values is None:
                continue
            values = self._aliases(values)
            if action.where is not None and self._eval(action.where, values, target_env, run.auto,
                                                       f"then[{action.index}].where") is not True:
                continue
            body = self._evaluate_all(action.values, values, target_env, run.auto, f"then[{action.index}].set")
            records.update(conn, run.live, action.form, target_id, body, run.who, if_match=None, depth=depth + 1,
                           check_rights=False, audit_extra=self._extra(run))
            changed.append(target_id)
        if run.form is not None and run.record_id is not None and run.form.key == action.form \
                and run.record_id in changed:
            run.values = self.load(conn, run)
        return {"action": "update", "form": action.form, "ids": changed}

    def _do_start_flow(self, conn: Connection, run: Run, action: Action, env: Env, depth: int) -> dict[str, Any]:
        flows = self.platform.services.get("flows")
        if flows is None:
            raise AutomationFailed("the flow engine is not installed")
        started = flows.start(conn, run.live.key, action.flow, run.record_id, run.who, check_rights=False)
        return {"action": "start_flow", "flow": action.flow, "instance": started.get("id")}

    def _do_notify(self, conn: Connection, run: Run, action: Action, env: Env, depth: int) -> dict[str, Any]:
        from engine.tables import user_roles, users

        values = run.values or {}
        ids: list[int] = []
        if action.users:
            ids += [r[0] for r in conn.execute(select(users.c.id).where(users.c.username.in_(action.users),
                                                                        users.c.is_active.is_(True)))]
        if action.roles:
            ids += [r[0] for r in conn.execute(
                select(users.c.id).join(user_roles, user_roles.c.user_id == users.c.id)
                .where(user_roles.c.role_key.in_(action.roles), users.c.is_active.is_(True)))]
        for key in action.user_fields:
            if "." in key:
                first, rest = key.split(".", 1)
                related = values.get(first)
                value = related.get(rest) if isinstance(related, Mapping) else None
            else:
                value = values.get({"owner": "owner_id"}.get(key, key))
            ids += [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int)]
        title = self.render(action.title, values, env, run.auto) or run.auto.label
        body = self.render(action.body, values, env, run.auto) or None
        link = None
        if run.form is not None and run.record_id is not None and run.trigger.get("event") != "deleted":
            link = f"/apps/{run.live.key}/forms/{run.form.key}/{run.record_id}"
        sent = self.platform.services["notifications"].send(conn, users=ids, kind="automation", title=title,
                                                            body=body, link=link, app=run.live.key)
        return {"action": "notify", "users": sorted(set(ids)), "sent": sent, "title": title}

    def _do_webhook(self, conn: Connection, run: Run, action: Action, env: Env, depth: int) -> dict[str, Any]:
        values = run.values or {}
        if action.payload is not None:
            payload: dict[str, Any] = self._evaluate_all(action.payload, values, env, run.auto,
                                                         f"then[{action.index}].webhook.body")
        else:
            record = None
            if run.form is not None:
                record = self.platform.services["records"].to_json(run.form, values)
            payload = {"app": run.live.key, "automation": run.auto.key, "event": run.trigger.get("event"),
                       "form": run.form.key if run.form is not None else None, "record_id": run.record_id,
                       "record": record, "at": self.platform.clock.now().isoformat()}
        message = self.platform.services["outbox"].enqueue(conn, app=run.live.key,
                                                           source=f"automation:{run.auto.key}", url=action.url or "",
                                                           payload=payload)
        return {"action": "webhook", "outbox": message, "url": action.url}


#: Names of the schedule methods an expression may give (the canonical one and common synonyms).
METHODS = {
    "equal_payment": "equal_payment", "equal_instalment": "equal_payment", "equal_installment": "equal_payment",
    "annuity": "equal_payment", "equal_principal": "equal_principal", "interest_first": "interest_first",
    "interest_only": "interest_first", "bullet": "interest_first",
}


def _norm(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return value.normalize()
    return value


def _same(value: Any, literal: Any) -> bool:
    """Whether a stored value equals a value written in YAML (``to: approved``, ``to: 3``, ``to: "2026-05-01"``)."""
    from datetime import date
    from decimal import Decimal, InvalidOperation

    if value is None or literal is None:
        return value is None and literal is None
    if isinstance(value, bool) or isinstance(literal, bool):
        return value is literal
    if isinstance(value, (Decimal, int, float)):
        try:
            return Decimal(str(value)) == Decimal(str(literal))
        except InvalidOperation:
            return False
    if isinstance(value, date):
        return value.isoformat() == str(literal)
    if isinstance(value, list):
        return literal in value
    return bool(value == literal)


def _jsonable(value: Any) -> Any:
    from engine.audit import jsonable

    return jsonable(value)
