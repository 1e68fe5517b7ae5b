"""Operators for operands whose types are only known at run time, and the translation of Python exceptions.

The compiler inlines operators when both operand types are known (numbers with numbers); everything else goes
through these functions, which check the operand types and apply the blank rule: an arithmetic operator with a
blank (None) operand gives blank.
"""
from __future__ import annotations

import decimal
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..errors import EvalError
from ..limits import MAX_DAY_SPAN, MAX_EXPONENT, MAX_LIST_ITEMS, MAX_TEXT_LENGTH
from ..values import format_number

_ONE_DAY_SECONDS = Decimal(86400)


def _days(number: Decimal) -> timedelta:
    if abs(number) > MAX_DAY_SPAN:
        raise EvalError(f"a date moves by at most {MAX_DAY_SPAN} days", "date_out_of_range")
    return timedelta(days=float(number)) if number != number.to_integral_value() else timedelta(days=int(number))


def add(a: Any, b: Any) -> Any:
    """``a + b``: numbers, text joined to text, a date plus days."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is Decimal and tb is Decimal:
        return a + b
    if ta is str and tb is str:
        return concat_checked(a, b)
    if isinstance(a, date) and tb is Decimal:
        return a + _days(b)
    if ta is Decimal and isinstance(b, date):
        return b + _days(a)
    raise EvalError(f"cannot add {kind(a)} and {kind(b)}", "type_error")


def sub(a: Any, b: Any) -> Any:
    """``a - b``: numbers, a date minus days, the days between two dates."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is Decimal and tb is Decimal:
        return a - b
    if isinstance(a, date) and tb is Decimal:
        return a - _days(b)
    if isinstance(a, datetime) and isinstance(b, datetime):
        delta = a - b
        return Decimal(delta.days) + Decimal(delta.seconds) / _ONE_DAY_SECONDS
    if ta is date and tb is date:
        return Decimal((a - b).days)
    raise EvalError(f"cannot subtract {kind(b)} from {kind(a)}", "type_error")


def _numbers(a: Any, b: Any, op: str) -> None:
    if type(a) is not Decimal or type(b) is not Decimal:
        raise EvalError(f"operator {op} needs numbers, got {kind(a)} and {kind(b)}", "type_error")


def mul(a: Any, b: Any) -> Any:
    """``a * b`` on numbers only (text is never repeated)."""
    if a is None or b is None:
        return None
    _numbers(a, b, "*")
    return a * b


def div(a: Any, b: Any) -> Any:
    """``a / b``; dividing by zero is ``division_by_zero``."""
    if a is None or b is None:
        return None
    _numbers(a, b, "/")
    if not b:
        raise EvalError("division by zero", "division_by_zero")
    return a / b


def floordiv(a: Any, b: Any) -> Any:
    """``a // b``: the quotient rounded down."""
    if a is None or b is None:
        return None
    _numbers(a, b, "//")
    if not b:
        raise EvalError("division by zero", "division_by_zero")
    return (a / b).to_integral_value(rounding=decimal.ROUND_FLOOR)


def mod(a: Any, b: Any) -> Any:
    """``a % b``: the remainder with the sign of the divisor (as Excel's MOD and Python's int)."""
    if a is None or b is None:
        return None
    _numbers(a, b, "%")
    if not b:
        raise EvalError("division by zero", "division_by_zero")
    return a - b * (a / b).to_integral_value(rounding=decimal.ROUND_FLOOR)


def power(a: Any, b: Any) -> Any:
    """``a ** b`` with the exponent bounded by ``MAX_EXPONENT``."""
    if a is None or b is None:
        return None
    _numbers(a, b, "**")
    if abs(b) > MAX_EXPONENT:
        raise EvalError(f"exponent {format_number(b) if abs(b.adjusted()) < 20 else b} is larger than "
                        f"{MAX_EXPONENT}", "number_too_large")
    if b == b.to_integral_value():
        return a ** int(b)
    return a ** b


def neg(a: Any) -> Any:
    """``-a``."""
    if a is None:
        return None
    if type(a) is not Decimal:
        raise EvalError(f"cannot negate {kind(a)}", "type_error")
    return -a


def pos(a: Any) -> Any:
    """``+a``."""
    if a is None:
        return None
    if type(a) is not Decimal:
        raise EvalError(f"unary + needs a number, got {kind(a)}", "type_error")
    return a


def concat(a: Any, b: Any) -> str:
    """``a & b``: both sides as text, blank as empty text."""
    return concat_checked(as_text(a), as_text(b))


def concat_checked(a: str, b: str) -> str:
    """Join two texts, refusing results longer than the sandbox allows."""
    if len(a) + len(b) > MAX_TEXT_LENGTH:
        raise EvalError(f"text longer than {MAX_TEXT_LENGTH} characters", "too_large")
    return a + b


def as_text(value: Any) -> str:
    """Any value as text, blank as empty text (the ``&`` and CONCAT rule)."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    if type(value) is Decimal:
        return format_number(value) or ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise EvalError(f"cannot use {kind(value)} as text", "type_error")


def contains(item: Any, container: Any) -> bool:
    """``item in container``: a list holds the item, or a text holds the text."""
    if container is None or item is None:
        return False
    if type(container) is str:
        if type(item) is not str:
            raise EvalError(f"'in' text needs text on the left, got {kind(item)}", "type_error")
        return item in container
    if isinstance(container, list):
        return item in container
    raise EvalError(f"'in' needs a list or text on the right, got {kind(container)}", "type_error")


def index(value: Any, position: int) -> Any:
    """``value[position]`` on a list or text; outside the list gives blank."""
    if value is None:
        return None
    if isinstance(value, (list, str)):
        try:
            return value[position]
        except IndexError:
            return None
    raise EvalError(f"cannot index {kind(value)}", "type_error")


def make_list(items: list[Any]) -> list[Any]:
    """A list literal's value (bounded by the expression length already)."""
    if len(items) > MAX_LIST_ITEMS:
        raise EvalError(f"list longer than {MAX_LIST_ITEMS} items", "too_large")
    return items


def kind(value: Any) -> str:
    """A short description of a value's type, for messages."""
    if value is None:
        return "blank"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, list):
        return "list"
    return "record" if hasattr(value, "get") else type(value).__name__


def translate(exc: BaseException, source: str) -> EvalError:
    """Turn any exception raised inside an evaluation into an ``EvalError`` with a code."""
    if isinstance(exc, EvalError):
        return exc
    where = f" in {source[:80]!r}" if source else ""
    if isinstance(exc, (decimal.DivisionByZero, ZeroDivisionError)):
        return EvalError(f"division by zero{where}", "division_by_zero")
    if isinstance(exc, decimal.Overflow):
        return EvalError(f"number too large{where}", "number_too_large")
    if isinstance(exc, decimal.InvalidOperation):
        return EvalError(f"invalid arithmetic (such as a root of a negative number){where}", "invalid_operation")
    if isinstance(exc, OverflowError):
        return EvalError(f"date or number out of range{where}", "out_of_range")
    if isinstance(exc, (TypeError, AttributeError)):
        return EvalError(f"values of the wrong type{where}", "type_error")
    if isinstance(exc, RecursionError):
        return EvalError(f"expression too complex{where}", "too_complex")
    if isinstance(exc, MemoryError):
        return EvalError(f"result too large{where}", "too_large")
    if isinstance(exc, ValueError):
        return EvalError(f"invalid value{where}: {str(exc)[:120]}", "invalid_value")
    return EvalError(f"evaluation failed{where}: {type(exc).__name__}", "eval_error")


def record_id(value: Any) -> Any:
    """A relation's value as its record id: a loaded related record gives its ``id``; an id stays an id."""
    if value is None:
        return None
    if hasattr(value, "get"):
        return value.get("id")
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def same_record(left: Any, right: Any) -> bool:
    """``customer.team == team``: two relations (or a relation and an id) name the same record."""
    return record_id(left) == record_id(right)


def decide(env: Any, table: Any, output: str, args: tuple[Any, ...]) -> Any:
    """``DECIDE``: evaluate a decision table with positional inputs and give one output."""
    decision = table.evaluate({spec.key: value for spec, value in zip(table.inputs, args)}, env)
    result = decision.result
    if table.aggregation or result is None:
        return result
    return result.get(output)
