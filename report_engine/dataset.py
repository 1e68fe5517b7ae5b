"""Resolving names against a report's dataset: fields of the form, system columns, sub-table rows and fields of
related forms reached through relation fields (``supplier.city``)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from engine.i18n import Text
from engine.metaschema import suggest

from .spec import FieldRef

#: system columns of every record table and the type they behave as
SYSTEM_COLUMNS = {"id": "id", "created_at": "datetime", "updated_at": "datetime", "owner_id": "user",
                  "created_by": "user", "department_id": "department"}
MAX_JOINS = 3
_UNGROUPABLE = ("multi_select", "checkboxes", "subtable")


class NameError_(LookupError):
    """An unknown or unusable name; ``hint`` is a did-you-mean."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def field_type(f: Any) -> str:
    """The type a stored field behaves as in reports (a formula field as its result type)."""
    if f.type == "formula":
        return str(f.extra.get("result", "number"))
    if f.type == "lookup":
        target = f.extra.get("target_field")
        return field_type(target) if target is not None else "text"
    if f.type == "rollup":
        return "number"
    if f.type in ("user", "department", "relation") and f.many:
        return "multi_select"
    return str(f.type)


class Dataset:
    """The forms a report may read, rooted at its dataset form (or one of its sub-tables)."""

    def __init__(self, forms: Mapping[str, Any], form: str, subtable: str | None = None) -> None:
        if form not in forms:
            raise NameError_(f"unknown form '{form}'", suggest(form, forms))
        self.forms = forms
        self.form = forms[form]
        self.subtable = None
        if subtable is not None:
            sub = next((f for f in self.form.fields if f.key == subtable and f.type == "subtable"), None)
            if sub is None:
                raise NameError_(f"form '{form}' has no sub-table '{subtable}'",
                                 suggest(subtable, [f.key for f in self.form.fields if f.type == "subtable"]))
            self.subtable = sub

    def resolve(self, path: str) -> FieldRef:
        """The ``FieldRef`` of a dotted name; raise ``NameError_`` with a hint."""
        parts = path.split(".")
        if len(parts) - 1 > MAX_JOINS:
            raise NameError_(f"'{path}' follows more than {MAX_JOINS} relations")
        form, sub = self.form, self.subtable
        joins: list[str] = []
        for part in parts[:-1]:
            if sub is not None:
                if part != "parent":
                    raise NameError_(f"'{part}' is not 'parent'", "in a sub-table dataset, parent.<field> reads "
                                                                  "the record the row belongs to")
                sub = None
                joins.append("parent")
                continue
            f = form.by_key.get(part)
            if f is None or f.type != "relation" or f.many:
                relations = [x.key for x in form.fields if x.type == "relation" and not x.many]
                raise NameError_(f"'{part}' is not a relation field of form '{form.key}'", suggest(part, relations))
            joins.append(part)
            target = self.forms.get(f.to)
            if target is None:  # the related form did not build: its own errors are reported with its file
                raise NameError_(f"'{part}' leads to form '{f.to}', which has definition errors of its own")
            form = target
        last = parts[-1]
        if sub is not None:
            f = sub.sub(last)
            if f is None:
                raise NameError_(f"sub-table '{sub.key}' has no field '{last}'",
                                 suggest(last, [x.key for x in sub.fields] + ["parent"]))
            return self._ref(path, tuple(joins), form.key, f, sub.key)
        if last in SYSTEM_COLUMNS:
            return FieldRef(path, tuple(joins), form.key, last, SYSTEM_COLUMNS[last])
        f = form.by_key.get(last)
        if f is None:
            names = [x.key for x in form.fields if x.stored] + list(SYSTEM_COLUMNS)
            raise NameError_(f"form '{form.key}' has no field '{last}'", suggest(last, names))
        if not f.stored:
            raise NameError_(f"'{last}' holds no stored value (a {f.type} field)")
        return self._ref(path, tuple(joins), form.key, f, None)

    @staticmethod
    def _ref(path: str, joins: tuple[str, ...], form: str, f: Any, subtable: str | None) -> FieldRef:
        kind = field_type(f)
        shape = f.extra.get("target_field") if f.type == "lookup" else None
        shape = shape if shape is not None else f
        scale = int(shape.scale) if kind in ("money", "number", "percent") and shape.scale is not None else 0
        options = tuple((o.value, o.label) for o in shape.options)
        return FieldRef(path, joins, form, f.key, kind, scale, options, shape.to if shape.type == "relation" else None,
                        subtable)


def groupable(ref: FieldRef) -> bool:
    return ref.type not in _UNGROUPABLE


def coerce(ref: FieldRef, raw: Any) -> Any:
    """A definition or client value as the Python value of ``ref``'s column; ``ValueError`` when it cannot be."""
    if raw is None:
        return None
    text = str(raw).strip() if not isinstance(raw, (bool, int, float, Decimal)) else raw
    if isinstance(text, str) and len(text) > 200:
        raise ValueError("value longer than 200 characters")
    kind = ref.type
    if kind in ("money", "number", "percent"):
        try:
            value = Decimal(str(text))
        except InvalidOperation:
            raise ValueError(f"'{str(raw)[:40]}' is not a number") from None
        if not value.is_finite() or abs(value) >= Decimal(10) ** 18:
            raise ValueError("number out of range")
        return value
    if kind in ("integer", "rating", "duration", "id", "user", "department", "relation"):
        if isinstance(text, bool) or not str(text).lstrip("-").isdigit() or len(str(text)) > 18:
            raise ValueError(f"'{str(raw)[:40]}' is not a whole number")
        return int(text)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        lowered = str(text).lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValueError(f"'{str(raw)[:40]}' is not true or false")
        return lowered in ("true", "1")
    if kind == "date":
        try:
            return date.fromisoformat(str(text))
        except ValueError:
            raise ValueError(f"'{str(raw)[:40]}' is not a date (YYYY-MM-DD)") from None
    if kind == "datetime":
        try:
            return datetime.fromisoformat(str(text))
        except ValueError:
            raise ValueError(f"'{str(raw)[:40]}' is not a date and time") from None
    if kind in ("select", "radio") and ref.options:
        values = [v for v, _ in ref.options]
        if str(text) not in values:
            raise ValueError(f"'{str(raw)[:40]}' is not an option of {ref.path}" +
                             (f" ({suggest(str(text), values)})" if suggest(str(text), values) else ""))
    return str(text)


def label_of(ref: FieldRef, value: Any, locale: str) -> Any:
    """The shown label of a select value (other values unchanged)."""
    for option, text in ref.options:
        if option == value:
            return text.get(locale) if isinstance(text, Text) else text
    return value
