"""Text functions: LEN, LEFT, RIGHT, MID, CONCAT, TEXT, UPPER, LOWER, CONTAINS, STARTSWITH.

Arguments that are numbers, booleans or dates are converted to text; blank is empty text. No function can produce
text longer than ``MAX_TEXT_LENGTH``.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..errors import EvalError
from ..expr.operators import kind
from ..limits import MAX_TEXT_LENGTH
from ..values import check_text
from .args import flatten, text, whole
from .registry import function

_DATE_TOKENS = re.compile(r"yyyy|yy|mm|dd|hh|ss")


@function("LEN", ["text"], returns="integer", category="text",
          doc="The number of characters (numbers and dates are measured as text).", example="LEN(name)")
def len_(value: Any) -> Decimal:
    return Decimal(len(text(value)))


@function("LEFT", ["text", "number"], min_args=1, returns="text", category="text",
          doc="The first characters (one by default).", example="LEFT(code, 3)")
def left(value: Any, count: Any = None) -> str:
    n = 1 if count is None else whole(count, "LEFT", 0, MAX_TEXT_LENGTH)
    return text(value)[:n]


@function("RIGHT", ["text", "number"], min_args=1, returns="text", category="text",
          doc="The last characters (one by default).", example="RIGHT(phone, 4)")
def right(value: Any, count: Any = None) -> str:
    n = 1 if count is None else whole(count, "RIGHT", 0, MAX_TEXT_LENGTH)
    whole_text = text(value)
    return whole_text[len(whole_text) - n:] if n else ""


@function("MID", ["text", "number", "number"], returns="text", category="text",
          doc="Characters from a 1-based start position, as many as asked.", example="MID(code, 4, 2)")
def mid(value: Any, start: Any, count: Any) -> str:
    first = whole(start, "MID", 1, MAX_TEXT_LENGTH + 1)
    n = whole(count, "MID", 0, MAX_TEXT_LENGTH)
    return text(value)[first - 1:first - 1 + n]


@function("CONCAT", ["any"], max_args=None, returns="text", iterates=True, category="text",
          doc="Joins the values as text (lists item by item); blanks add nothing.",
          example='CONCAT(first_name, " ", last_name)')
def concat(deadline: float, *values: Any) -> str:
    parts, size = [], 0
    for value in flatten(values, deadline, "CONCAT"):
        piece = text(value)
        size += len(piece)
        if size > MAX_TEXT_LENGTH:
            raise EvalError(f"text longer than {MAX_TEXT_LENGTH} characters", "too_large")
        parts.append(piece)
    return "".join(parts)


@function("TEXT", ["any", "text"], min_args=1, returns="text", category="text",
          doc='A value as text, with an optional format: "0.00", "#,##0.00", "0%", "yyyy-mm-dd", "hh:mm".',
          example='TEXT(amount, "#,##0.00")')
def text_(value: Any, pattern: Any = None) -> str:
    if pattern is None or value is None:
        return text(value)
    if not isinstance(pattern, str) or len(pattern) > 100:
        raise EvalError("TEXT needs a short format text", "type_error")
    if type(value) is Decimal:
        return _format_number(value, pattern)
    if isinstance(value, (date, datetime)):
        return _format_date(value, pattern)
    return text(value)


def _format_number(value: Decimal, pattern: str) -> str:
    percent = pattern.endswith("%")
    core = pattern.rstrip("%")
    if percent:
        value = value * 100
    places = len(core.split(".", 1)[1]) if "." in core else 0
    if abs(value.adjusted()) > 60:
        raise EvalError("TEXT: number too large to format", "too_large")
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    out = f"{rounded:,.{places}f}" if "," in core else f"{rounded:.{places}f}"
    return out + ("%" if percent else "")


def _format_date(value: date, pattern: str) -> str:
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    out, last, after_hour = [], 0, False
    for match in _DATE_TOKENS.finditer(pattern.lower()):
        out.append(pattern[last:match.start()])
        token = match.group()
        if token == "mm" and after_hour:
            out.append(f"{moment.minute:02d}")
        else:
            out.append({"yyyy": f"{moment.year:04d}", "yy": f"{moment.year % 100:02d}", "mm": f"{moment.month:02d}",
                        "dd": f"{moment.day:02d}", "hh": f"{moment.hour:02d}", "ss": f"{moment.second:02d}"}[token])
        after_hour = token == "hh" or (after_hour and token == "mm")
        last = match.end()
    out.append(pattern[last:])
    return "".join(out)


@function("UPPER", ["text"], returns="text", category="text", doc="The text in capitals.", example="UPPER(code)")
def upper(value: Any) -> str:
    return check_text(text(value).upper())


@function("LOWER", ["text"], returns="text", category="text", doc="The text in small letters.",
          example="LOWER(email)")
def lower(value: Any) -> str:
    return check_text(text(value).lower())


@function("CONTAINS", ["text", "text"], returns="boolean", category="text",
          doc="True when the text contains the part (case-sensitive).", example='CONTAINS(note, "urgent")')
def contains(value: Any, part: Any) -> bool:
    if value is None:
        return False
    return text(part) in text(value)


@function("STARTSWITH", ["text", "text"], returns="boolean", category="text",
          doc="True when the text begins with the prefix.", example='STARTSWITH(code, "INV-")')
def startswith(value: Any, prefix: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, list):
        raise EvalError(f"STARTSWITH needs text, got {kind(value)}", "type_error")
    return text(value).startswith(text(prefix))
