"""Checking what a client sends with a report run against the report's definition.

A client may narrow a report, never widen or rename it: every filter name must be a dimension key, a dimension's
field or a field the definition lists under ``filterable``; every sort key a column of the report; a zoom a
date-bucketed dimension. Values are coerced to the field's type here and reach SQL only as bound parameters.
Anything else is refused with a 422 naming the parameter.

Shape (JSON body of ``POST …/run``, or ``GET`` query ``filters=<json>&sort=-x&limit=10``)::

    {"filters": {"category": ["it", "office"], "needed_by": {"range": "this_month"},
                 "amount": {"from": 10, "to": 100}, "created_at_month": "2026-03"},
     "sort": "-sum_amount", "limit": 10, "zoom": {"created_at_month": "2026-03"}}
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from engine.errors import FieldProblem, ValidationFailed
from engine.metaschema import suggest

from . import dates
from .compiler import Condition, Params
from .dataset import Dataset, NameError_, coerce
from .spec import Dimension, FieldRef, ReportSpec, SortKey

MAX_VALUES = 200
MAX_FILTERS = 30


def _fail(name: str, message: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed([FieldProblem(name, message, code)])


def as_values(raw: Any) -> list[Any]:
    values = raw if isinstance(raw, list) else [raw]
    if len(values) > MAX_VALUES:
        raise ValueError(f"at most {MAX_VALUES} values")
    for v in values:
        if isinstance(v, (dict, list)):
            raise ValueError("values must be plain text, numbers, true/false or null")
    return values


def window_of(raw: Mapping[str, Any], today: date) -> dates.Window:
    """``{"range": name}`` or ``{"from": d, "to": d}`` (``to`` inclusive) as a window of local dates."""
    if set(raw) - {"range", "from", "to"}:
        raise ValueError("a date filter is {range: name} or {from: date, to: date}")
    if "range" in raw:
        name = raw["range"]
        if not isinstance(name, str) or name not in dates.RANGES:
            hint = suggest(str(name), dates.RANGES)
            raise ValueError(f"unknown date range {str(name)[:40]!r}" + (f" ({hint})" if hint else ""))
        return dates.window(name, today)
    try:
        start = date.fromisoformat(str(raw["from"])) if raw.get("from") else date(1, 1, 1)
        end = date.fromisoformat(str(raw["to"])) if raw.get("to") else date(9999, 12, 30)
    except ValueError:
        raise ValueError("from and to are dates as YYYY-MM-DD") from None
    from datetime import timedelta

    return dates.Window(start, end + timedelta(days=1))


def dimension_condition(d: Dimension, name: str, raw: Any) -> Condition:
    values = as_values(raw)
    if d.bucket:
        if len(values) != 1 or not isinstance(values[0], str):
            raise _fail(f"filters.{name}", f"give one {d.bucket} label such as the report shows")
        return Condition(d.ref, window=dates.bucket_window(d.bucket, values[0]))
    if d.bins:
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= len(d.bins):
                raise _fail(f"filters.{name}", f"bins are numbered 0..{len(d.bins)}")
            out.append(v)
        return Condition(d.ref, tuple(out), dimension=d)
    if d.level in ("province", "city"):
        out = []
        for v in values:
            if not isinstance(v, str) or not v.isdigit() or len(v) != 6:
                raise _fail(f"filters.{name}", f"expected {d.level} codes of six digits")
            out.append(v)
        return Condition(d.ref, tuple(out), dimension=d)
    return field_condition(d.ref, name, raw, None)


def field_condition(ref: FieldRef, name: str, raw: Any, today: date | None) -> Condition:
    """A client filter on one field: a value, a list of values (null = blank), or a date/number range."""
    try:
        if isinstance(raw, dict):
            if ref.temporal:
                assert today is not None
                return Condition(ref, window=window_of(raw, today))
            if ref.numeric and set(raw) <= {"from", "to"} and raw:
                low = coerce(ref, raw.get("from")) if raw.get("from") is not None else None
                high = coerce(ref, raw.get("to")) if raw.get("to") is not None else None
                return Condition(ref, (low, high), between=True)
            raise ValueError("expected a value or a list of values")
        values = tuple(coerce(ref, v) for v in as_values(raw))
    except ValueError as exc:
        raise _fail(f"filters.{name}", str(exc)) from None
    return Condition(ref, values)


def check(report: ReportSpec, dataset: Dataset, raw: Mapping[str, Any] | None, today: date) -> Params:
    """The client's run parameters as checked ``Params``; ``ValidationFailed`` names the first bad one."""
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise _fail("_body", "expected an object with filters, sort, limit, zoom")
    unknown = set(raw) - {"filters", "sort", "limit", "zoom", "point", "format", "dashboard_filters"}
    if unknown:
        name = sorted(unknown)[0]
        raise _fail(name, "unknown parameter", "unknown")
    conditions = list(filters(report, dataset, raw.get("filters"), today))
    sort = None
    if raw.get("sort") not in (None, "", []):
        sort = sort_keys(report, raw["sort"])
    limit = None
    if raw.get("limit") is not None:
        limit = raw["limit"]
        if isinstance(limit, str) and limit.isdigit():
            limit = int(limit)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise _fail("limit", "limit is a whole number 1..10000")
    zoom = None
    if raw.get("zoom"):
        zoom_raw = raw["zoom"]
        if not isinstance(zoom_raw, Mapping) or len(zoom_raw) != 1:
            raise _fail("zoom", "zoom is {dimension: bucket label}")
        key, label = next(iter(zoom_raw.items()))
        d = report.dimension(str(key))
        if d is None or not (d.bucket or d.level in ("province", "city")):
            raise _fail("zoom", f"'{str(key)[:40]}' is not a date-bucketed dimension or a region dimension by "
                                "province or city of this report", "unknown")
        if not isinstance(label, str):
            raise _fail("zoom", "the bucket label is text")
        if d.bucket:
            dates.bucket_window(d.bucket, label)  # checks the label
        else:
            from forms_engine.validators import regions

            if not (label.isdigit() and len(label) == 6 and label.endswith("00") and regions.lookup(label)):
                raise _fail("zoom", "a region zoom is the six-digit code of a province or a city")
        zoom = (d.key, label)
    return Params(tuple(conditions), sort, limit, zoom)


def filters(report: ReportSpec, dataset: Dataset, raw: Any, today: date) -> list[Condition]:
    if raw in (None, {}):
        return []
    if not isinstance(raw, Mapping):
        raise _fail("filters", "filters is an object {name: value(s)}")
    if len(raw) > MAX_FILTERS:
        raise _fail("filters", f"at most {MAX_FILTERS} filters")
    allowed = allowed_filters(report)
    out = []
    for name, value in raw.items():
        name = str(name)
        d = report.dimension(name)
        if d is not None:
            out.append(dimension_condition(d, name, value))
            continue
        if name not in allowed:
            hint = suggest(name, allowed) if len(name) <= 60 else None
            raise _fail(f"filters.{name[:60]}", "this report cannot be filtered by it" + (f" ({hint})" if hint else ""),
                        "unknown")
        try:
            ref = dataset.resolve(name)
        except NameError_ as exc:  # pragma: no cover - allowed names resolve
            raise _fail(f"filters.{name}", exc.message, "unknown") from None
        out.append(field_condition(ref, name, value, today))
    return out


def allowed_filters(report: ReportSpec) -> list[str]:
    names = [r.path for r in report.filterable] + [d.ref.path for d in report.dimensions]
    return list(dict.fromkeys(names))


def sort_keys(report: ReportSpec, raw: Any) -> tuple[SortKey, ...]:
    parts = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(parts, list) or len(parts) > 8:
        raise _fail("sort", "sort is a list of column keys, '-' first for descending")
    keys = report.column_keys()
    out = []
    for part in parts:
        if not isinstance(part, str) or not part.strip():
            raise _fail("sort", "sort keys are text")
        part = part.strip()
        key = part.lstrip("+-")
        if key not in keys:
            hint = suggest(key, keys)
            raise _fail("sort", f"unknown column '{key[:60]}'" + (f" ({hint})" if hint else ""), "unknown")
        m = report.measure(key)
        if report.others and m is not None and m.expr is not None:
            raise _fail("sort", f"a report with an 'others' row cannot be sorted by the formula '{key}'")
        out.append(SortKey(key, part.startswith("-")))
    return tuple(out)
