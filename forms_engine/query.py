"""List queries from client parameters: filters, ranges, sort and text search, checked against the form.

Field names come only from the form spec; values are bound parameters, coerced by the field's own type first.
Filter syntax (query string): ``field=value``, ``field__in=a,b``, ``field__gte=…`` / ``__lte`` / ``__gt`` / ``__lt``,
``field__ne=…``, ``field__blank=true``. Sort: ``sort=-created_at,amount``. Search: ``q=text`` over the form's
search fields (or its text fields).
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import ColumnElement, String, Table, or_

from engine.errors import BadRequest, FieldProblem, Forbidden, ValidationFailed

from .fields import InvalidField
from .spec import FormSpec

OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "blank", "contains")
SORTABLE_SYSTEM = ("id", "created_at", "updated_at", "owner_id", "department_id", "row_version")
FILTERABLE_SYSTEM = {"id": "integer", "owner_id": "integer", "department_id": "integer", "created_by": "integer"}


def _coerce(form: FormSpec, key: str, raw: str) -> Any:
    if key in FILTERABLE_SYSTEM:
        if not raw.strip().lstrip("-").isdigit():
            raise ValidationFailed([FieldProblem(key, "expected a whole number", "type")])
        return int(raw)
    f = form.by_key[key]
    ftype = f.ftype
    if f.type == "formula":
        from .fields.structure import result_type

        ftype = result_type(f)
    if f.type in ("multi_select", "checkboxes"):
        return raw
    try:
        return ftype.from_cell(raw, f)
    except InvalidField as exc:
        raise ValidationFailed([FieldProblem(key, exc.message, exc.code)]) from None


def build_list_query(form: FormSpec, table: Table, filters: Mapping[str, str], sort: str | None,
                     search: str | None, *, hidden: frozenset[str] = frozenset()
                     ) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """``hidden``: fields the caller sees only masked; filtering or sorting by them is refused (a range filter
    would reveal the value digit by digit) and text search leaves them out."""
    where: list[ColumnElement[bool]] = []
    for name, raw in filters.items():
        key, _, op = name.partition("__")
        op = op or "eq"
        if key in hidden:
            raise Forbidden(f"you may not filter by '{key}'", details=[{"field": key, "message": "masked field",
                                                                          "code": "masked"}])
        if op not in OPERATORS:
            raise BadRequest(f"unknown filter operator '{op}' in '{name}'", details=[{"field": key, "message": "unknown operator"}])
        if key not in FILTERABLE_SYSTEM and (key not in form.by_key or not form.by_key[key].stored):
            raise ValidationFailed([FieldProblem(key, "unknown field (cannot filter by it)", "unknown")])
        column = table.c[key]
        if op == "blank":
            where.append(column.is_(None) if raw.lower() in ("1", "true", "yes") else column.is_not(None))
        elif op == "in":
            values = [_coerce(form, key, part) for part in raw.split(",") if part != ""][:500]
            where.append(column.in_(values))
        elif op == "contains":
            if not isinstance(column.type, String):  # LIKE on a number, date or JSON column is a database error
                raise ValidationFailed([FieldProblem(key, "'contains' applies to text fields only", "operator")])
            where.append(column.contains(str(raw)[:200], autoescape=True))
        else:
            value = _coerce(form, key, raw)
            where.append({"eq": column == value, "ne": column != value, "gt": column > value, "gte": column >= value,
                          "lt": column < value, "lte": column <= value}[op])
    if search:
        fields = form.search_fields or tuple(f.key for f in form.fields if f.type in ("text", "textarea", "serial_number", "email", "phone"))
        fields = tuple(k for k in fields if k not in hidden)
        text = search.strip()[:200]
        if fields and text:
            where.append(or_(*(table.c[k].contains(text, autoescape=True) for k in fields)))
    order: list[Any] = []
    for part in (sort or "-id").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        key = part.lstrip("-+")
        if key in hidden:
            raise Forbidden(f"you may not sort by '{key}'", details=[{"field": key, "message": "masked field",
                                                                        "code": "masked"}])
        if key not in SORTABLE_SYSTEM and (key not in form.by_key or not form.by_key[key].stored
                                           or form.by_key[key].type in ("multi_select", "checkboxes", "subtable")):
            raise ValidationFailed([FieldProblem(key, "unknown field (cannot sort by it)", "unknown")])
        order.append(table.c[key].desc() if desc else table.c[key].asc())
    order.append(table.c.id.desc())
    return where, order
