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
from .spec import ROWS, FieldSpec, FormSpec

PROTECTED = frozenset(SYSTEM_COLUMNS) | {"version", "status", "_version", "owner"}
_EMPTYABLE = (str, list, dict)  # as FieldType.is_blank
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
    # the straight path: every key a writable field, every value passing its check; anything else (an unknown or
    # protected key, a refused value, an irregular sub-table) is left to the full loop below, which finds and words
    # every problem (the checks have no side effects, so running one again gives the same answer)
    checks = form.cell_checks if cells else form.value_checks
    try:
        out = {key: raw if raw is None else checks[key](raw) for key, raw in body.items()}
    except (KeyError, InvalidField, _Irregular):
        pass
    else:
        for sub in form.subtables:
            if sub.key in out and out[sub.key] is None:
                out[sub.key] = []  # as _coerce_rows gives for a null sub-table
        return out, problems
    return _coerce_each(form, body, cells)


def _coerce_each(form: FormSpec, body: Mapping[str, Any], cells: bool) -> tuple[dict[str, Any], list[FieldProblem]]:
    """``coerce_submission``'s full loop: each key looked at, each problem worded."""
    problems: list[FieldProblem] = []
    out: dict[str, Any] = {}
    plan = form.submit_plan
    for key, raw in body.items():
        entry = plan.get(key)
        if entry is None:
            if key in PROTECTED:
                problems.append(FieldProblem(key, "is set by the platform and cannot be written", "protected"))
            else:
                problems.append(FieldProblem(key, "unknown field", "unknown"))
            continue
        f, check = entry
        if check is None:
            problems.append(FieldProblem(key, "is computed and cannot be written", "readonly"))
        elif check is ROWS:
            rows, row_problems = _coerce_rows(f, raw, cells)
            problems.extend(row_problems)
            out[key] = rows
        elif raw is None:
            out[key] = None
        else:  # the compiled check (FieldType.compile, compile_cell)
            try:
                out[key] = check(raw) if not cells else f.cell_check(raw)
            except InvalidField as exc:
                problems.append(FieldProblem(key, exc.message, exc.code))
                out[key] = None
    return out, problems


class _Irregular(Exception):
    """A submission the straight path of ``coerce_submission`` leaves to the full loop."""


def rows_check(f: FieldSpec, cells: bool) -> Any:
    """A sub-table's straight-path check: a list of plain rows, within the row limits, whose every key is a writable
    field of the sub-table and every value passes its check, gives the rows ``_coerce_rows`` gives; anything else
    raises (``_Irregular``, ``KeyError``, ``InvalidField``) for the full loop to word."""
    checks = {key: (sub.cell_check if cells else check) for key, (sub, check) in f.row_plan.items() if check is not None}
    most = int(f.extra.get("max_rows", MAX_ROWS))
    least = int(f.extra.get("min_rows", 0))

    def check(raw: Any) -> list[dict[str, Any]]:
        if raw.__class__ is not list or not least <= len(raw) <= most:
            raise _Irregular
        for row in raw:
            if row.__class__ is not dict:
                raise _Irregular
        return [{key: value if value is None else checks[key](value) for key, value in row.items()} for row in raw]

    return check


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
    plan = f.row_plan
    for i, row in enumerate(raw):
        out: dict[str, Any] = {}
        for key, value in row.items():
            entry = plan.get(key)
            if entry is None:
                if key != "id":  # row ids are given back by the platform; rows are replaced as a whole
                    problems.append(FieldProblem(f"{f.key}[{i}].{key}", "unknown field", "unknown"))
                continue
            sub, check = entry
            if check is None:
                problems.append(FieldProblem(f"{f.key}[{i}].{key}", "is computed and cannot be written", "readonly"))
            elif value is None:
                out[key] = None
            else:
                try:
                    out[key] = check(value) if not cells else sub.cell_check(value)
                except InvalidField as exc:
                    problems.append(FieldProblem(f"{f.key}[{i}].{key}", exc.message, exc.code))
                    out[key] = None
        rows.append(out)
    return rows, problems


def readonly_problems(form: FormSpec, submitted: Mapping[str, Any], before: Mapping[str, Any] | None
                      ) -> list[FieldProblem]:
    """Client writes to fields marked ``readonly: true`` (set only by flows, automations and the platform).

    On create a read-only field may not be given a value; on update it may be sent back unchanged (a page or a
    client that PATCHes the whole record it read) but not changed. Sub-table rows are compared by position.
    System columns and computed fields are refused earlier, by ``coerce_submission``.
    """
    problems: list[FieldProblem] = []
    if not form.has_readonly:
        return problems
    for key, value in submitted.items():
        f = form.by_key.get(key)
        if f is None:
            continue
        if f.readonly:
            old = None if before is None else before.get(key)
            if f.type == "subtable":
                value, old = _row_values(f, value), _row_values(f, old)
            elif f.ftype.group == "files":
                value, old = [v["id"] for v in value or []], [v["id"] for v in old or []]
            elif f.ftype.is_blank(value):
                value = None
            if value != old:
                problems.append(FieldProblem(key, _READONLY_MESSAGE, "readonly"))
            continue
        if f.type == "subtable" and isinstance(value, list):
            old_rows = list((before or {}).get(key) or [])
            for i, row in enumerate(value):
                old = old_rows[i] if i < len(old_rows) else {}
                for sub in f.fields:
                    if sub.readonly and sub.key in row and row[sub.key] is not None and row[sub.key] != old.get(sub.key):
                        problems.append(FieldProblem(f"{key}[{i}].{sub.key}", _READONLY_MESSAGE, "readonly"))
    return problems


def _row_values(f: FieldSpec, rows: Any) -> list[tuple[Any, ...]]:
    return [tuple(r.get(s.key) for s in f.fields if s.stored) for r in rows or []]


_READONLY_MESSAGE = "is read-only: it is set by the platform, a flow or an automation, not by a client"


def complete(form: FormSpec, values: dict[str, Any], env: Any, *, creating: bool,
             before: Mapping[str, Any] | None, related: Mapping[str, Any]) -> list[FieldProblem]:
    """Compute defaults and formulas, then check conditions and validations. Mutates ``values``."""
    problems: list[FieldProblem] = []
    scope_values = _ExprValues(values, related)
    if creating:
        for f in form.defaulted_fields:
            if values.get(f.key) is None:
                if f.default_expr is not None:
                    value, error = _eval(f.default_expr, scope_values, env)
                    values[f.key] = None if error else _as_field(f, value, problems)
                else:
                    values[f.key] = f.default
    for sub in form.subtables:
        rows = values.get(sub.key)
        if not rows or sub.row_work is None:
            continue
        if sub.row_work[3]:  # only plain required fields: checked inline
            for i, row in enumerate(rows):
                for key in sub.row_work[3]:
                    value = row.get(key)
                    if value is None or (value.__class__ in _EMPTYABLE and not value):
                        problems.append(FieldProblem(f"{sub.key}[{i}].{key}", "is required", "required"))
        else:
            for i, row in enumerate(rows):
                _complete_row(sub, row, i, scope_values, env, problems)
    for f in form.sub_rollups:  # sub-table rollups first: formulas may read them
        values[f.key] = _rollup(f, values)
    by_key = form.by_key
    for key in form.compute_order:
        f = by_key[key]
        value, error = _eval(f.expr, scope_values, env)
        values[key] = None if error else _as_field(f, value, problems, quiet=True)
    for f in form.condition_fields:
        if f.plain_required:  # required with no condition: the common case, checked inline
            value = values.get(f.key)
            if value is None or (value.__class__ in _EMPTYABLE and not value):
                problems.append(FieldProblem(f.key, "is required", "required"))
        else:
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
    defaults, computed, checked, _ = sub.row_work
    for f in defaults:
        if row.get(f.key) is None:
            row[f.key] = f.default
    row_values = _ExprValues(row, {}, parent=parent)
    for f in computed:
        value, error = _eval(f.expr, row_values, env)
        row[f.key] = None if error else _as_field(f, value, problems, quiet=True)
    for f in checked:
        if f.plain_required:
            value = row.get(f.key)
            if value is None or (value.__class__ in _EMPTYABLE and not value):
                problems.append(FieldProblem(f"{sub.key}[{i}].{f.key}", "is required", "required"))
        else:
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
