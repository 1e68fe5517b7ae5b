"""Build a ``FlowSpec`` from a located definition document, reporting every problem at once.

The org and the form belong to other engines, so what they know comes in as parameters: ``roles`` (role keys
that exist) and ``fields`` (the form's field keys, or a mapping key → field type). Conditions are compiled by an
injected ``compile_condition(source)``; the default uses the rules engine (see ``conditions.py``).
"""
from __future__ import annotations

import hashlib
import re
from types import MappingProxyType
from typing import Any, Collection, Mapping

from engine.errors import DefinitionError, Problems
from engine.i18n import DEFAULT_LOCALE, Text
from engine.source import Document, PathT, format_path, parse_text

from .checks import Site, check_graph, suggest, unknown_keys
from .conditions import CompileCondition, default_compiler
from .spec import (StepRule, APPROVAL_MODES, ASSIGNEE_KINDS, ESCALATE_ACTIONS, FIELD_RIGHTS, FORMAT_VERSION, IF_NONE_POLICIES,
                   NODE_TYPES, REASON_ACTIONS, REJECT_POLICIES, RETURN_KEYWORDS, AssigneeRule, EdgeSpec,
                   EscalationSpec, FieldRights, FlowSpec, NodeSpec, QuorumSpec, SlaSpec, parse_duration)

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
#: A language key of a translatable text (``zh-CN``, ``en``), as in the JSON Schema's ``text``.
_LOCALE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
#: Field types an ``{field: ...}`` assignee rule may name (when field types are known).
PERSON_FIELD_TYPES = frozenset({"user", "users", "department", "departments", "member", "members"})

TOP_KEYS = ("format", "key", "form", "label", "description", "start_on", "nodes", "edges")
#: When an instance starts by itself: ``manual`` (by the API or an automation) or ``submit`` (a record is created).
START_ON = ("manual", "submit")
EDGE_KEYS = ("id", "from", "to", "if", "default", "label")
_COMMON = ("id", "type", "name", "description")
_PEOPLE = ("assignees", "if_none")
_TASK = _PEOPLE + ("fields", "default_rights", "sla", "returnable_to", "require_reason", "validations")
NODE_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "start": _COMMON, "exclusive": _COMMON, "parallel": _COMMON, "join": _COMMON,
    "approval": _COMMON + _TASK + ("mode", "quorum", "reject_policy"),
    "fill": _COMMON + _TASK,
    "notify": _COMMON + _PEOPLE,
    "automation": _COMMON + ("actions",),
    "subflow": _COMMON + ("flow",),
    "end": _COMMON + ("outcome",),
})
SLA_KEYS = ("remind_after", "escalate_after", "escalate", "escalate_to", "business_time")


def load_flow_text(text: str, file: str, **options: Any) -> FlowSpec:
    """Parse ``text`` and load it (see ``load_flow``); raise ``DefinitionErrors`` on any problem."""
    return load_flow(parse_text(text, file), **options)


def load_flow(doc: Document, *, roles: Collection[str] | None = None,
              fields: Mapping[str, str] | Collection[str] | None = None,
              compile_condition: CompileCondition | None = None, version: str | None = None,
              problems: Problems | None = None, locale: str = DEFAULT_LOCALE) -> FlowSpec:
    """Build and check the flow in ``doc``.

    Args:
        doc: the located document (``engine.source.parse_text``).
        roles: role keys that exist; None skips the role check.
        fields: the form's field keys (or key → type); None skips field checks.
        compile_condition: compiles edge conditions and ``expr`` assignee rules.
        version: the definition version; defaults to a hash of the text.
        problems: collect into this instead of raising.
        locale: the app's language: ``label`` and node ``name`` hold the text in it (``label_text`` and
            ``name_text`` hold every language written).

    Raises:
        DefinitionErrors: with every problem found, when ``problems`` is not given.
    """
    own = problems is None
    problems = Problems() if problems is None else problems
    loader = _Loader(doc, problems, roles, fields, compile_condition or default_compiler(fields), locale)
    flow = loader.flow(version or hashlib.sha256(doc.text.encode()).hexdigest()[:12])
    if own:
        problems.raise_if_any()
    return flow  # type: ignore[return-value]


class _Loader:
    def __init__(self, doc: Document, problems: Problems, roles: Collection[str] | None,
                 fields: Mapping[str, str] | Collection[str] | None, compile_condition: CompileCondition,
                 locale: str = DEFAULT_LOCALE) -> None:
        self.doc, self.problems = doc, problems
        self.locale = locale
        self.site = Site(doc, problems)
        self.roles = set(roles) if roles is not None else None
        self.fields = set(fields) if fields is not None else None
        self.field_types = dict(fields) if isinstance(fields, Mapping) else {}
        self.compile = compile_condition
        self.broken: set[str] = set()  # ids of nodes written but not loadable: edges to them are not re-reported

    def err(self, path: PathT, message: str, hint: str | None = None, *, key: bool = False) -> None:
        self.problems.add(self.doc.error(path, message, hint, key=key))

    def flow(self, version: str) -> FlowSpec | None:
        data = self.doc.data
        if not isinstance(data, dict):
            self.err((), "a flow definition must be a mapping with key, form, nodes and edges")
            return None
        for key, hint in unknown_keys(data, TOP_KEYS):
            self.err((key,), f"unknown key '{key}'", hint, key=True)
        fmt = data.get("format", FORMAT_VERSION)
        if fmt != FORMAT_VERSION:
            self.err(("format",), f"unsupported format {fmt!r}", f"this version reads format {FORMAT_VERSION}")
        key = self.text(data, (), "key", required=True)
        form = self.text(data, (), "form", required=True)
        start_on = self.choice(data, (), "start_on", START_ON, "manual")
        raw_nodes, raw_edges = self.seq(data, "nodes"), self.seq(data, "edges")
        nodes = [n for i, raw in enumerate(raw_nodes) if (n := self.node(raw, ("nodes", i)))]
        edges = [e for i, raw in enumerate(raw_edges) if (e := self.edge(raw, ("edges", i)))]
        complete = len(nodes) == len(raw_nodes) and len(edges) == len(raw_edges)
        joins = check_graph(nodes, edges, self.site, self.broken, complete=complete) if raw_nodes else {}
        label = self.translatable(data, (), "label")
        return FlowSpec(key=key or "", form=form or "", nodes=tuple(nodes), edges=tuple(edges),
                        label=label.get(self.locale), label_text=label, version=version, file=self.doc.file,
                        start_on=start_on, joins=MappingProxyType(joins), locale=self.locale)

    # -- small readers -------------------------------------------------------------------------------------------
    def seq(self, data: dict[str, Any], name: str) -> list[Any]:
        value = data.get(name)
        if value is None:
            self.err((name,) if name in data else (), f"'{name}' is required: a list")
            return []
        if not isinstance(value, list):
            self.err((name,), f"'{name}' must be a list")
            return []
        return value

    def text(self, data: dict[str, Any], path: PathT, name: str, *, required: bool = False) -> str | None:
        value = data.get(name)
        if value is None:
            if required:
                self.err(path, f"'{name}' is required")
            return None
        if not isinstance(value, str) or not value:
            self.err(path + (name,), f"'{name}' must be a non-empty text")
            return None
        return value

    def translatable(self, data: dict[str, Any], path: PathT, name: str) -> Text:
        """A text shown to people: one text, or one per language (``{zh-CN: 审批, en: Review}``), as form labels."""
        value = data.get(name)
        if value is None or isinstance(value, str):
            return Text.of(value or None)
        hint = "write one text, or one per language: {zh-CN: 审批, en: Review}"
        if not isinstance(value, dict) or not value:
            self.err(path + (name,), f"'{name}' must be a text or a mapping of language → text", hint)
            return Text(())
        good = True
        for lang, text in value.items():
            if not isinstance(lang, str) or not _LOCALE.match(lang):
                self.err(path + (name, str(lang)), f"'{lang}' is not a language code in '{name}'",
                         "use codes such as zh-CN or en", key=True)
                good = False
            elif not isinstance(text, str) or not text.strip():
                self.err(path + (name, lang), f"the {lang} text of '{name}' must be a non-empty text")
                good = False
        return Text.of(value) if good else Text(())

    def choice(self, data: dict[str, Any], path: PathT, name: str, choices: Collection[str], default: str) -> str:
        value = data.get(name, default)
        if value not in choices:
            self.err(path + (name,), f"unknown {name} '{value}'", suggest(str(value), choices)
                     or f"one of: {', '.join(choices)}")
            return default
        return value

    # -- nodes ---------------------------------------------------------------------------------------------------
    def node(self, raw: Any, path: PathT) -> NodeSpec | None:
        if not isinstance(raw, dict):
            self.err(path, "a node must be a mapping with at least id and type")
            return None
        node_id = raw.get("id")
        if not isinstance(node_id, str) or not _ID.match(node_id):
            self.err(path + ("id",) if "id" in raw else path, "a node needs an id: letters, digits, _ and -",
                     None if "id" in raw else "add id: <name>")
            return None
        if node_id in self.site.node_paths:
            first = self.site.node_paths[node_id]
            self.err(path + ("id",), f"duplicate node id '{node_id}'", f"first used at nodes[{first[1]}]")
            return None
        kind = raw.get("type")
        if kind not in NODE_TYPES:
            self.broken.add(node_id)
            hint = suggest(str(kind), NODE_TYPES) or f"one of: {', '.join(NODE_TYPES)}"
            self.err(path + ("type",) if "type" in raw else path, f"unknown node type '{kind}'", hint)
            return None
        self.site.node_paths[node_id] = path
        for key, hint in unknown_keys(raw, NODE_KEYS[kind]):
            self.err(path + (key,), f"unknown key '{key}' for node type {kind}", hint, key=True)
        name = self.translatable(raw, path, "name")
        spec: dict[str, Any] = {"id": node_id, "type": kind, "name": name.get(self.locale), "name_text": name}
        if "assignees" in raw or kind in ("approval", "fill", "notify"):
            spec["assignees"] = self.assignees(raw, path, required=kind in ("approval", "fill", "notify"))
            spec["if_none"] = self.choice(raw, path, "if_none", IF_NONE_POLICIES, "error")
        if kind == "approval":
            spec["mode"] = self.choice(raw, path, "mode", APPROVAL_MODES, "single")
            spec["reject_policy"] = self.choice(raw, path, "reject_policy", REJECT_POLICIES, "immediate")
            spec["quorum"] = self.quorum(raw, path, spec["mode"])
        if kind in ("approval", "fill"):
            spec["rights"] = self.rights(raw, path)
            spec["sla"] = self.sla(raw.get("sla"), path + ("sla",)) if "sla" in raw else None
            spec["returnable_to"] = self.returns(raw.get("returnable_to"), path + ("returnable_to",))
            spec["require_reason"] = self.reasons(raw.get("require_reason"), path + ("require_reason",))
            spec["validations"] = self.validations(raw.get("validations"), path + ("validations",))
        if kind == "end":
            outcome = raw.get("outcome", "approved")
            if not isinstance(outcome, str) or not outcome:
                self.err(path + ("outcome",), "outcome must be a non-empty text such as approved or rejected")
                outcome = "approved"
            spec["outcome"] = outcome
        if kind == "automation":
            actions = raw.get("actions")
            if not isinstance(actions, list) or not actions:
                self.err(path + ("actions",) if "actions" in raw else path, "an automation node needs `actions: [...]`")
                actions = []
            spec["actions"] = tuple(actions)
        if kind == "subflow":
            spec["flow"] = self.text(raw, path, "flow", required=True)
        return NodeSpec(**spec)

    def validations(self, raw: Any, path: PathT) -> tuple[StepRule, ...]:
        """``validations: [{expr: "...", message: "..."}]``: cross-field rules checked when the task is approved."""
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.err(path, "validations is a list of {expr, message}")
            return ()
        out = []
        for i, item in enumerate(raw):
            at = path + (i,)
            if not isinstance(item, dict) or not isinstance(item.get("expr"), str) or "message" not in item:
                self.err(at, "a validation rule is {expr: <condition>, message: <text shown when it fails>}")
                continue
            for key, hint in unknown_keys(item, ("expr", "message")):
                self.err(at + (key,), f"unknown key '{key}' in a validation rule", hint, key=True)
            compiled = self.compile_at(at + ("expr",), item["expr"])
            if compiled is not None:
                out.append(StepRule(item["expr"], compiled, Text.of(item["message"])))
        return tuple(out)

    def assignees(self, raw: dict[str, Any], path: PathT, *, required: bool,
                  field: str = "assignees", escalation: bool = False) -> tuple[AssigneeRule, ...]:
        value = raw.get(field)
        if value is None:
            if required:
                self.err(path, f"'{field}' is required: who gets the task", "e.g. assignees: {role: reviewer}")
            return ()
        items = value if isinstance(value, list) else [value]
        base = path + (field,)
        rules = []
        for i, item in enumerate(items):
            rule = self.rule(item, base + (i,) if isinstance(value, list) else base, escalation)
            if rule:
                rules.append(rule)
        if isinstance(value, list) and not value:
            self.err(base, f"'{field}' is empty")
        return tuple(rules)

    def rule(self, item: Any, path: PathT, escalation: bool) -> AssigneeRule | None:
        if not isinstance(item, dict):
            self.err(path, "an assignee rule is a mapping such as {role: reviewer}",
                     f"one of: {', '.join(ASSIGNEE_KINDS)}")
            return None
        kinds = [k for k in item if k in ASSIGNEE_KINDS]
        for key, hint in unknown_keys(item, ASSIGNEE_KINDS + ("levels",)):
            self.err(path + (key,), f"unknown assignee rule '{key}'", hint, key=True)
        if len(kinds) != 1:
            if kinds or not [k for k in item if k != "levels"]:
                self.err(path, "an assignee rule has exactly one of: " + ", ".join(ASSIGNEE_KINDS))
            return None
        kind = kinds[0]
        value = item[kind]
        at = path + (kind,)
        levels = item.get("levels", 1)
        if "levels" in item and (kind != "manager_of" or not isinstance(levels, int) or isinstance(levels, bool)
                                 or levels < 1):
            self.err(path + ("levels",), "levels is a whole number ≥ 1, for manager_of rules")
            levels = 1
        if kind == "users":
            users = value if isinstance(value, list) else [value]
            if not users or not all(isinstance(u, str) and u for u in users):
                self.err(at, "users is a user id or a list of user ids")
                return None
            return AssigneeRule("users", tuple(users))
        if not isinstance(value, str) or not value:
            self.err(at, f"{kind} must be a non-empty text")
            return None
        if kind == "role" and self.roles is not None and value not in self.roles:
            self.err(at, f"unknown role '{value}'", suggest(value, self.roles))
        if kind == "field":
            self.check_field(at, value, person=True)
        if kind == "manager_of":
            allowed = ("initiator", "assignee") if escalation else ("initiator",)
            if value not in allowed:
                self.check_field(at, value, person=True, also=allowed)
        compiled = None
        if kind == "expr":
            compiled = self.compile_at(at, value)
        return AssigneeRule(kind, value, levels, compiled)

    def check_field(self, at: PathT, name: str, *, person: bool = False, also: tuple[str, ...] = ()) -> None:
        if self.fields is None:
            return
        if name not in self.fields:
            self.err(at, f"unknown field '{name}'", suggest(name, set(self.fields) | set(also)))
        elif person and self.field_types.get(name, "user") not in PERSON_FIELD_TYPES:
            self.err(at, f"field '{name}' is a {self.field_types[name]} field, not a user or department field")

    def compile_at(self, at: PathT, source: str) -> Any:
        try:
            return self.compile(source)
        except Exception as exc:  # noqa: BLE001 - compilers raise their own error types; all carry a message
            line, col = self.doc.locate(at)
            quoted = self._quoted(line, col)
            offset = int(getattr(exc, "col", 1) or 1) - 1
            self.problems.add(DefinitionError(self.doc.file, line, col + offset + quoted, format_path(at),
                                              str(getattr(exc, "message", exc)), getattr(exc, "hint", None)))
            return None

    def _quoted(self, line: int, col: int) -> int:
        lines = self.doc.text.splitlines()
        if 0 < line <= len(lines) and 0 < col <= len(lines[line - 1]):
            return 1 if lines[line - 1][col - 1] in "\"'" else 0
        return 0

    def quorum(self, raw: dict[str, Any], path: PathT, mode: str) -> QuorumSpec | None:
        value = raw.get("quorum")
        at = path + ("quorum",)
        if mode != "quorum":
            if value is not None:
                self.err(at, "quorum is only for mode: quorum")
            return None
        if not isinstance(value, dict) or len(value) != 1 or not ({"count", "percent"} & set(value)):
            self.err(at if value is not None else path + ("mode",),
                     "mode quorum needs quorum: {count: n} or {percent: p}")
            return QuorumSpec(count=1)
        if "count" in value:
            count = value["count"]
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                self.err(at + ("count",), "quorum count is a whole number ≥ 1")
                return QuorumSpec(count=1)
            return QuorumSpec(count=count)
        percent = value["percent"]
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
            self.err(at + ("percent",), "quorum percent is a number above 0 and at most 100")
            return QuorumSpec(count=1)
        return QuorumSpec(percent=float(percent))

    def rights(self, raw: dict[str, Any], path: PathT) -> FieldRights:
        default = self.choice(raw, path, "default_rights", FIELD_RIGHTS, "readonly")
        value = raw.get("fields", {})
        if not isinstance(value, dict):
            self.err(path + ("fields",), "fields maps field keys to hidden, readonly, editable or required")
            return FieldRights(default=default)
        rights = {}
        for name, right in value.items():
            at = path + ("fields", name)
            if right not in FIELD_RIGHTS:
                self.err(at, f"unknown field right '{right}'", suggest(str(right), FIELD_RIGHTS)
                         or f"one of: {', '.join(FIELD_RIGHTS)}")
                continue
            if self.fields is not None and name not in self.fields:
                self.err(at, f"unknown field '{name}'", suggest(name, self.fields), key=True)
            rights[name] = right
        return FieldRights(MappingProxyType(rights), default)

    def sla(self, raw: Any, path: PathT) -> SlaSpec | None:
        if not isinstance(raw, dict):
            self.err(path, "sla is a mapping: {remind_after: 8h, escalate_after: 2d, escalate: {...}}")
            return None
        for key, hint in unknown_keys(raw, SLA_KEYS):
            self.err(path + (key,), f"unknown key '{key}' in sla", hint, key=True)
        durations = {}
        for name in ("remind_after", "escalate_after"):
            if name in raw:
                try:
                    durations[name] = parse_duration(raw[name])
                    if durations[name].total_seconds() <= 0:
                        raise ValueError
                except ValueError:
                    self.err(path + (name,), f"not a duration: {raw[name]!r}", "write 30m, 8h, 2d or 1w")
        escalate = None
        if "escalate" in raw or "escalate_to" in raw:
            escalate = self.escalation(raw, path)
            if "escalate_after" not in raw:
                self.err(path, "escalate needs escalate_after: when to escalate")
        business = raw.get("business_time", False)
        if not isinstance(business, bool):
            self.err(path + ("business_time",), "business_time is true or false")
            business = False
        return SlaSpec(durations.get("remind_after"), durations.get("escalate_after"), escalate, business)

    def escalation(self, raw: dict[str, Any], path: PathT) -> EscalationSpec | None:
        if "escalate_to" in raw:  # shorthand: reassign to these people
            return EscalationSpec("reassign", self.assignees(raw, path, required=True, field="escalate_to",
                                                             escalation=True))
        value = raw["escalate"]
        at = path + ("escalate",)
        if not isinstance(value, dict):
            self.err(at, "escalate is a mapping: {action: notify_manager|reassign|auto_approve|auto_reject, to: ...}")
            return None
        for key, hint in unknown_keys(value, ("action", "to")):
            self.err(at + (key,), f"unknown key '{key}' in escalate", hint, key=True)
        action = self.choice(value, at, "action", ESCALATE_ACTIONS, "notify_manager")
        to = self.assignees(value, at, required=action == "reassign", field="to", escalation=True)
        return EscalationSpec(action, to)

    def returns(self, value: Any, path: PathT) -> tuple[str, ...]:
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and v for v in items):
            self.err(path, "returnable_to is a node id, a list of node ids, previous, initiator or any_earlier")
            return ()
        return tuple(items)

    def reasons(self, value: Any, path: PathT) -> frozenset[str]:
        if value is None or value is False:
            return frozenset()
        if value is True:
            return frozenset(REASON_ACTIONS)
        items = value if isinstance(value, list) else [value]
        out = set()
        for i, item in enumerate(items):
            if item not in REASON_ACTIONS:
                at = path + (i,) if isinstance(value, list) else path
                self.err(at, f"unknown action '{item}' in require_reason", suggest(str(item), REASON_ACTIONS)
                         or "one of: reject, return")
            else:
                out.add(item)
        return frozenset(out)

    # -- edges ---------------------------------------------------------------------------------------------------
    def edge(self, raw: Any, path: PathT) -> EdgeSpec | None:
        if not isinstance(raw, dict):
            self.err(path, "an edge is a mapping: {from: a, to: b}")
            return None
        for key, hint in unknown_keys(raw, EDGE_KEYS):
            self.err(path + (key,), f"unknown key '{key}' for an edge", hint, key=True)
        source, target = raw.get("from"), raw.get("to")
        if not isinstance(source, str) or not isinstance(target, str):
            self.err(path, "an edge needs from and to node ids")
            return None
        edge_id = raw.get("id") or f"e{path[1] + 1}"
        if edge_id in self.site.edge_paths:
            self.err(path + ("id",), f"duplicate edge id '{edge_id}'")
            return None
        self.site.edge_paths[edge_id] = path
        condition = raw.get("if")
        compiled = None
        if condition is not None:
            if not isinstance(condition, str) or not condition.strip():
                self.err(path + ("if",), "if is an expression, e.g. \"amount > 500000\"")
                condition = None
            else:
                compiled = self.compile_at(path + ("if",), condition)
        default = raw.get("default", False)
        if not isinstance(default, bool):
            self.err(path + ("default",), "default is true or false")
            default = False
        return EdgeSpec(edge_id, source, target, condition, default, compiled)

