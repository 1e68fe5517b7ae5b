"""What an expression may read: field names, their value types, related records and sub-table rows.

Value types are short strings: ``text, number, integer, money, percent, date, datetime, boolean, list, any``.
Inside the compiler a few more appear: ``list:<type>`` (a list of known item type), ``record`` (a related record
named without a field) and ``rows`` (a sub-table named without a column).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Union

#: The value types a field may declare.
VALUE_TYPES = frozenset({"text", "number", "integer", "money", "percent", "date", "datetime", "boolean", "list", "any"})
#: The number types: all are ``decimal.Decimal`` at run time.
NUMBER_TYPES = frozenset({"number", "integer", "money", "percent"})

FieldType = Union[str, "Scope"]


@dataclass(frozen=True)
class Scope:
    """The names an expression may use.

    Attributes:
        fields: name → value type, or a nested ``Scope`` (a related record, or sub-table rows when ``is_rows``).
        is_rows: this scope describes the rows of a sub-table (a list of records).
        extra: names read from ``Env.names`` instead of the record (``current_user`` is always there).
        open: unknown names are accepted with type ``any`` (for checking a decision table without its form).
    """

    fields: Mapping[str, FieldType] = field(default_factory=dict)
    is_rows: bool = False
    extra: Mapping[str, FieldType] = field(default_factory=dict)
    open: bool = False
    #: decision tables ``DECIDE("key", ...)`` may call, by key (``DecisionTable`` objects built earlier)
    tables: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for mapping in (self.fields, self.extra):
            for name, kind in mapping.items():
                _check_field(name, kind)
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))

    @classmethod
    def from_fields(cls, fields: Mapping[str, FieldType], extra_names: Mapping[str, FieldType] | None = None,
                    tables: Mapping[str, object] | None = None) -> Scope:
        """A record scope: ``{"amount": "number", "customer": Scope.from_fields({...}), "items": Scope.rows({...})}``.

        ``extra_names`` declares names whose values come from ``Env.names`` (or ``Env.user`` for ``current_user``);
        ``tables`` the decision tables the expression may call with ``DECIDE``.
        """
        return cls(fields=dict(fields), extra=dict(extra_names or {}), tables=dict(tables or {}))

    @classmethod
    def rows(cls, fields: Mapping[str, FieldType]) -> Scope:
        """The scope of one sub-table row; the field holding it is a list of such rows."""
        return cls(fields=dict(fields), is_rows=True)

    @classmethod
    def open_scope(cls) -> Scope:
        """A scope that accepts any name (type ``any``); use only where the record's fields are not known."""
        return cls(open=True)

    def lookup(self, name: str) -> FieldType | None:
        """The type of ``name`` in this scope, or None when it is not declared."""
        kind = self.fields.get(name)
        if kind is None and self.open:
            return "any"
        return kind

    def names(self) -> list[str]:
        """Every declared name (fields and extra names), for "did you mean" hints."""
        return [*self.fields, *self.extra]


def _check_field(name: str, kind: object) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"invalid field name {name!r}: use letters, digits and '_' (not first)")
    if isinstance(kind, Scope):
        return
    if kind not in VALUE_TYPES:
        raise ValueError(f"field {name!r}: unknown type {kind!r}; expected one of {', '.join(sorted(VALUE_TYPES))}")


#: The shape of ``current_user``, always available from ``Env.user``.
USER_SCOPE = Scope(fields={"id": "any", "username": "text", "name": "text", "roles": "list", "department": "text"})
