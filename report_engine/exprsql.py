"""Report expressions compiled to SQL: filters in the rules language, and formulas over measures.

The rules engine offers no syntax tree in its public API, so this module parses the same syntax with a
restricted whitelist of Python ``ast`` nodes (the rules language is Python-shaped) and translates:

* filters: comparisons (``== != < <= > >=``, chains, ``in``/``not in`` a list, ``"part" in text``), ``and or not``,
  ``+ - * /``, ``null``/``true``/``false``, ``ISBLANK(x)``, ``TODAY()``, fields (``amount``, ``supplier.city``)
  and ``current_user.id`` / ``.username`` / ``.department`` (the caller's department id);
* formulas: ``+ - * /`` and numbers over measure keys (``sum_overdue / sum_outstanding``); division by zero is
  NULL (shown empty).

Blank semantics follow the rules language: ``x != v`` is true for a blank ``x`` (SQL ``IS DISTINCT FROM``),
``x == null`` is ``IS NULL``, ordering comparisons with a blank are false. Every literal is a bound parameter.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Mapping

from sqlalchemy import ColumnElement, and_, bindparam, false, literal, not_, null, or_, true
from sqlalchemy.sql import operators as sql_ops

MAX_LENGTH = 1000
_LITERALS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Constant, ast.Name,
            ast.Attribute, ast.List, ast.Load, ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub,
            ast.UAdd, ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_USER_ATTRS = ("id", "username", "department")
_FUNCTIONS = ("ISBLANK", "TODAY")


class ExprError(ValueError):
    """A problem in a report expression; ``col`` is 1-based within the expression."""

    def __init__(self, message: str, col: int = 1, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.col, self.hint = message, col, hint


@dataclass(frozen=True)
class Parsed:
    """A checked expression: its tree and the names it reads (dotted paths)."""

    source: str
    tree: ast.expr
    names: tuple[str, ...]
    uses_user: bool


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def parse(source: str, *, formula: bool = False) -> Parsed:
    """Parse and vet ``source``; raise ``ExprError`` for syntax outside the report subset."""
    if not isinstance(source, str) or not source.strip():
        raise ExprError("empty expression")
    if len(source) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    lead = len(source) - len(source.lstrip())
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error: {exc.msg}", lead + (exc.offset or 1)) from None
    names: list[str] = []
    uses_user = False
    for node in ast.walk(tree):
        col = lead + getattr(node, "col_offset", 0) + 1
        if not isinstance(node, _ALLOWED):
            raise ExprError(f"{type(node).__name__} syntax is not supported in report expressions", col)
        if formula and isinstance(node, (ast.Compare, ast.BoolOp, ast.Call, ast.Attribute, ast.List)):
            raise ExprError("a formula over measures may use only + - * /, numbers and measure keys", col)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            if name not in _FUNCTIONS:
                raise ExprError(f"function {name or '?'}() is not available in report filters", col,
                                f"available: {', '.join(_FUNCTIONS)}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool, type(None))):
            raise ExprError("unsupported literal", col)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            continue
        if isinstance(node, (ast.Attribute, ast.Name)) and not _is_part(tree, node):
            path = _dotted(node)
            if path is None:
                raise ExprError("attribute access is only allowed on fields", lead + node.col_offset + 1)
            if path.split(".")[0] in _LITERALS:
                continue
            if any(p.startswith("_") for p in path.split(".")):
                raise ExprError(f"names starting with '_' are not allowed: {path!r}", lead + node.col_offset + 1)
            if path.startswith("current_user"):
                if path.count(".") != 1 or path.split(".")[1] not in _USER_ATTRS:
                    raise ExprError(f"'{path}' is not available", lead + node.col_offset + 1,
                                    "use current_user.id, current_user.username or current_user.department")
                uses_user = True
                continue
            names.append(path)
    return Parsed(source, tree.body, tuple(dict.fromkeys(names)), uses_user)


def _is_part(tree: ast.AST, target: ast.AST) -> bool:
    """Whether ``target`` is the inner part of a longer dotted name, or a function name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.value is target:
            return True
        if isinstance(node, ast.Call) and node.func is target:
            return True
    return False


@dataclass(frozen=True)
class SqlContext:
    """What a filter needs at run time: the column of each name, the caller, and today's date."""

    column: Callable[[str], ColumnElement[Any]]
    temporal: Callable[[str], str | None]
    user: Mapping[str, Any]
    today: date


def to_sql(parsed: Parsed, ctx: SqlContext) -> ColumnElement[bool]:
    """The SQL condition of a checked filter."""
    return _Translator(ctx).cond(parsed.tree)


class _Translator:
    def __init__(self, ctx: SqlContext) -> None:
        self.ctx = ctx

    def cond(self, node: ast.expr) -> ColumnElement[bool]:
        if isinstance(node, ast.BoolOp):
            parts = [self.cond(v) for v in node.values]
            return and_(*parts) if isinstance(node.op, ast.And) else or_(*parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not_(self.cond(node.operand))
        if isinstance(node, ast.Compare):
            out, left = [], node.left
            for op, right in zip(node.ops, node.comparators):
                out.append(self.compare(left, op, right))
                left = right
            return and_(*out) if len(out) > 1 else out[0]
        if isinstance(node, ast.Call):
            return self.value(node)  # type: ignore[return-value]
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return true() if node.value else false()
        value = self.value(node)
        return value == true()  # a boolean field

    def _temporal(self, node: ast.expr) -> str | None:
        path = _dotted(node)
        return self.ctx.temporal(path) if path and not path.startswith("current_user") and path not in _LITERALS else None

    def compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> ColumnElement[bool]:
        if isinstance(op, (ast.In, ast.NotIn)):
            if isinstance(right, ast.List):
                kind = self._temporal(left)
                values = [self.constant(e, kind) for e in right.elts]
                column = self.value(left)
                return column.in_(values) if isinstance(op, ast.In) else or_(column.not_in(values), column.is_(None))
            needle = self.value(left)
            haystack = self.value(right)
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                found = haystack.contains(left.value, autoescape=True)
                return found if isinstance(op, ast.In) else or_(not_(found), haystack.is_(None))
            raise ExprError("'in' needs a list [..] or a text on its left", getattr(right, "col_offset", 0) + 1)
        kind = self._temporal(left) or self._temporal(right)
        a = self.operand(left, kind)
        b = self.operand(right, kind)
        if isinstance(op, (ast.Eq, ast.NotEq)) and (_is_null(left) or _is_null(right)):
            other = b if _is_null(left) else a
            return other.is_(None) if isinstance(op, ast.Eq) else other.is_not(None)
        if isinstance(op, ast.Eq):
            return a == b
        if isinstance(op, ast.NotEq):
            return a.is_distinct_from(b)
        table = {ast.Lt: sql_ops.lt, ast.LtE: sql_ops.le, ast.Gt: sql_ops.gt, ast.GtE: sql_ops.ge}
        return table[type(op)](a, b)  # type: ignore[no-any-return]

    def operand(self, node: ast.expr, kind: str | None) -> Any:
        if isinstance(node, ast.Constant):
            return self.constant(node, kind)
        return self.value(node)

    def constant(self, node: ast.expr, kind: str | None) -> Any:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -self.constant(node.operand, kind)
        if isinstance(node, ast.Name) and node.id in _LITERALS:
            return _LITERALS[node.id]
        if not isinstance(node, ast.Constant):
            return self.value(node)
        value = node.value
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)):
            return Decimal(str(value))
        if kind and isinstance(value, str):
            try:
                return date.fromisoformat(value) if kind == "date" else datetime.fromisoformat(value)
            except ValueError:
                raise ExprError(f"'{value}' is not a {kind}", node.col_offset + 1) from None
        return value

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return literal(self.constant(node, None)) if node.value is not None else null()
        if isinstance(node, ast.Name) and node.id in _LITERALS:
            value = _LITERALS[node.id]
            return null() if value is None else literal(value)
        if isinstance(node, (ast.Name, ast.Attribute)):
            path = _dotted(node) or ""
            if path.startswith("current_user."):
                attr = path.split(".")[1]
                return bindparam(f"cu_{attr}", self.ctx.user.get(attr))
            return self.ctx.column(path)
        if isinstance(node, ast.UnaryOp):
            inner = self.value(node.operand)
            if isinstance(node.op, ast.Not):
                return not_(inner)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            a, b = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]
            if name == "TODAY" and not node.args:
                return literal(self.ctx.today)
            if name == "ISBLANK" and len(node.args) == 1:
                inner = self.value(node.args[0])
                return inner.is_(None)
            raise ExprError(f"{name}() takes {'no' if name == 'TODAY' else 'one'} argument", node.col_offset + 1)
        if isinstance(node, ast.BoolOp | ast.Compare):
            return self.cond(node)
        raise ExprError(f"{type(node).__name__} is not supported here", getattr(node, "col_offset", 0) + 1)


def _is_null(node: ast.expr) -> bool:
    return (isinstance(node, ast.Constant) and node.value is None) or (
        isinstance(node, ast.Name) and node.id in ("null", "None"))


def formula_sql(parsed: Parsed, measure: Callable[[str], Any]) -> Any:
    """The SQL of a formula over measures; ``measure(key)`` gives each measure's value expression."""

    def walk(node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return literal(Decimal(str(node.value)))
        if isinstance(node, ast.Name):
            return measure(node.id)
        if isinstance(node, ast.UnaryOp):
            inner = walk(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            a, b = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            from sqlalchemy import func

            return a / func.nullif(b, 0)
        raise ExprError(f"{type(node).__name__} is not supported in a formula")

    return walk(parsed.tree)
