"""Building an automation spec from its definition file, with located errors (file, line, field).

Checked at load: the trigger (exactly one kind; forms, fields, flows, nodes, schedules and date fields exist), every
expression (compiled against the record's fields), every action's target form and fields, flows started, roles and
user fields notified, and webhook URLs (http(s); an address literal in a private range needs the allow-list).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from engine.errors import DefinitionError
from engine.metaschema import suggest
from engine.source import Document, format_path

from ..errors import ExpressionCompileError
from ..expr.expression import compile_expression
from ..scope import Scope
from .spec import ACTIONS, TRIGGERS, Action, AutomationSpec, Schedule, Template, Trigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Names an automation's expressions may use besides the record's fields.
TRIGGER_SCOPE = Scope.from_fields({"event": "text", "flow": "text", "node": "text", "outcome": "text",
                                   "button": "text", "due": "date", "automation": "text"})
SCHEDULE_ITEM = Scope.from_fields({"period": "integer", "payment": "money", "principal": "money",
                                   "interest": "money", "balance": "money"})
_TEMPLATE = re.compile(r"\{\{(.+?)\}\}", re.S)
#: Field types whose value is a person (their user id), usable as notification recipients.
PEOPLE_FIELDS = ("user",)


@dataclass(frozen=True)
class Literal:
    """A constant written in YAML where an expression may stand (``amount: 0``, ``urgent: true``)."""

    value: Any
    reads: frozenset[str] = frozenset()
    source: str = ""

    def evaluate(self, values: Any = None, env: Any = None) -> Any:
        return self.value


class _Builder:
    def __init__(self, doc: Document, ctx: Any) -> None:
        self.doc = doc
        self.ctx = ctx
        self.problems = ctx.problems
        self.start = len(ctx.problems.errors)
        self.forms: Mapping[str, Any] = ctx.specs.get("form", {})
        self.raw_forms: Mapping[str, Any] = ctx.raw.get("form", {})
        self.scopes: dict[str, Scope] = {}
        specs = getattr(ctx, "specs", None) or {}
        #: the app's decision tables (built before automations), for ``DECIDE``
        self.tables = {k: v for k, v in (specs.get("decision_table") or {}).items() if v is not None}
        #: where the actions list sits in the document (``then`` of an automation, a flow node's ``actions``)
        self.base: tuple[Any, ...] = ("then",)

    # -- helpers ---------------------------------------------------------------------------------------------------
    def error(self, path: tuple[Any, ...], message: str, hint: str | None = None) -> None:
        self.problems.add(self.doc.error(path, message, hint))

    @property
    def failed(self) -> bool:
        return len(self.problems.errors) > self.start

    def form(self, key: Any, path: tuple[Any, ...]) -> Any:
        if key in self.forms:
            return self.forms[key]
        if key in self.raw_forms:
            return None  # the form is broken: its own errors are reported
        self.error(path, f"unknown form '{key}'", suggest(str(key), self.raw_forms) or "add the form under forms/")
        return None

    def scope(self, form: Any) -> Scope:
        if form.key not in self.scopes:
            make = self.ctx.services.get("form_scope")
            scope = make(form, self.raw_forms) if make else Scope.open_scope()
            # a related record's id is readable (``supplier.id``): actions write it into relation fields
            fields = {k: Scope(fields={**v.fields, "id": "integer"}) if isinstance(v, Scope) and not v.is_rows else v
                      for k, v in scope.fields.items()}
            self.scopes[form.key] = Scope(fields=fields, extra=scope.extra, open=scope.open)
        return self.scopes[form.key]

    def field(self, form: Any, key: str, path: tuple[Any, ...], *, writable: bool = False) -> Any:
        f = form.by_key.get(key)
        if f is None or f.ftype.layout_only:
            self.error(path, f"form '{form.key}' has no field '{key}'",
                       suggest(key, [x.key for x in form.fields if not x.ftype.layout_only]))
            return None
        if writable and f.ftype.computed:
            self.error(path, f"field '{key}' of form '{form.key}' is computed ({f.type}) and cannot be set")
            return None
        return f

    def compile(self, source: Any, scope: Scope, path: tuple[Any, ...]) -> Any:
        """A compiled expression, or a Literal for a YAML number/boolean/null; None (reported) on an error."""
        if not isinstance(source, str):
            return Literal(source)
        if not scope.tables and self.tables:  # DECIDE("key", ...) may call the app's decision tables
            scope = replace(scope, tables=self.tables)
        try:
            return compile_expression(source, scope)
        except ExpressionCompileError as exc:
            line, col = self.doc.locate(path)
            offset = max(int(getattr(exc, "col", 1) or 1) - 1, 0)
            self.problems.add(DefinitionError(self.doc.file, line, col + offset, format_path(path),
                                              f"expression {source!r}: {exc.message}", getattr(exc, "hint", None)))
            return None

    def template(self, text: str, scope: Scope, path: tuple[Any, ...]) -> Template | None:
        parts: list[Any] = []
        last = 0
        ok = True
        for m in _TEMPLATE.finditer(text):
            parts.append(text[last:m.start()])
            compiled = self.compile(m.group(1).strip(), scope, path)
            ok = ok and compiled is not None
            parts.append(compiled)
            last = m.end()
        parts.append(text[last:])
        return Template(text, tuple(parts)) if ok else None

    @staticmethod
    def extend(scope: Scope, **extra: Any) -> Scope:
        return Scope(fields=scope.fields, extra={**scope.extra, **extra}, open=scope.open)

    # -- trigger ---------------------------------------------------------------------------------------------------
    def trigger(self, when: Mapping[str, Any]) -> tuple[Trigger | None, Any]:
        kinds = [k for k in ("record", "flow", "schedule", "date", "button") if k in when]
        if len(kinds) != 1:
            self.error(("when",), "name exactly one trigger: " + " / ".join(TRIGGERS) if not kinds else
                       f"one trigger per automation, not {' and '.join(kinds)}",
                       "e.g. when: {record: created, form: purchase_request}")
            return None, None
        kind = kinds[0]
        allowed = {"record": {"record", "form", "changed", "from", "to"},
                   "flow": {"flow", "event", "node", "outcome"},
                   "schedule": {"schedule", "form", "where"},
                   "date": {"date", "form", "days_before", "days_after", "at", "where"},
                   "button": {"button", "form", "label", "roles"}}[kind]
        for key in when:
            if key not in allowed:
                self.error(("when", key), f"'{key}' does not apply to a {kind} trigger",
                           f"a {kind} trigger takes: {', '.join(sorted(allowed))}")
        form = None
        if kind != "flow" and ("form" in when or kind != "schedule"):
            if "form" not in when:
                self.error(("when",), f"a {kind} trigger needs 'form'")
                return None, None
            form = self.form(when["form"], ("when", "form"))
            if form is None:
                return None, None
        return getattr(self, f"trigger_{kind}")(when, form), form

    def trigger_record(self, when: Mapping[str, Any], form: Any) -> Trigger | None:
        event = when["record"]
        changed = when.get("changed")
        fields = tuple([changed] if isinstance(changed, str) else changed or ())
        for i, key in enumerate(fields):
            self.field(form, key, ("when", "changed") + ((i,) if not isinstance(changed, str) else ()))
        if fields and event not in ("updated", "saved"):
            self.error(("when", "changed"), f"'changed' applies to updated or saved records, not {event}")
        for side in ("from", "to"):
            if side in when and len(fields) != 1:
                self.error(("when", side), f"'{side}' needs exactly one field in 'changed'")
        return Trigger("record", form=form.key, event=event, changed=fields,
                       change_from=("from" in when, when.get("from")), change_to=("to" in when, when.get("to")))

    def trigger_flow(self, when: Mapping[str, Any], _form: Any) -> Trigger | None:
        flows = self.ctx.specs.get("flow", {})
        key = when["flow"]
        flow = flows.get(key)
        if flow is None:
            if key not in self.ctx.raw.get("flow", {}):
                self.error(("when", "flow"), f"unknown flow '{key}'", suggest(key, self.ctx.raw.get("flow", {})))
            return None
        event = when.get("event", "finished")
        node = when.get("node")
        if node is not None and node not in flow.by_id:
            self.error(("when", "node"), f"flow '{key}' has no node '{node}'", suggest(node, flow.by_id))
        if node is not None and event not in ("entered", "left"):
            self.error(("when", "node"), f"'node' applies to entered or left, not {event}")
        if event in ("entered", "left") and node is None:
            self.error(("when",), f"a flow trigger on a node {event} needs 'node'")
        if "outcome" in when and event not in ("left", "finished"):
            self.error(("when", "outcome"), "'outcome' applies to left (a node's result) or finished (the flow's)")
        return Trigger("flow", form=flow.form, event=event, flow=key, node=node, outcome=when.get("outcome"))

    def schedule(self, raw: Mapping[str, Any], path: tuple[Any, ...]) -> Schedule | None:
        every = raw["every"]
        at = str(raw.get("at", "00" if every == "hour" else "00:00"))
        hour, minute = (0, int(at)) if ":" not in at else (int(at.split(":")[0]), int(at.split(":")[1]))
        if every == "hour" and ":" in at:
            self.error(path + ("at",), "every: hour takes the minute past the hour, e.g. at: \"15\"")
            return None
        if every != "hour" and ":" not in at:
            self.error(path + ("at",), f"every: {every} takes a time of day, e.g. at: \"08:00\"")
            return None
        on = raw.get("on")
        if every == "week":
            if on is None:
                on = "mon"
            if str(on).lower() not in WEEKDAYS:
                self.error(path + ("on",), f"unknown weekday {on!r}", f"one of: {', '.join(WEEKDAYS)}")
                return None
            return Schedule(every, hour, minute, WEEKDAYS.index(str(on).lower()))
        if every == "month":
            day = 1 if on is None else on
            if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
                self.error(path + ("on",), f"a day of the month is 1..31, not {day!r}")
                return None
            return Schedule(every, hour, minute, day)
        if on is not None:
            self.error(path + ("on",), f"'on' applies to every: week or month, not {every}")
            return None
        return Schedule(every, hour, minute)

    def trigger_schedule(self, when: Mapping[str, Any], form: Any) -> Trigger | None:
        schedule = self.schedule(when["schedule"], ("when", "schedule"))
        where = None
        if "where" in when:
            if form is None:
                self.error(("when", "where"), "'where' needs 'form': the records it chooses")
            else:
                where = self.compile(when["where"], self.scope(form), ("when", "where"))
        return Trigger("schedule", form=form.key if form else None, schedule=schedule, where=where)

    def trigger_date(self, when: Mapping[str, Any], form: Any) -> Trigger | None:
        f = self.field(form, when["date"], ("when", "date"))
        is_date = f is not None and (f.type == "date" or f.type == "formula" and f.extra.get("result") == "date")
        if f is not None and (not is_date or not f.stored):
            self.error(("when", "date"), f"field '{f.key}' is a {f.type} field, not a stored date field")
        if "days_before" in when and "days_after" in when:
            self.error(("when",), "give days_before or days_after, not both")
        offset = -int(when.get("days_before", 0)) or int(when.get("days_after", 0))
        at = str(when.get("at", "00:00"))
        where = self.compile(when["where"], self.scope(form), ("when", "where")) if "where" in when else None
        return Trigger("date", form=form.key, date_field=when["date"], offset_days=offset,
                       schedule=Schedule("day", int(at[:2]), int(at[3:])), where=where)

    def trigger_button(self, when: Mapping[str, Any], form: Any) -> Trigger | None:
        roles = tuple(when.get("roles", ()))
        known = self.ctx.roles | {"admin"}
        for i, role in enumerate(roles):
            if role not in known:
                self.error(("when", "roles", i), f"unknown role '{role}'", suggest(role, known))
        return Trigger("button", form=form.key, button=when["button"], label=when.get("label") or when["button"],
                       roles=roles)

    # -- actions ---------------------------------------------------------------------------------------------------
    def action(self, i: int, raw: Mapping[str, Any], trigger: Trigger, scope: Scope, form: Any) -> Action | None:
        kind = next(iter(raw))
        if kind not in ACTIONS:
            return None  # the schema reported it
        path = self.base + (i, kind)
        body = raw[kind]
        return getattr(self, f"action_{kind}")(i, body, path, trigger, scope, form)

    def values(self, form: Any, raw: Mapping[str, Any], scope: Scope, path: tuple[Any, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, source in raw.items():
            f = self.field(form, key, path + (key,), writable=True)
            compiled = self.compile(source, scope, path + (key,))
            if f is not None and compiled is not None:
                out[key] = compiled
        return out

    def action_set(self, i: int, body: Any, path: tuple[Any, ...], trigger: Trigger, scope: Scope,
                   form: Any) -> Action | None:
        if form is None or trigger.event == "deleted":
            self.error(path, "'set' changes the record that triggered the automation; this trigger has none"
                       if form is None else "a deleted record cannot be changed")
            return None
        return Action("set", i, form=form.key, values=self.values(form, body, scope, path))

    def action_create(self, i: int, body: Any, path: tuple[Any, ...], trigger: Trigger, scope: Scope,
                      form: Any) -> Action | None:
        target = self.form(body["form"], path + ("form",))
        each: tuple[Any, ...] = ("one",)
        item: Any = "any"
        raw_each = body.get("for_each")
        if raw_each is not None:
            keys = list(raw_each)
            if len(keys) != 1:
                self.error(path + ("for_each",), "for_each takes one of: count, rows, list, schedule")
                return None
            how = keys[0]
            where = path + ("for_each", how)
            if how == "count":
                each, item = ("count", self.compile(raw_each["count"], scope, where)), "integer"
            elif how == "list":
                each = ("list", self.compile(raw_each["list"], scope, where))
            elif how == "rows":
                sub = self.field(form, raw_each["rows"], where) if form is not None else None
                if form is None:
                    self.error(where, "rows needs a trigger with a record")
                elif sub is not None and sub.type != "subtable":
                    self.error(where, f"field '{sub.key}' is not a sub-table")
                elif sub is not None:
                    rows = scope.fields.get(sub.key)
                    item = Scope.from_fields(rows.fields) if isinstance(rows, Scope) else "any"
                each = ("rows", raw_each["rows"])
            else:
                sched = raw_each["schedule"]
                parts = {name: self.compile(sched[name], scope, where + (name,))
                         for name in ("principal", "annual_rate", "months") if name in sched}
                parts["method"] = (self.compile(sched["method"], scope, where + ("method",)) if "method" in sched
                                   else Literal("equal_payment"))
                each, item = ("schedule", parts), SCHEDULE_ITEM
        if target is None:
            return None
        inner = self.extend(scope, item=item, index="integer")
        return Action("create", i, form=target.key, values=self.values(target, body["values"], inner,
                                                                         path + ("values",)), each=each)

    def action_update(self, i: int, body: Any, path: tuple[Any, ...], trigger: Trigger, scope: Scope,
                      form: Any) -> Action | None:
        target = self.form(body["form"], path + ("form",))
        if target is None:
            return None
        match: dict[str, Any] = {}
        for key, source in (body.get("match") or {}).items():
            f = True if key == "id" else self.field(target, key, path + ("match", key))
            if f not in (None, True) and (not f.stored or f.type == "subtable"):
                self.error(path + ("match", key), f"field '{key}' is not a stored column; use 'where'")
            compiled = self.compile(source, scope, path + ("match", key))
            if f is not None and compiled is not None:
                match[key] = compiled
        own = self.scope(target)
        record_scope = Scope(fields=scope.fields) if form is not None else Scope()
        inner = self.extend(own, record=record_scope, trigger=TRIGGER_SCOPE)
        where = self.compile(body["where"], inner, path + ("where",)) if "where" in body else None
        values = self.values(target, body["set"], inner, path + ("set",))
        return Action("update", i, form=target.key, values=values, match=match, where=where,
                      limit=int(body.get("limit", 1000)))

    def action_start_flow(self, i: int, body: Any, path: tuple[Any, ...], trigger: Trigger, scope: Scope,
                          form: Any) -> Action | None:
        flows = self.ctx.raw.get("flow", {})
        if body not in flows:
            self.error(path, f"unknown flow '{body}'", suggest(body, flows))
            return None
        flow_form = flows[body].data.get("form")
        if form is None or flow_form != form.key:
            self.error(path, f"flow '{body}' runs on form '{flow_form}', not on "
                       + (f"'{form.key}'" if form is not None else "this trigger (it has no record)"))
            return None
        return Action("start_flow", i, flow=body)

    def action_notify(self, i: int, body: Any, path: tuple[Any, ...], trigger: Trigger, scope: Scope,
                      form: Any) -> Action | None:
        to = body["to"]
        if not any(to.get(k) for k in ("users", "roles", "fields")):
            self.error(path + ("to",), "name at least one recipient: users, roles or fields")
        known = self.ctx.roles | {"admin"}
        for j, role in enumerate(to.get("roles", ())):
            if role not in known:
                self.error(path + ("to", "roles", j), f"unknown role '{role}'", suggest(role, known))
        for j, key in enumerate(to.get("fields", ())):
            if key in ("owner", "created_by"):
                continue
            if form is None:
                self.error(path + ("to", "fields", j), "fields need a trigger with a record")
                continue
            owner = form
            if "." in key:  # a user field of a related record: supplier.contact_person
                first, key = key.split(".", 1)
                rel = self.field(form, first, path + ("to", "fields", j))
                if rel is None:
                    continue
                if rel.type != "relation" or rel.many or rel.to not in self.forms:
                    self.error(path + ("to", "fields", j), f"field '{first}' is not a single relation")
                    continue
                owner = self.forms[rel.to]
            f = self.field(owner, key, path + ("to", "fields", j))
            if f is not None and f.type == "lookup" and getattr(f.extra.get("target_field"), "type", None) == "user":
                continue  # a lookup of a user field
            if f is not None and f.type not in PEOPLE_FIELDS:
                self.error(path + ("to", "fields", j), f"field '{key}' is a {f.type} field, not a user field",
                           "name a user field, owner or created_by")
        title = self.template(body["title"], scope, path + ("title",))
        text = self.template(body["body"], scope, path + ("body",)) if "body" in body else None
        return Action("notify", i, users=tuple(to.get("users", ())), roles=tuple(to.get("roles", ())),
                      user_fields=tuple(to.get("fields", ())), title=title, body=text)

    def action_webhook(self, i: int, body: Any, path: tuple[Any, ...], trigger: Trigger, scope: Scope,
                       form: Any) -> Action | None:
        from engine.outbox import literal_problem, parse_hosts

        allow = self.ctx.services.get("webhook_allow_hosts")
        if allow is None:
            from engine.settings import Settings

            allow = parse_hosts(Settings.from_env().webhook_allow_hosts)
        problem = literal_problem(body["url"], frozenset(allow))
        if problem:
            self.error(path + ("url",), problem)
        payload = None
        if "body" in body:
            payload = {key: self.compile(src, scope, path + ("body", key)) for key, src in body["body"].items()}
        return Action("webhook", i, url=body["url"], payload=payload)


def build_automation(doc: Document, ctx: Any) -> AutomationSpec | None:
    """Build one automation of an app (the ``automation`` kind's builder)."""
    b = _Builder(doc, ctx)
    data = doc.data
    trigger, form = b.trigger(data["when"])
    if trigger is None or b.failed:
        return None
    if trigger.kind == "flow":
        form = b.forms.get(trigger.form)
        if form is None:
            return None  # the flow's form is broken: its own errors are reported
    if form is not None:
        base = b.scope(form)
        # the values before the change: related records are their ids there
        before = Scope(fields={k: "integer" if isinstance(v, Scope) and not v.is_rows else v
                               for k, v in base.fields.items()})
        scope = b.extend(base, trigger=TRIGGER_SCOPE, before=before)
    else:
        scope = Scope.from_fields({}, {"trigger": TRIGGER_SCOPE})
    condition = b.compile(data["if"], scope, ("if",)) if "if" in data else None
    actions = [b.action(i, raw, trigger, scope, form) for i, raw in enumerate(data["then"])]
    if b.failed:
        return None
    from engine.i18n import Text

    return AutomationSpec(key=data["key"], label=Text.of(data.get("label") or data["key"]).get(),
                          description=Text.of(data.get("description")).get() if data.get("description") else "",
                          trigger=trigger, condition=condition, actions=tuple(a for a in actions if a is not None),
                          enabled=bool(data.get("enabled", True)), file=doc.file,
                          run_as=str(data.get("run_as", "actor")))


def build_flow_actions(doc: Document, ctx: Any, *, flow: str, node: str, form_key: str,
                       path: tuple[Any, ...]) -> AutomationSpec | None:
    """The ``actions`` of a flow's automation node (at ``path`` in the flow's document), compiled as an automation
    that runs on the flow's record when the instance reaches the node; located errors as for an automation."""
    b = _Builder(doc, ctx)
    b.base = path
    form = b.forms.get(form_key)
    raw = doc.data
    for step in path:
        raw = raw[step]
    if form is None or not isinstance(raw, list):
        return None  # the form or the node is broken: their own errors are reported
    trigger = Trigger(kind="flow", form=form_key, event="entered", flow=flow, node=node)
    base = b.scope(form)
    before = Scope(fields={k: "integer" if isinstance(v, Scope) and not v.is_rows else v
                           for k, v in base.fields.items()})
    scope = b.extend(base, trigger=TRIGGER_SCOPE, before=before)
    actions = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in ACTIONS:
            b.error(path + (i,), "an action is one of: " + ", ".join(ACTIONS), "e.g. - set: {status: \"'done'\"}")
            continue
        actions.append(b.action(i, item, trigger, scope, form))
    if b.failed:
        return None
    return AutomationSpec(key=f"{flow}.{node}", label=f"{flow} / {node}", description="", trigger=trigger,
                          condition=None, actions=tuple(a for a in actions if a is not None), file=doc.file)
