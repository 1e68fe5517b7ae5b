"""The form designer's live preview: a draft form run on the values typed into the preview.

It uses the same compiled spec the real form uses (built by the platform's loader from the draft text), so
conditional visibility, required-if and formulas behave in the preview as they will after publishing.
"""
from __future__ import annotations

from typing import Any, Mapping

from engine.audit import jsonable


def _coerce(f: Any, raw: Any) -> tuple[Any, str | None]:
    if f.ftype.is_blank(raw):
        return None, None
    try:
        return f.ftype.coerce(raw, f), None
    except Exception as exc:  # InvalidField: shown next to the field in the preview
        return None, getattr(exc, "message", str(exc))


def preview_form(app: Any, form: Any, raw: Mapping[str, Any], clock: Any) -> dict[str, Any]:
    import rules_engine

    env = rules_engine.Env(clock=clock.now, timezone=app.settings.timezone, holidays=app.settings.holidays)
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for f in form.fields:
        if f.ftype.layout_only or f.ftype.computed:
            continue
        if f.type == "subtable":
            rows = raw.get(f.key) if isinstance(raw.get(f.key), list) else []
            out_rows = []
            for i, row in enumerate(rows):
                row = row if isinstance(row, Mapping) else {}
                coerced = {}
                for s in f.fields:
                    value, problem = _coerce(s, row.get(s.key))
                    coerced[s.key] = value
                    if problem:
                        problems[f"{f.key}[{i}].{s.key}"] = problem
                out_rows.append(coerced)
            values[f.key] = out_rows
            continue
        value, problem = _coerce(f, raw.get(f.key))
        values[f.key] = value
        if problem:
            problems[f.key] = problem
    computed: dict[str, Any] = {}
    for key in form.compute_order:
        f = form.by_key[key]
        value, error = f.expr.try_evaluate(values, env)
        values[key] = value
        computed[key] = jsonable(value) if error is None else None
        if error is not None and not _missing_input(error):
            problems[key] = getattr(error, "message", str(error))
    visible: dict[str, bool] = {}
    required: dict[str, bool] = {}
    for f in form.fields:
        shown = True
        if f.visible_if is not None:
            value, error = f.visible_if.try_evaluate(values, env)
            shown = bool(value) if error is None else False
        visible[f.key] = shown
        need = f.required
        if f.required_if is not None:
            value, error = f.required_if.try_evaluate(values, env)
            need = bool(value) if error is None else f.required
        required[f.key] = need and shown
    return {"visible": visible, "required": required, "computed": computed, "problems": problems}


def _missing_input(error: Any) -> bool:
    return getattr(error, "code", "") in ("null_value", "missing_value", "type_error")
