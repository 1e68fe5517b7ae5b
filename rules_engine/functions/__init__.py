"""The function library. Importing this package registers every built-in function; ``rules_engine`` closes the
registry after that, so the callable set is fixed."""
from __future__ import annotations

from . import aggregate, dates, finance, idcard, logic, numeric, text  # noqa: F401 - registration
from .registry import REGISTRY, FunctionSpec, function

__all__ = ["REGISTRY", "FunctionSpec", "function"]
