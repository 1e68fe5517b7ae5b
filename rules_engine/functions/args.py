"""Run-time checks of function arguments (static types catch most mistakes; ``any`` values are checked here)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from time import monotonic
from typing import Any, Iterable, Iterator

from ..errors import EvalError
from ..expr.operators import as_text, kind
from ..limits import MAX_LIST_ITEMS
from ..values import to_date

#: How many items an iterating function handles between two deadline checks.
DEADLINE_STRIDE = 512


def number(value: Any, fn: str) -> Decimal | None:
    """A number argument (blank stays blank)."""
    if value is None or type(value) is Decimal:
        return value
    raise EvalError(f"{fn} needs a number, got {kind(value)}", "type_error")


def whole(value: Any, fn: str, low: int, high: int) -> int:
    """A whole-number argument within ``[low, high]`` (checked before converting, so huge values stay cheap)."""
    if type(value) is not Decimal:
        raise EvalError(f"{fn} needs a whole number, got {kind(value)}", "type_error")
    if not low <= value <= high:
        raise EvalError(f"{fn}: {value} is outside {low}..{high}", "out_of_range")
    return int(value)


def text(value: Any) -> str:
    """A text argument; numbers, booleans and dates are converted, blank is empty text."""
    return as_text(value)


def day(value: Any, fn: str) -> date | None:
    """A date argument (datetime gives its date, ISO text is parsed, blank stays blank)."""
    if value is None or type(value) is date:
        return value
    if isinstance(value, (date, datetime, str)):
        return to_date(value)
    raise EvalError(f"{fn} needs a date, got {kind(value)}", "type_error")


def items(value: Any, fn: str) -> list[Any]:
    """A list argument (blank is an empty list)."""
    if value is None:
        return []
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            raise EvalError(f"{fn}: list longer than {MAX_LIST_ITEMS} items", "too_large")
        return value
    raise EvalError(f"{fn} needs a list, got {kind(value)}", "type_error")


def flatten(values: Iterable[Any], deadline: float, fn: str) -> Iterator[Any]:
    """Arguments with lists spread out, checking the evaluation deadline while iterating."""
    count = 0
    for value in values:
        if isinstance(value, list):
            for item in items(value, fn):
                count += 1
                if count % DEADLINE_STRIDE == 0:
                    check_deadline(deadline, fn)
                yield item
        else:
            yield value


def numbers(values: Iterable[Any], deadline: float, fn: str) -> list[Decimal]:
    """The numbers among ``values`` (lists spread out); blanks skipped, anything else refused."""
    out = []
    for item in flatten(values, deadline, fn):
        if item is None:
            continue
        if type(item) is not Decimal:
            raise EvalError(f"{fn} needs numbers, got {kind(item)}", "type_error")
        out.append(item)
    return out


def check_deadline(deadline: float, fn: str) -> None:
    """Stop the evaluation when its time budget is spent."""
    if monotonic() > deadline:
        raise EvalError(f"{fn}: evaluation time budget exceeded", "timeout")
