"""Writes ``forms_engine/schemas/form.json`` (the form meta-schema) from the field-type registry.

Run ``python -m forms_engine.schema_build`` after adding a field type or option; a test fails while the file is stale.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGET = Path(__file__).parent / "schemas" / "form.json"


def build() -> dict[str, Any]:
    from .fields import field_types

    text = {"$ref": "app.json#/$defs/text"}
    key = {"$ref": "app.json#/$defs/key"}
    expr = {"type": "string", "minLength": 1, "maxLength": 10000,
            "description": "An expression in Loomwork's expression language (docs/expressions.md)."}
    scope = {"enum": ["none", "own", "department", "department_tree", "all"], "x-name": "scope"}
    option = {"oneOf": [
        {"type": ["string", "number"]},
        {"type": "object", "additionalProperties": False, "required": ["value"],
         "properties": {"value": {"type": ["string", "number"]}, "label": text,
                        "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}}}]}
    field = {
        "type": "object", "additionalProperties": False, "required": ["key", "type"],
        "properties": {
            "key": key,
            "type": {"enum": field_types.names(), "x-name": "field type",
                     "description": "One of the registered field types (docs/field-types.md)."},
            "label": text, "help": text, "placeholder": text,
            "required": {"type": "boolean"}, "readonly": {"type": "boolean"}, "unique": {"type": "boolean"},
            "default": {"description": "A value, or {expr: ...} computed when a record is created."},
            "visible_if": expr, "required_if": expr, "readonly_if": expr,
            "min": {"type": ["number", "string"]}, "max": {"type": ["number", "string"]},
            "min_length": {"type": "integer", "minimum": 0}, "max_length": {"type": "integer", "minimum": 1},
            "pattern": {"type": "string", "maxLength": 500}, "pattern_message": text,
            "options": {"type": "array", "minItems": 1, "items": option},
            "to": key, "many": {"type": "boolean"}, "display": key,
            "relation": key, "field": key,
            "follow": {"type": "boolean", "description": "lookup: kept in step with the related record - when the "
                                                         "looked-up field of that record changes, this record is "
                                                         "recalculated (and its owner follows when this is the "
                                                         "form's owner_field). Without it the value is copied when "
                                                         "this record is saved."},
            "fields": {"type": "array", "items": {"$ref": "#/$defs/field"}},
            "min_rows": {"type": "integer", "minimum": 0}, "max_rows": {"type": "integer", "minimum": 1},
            "expr": expr,
            "result": {"enum": ["number", "money", "integer", "text", "date", "boolean", "select"],
                       "x-name": "formula result type",
                       "description": "select: the formula gives the value of one of the field's options, shown by "
                                      "its label (in lists, pages, filters, reports and exports)"},
            "scale": {"type": "integer", "minimum": 0, "maximum": 8},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "unit": {"type": "string"},
            "template": {"type": "string", "description": "serial_number pattern such as AP-{YYYY}{MM}-{0000}"},
            "accept": {"type": "array", "items": {"enum": ["png", "jpeg", "gif", "webp", "pdf", "docx", "xlsx",
                                                           "pptx", "txt", "csv"], "x-name": "file kind"}},
            "max_files": {"type": "integer", "minimum": 1},
            "max_size": {"type": "integer", "minimum": 1},
            "levels": {"enum": ["province", "city", "district"], "x-name": "region level"},
            "columns": {"type": "integer", "minimum": 1, "maximum": 4},
            "tab": {"type": "boolean"}, "step": {"type": "boolean"}, "collapsed": {"type": "boolean"},
            "text": text,
            "agg": {"enum": ["count", "sum", "min", "max", "avg"], "x-name": "rollup aggregate"},
            "over": {"type": "string", "pattern": "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)?$",
                     "description": "a sub-table of this form, or form.relation_field for related records"},
            "where": expr,
            "mask": {"type": "boolean", "description": "Show the value masked (e.g. 110***********1234) to roles "
                                                       "without the unmask right; such roles cannot filter, sort or "
                                                       "search by it."},
        },
        "allOf": [
            {"if": {"properties": {"type": {"enum": ["select", "radio", "multi_select", "checkboxes"]}}},
             "then": {"required": ["options"]}},
            {"if": {"properties": {"type": {"const": "relation"}}}, "then": {"required": ["to"]}},
            {"if": {"properties": {"type": {"const": "formula"}}}, "then": {"required": ["expr"]}},
            {"if": {"properties": {"type": {"const": "lookup"}}}, "then": {"required": ["relation", "field"]}},
            {"if": {"properties": {"type": {"const": "rollup"}}}, "then": {"required": ["over", "agg"]}},
            {"if": {"properties": {"type": {"const": "subtable"}}}, "then": {"required": ["fields"]}},
            {"if": {"properties": {"type": {"const": "serial_number"}}}, "then": {"required": ["template"]}},
        ],
    }
    rights = {"type": "object", "additionalProperties": False, "properties": {
        "create": {"type": "boolean"}, "read": scope, "update": scope, "delete": scope,
        "unmask": {"type": "boolean", "description": "See fields marked mask: true in full."}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://loomwork.dev/schemas/form.json",
        "title": "Loomwork form (forms/*.yaml)",
        "description": "A form: its fields, layout, validations and who may do what with its records.",
        "type": "object", "additionalProperties": False, "required": ["key", "label", "fields"],
        "properties": {
            "kind": {"const": "form"},
            "key": key, "label": text, "description": text, "icon": {"type": "string"},
            "fields": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/field"}},
            "title_field": key,
            "owner_field": {"$ref": "app.json#/$defs/key", "description": "A user field whose value is the record's "
                            "owner: the 'own' scope of rights reaches the records it names (instead of their creator)."},
            "audit_reads": {"type": "boolean", "description": "Write every full view of a record to the audit "
                                                              "trail (who viewed it, when)."},
            "search_fields": {"type": "array", "items": key},
            "list_columns": {"type": "array", "items": key},
            "validations": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["expr", "message"],
                "properties": {"expr": expr, "message": text, "fields": {"type": "array", "items": key}}}},
            "permissions": {"type": "object", "propertyNames": {"pattern": "^([a-z][a-z0-9_]{0,39}|\\*)$"},
                            "additionalProperties": rights,
                            "description": "Role key (or * for every signed-in user) → rights. "
                                           "Scopes: none, own, department, department_tree, all."},
            "related_lists": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["form", "field"],
                "properties": {"form": key, "field": key, "label": text, "columns": {"type": "array", "items": key}}}},
        },
        "$defs": {"field": field},
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":  # pragma: no cover
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
