"""Field types. Importing this package registers every built-in type."""
from . import basic, checked, files, structure  # noqa: F401  (registration side effect)
from .base import FieldType, InvalidField, field_types

__all__ = ["FieldType", "InvalidField", "field_types"]
