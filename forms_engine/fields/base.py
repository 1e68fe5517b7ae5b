"""The field type registry. Built-in types register the same way an extension would; closed after start-up.

A field type knows, for a field of its type: its storage column, its JSON Schema fragment, how to turn a submitted
JSON value into the stored Python value (or refuse it with a message), how to show it back as JSON, how to read it
from an import cell and write it to an export cell, its type in the expression language, and its HTML widget.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

from sqlalchemy.types import TypeEngine

from ..validators import InvalidValue

if TYPE_CHECKING:
    from ..spec import FieldSpec


_EMPTYABLE = (str, list, dict)

#: the one error type of every value check: ``InvalidField(message, code, message_zh=None)``
InvalidField = InvalidValue


class FieldType:
    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    group: ClassVar[str] = "basic"
    #: holds no value (section, divider, description)
    layout_only: ClassVar[bool] = False
    #: value is computed by the platform and never accepted from a client
    computed: ClassVar[bool] = False
    #: type name in the expression language
    expr_type: ClassVar[str] = "text"
    widget: ClassVar[str] = "text"
    #: keys (beyond the common ones) this type accepts in a definition
    options: ClassVar[tuple[str, ...]] = ()

    def column_type(self, f: "FieldSpec") -> TypeEngine | None:
        return None

    def json_schema(self, f: "FieldSpec") -> dict[str, Any]:
        return {}

    def coerce(self, value: Any, f: "FieldSpec") -> Any:
        """Submitted JSON value → stored value. ``None`` means blank and is handled by the caller."""
        return value

    def to_json(self, value: Any, f: "FieldSpec") -> Any:
        return value

    def from_cell(self, value: Any, f: "FieldSpec") -> Any:
        """An import cell (str, number, date from openpyxl) → stored value."""
        return self.coerce(value, f)

    def to_cell(self, value: Any, f: "FieldSpec", locale: str = "zh-CN") -> Any:
        """A stored value → an export cell (text, number, date or bool), labels in ``locale``."""
        return self.to_json(value, f)

    def is_blank(self, value: Any) -> bool:
        return value is None or (value.__class__ in _EMPTYABLE and not value)

    def compile(self, f: "FieldSpec") -> Callable[[Any], Any]:
        """One field's check, built once per field: submitted JSON value → stored value, ``None`` for blank.

        The same as ``is_blank`` then ``coerce``; a type may add a ``fast(f)`` returning a specialised closure for the
        common case, used only when that type (not a subclass with its own ``coerce``) defines it.
        """
        if _owner(type(self), "fast") is _owner(type(self), "coerce"):
            built = self.fast(f)
            if built is not None:
                return built
        blank, coerce = self.is_blank, self.coerce

        def check(value: Any) -> Any:
            return None if blank(value) else coerce(value, f)

        return check

    def fast(self, f: "FieldSpec") -> Callable[[Any], Any] | None:
        return None

    def compile_cell(self, f: "FieldSpec") -> Callable[[Any], Any]:
        """The same as ``compile`` for import cells: ``is_blank`` then ``from_cell``; a type may add ``cell_fast``."""
        if _owner(type(self), "from_cell") is FieldType:  # reads a cell as a submitted value
            return self.compile(f)
        if _owner(type(self), "cell_fast") is _owner(type(self), "from_cell"):
            built = self.cell_fast(f)
            if built is not None:
                return built
        blank, from_cell = self.is_blank, self.from_cell

        def check(value: Any) -> Any:
            return None if blank(value) else from_cell(value, f)

        return check

    def cell_fast(self, f: "FieldSpec") -> Callable[[Any], Any] | None:
        return None


def _owner(cls: type, name: str) -> type | None:
    return next((c for c in cls.__mro__ if name in c.__dict__), None)


class FieldTypeRegistry:
    def __init__(self) -> None:
        self._types: dict[str, FieldType] = {}
        self.closed = False

    def register(self, ftype: FieldType) -> FieldType:
        if self.closed:
            raise RuntimeError(f"field type {ftype.name!r} registered after start-up")
        if not ftype.name or ftype.name in self._types:
            raise RuntimeError(f"field type {ftype.name!r} registered twice or without a name")
        self._types[ftype.name] = ftype
        return ftype

    def get(self, name: str) -> FieldType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def all(self) -> list[FieldType]:
        return [self._types[n] for n in sorted(self._types)]

    def close(self) -> None:
        self.closed = True


field_types = FieldTypeRegistry()


def register(cls: type[FieldType]) -> type[FieldType]:
    """Class decorator: register one instance of a field type."""
    field_types.register(cls())
    return cls
