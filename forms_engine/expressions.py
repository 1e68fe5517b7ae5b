"""The forms engine's use of the rules engine: scopes built from fields, and located compile errors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from engine.i18n import Text

from .fields import field_types
from .spec import FieldSpec

#: how deep ``a.b.c`` may follow relations in expressions
RELATION_DEPTH = 2


def _rules():  # imported lazily: the rules engine is a peer package reached only through its public API
    import rules_engine

    return rules_engine


def _type_of(f: FieldSpec | Mapping[str, Any]) -> str:
    if isinstance(f, FieldSpec):
        name, ftype, extra = f.type, f.ftype, f.extra
    else:
        name, ftype, extra = f.get("type", ""), field_types.get(f.get("type", "")), f
    if name == "formula":
        from .fields.structure import RESULT_EXPR

        result = str(extra.get("result", "number"))
        return RESULT_EXPR.get(result, result)
    return "any" if ftype is None else str(ftype.expr_type) if ftype.expr_type not in ("record", "rows") else "any"


def _raw_scope(raw_fields: list[Mapping[str, Any]], forms: Mapping[str, Any], depth: int) -> Any:
    r = _rules()
    names: dict[str, Any] = {}
    for raw in raw_fields:
        ftype = field_types.get(raw.get("type", ""))
        if ftype is None or ftype.layout_only:
            continue
        if raw.get("type") == "relation" and depth > 0 and raw.get("to") in forms and not raw.get("many"):
            names[raw["key"]] = _raw_scope(forms[raw["to"]].data["fields"], forms, depth - 1)
        elif raw.get("type") == "subtable":
            names[raw["key"]] = r.Scope.rows(_raw_scope(raw.get("fields", []), forms, depth - 1).fields
                                             if hasattr(r.Scope, "rows") else {})
        else:
            names[raw["key"]] = _type_of(raw)
    names.setdefault("id", "integer")  # a related record's id (relations compare by id)
    return r.Scope.from_fields(names)


def scope_for(fields: tuple[FieldSpec, ...], forms: Mapping[str, Any], ctx: Any) -> Any:
    """The names an expression of this form may read: its fields, related records' fields, sub-table rows."""
    r = _rules()
    names: dict[str, Any] = {}
    for f in fields:
        if f.ftype.layout_only:
            continue
        if f.type == "relation" and not f.many and f.to in forms:
            names[f.key] = _raw_scope(forms[f.to].data["fields"], forms, RELATION_DEPTH - 1)
        elif f.type == "subtable":
            names[f.key] = r.Scope.rows({s.key: _type_of(s) for s in f.fields if not s.ftype.layout_only})
        else:
            names[f.key] = _type_of(f)
    for key, kind in _system_names().items():
        names.setdefault(key, kind)
    return r.Scope.from_fields(names, tables=decision_tables(ctx))


@dataclass(frozen=True)
class _RawForm:
    data: Mapping[str, Any]


def draft_scope(fields: list[Mapping[str, Any]], forms: Mapping[str, list[Mapping[str, Any]]],
                tables: Mapping[str, Any] | None = None, row_of: str | None = None) -> Any:
    """The names an expression may read in a form as written, before it is loaded (a designer's draft).

    Args:
        fields: the form's field definitions (mappings as in the file).
        forms: the field definitions of the app's forms by form key, for relations (``supplier.rating``).
        tables: the decision tables ``DECIDE`` may call.
        row_of: a sub-table key: the scope inside one of its rows (its fields, and ``parent``).
    """
    r = _rules()
    record = _raw_scope(fields, {k: _RawForm({"fields": v}) for k, v in forms.items()}, RELATION_DEPTH)
    names = dict(record.fields)
    for key, kind in _system_names().items():
        names.setdefault(key, kind)
    scope = r.Scope.from_fields(names, tables=tables)
    if row_of is None:
        return scope
    sub = next((f for f in fields if f.get("key") == row_of and f.get("type") == "subtable"), None)
    if sub is None:
        raise KeyError(row_of)
    row: dict[str, Any] = {}
    for s in sub.get("fields", []):
        ftype = field_types.get(s.get("type", ""))
        if ftype is not None and not ftype.layout_only and isinstance(s.get("key"), str):
            row[s["key"]] = _type_of(s)
    row["parent"] = scope
    return r.Scope.from_fields(row, tables=tables)


def decision_tables(ctx: Any) -> Mapping[str, Any]:
    """The app's decision tables, built before its forms (``DECIDE("key", ...)`` in formulas and rules)."""
    specs = getattr(ctx, "specs", None) or {}
    return {k: v for k, v in (specs.get("decision_table") or {}).items() if v is not None}


class LazyScope:
    """A scope built on first use, so forms without expressions never need it."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._scope: Any = None

    def get(self) -> Any:
        if self._scope is None:
            self._scope = self._make()
        return self._scope


def row_scope(sub: FieldSpec, scope: LazyScope) -> LazyScope:
    """Inside a sub-table row: the row's own fields, plus the parent record's fields (``parent.x``)."""

    def make() -> Any:
        names: dict[str, Any] = {s.key: _type_of(s) for s in sub.fields if not s.ftype.layout_only}
        parent = scope.get()
        names["parent"] = parent
        return _rules().Scope.from_fields(names, tables=parent.tables)

    return LazyScope(make)


def _system_names() -> dict[str, str]:
    return {"id": "integer", "created_at": "datetime", "updated_at": "datetime", "owner": "integer",
            "created_by": "integer", "department": "integer"}


def compile_at(builder: Any, source: str, scope: LazyScope, path: tuple[Any, ...]) -> Any:
    """Compile ``source``; on failure report it at ``path`` (the column points into the expression)."""
    r = _rules()
    try:
        return r.compile_expression(source, scope.get())
    except r.ExpressionCompileError as exc:
        doc = builder.doc
        line, col = doc.locate(path)
        offset = max(int(getattr(exc, "col", 1) or 1) - 1, 0)
        from engine.errors import DefinitionError
        from engine.source import format_path

        builder.problems.add(DefinitionError(doc.file, line, col + offset, format_path(path),
                                             f"expression {source!r}: {exc.message}", getattr(exc, "hint", None)))
        return None


@dataclass(frozen=True)
class SafePattern:
    """A user-supplied regular expression, checked against catastrophic backtracking at load time."""

    source: str
    regex: Any
    message: str

    def matches(self, text: str) -> bool:
        return bool(self.regex.fullmatch(text[:10_000]))


def safe_pattern(builder: Any, source: str, message: Any, path: tuple[Any, ...]) -> SafePattern | None:
    from .validators import InvalidValue
    from .validators.patterns import compile_pattern

    try:
        regex = compile_pattern(source)
    except InvalidValue as exc:
        builder.error(path, f"unusable pattern: {exc.message}")
        return None
    return SafePattern(source, regex, Text.of(message).get() if message else f"does not match the pattern {source}")


def check_rollup(builder: Any, f: FieldSpec, by_key: Mapping[str, FieldSpec]) -> dict[str, Any] | None:
    """Check a rollup's ``over``: a sub-table of this form, or ``form.relation`` — the records of another form whose
    relation field points to this record. Returns extra settings for the related case (compiled ``where``)."""
    over = str(f.extra.get("over"))
    column = f.extra.get("field")
    agg = f.extra.get("agg")
    if "." not in over:
        if over not in by_key or by_key[over].type != "subtable":
            builder.error(f.path + ("over",), f"'{over}' is not a sub-table of this form",
                          "write form.relation_field to roll up over related records of another form")
            return None
        target_field = by_key[over].sub(column) if column is not None else None
        if agg != "count" and target_field is None:
            builder.error(f.path + ("field",), f"sub-table '{over}' has no field '{column}'")
        elif agg != "count" and _type_of(target_field) not in ("number", "money", "integer", "percent", "any"):
            builder.error(f.path + ("field",), f"cannot {agg} a {target_field.type} field")
        if f.extra.get("where_source") is not None:
            builder.error(f.path + ("where",), "'where' applies to rollups over related records only")
        return None
    forms = builder.ctx.raw.get("form", {})
    other, relation = over.split(".", 1)
    doc = forms.get(other)
    if doc is None:
        from engine.metaschema import suggest

        builder.error(f.path + ("over",), f"unknown form '{other}'", suggest(other, forms))
        return None
    raw_fields = {x.get("key"): x for x in doc.data.get("fields", []) if isinstance(x, Mapping)}
    rel = raw_fields.get(relation)
    if rel is None or rel.get("type") != "relation" or rel.get("many") or rel.get("to") != builder.doc.data.get("key"):
        builder.error(f.path + ("over",), f"'{relation}' is not a single relation of form '{other}' to this form")
        return None
    if agg != "count":
        target = raw_fields.get(column)
        if target is None:
            builder.error(f.path + ("field",), f"form '{other}' has no field '{column}'")
            return None
        if _type_of(target) not in ("number", "money", "integer", "percent", "any"):
            builder.error(f.path + ("field",), f"cannot {agg} a {target.get('type')} field",
                          "rollups aggregate numbers; for the latest date use a formula over a number of days"
                          if target.get("type") in ("date", "datetime") else None)
            return None
    extra: dict[str, Any] = {"over_form": other, "over_relation": relation}
    where = f.extra.get("where_source")
    if where is not None:
        own = [x for x in doc.data.get("fields", []) if isinstance(x, Mapping) and x.get("type") not in (
            "subtable", "relation")]
        scope = LazyScope(lambda: _raw_scope(own, forms, 0))
        compiled = compile_at(builder, where, scope, f.path + ("where",))
        if compiled is None:
            return None
        extra["where_expr"] = compiled
    return extra
