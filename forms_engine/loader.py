"""Building a ``FormSpec`` from a checked form definition, with every problem located in the file."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Mapping

import networkx as nx

from engine.errors import Problems
from engine.i18n import Text
from engine.metaschema import suggest
from engine.source import Document

from . import expressions
from .fields import field_types
from engine.permissions import Rights

from .spec import FieldSpec, FormSpec, Option, Validation

class _FormBuilder:
    def __init__(self, doc: Document, ctx: Any) -> None:
        self.doc = doc
        self.ctx = ctx
        self.problems: Problems = ctx.problems
        self.before = len(self.problems.errors)

    def error(self, path: tuple[Any, ...], message: str, hint: str | None = None, *, key: bool = False) -> None:
        self.problems.add(self.doc.error(path, message, hint, key=key))

    def build(self) -> FormSpec | None:
        data = self.doc.data
        fields = self._fields(data["fields"], ("fields",), in_subtable=False)
        by_key = {f.key: f for f in fields}
        scope = expressions.LazyScope(lambda: expressions.scope_for(fields, self.ctx.raw.get("form", {}), self.ctx))
        fields = tuple(self._compile_field(f, scope, by_key) for f in fields)
        by_key = {f.key: f for f in fields}
        validations = tuple(
            Validation(expressions.compile_at(self, v["expr"], scope, ("validations", i, "expr")), Text.of(v["message"]))
            for i, v in enumerate(data.get("validations", [])))
        permissions = self._permissions(data.get("permissions", {}))
        for name in ("title_field",):
            if data.get(name) and data[name] not in by_key:
                self.error((name,), f"unknown field '{data[name]}'", suggest(data[name], by_key))
        for name in ("search_fields", "list_columns"):
            for i, k in enumerate(data.get(name, [])):
                if k not in by_key:
                    self.error((name, i), f"unknown field '{k}'", suggest(k, by_key))
        owner = data.get("owner_field")
        if owner is not None:
            target = by_key.get(owner)
            if target is None:
                self.error(("owner_field",), f"unknown field '{owner}'", suggest(owner, by_key))
            elif not _names_a_user(target):
                self.error(("owner_field",), f"'{owner}' is a {target.type}{' (many)' if target.many else ''} field; "
                           "the owner field must be a single user field (or a lookup of one)")
        related = self._related_lists(data.get("related_lists", []), data["key"])
        order = self._compute_order(fields)
        if len(self.problems.errors) > self.before:
            return None
        return FormSpec(
            key=data["key"], label=Text.of(data["label"]), fields=fields, permissions=permissions,
            validations=validations, title_field=data.get("title_field"),
            search_fields=tuple(data.get("search_fields", [])), list_columns=tuple(data.get("list_columns", [])),
            file=self.doc.file, by_key=MappingProxyType(by_key), compute_order=order,
            audit_reads=bool(data.get("audit_reads", False)), owner_field=owner, related_lists=related,
        )

    def _related_lists(self, raw_lists: list[Mapping[str, Any]], own_key: str) -> tuple[Any, ...]:
        """The record page's lists of records of other forms that point here (used when no page lays it out)."""
        from .page_kind import SYSTEM, RelatedList

        forms = self.ctx.raw.get("form", {})
        out = []
        for i, raw in enumerate(raw_lists):
            path = ("related_lists", i)
            other = raw["form"]
            if other not in forms:
                self.error(path + ("form",), f"unknown form '{other}'", suggest(other, forms))
                continue
            fields = {f["key"]: f for f in forms[other].data.get("fields", []) if isinstance(f, Mapping) and "key" in f}
            pointer = fields.get(raw["field"])
            if pointer is None or pointer.get("type") != "relation" or pointer.get("to") != own_key or pointer.get("many"):
                relations = [k for k, f in fields.items() if f.get("type") == "relation" and f.get("to") == own_key]
                self.error(path + ("field",), f"'{other}.{raw['field']}' is not a single relation to '{own_key}'",
                           f"relations of '{other}' to this form: {', '.join(relations) or 'none'}")
                continue
            for j, key in enumerate(raw.get("columns", [])):
                if key not in fields and key not in SYSTEM:
                    self.error(path + ("columns", j), f"form '{other}' has no field '{key}'", suggest(key, fields))
            label = Text.of(raw.get("label")) if raw.get("label") else Text.of(forms[other].data.get("label"))
            out.append(RelatedList(other, raw["field"], label, tuple(raw.get("columns", []))))
        return tuple(out)

    # -- fields -------------------------------------------------------------------------------------------------

    def _fields(self, raw_fields: list[Mapping[str, Any]], path: tuple[Any, ...], *, in_subtable: bool) -> tuple[FieldSpec, ...]:
        out: list[FieldSpec] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_fields):
            fpath = path + (i,)
            key = raw["key"]
            if key in seen:
                self.error(fpath + ("key",), f"duplicate field key '{key}'", f"first used at {_fmt(path + (seen[key],))}")
                continue
            seen[key] = i
            ftype = field_types.get(raw["type"])
            if ftype is None:  # the schema reports it
                continue
            if in_subtable and raw["type"] == "subtable":
                self.error(fpath + ("type",), "a sub-table cannot contain another sub-table")
                continue
            spec = self._field(raw, ftype, fpath, in_subtable)
            if spec is not None:
                out.append(spec)
        return tuple(out)

    def _field(self, raw: Mapping[str, Any], ftype: Any, path: tuple[Any, ...], in_subtable: bool) -> FieldSpec | None:
        allowed = set(_COMMON) | set(ftype.options)
        for name in raw:
            if name not in allowed:
                self.error(path + (name,), f"option '{name}' does not apply to a {ftype.name} field",
                           f"{ftype.name} takes: {', '.join(sorted(set(ftype.options))) or 'no type-specific options'}",
                           key=True)
        kwargs: dict[str, Any] = {
            "key": raw["key"], "type": ftype.name, "ftype": ftype, "path": path,
            "label": Text.of(raw.get("label"), fallback=raw["key"]), "help": Text.of(raw.get("help")),
            "placeholder": Text.of(raw.get("placeholder")), "required": bool(raw.get("required", False)),
            "readonly": bool(raw.get("readonly", False)), "unique": bool(raw.get("unique", False)),
            "min_length": raw.get("min_length"), "max_length": raw.get("max_length"),
            "to": raw.get("to"), "many": bool(raw.get("many", False)),
            "scale": raw.get("scale", getattr(ftype, "default_scale", 2)),
            "currency": raw.get("currency"),
        }
        for bound in ("min", "max"):
            if bound in raw:
                try:
                    kwargs[bound] = Decimal(str(raw[bound]))
                except InvalidOperation:
                    self.error(path + (bound,), f"{bound} must be a number")
        if "min" in kwargs and "max" in kwargs and kwargs["min"] > kwargs["max"]:
            self.error(path + ("min",), "min is greater than max")
        if "pattern" in raw:
            kwargs["pattern"] = expressions.safe_pattern(self, raw["pattern"], raw.get("pattern_message"), path + ("pattern",))
        if "options" in raw:
            kwargs["options"] = self._options(raw["options"], path + ("options",))
        if ftype.name == "formula" and (raw.get("result") == "select") != ("options" in raw):
            if "options" in raw:
                self.error(path + ("options",), "options on a formula need result: select",
                           "result: select shows the formula's value by its option's label")
            else:
                self.error(path + ("result",), "result: select needs the options the formula gives",
                           "options: [{value: paid, label: 已还清}, …]")
        if raw.get("unique") and in_subtable:
            self.error(path + ("unique",), "sub-table fields cannot be unique across records")
        if raw.get("default") is not None:
            default = raw["default"]
            if isinstance(default, Mapping) and "expr" in default:
                kwargs["extra"] = {"default_expr_source": default["expr"]}
            else:
                kwargs["default"] = default
        extra = dict(kwargs.get("extra", {}))
        for name in ("result", "relation", "field", "template", "display", "accept", "max_files", "max_size", "levels",
                     "columns", "tab", "step", "text", "agg", "over", "min_rows", "max_rows", "unit", "mask", "follow"):
            if name in raw:
                extra[name] = raw[name]
        for name in ("expr", "visible_if", "required_if", "readonly_if", "where"):
            if name in raw:
                extra[f"{name}_source"] = raw[name]
        if ftype.name == "subtable":
            kwargs["fields"] = self._fields(raw["fields"], path + ("fields",), in_subtable=True)
        if ftype.name == "relation" and raw.get("to") not in self.ctx.raw.get("form", {}):
            self.error(path + ("to",), f"unknown form '{raw.get('to')}'", suggest(raw.get("to", ""), self.ctx.raw.get("form", {})))
        kwargs["extra"] = MappingProxyType(extra)
        if "default" in kwargs and not isinstance(kwargs["default"], Mapping):
            probe = FieldSpec(**kwargs)
            try:
                kwargs["default"] = ftype.coerce(kwargs["default"], probe)
            except Exception as exc:  # InvalidField
                self.error(path + ("default",), f"default is not a valid value: {getattr(exc, 'message', exc)}")
        return FieldSpec(**kwargs)

    def _options(self, raw: list[Any], path: tuple[Any, ...]) -> tuple[Option, ...]:
        out: list[Option] = []
        seen: set[str] = set()
        for i, item in enumerate(raw):
            if isinstance(item, Mapping):
                value, label, color = str(item["value"]), Text.of(item.get("label"), fallback=str(item["value"])), item.get("color")
            else:
                value, label, color = str(item), Text.of(str(item)), None
            if value in seen:
                self.error(path + (i,), f"duplicate option '{value}'")
            seen.add(value)
            out.append(Option(value, label, color))
        return tuple(out)

    def _compile_field(self, f: FieldSpec, scope: Any, by_key: Mapping[str, FieldSpec]) -> FieldSpec:
        from dataclasses import replace

        changes: dict[str, Any] = {}
        row_scope = scope
        if f.type == "subtable":
            row_scope = expressions.row_scope(f, scope)
            subs = tuple(self._compile_field(s, row_scope, {s.key: s for s in f.fields}) for s in f.fields)
            changes["fields"] = subs
        for name, attr in (("expr", "expr"), ("visible_if", "visible_if"), ("required_if", "required_if"),
                           ("readonly_if", "readonly_if")):
            source = f.extra.get(f"{name}_source")
            if source is not None:
                changes[attr] = expressions.compile_at(self, source, scope, f.path + (name,))
        source = f.extra.get("default_expr_source")
        if source is not None:
            changes["default_expr"] = expressions.compile_at(self, source, scope, f.path + ("default", "expr"))
        if f.type == "lookup":
            self._lookup(f, by_key, changes)
        if f.type == "rollup":
            related = expressions.check_rollup(self, f, by_key)
            if related:
                changes["extra"] = MappingProxyType(dict(changes.get("extra", f.extra)) | related)
        return replace(f, **changes) if changes else f

    def _lookup(self, f: FieldSpec, by_key: Mapping[str, FieldSpec], changes: dict[str, Any]) -> None:
        rel_key, target_key = f.extra.get("relation"), f.extra.get("field")
        rel = by_key.get(rel_key)
        if rel is None or rel.type != "relation":
            self.error(f.path + ("relation",), f"'{rel_key}' is not a relation field of this form",
                       suggest(rel_key, [k for k, v in by_key.items() if v.type == "relation"]))
            return
        target_doc = self.ctx.raw.get("form", {}).get(rel.to)
        raw_target = next((x for x in (target_doc.data["fields"] if target_doc else []) if x.get("key") == target_key), None)
        if raw_target is None:
            keys = [x.get("key") for x in (target_doc.data["fields"] if target_doc else [])]
            self.error(f.path + ("field",), f"form '{rel.to}' has no field '{target_key}'", suggest(target_key, keys))
            return
        target_type = field_types.get(raw_target.get("type"))
        if target_type is None or target_type.computed and raw_target.get("type") == "lookup" or raw_target.get("type") == "subtable":
            self.error(f.path + ("field",), f"cannot look up a {raw_target.get('type')} field")
            return
        sub = _FormBuilder(target_doc, self.ctx)
        sub.problems = Problems()  # the target form reports its own problems
        target = sub._field(raw_target, target_type, ("fields",), in_subtable=False)
        extra = dict(f.extra)
        extra["target_field"] = target
        changes["extra"] = MappingProxyType(extra)

    def _permissions(self, raw: Mapping[str, Any]) -> tuple[Rights, ...]:
        out = []
        for role, rights in raw.items():
            if role != "*" and role not in self.ctx.roles:
                self.error(("permissions", role), f"unknown role '{role}'", suggest(role, self.ctx.roles), key=True)
                continue
            out.append(Rights(role=role, create=bool(rights.get("create", False)), read=rights.get("read", "none"),
                                  update=rights.get("update", "none"), delete=rights.get("delete", "none"),
                                  unmask=bool(rights.get("unmask", False))))
        return tuple(out)

    def _compute_order(self, fields: tuple[FieldSpec, ...]) -> tuple[str, ...]:
        """Formula fields in dependency order; a cycle is an error naming its fields."""
        graph = nx.DiGraph()
        computed = {f.key: f for f in fields if f.expr is not None}
        for key, f in computed.items():
            graph.add_node(key)
            for read in f.expr.reads:
                head = read.split(".", 1)[0]
                if head in computed:
                    graph.add_edge(head, key)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return tuple(nx.lexicographical_topological_sort(graph))
        names = " → ".join([a for a, _ in cycle] + [cycle[0][0]])
        self.error(computed[cycle[0][0]].path + ("expr",), f"formulas depend on each other in a cycle: {names}")
        return ()


_COMMON = ("key", "type", "label", "help", "placeholder", "required", "readonly", "default", "visible_if",
           "required_if", "readonly_if", "unique", "min", "max", "min_length", "max_length", "pattern", "pattern_message",
           "mask")


def _names_a_user(f: FieldSpec) -> bool:
    """A single user field, or a lookup of one (``account_manager`` looked up from the related customer)."""
    if f.type == "lookup":
        target = f.extra.get("target_field")
        return target is not None and target.type == "user" and not target.many
    return f.type == "user" and not f.many


def _fmt(path: tuple[Any, ...]) -> str:
    from engine.source import format_path

    return format_path(path)


def build_form(doc: Document, ctx: Any) -> FormSpec | None:
    return _FormBuilder(doc, ctx).build()
