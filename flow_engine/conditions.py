"""The condition compiler the loader uses when none is injected.

It prefers the platform's expression language (``rules_engine.compile_expression``). While that package is not
installed it falls back to a small simpleeval-based compiler with the same contract: ``compile(source)`` returns
an object with ``evaluate(values)`` and ``reads``, or raises ``ConditionError`` with ``message``, ``col`` and
``hint``.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping

import simpleeval

from .spec import Condition

#: Longest condition text accepted by the fallback compiler.
MAX_CONDITION_CHARS = 2_000

CompileCondition = Callable[[str], Condition]


class ConditionError(Exception):
    """A condition that does not compile: the message, 1-based column in the source and a hint."""

    def __init__(self, message: str, col: int = 1, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.col, self.hint = message, col, hint


class ConditionEvalError(Exception):
    """A condition that failed while evaluated on a record."""


class _AttrDict(dict):
    """Lets ``customer.rating`` read a nested mapping value."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _wrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _AttrDict({k: _wrap(v) for k, v in value.items()})
    return value


@dataclass(frozen=True)
class SimpleCondition:
    """A condition compiled by the fallback compiler."""

    source: str
    tree: ast.Expression
    reads: frozenset[str]

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        names = {k: _wrap(v) for k, v in values.items()}
        evaluator = simpleeval.EvalWithCompoundTypes(names=names, functions={"len": len, "abs": abs, "min": min, "max": max})
        evaluator.expr = self.source
        try:
            return evaluator._eval(self.tree.body)
        except Exception as exc:  # noqa: BLE001 - every failure is the condition's
            raise ConditionEvalError(f"{type(exc).__name__}: {exc}") from None


def simple_compiler(fields: Collection[str] | None = None) -> CompileCondition:
    """A simpleeval-based compiler; names must be ``fields`` (their first segment) when fields are given."""
    known = set(fields) if fields is not None else None

    def compile_condition(source: str) -> Condition:
        if len(source) > MAX_CONDITION_CHARS:
            raise ConditionError(f"condition longer than {MAX_CONDITION_CHARS} characters")
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise ConditionError(f"syntax error: {exc.msg}", exc.offset or 1) from None
        reads: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in ("True", "False", "None"):
                if isinstance(getattr(node, "ctx", None), ast.Load):
                    reads.add(node.id)
                    if known is not None and node.id not in known and node.id not in ("len", "abs", "min", "max"):
                        from .checks import suggest  # local: checks imports this module's types

                        raise ConditionError(f"unknown field '{node.id}'", node.col_offset + 1,
                                             suggest(node.id, known))
        return SimpleCondition(source, tree, frozenset(reads))

    return compile_condition


@dataclass(frozen=True)
class _RulesCondition:
    """Adapter from a rules-engine expression to the ``Condition`` contract."""

    expr: Any
    env: Any

    @property
    def reads(self) -> Any:
        return self.expr.reads

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return self.expr.evaluate(values, self.env)


def default_compiler(fields: Mapping[str, Any] | Collection[str] | None = None,
                     tables: Mapping[str, Any] | None = None) -> CompileCondition:
    """``rules_engine.compile_expression`` when importable, else ``simple_compiler``.

    The expression scope is built from ``fields``: value types the rules engine knows are kept, other form field
    types (user, department, relation …) are typed ``any``; no fields means an open scope. ``tables`` are the app's
    decision tables ``DECIDE("key", ...)`` may call.
    """
    try:
        from rules_engine import DEFAULT_ENV, VALUE_TYPES, Scope, compile_expression
    except ImportError:  # pragma: no cover - the rules engine ships with the platform
        return simple_compiler(fields)
    if fields is None:
        scope = Scope.open_scope()
    else:
        scope = _scope(fields if isinstance(fields, Mapping) else {name: "any" for name in fields}, Scope, VALUE_TYPES)
    if tables:
        import dataclasses

        scope = dataclasses.replace(scope, tables=dict(tables))

    def compile_condition(source: str) -> Condition:
        return _RulesCondition(compile_expression(source, scope), DEFAULT_ENV)

    return compile_condition


def _scope(fields: Mapping[str, Any], scope_type: Any, value_types: Collection[str]) -> Any:
    """A rules-engine scope from field types; nested mappings (a relation's fields) become nested scopes."""
    def kind(value: Any) -> Any:
        if isinstance(value, Mapping):
            return _scope(value, scope_type, value_types)
        return value if isinstance(value, scope_type) or value in value_types else "any"

    return scope_type.from_fields({k: kind(v) for k, v in fields.items()})
