"""Form specs → table specs: one table per form, a child table per sub-table, typed columns per field."""
from __future__ import annotations

from engine.appspec import AppSpec
from engine.storage import ColumnSpec, TableSpec

from .spec import FieldSpec, FormSpec


def table_name(app: str, form: str) -> str:
    return f"f_{app}__{form}"


def child_table_name(app: str, form: str, subtable: str) -> str:
    return f"f_{app}__{form}__{subtable}"


def _columns(fields: tuple[FieldSpec, ...]) -> tuple[ColumnSpec, ...]:
    out = []
    for f in fields:
        column_type = f.ftype.column_type(f)
        if column_type is None:
            continue
        index = f.type in ("relation", "user", "department", "select", "radio", "date", "serial_number") and not f.many
        out.append(ColumnSpec(f.key, column_type, unique=f.unique or f.type == "serial_number", index=index))
    return tuple(out)


def form_table_spec(app: str, form: FormSpec) -> TableSpec:
    name = table_name(app, form.key)
    children = tuple(TableSpec(child_table_name(app, form.key, sub.key), _columns(sub.fields), parent=name)
                     for sub in form.subtables)
    return TableSpec(name, _columns(form.fields), children=children)


def table_specs(app: AppSpec) -> list[TableSpec]:
    return [form_table_spec(app.key, form) for form in app.forms.values()]
