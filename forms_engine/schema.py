"""A form version compiled to JSON Schema (2020-12): the submission shape and the record shape.

Used for the OpenAPI document (so ``/docs`` shows each form's real fields) and by clients and editors.
What JSON Schema cannot say — checksums, uniqueness, cross-field rules, conditional requirements — the engine
checks after it (``validate.py``).
"""
from __future__ import annotations

from typing import Any

from .spec import FieldSpec, FormSpec


def _field(f: FieldSpec, locale: str) -> dict[str, Any]:
    if f.type == "subtable":
        row = {"type": "object", "additionalProperties": False,
               "properties": {s.key: _field(s, locale) for s in f.fields if not s.ftype.layout_only},
               "required": [s.key for s in f.fields if s.required and not s.ftype.computed]}
        out: dict[str, Any] = {"type": "array", "items": row}
        if "max_rows" in f.extra:
            out["maxItems"] = f.extra["max_rows"]
    else:
        out = dict(f.ftype.json_schema(f))
    out["title"] = f.label.get(locale)
    if f.help.values:
        out["description"] = f.help.get(locale)
    if f.ftype.computed:
        out["readOnly"] = True
    if not f.required and f.type != "subtable" and "type" in out:
        kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*kinds, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def input_schema(form: FormSpec, locale: str = "zh-CN") -> dict[str, Any]:
    """The body of a create request (updates accept any subset of it)."""
    props = {f.key: _field(f, locale) for f in form.data_fields if not f.ftype.computed}
    return {"type": "object", "title": form.label.get(locale), "additionalProperties": False, "properties": props,
            "required": [f.key for f in form.data_fields if f.required and not f.ftype.computed and f.visible_if is None
                         and f.required_if is None]}


def output_schema(form: FormSpec, locale: str = "zh-CN") -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": {"type": "integer"}, "row_version": {"type": "integer"}, "def_version": {"type": ["integer", "null"]},
        "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
        "created_by": {"type": ["integer", "null"]}, "owner_id": {"type": ["integer", "null"]},
        "department_id": {"type": ["integer", "null"]},
    }
    props.update({f.key: _field(f, locale) for f in form.data_fields})
    for key in form.masked:
        props[key] = {"type": ["string", "null"], "title": props[key].get("title", key),
                      "description": "masked (e.g. 110***********1234) for roles without the unmask right"}
    return {"type": "object", "title": form.label.get(locale), "properties": props}
