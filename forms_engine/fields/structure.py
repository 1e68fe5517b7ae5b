"""Built-in structural types: layout-only items, people and departments, relations, sub-tables, computed values."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Text

from .base import FieldType, InvalidField, register
from .basic import BooleanField, DateField, IntegerField, MoneyField, NumberField, SelectField, TextField
from .columns import JsonColumn


class _Layout(FieldType):
    layout_only = True
    group = "layout"


@register
class SectionField(_Layout):
    name, label, widget = "section", "分组", "section"
    options = ("columns", "collapsed", "tab", "step")


@register
class DescriptionField(_Layout):
    name, label, widget = "description", "说明文字", "description"
    options = ("text",)


@register
class DividerField(_Layout):
    name, label, widget = "divider", "分割线", "divider"


def _record_id(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidField("expected a record id", "type")
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)  # an expression's result, e.g. a default of current_user.id
    if not isinstance(value, int) or value <= 0:
        raise InvalidField("expected a record id", "type")
    return value


class _Reference(FieldType):
    """A pointer to a row elsewhere; existence is checked by the record service, which can see the database."""

    expr_type = "integer"
    group = "relation"

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return JsonColumn if f.many else BigInteger()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        one = {"type": "integer", "minimum": 1}
        return {"type": "array", "items": one, "uniqueItems": True} if f.many else one

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if f.many:
            if not isinstance(value, list):
                raise InvalidField("expected a list of ids", "type")
            ids = [_record_id(v) for v in value]
            return list(dict.fromkeys(ids))
        return _record_id(value)


@register
class UserField(_Reference):
    name, label, widget = "user", "成员", "user"
    options = ("many",)


@register
class DepartmentField(_Reference):
    name, label, widget = "department", "部门", "department"
    options = ("many",)


@register
class RelationField(_Reference):
    name, label, widget, expr_type = "relation", "关联记录", "relation", "record"
    options = ("to", "many", "display")


@register
class LookupField(FieldType):
    """A field of the related record, copied on save: ``{type: lookup, relation: customer, field: rating}``; with
    ``follow: true`` also when the related record's field changes."""

    name, label, widget, group = "lookup", "查找引用", "readonly", "relation"
    computed = True
    options = ("relation", "field", "follow")

    def column_type(self, f):  # type: ignore[no-untyped-def]
        target = f.extra.get("target_field")
        return target.ftype.column_type(target) if target is not None else Text()

    def to_json(self, value, f):  # type: ignore[no-untyped-def]
        target = f.extra.get("target_field")
        return target.ftype.to_json(value, target) if target is not None and value is not None else value

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        target = f.extra.get("target_field")
        return target.ftype.to_cell(value, target, locale) if target is not None and value is not None else value

    @property
    def expr_type(self) -> str:  # type: ignore[override]
        return "any"


@register
class SubtableField(FieldType):
    name, label, widget, expr_type, group = "subtable", "子表单", "subtable", "rows", "structure"
    options = ("fields", "min_rows", "max_rows")

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "array", "items": {"type": "object"}}


_RESULTS = {"number": NumberField(), "money": MoneyField(), "integer": IntegerField(), "text": TextField(),
            "date": DateField(), "boolean": BooleanField(), "select": SelectField()}
#: the expression-language type a formula's result has (``select``: a text that names one of its options)
RESULT_EXPR = {"select": "text"}


def result_type(f) -> FieldType:  # type: ignore[no-untyped-def]
    return _RESULTS[f.extra.get("result", "number")]


@register
class FormulaField(FieldType):
    """Computed with the expression language from other fields, stored, recalculated when its inputs change."""

    name, label, widget, group = "formula", "公式", "readonly", "computed"
    computed = True
    options = ("expr", "result", "scale", "options")

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return result_type(f).column_type(f)

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"readOnly": True}

    def to_json(self, value, f):  # type: ignore[no-untyped-def]
        return None if value is None else result_type(f).to_json(value, f)

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        return None if value is None else result_type(f).to_cell(value, f, locale)


@register
class SerialNumberField(FieldType):
    """A number given on creation from a pattern such as ``AP-{YYYY}{MM}-{0000}``; unique and gap-free."""

    name, label, widget, group = "serial_number", "流水号", "readonly", "computed"
    computed = True
    options = ("template",)

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return Text()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "readOnly": True}
