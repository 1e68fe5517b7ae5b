"""Turning a submission into stored values: types, conditions, formulas and cross-field rules.

One pass, in this order: refuse unknown and protected keys; coerce each submitted value with its field type;
merge over the stored values (updates are partial); compute defaults (on create) and formulas in dependency order;
apply visible/required/readonly conditions; run cross-field validations. Every problem names its field
(``items[2].qty`` inside a sub-table) and all problems are reported at once.
"""
from __future__ import annotations

from typing import Any, Mapping

from engine.errors import FieldProblem, ValidationFailed
from engine.storage import SYSTEM_COLUMNS

from .fields import InvalidField
from .spec import FieldSpec, FormSpec

PROTECTED = frozenset(SYSTEM_COLUMNS) | {"version", "status", "_version"}
MAX_ROWS = 10_000


def _eval(expr: Any, values: Mapping[str, Any], env: Any) -> tuple[Any, str | None]:
    value, error = expr.try_evaluate(values, env)
    return value, (getattr(error, "message", str(error)) if error is not None else None)


def coerce_submission(form: FormSpec, body: Any, *, creating: bool, cells: bool = False
                      ) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Type-check the submitted keys. Returns the coerced values and the problems found.

    ``cells=True`` reads each value in its spreadsheet form (``FieldType.from_cell``: labels for options, ``a, b``
    lists, region names, Excel dates) instead of its JSON form; everything else is the same check.
    """
    problems: list[FieldProblem] = []
    if not isinstance(body, dict) and not isinstance(body, Mapping):
        raise ValidationFailed([FieldProblem("_body", "expected a JSON object of field values", "type")])
    out: dict[str, Any] = {}
    fields = form.by_key
    for key, raw in body.items():
        f = fields.get(key)
        if f is None:
            if key in PROTECTED:
                problems.append(FieldProblem(key, "is set by the platform and cannot be written", "protected"))
            else:
                problems.append(FieldProblem(key, "unknown field", "unknown"))
            continue
        ftype = f.ftype
        if ftype.layout_only or ftype.computed:
            problems.append(FieldProblem(key, "is computed and cannot be written", "readonly"))
            continue
        if f.type == "subtable":
            rows, row_problems = _coerce_rows(f, raw, cells)
            problems.extend(row_problems)
            out[key] = rows
            continue
        if raw is None or ftype.is_blank(raw):
            out[key] = None
            continue
        try:
            out[key] = ftype.from_cell(raw, f) if cells else ftype.coerce(raw, f)
        except InvalidField as exc:
            problems.append(FieldProblem(key, exc.message, exc.code))
            out[key] = None
    return out, problems


def _coerce(f: FieldSpec, raw: Any, name: str, problems: list[FieldProblem], cells: bool = False) -> Any:
    if f.ftype.is_blank(raw):
        return None
    try:
        return f.ftype.from_cell(raw, f) if cells else f.ftype.coerce(raw, f)
    except InvalidField as exc:
        problems.append(FieldProblem(name, exc.message, exc.code))
        return None


def _coerce_rows(f: FieldSpec, raw: Any, cells: bool = False) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    problems: list[FieldProblem] = []
    if raw is None:
        return [], problems
    if not isinstance(raw, list) or not all(isinstance(r, dict) or isinstance(r, Mapping) for r in raw):
        return [], [FieldProblem(f.key, "expected a list of rows", "type")]
    limit = int(f.extra.get("max_rows", MAX_ROWS))
    if len(raw) > limit:
        return [], [FieldProblem(f.key, f"at most {limit} rows", "max_rows")]
    if len(raw) < int(f.extra.get("min_rows", 0)):
        problems.append(FieldProblem(f.key, f"at least {f.extra['min_rows']} rows", "min_rows"))
    rows: list[dict[str, Any]] = []
    by_key = f.by_sub_key
    for i, row in enumerate(raw):
        out: dict[str, Any] = {}
        for key, value in row.items():
            sub = by_key.get(key)
            if key == "id":
                continue  # row ids are given back by the platform; rows are replaced as a whole
            if sub is None:
                problems.append(FieldProblem(f"{f.key}[{i}].{key}", "unknown field", "unknown"))
                continue
            ftype = sub.ftype
            if ftype.layout_only or ftype.computed:
                problems.append(FieldProblem(f"{f.key}[{i}].{key}", "is computed and cannot be written", "readonly"))
            elif value is None or ftype.is_blank(value):
                out[key] = None
            else:
                try:
                    out[key] = ftype.from_cell(value, sub) if cells else ftype.coerce(value, sub)
                except InvalidField as exc:
                    problems.append(FieldProblem(f"{f.key}[{i}].{key}", exc.message, exc.code))
                    out[key] = None
        rows.append(out)
    return rows, problems


def complete(form: FormSpec, values: dict[str, Any], env: Any, *, creating: bool,
             before: Mapping[str, Any] | None, related: Mapping[str, Any]) -> list[FieldProblem]:
    """Compute defaults and formulas, then check conditions and validations. Mutates ``values``."""
    problems: list[FieldProblem] = []
    scope_values = _ExprValues(values, related)
    if creating:
        for f in form.data_fields:
            if values.get(f.key) is None and f.type != "subtable":
                if f.default_expr is not None:
                    value, error = _eval(f.default_expr, scope_values, env)
                    values[f.key] = None if error else _as_field(f, value, problems)
                elif f.default is not None:
                    values[f.key] = f.default
    for sub in form.subtables:
        rows = values.get(sub.key) or []
        for i, row in enumerate(rows):
            _complete_row(sub, row, i, scope_values, env, problems)
    for f in form.fields:  # sub-table rollups first: formulas may read them
        if f.type == "rollup" and "over_form" not in f.extra:  # related rollups are set by the record service
            values[f.key] = _rollup(f, values)
    for key in form.compute_order:
        f = form.by_key[key]
        value, error = _eval(f.expr, scope_values, env)
        values[key] = None if error else _as_field(f, value, problems, quiet=True)
    for f in form.data_fields:
        if f.checks_conditions:
            _check_conditions(f, f.key, values, scope_values, env, before, problems, creating)
    for v in form.validations:
        if v.expr is None:
            continue
        ok, error = _eval(v.expr, scope_values, env)
        if error is None and ok is False:
            problems.append(FieldProblem(_first_read(v.expr, form), v.message.get(), "rule"))
    return problems


def _complete_row(sub: FieldSpec, row: dict[str, Any], i: int, parent: "_ExprValues", env: Any,
                  problems: list[FieldProblem]) -> None:
    row_values = _ExprValues(row, {}, parent=parent)
    for f in sub.fields:
        if row.get(f.key) is None and f.default is not None:
            row[f.key] = f.default
    for f in sub.fields:
        if f.expr is not None:
            value, error = _eval(f.expr, row_values, env)
            row[f.key] = None if error else _as_field(f, value, problems, quiet=True)
    for f in sub.fields:
        if f.checks_conditions and not f.ftype.layout_only:
            _check_conditions(f, f"{sub.key}[{i}].{f.key}", row, row_values, env, None, problems, True)


def _check_conditions(f: FieldSpec, name: str, values: dict[str, Any], scope_values: Any, env: Any,
                      before: Mapping[str, Any] | None, problems: list[FieldProblem], creating: bool) -> None:
    if f.ftype.computed:
        return
    visible = True
    if f.visible_if is not None:
        shown, error = _eval(f.visible_if, scope_values, env)
        visible = bool(shown) and error is None
        if not visible:
            values[f.key] = [] if f.type == "subtable" else None  # a hidden field keeps no value
            return
    required = f.required
    if f.required_if is not None:
        needed, error = _eval(f.required_if, scope_values, env)
        required = required or (error is None and bool(needed))
    blank = f.ftype.is_blank(values.get(f.key)) if f.type != "subtable" else not values.get(f.key)
    if required and blank:
        problems.append(FieldProblem(name, "is required", "required"))
    if before is not None and f.readonly_if is not None and values.get(f.key) != before.get(f.key):
        locked, error = _eval(f.readonly_if, _ExprValues(dict(before), {}), env)
        if error is None and locked:
            problems.append(FieldProblem(name, "is read-only now and cannot be changed", "readonly"))


def _as_field(f: FieldSpec, value: Any, problems: list[FieldProblem], quiet: bool = False) -> Any:
    if value is None:
        return None
    from .fields.structure import result_type

    ftype = result_type(f) if f.type == "formula" else f.ftype
    try:
        return ftype.coerce(value, f)
    except InvalidField as exc:
        if not quiet:
            problems.append(FieldProblem(f.key, exc.message, exc.code))
        return None


def _rollup(f: FieldSpec, values: Mapping[str, Any]) -> Any:
    rows = values.get(f.extra["over"]) or []
    agg, column = f.extra["agg"], f.extra.get("field")
    if agg == "count":
        return len(rows)
    items = [r.get(column) for r in rows if r.get(column) is not None]
    if not items:
        return None
    if agg == "sum":
        return sum(items)
    if agg == "min":
        return min(items)
    if agg == "max":
        return max(items)
    return sum(items) / len(items)


def _first_read(expr: Any, form: FormSpec) -> str:
    for name in sorted(getattr(expr, "reads", ())):
        head = name.split(".", 1)[0]
        if head in form.by_key:
            return head
    return "_form"


class _ExprValues(Mapping[str, Any]):
    """What expressions see: the record's values, related records by relation key, and ``parent`` in rows."""

    def __init__(self, values: Mapping[str, Any], related: Mapping[str, Any], parent: Any = None) -> None:
        self._values = values
        self._related = related
        self._parent = parent

    def __getitem__(self, key: str) -> Any:
        if key in self._related:
            return self._related[key]
        if key == "parent" and self._parent is not None:
            return self._parent
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(problems)
