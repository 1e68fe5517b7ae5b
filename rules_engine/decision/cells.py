"""Decision-table cells: the text of one input condition or output value, parsed once into Python code.

Input cells (``v`` is the input's value):

    -                   any value (also an empty cell)
    >= 750, < 10, != x  a comparison
    [600..750)          a range; ``[`` ``]`` include the end, ``(`` ``)`` (or outward ``]`` ``[``) exclude it
    A, B, "C D"         one of several values
    not(A, B)           none of them (also ``not(>= 5)``, ``not([1..3])``)
    750, retail, true   equality with one value; ``null`` matches a blank input
    = ? > income / 2    an expression: ``?`` is this input, other inputs by key; without ``?`` the input must
                        equal the expression's value

A blank input matches only ``-``, ``null`` and expressions that accept it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ..scope import NUMBER_TYPES

#: Internal name that stands for ``?`` inside expression cells.
CELL_NAME = "CELL_VALUE_"
_RANGE = re.compile(r"^([\[\(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\]\)\[])$", re.S)
_COMPARE = re.compile(r"^(<=|>=|!=|<>|==|=|<|>)\s*(.+)$", re.S)
_ORDER_TYPES = NUMBER_TYPES | {"date", "datetime", "text", "any"}


class CellError(ValueError):
    """A cell that cannot be read; the message says why."""


@dataclass(frozen=True)
class Cell:
    """One parsed input cell.

    Attributes:
        text: the cell as written.
        kind: ``any``, ``compare``, ``range``, ``list``, ``value``, ``not``, ``expr``.
        code: Python code over the placeholder ``{x}`` (None for ``any``; expression cells fill it later).
        constants: literal values the code refers to as ``{k0}``, ``{k1}`` ...
        expression: the expression text of an ``expr`` cell, with ``?`` replaced by ``CELL_VALUE_``.
    """

    text: str
    kind: str
    code: str | None
    constants: tuple[Any, ...] = ()
    expression: str | None = None


def literal(text: str, kind: str) -> Any:
    """A literal cell value of the given input/output type."""
    raw = text.strip()
    if raw in ("null", "None"):
        return None
    quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'"
    if kind in NUMBER_TYPES:
        try:
            value = Decimal(raw.replace("_", ""))
        except InvalidOperation:
            raise CellError(f"{raw!r} is not a number") from None
        if not value.is_finite():
            raise CellError(f"{raw!r} is not a number")
        return value
    if kind in ("date", "datetime"):
        inner = raw[1:-1] if quoted else raw
        if inner.startswith("date(") and inner.endswith(")"):
            inner = inner[5:-1].strip().strip("\"'")
        try:
            return date.fromisoformat(inner)
        except ValueError:
            raise CellError(f"{raw!r} is not a date (use 2024-12-31)") from None
    if kind == "boolean":
        low = raw.lower()
        if low in ("true", "yes"):
            return True
        if low in ("false", "no"):
            return False
        raise CellError(f"{raw!r} is not true or false")
    if quoted:
        return raw[1:-1]
    if kind == "any":
        try:
            return Decimal(raw)
        except InvalidOperation:
            pass
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
    return raw


def split_list(text: str) -> list[str]:
    """Split ``A, B, "C, D"`` at commas outside quotes."""
    parts, current, quote = [], [], ""
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if quote:
        raise CellError("unclosed quote")
    parts.append("".join(current).strip())
    if any(not p for p in parts):
        raise CellError("empty item in a list")
    return parts


def _has_placeholder(text: str) -> bool:
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "?":
            return True
    return False


def _replace_placeholder(text: str) -> str:
    out, quote = [], ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
            out.append(ch)
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        else:
            out.append(CELL_NAME if ch == "?" else ch)
    return "".join(out)


def parse_input_cell(value: Any, kind: str) -> Cell:
    """Parse one input cell for an input of type ``kind``."""
    if value is None:
        return Cell("-", "any", None)
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise CellError("a cell must be text, a number or a boolean")
    text = value.strip()
    if text in ("", "-"):
        return Cell(value, "any", None)
    if text.startswith("=") and not text.startswith("=="):
        return _expression_cell(value, text[1:].strip())
    if _has_placeholder(text):
        return _expression_cell(value, text)
    low = text.lower()
    if low.startswith("not(") and text.endswith(")"):
        inner = parse_input_cell(text[4:-1], kind)
        if inner.kind in ("any", "not", "expr"):
            raise CellError("not(...) takes values, a comparison or a range")
        return Cell(value, "not", "({x} is not None and not " + inner.code + ")", inner.constants)  # type: ignore
    match = _RANGE.match(text)
    if match:
        if kind not in _ORDER_TYPES:
            raise CellError(f"a range needs a number, date or text input, not {kind}")
        low_v, high_v = literal(match.group(2), kind), literal(match.group(3), kind)
        if low_v is None or high_v is None:
            raise CellError("a range needs two values")
        if low_v > high_v:
            raise CellError(f"the range starts after it ends: {text}")
        left = "<=" if match.group(1) == "[" else "<"
        right = "<=" if match.group(4) == "]" else "<"
        return Cell(value, "range", f"({{x}} is not None and {{k0}} {left} {{x}} {right} {{k1}})", (low_v, high_v))
    match = _COMPARE.match(text)
    if match:
        op = {"<>": "!=", "=": "==", "==": "=="}.get(match.group(1), match.group(1))
        operand = literal(match.group(2), kind)
        if operand is None:
            return Cell(value, "value", "({x} is None)" if op == "==" else "({x} is not None)")
        if op in ("<", "<=", ">", ">=") and kind not in _ORDER_TYPES:
            raise CellError(f"{op} needs a number, date or text input, not {kind}")
        return Cell(value, "compare", f"({{x}} is not None and {{x}} {op} {{k0}})", (operand,))
    items = split_list(text) if "," in text else [text]
    values = tuple(literal(item, kind) for item in items)
    if len(values) == 1:
        if values[0] is None:
            return Cell(value, "value", "({x} is None)")
        return Cell(value, "value", "({x} == {k0})", values)
    return Cell(value, "list", "({x} in {k0})", (tuple(values),))


def _expression_cell(value: str, expression: str) -> Cell:
    if not expression:
        raise CellError("empty expression after '='")
    return Cell(value, "expr", None, (), _replace_placeholder(expression))


def parse_output_cell(value: Any, kind: str) -> tuple[Any, str | None]:
    """An output cell: ``(literal value, None)`` or ``(None, expression text)`` for ``= expr`` cells."""
    if isinstance(value, str) and value.strip().startswith("=") and not value.strip().startswith("=="):
        return None, value.strip()[1:].strip()
    if value is None:
        return None, None
    if isinstance(value, bool):
        if kind not in ("boolean", "any"):
            raise CellError(f"{value!r} is not a {kind}")
        return value, None
    return literal(str(value), kind), None
