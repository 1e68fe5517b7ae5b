"""Aggregates over lists (sub-table columns such as ``items.amount``) and plain arguments.

Blank items are skipped, as in Excel. COUNTIF and SUMIF take an Excel criterion: ``">5"``, ``"<=10"``,
``"<>closed"``, ``"=open"``, ``"open"`` (equality, ``*`` and ``?`` wildcards, case-insensitive) or a number.
"""
from __future__ import annotations

import fnmatch
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from ..errors import EvalError
from ..expr.operators import kind
from ..expr.types import is_list, item_type, merge
from .args import check_deadline, flatten, items, numbers, DEADLINE_STRIDE
from .registry import function

_CRITERION = re.compile(r"^\s*(<=|>=|<>|!=|==|=|<|>)?\s*(.*?)\s*$", re.S)


@function("SUM", ["numbers"], max_args=None, rest="numbers", returns="number", iterates=True, category="aggregate",
          doc="The total of the numbers given (lists are added up item by item).", example="SUM(items.amount)")
def sum_(deadline: float, *values: Any) -> Decimal:
    return sum(numbers(values, deadline, "SUM"), Decimal(0))


@function("AVERAGE", ["numbers"], max_args=None, rest="numbers", returns="number", iterates=True,
          category="aggregate", doc="The mean of the numbers given; blank when there are none.",
          example="AVERAGE(items.price)")
def average(deadline: float, *values: Any) -> Decimal | None:
    found = numbers(values, deadline, "AVERAGE")
    return sum(found, Decimal(0)) / len(found) if found else None


def _extreme(name: str, pick: Callable[..., Any]) -> Callable[..., Any]:
    def run(deadline: float, *values: Any) -> Any:
        found = [v for v in flatten(values, deadline, name) if v is not None]
        if not found:
            return None
        try:
            return pick(found)
        except TypeError:
            raise EvalError(f"{name} needs values of one kind (all numbers, all dates or all text)",
                            "type_error") from None
    return run


def _same_type(types: Any) -> str:
    return merge([item_type(t) if is_list(t) else t for t in types])


function("MIN", ["any"], max_args=None, returns=_same_type, iterates=True, category="aggregate",
         doc="The smallest of the values given (numbers, dates or text); blank when there are none.",
         example="MIN(items.price)")(_extreme("MIN", min))
function("MAX", ["any"], max_args=None, returns=_same_type, iterates=True, category="aggregate",
         doc="The largest of the values given (numbers, dates or text); blank when there are none.",
         example="MAX(items.due)")(_extreme("MAX", max))


@function("COUNT", ["countable"], max_args=None, rest="countable", returns="integer", iterates=True,
          category="aggregate", doc="How many non-blank items (or sub-table rows) there are.",
          example="COUNT(items)")
def count(deadline: float, *values: Any) -> Decimal:
    return Decimal(sum(1 for v in flatten(values, deadline, "COUNT") if v is not None))


def criterion(test: Any) -> Callable[[Any], bool]:
    """An Excel criterion as a predicate on one value."""
    if test is None:
        return lambda v: v is None
    if type(test) is Decimal or isinstance(test, bool):
        return lambda v: v == test
    if not isinstance(test, str):
        raise EvalError(f"a criterion must be text or a number, got {kind(test)}", "type_error")
    match = _CRITERION.match(test)
    op, operand = (match.group(1) or "=", match.group(2)) if match else ("=", test)
    op = {"==": "=", "!=": "<>"}.get(op, op)
    try:
        number = Decimal(operand.replace(",", "")) if operand else None
    except InvalidOperation:
        number = None
    if number is not None and number.is_finite():
        target = number
        compare = {
            "=": lambda v: type(v) is Decimal and v == target,
            "<>": lambda v: not (type(v) is Decimal and v == target),
            "<": lambda v: type(v) is Decimal and v < target,
            "<=": lambda v: type(v) is Decimal and v <= target,
            ">": lambda v: type(v) is Decimal and v > target,
            ">=": lambda v: type(v) is Decimal and v >= target,
        }
        return compare[op]
    pattern = operand.lower()
    if op in ("=", "<>"):
        wild = "*" in pattern or "?" in pattern

        def equal(v: Any) -> bool:
            if v is None:
                return pattern == ""
            text = str(v).lower() if not isinstance(v, str) else v.lower()
            return fnmatch.fnmatchcase(text, pattern) if wild else text == pattern

        return equal if op == "=" else (lambda v: not equal(v))
    ordered = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
               ">=": lambda a, b: a >= b}[op]
    return lambda v: isinstance(v, str) and ordered(v.lower(), pattern)


@function("COUNTIF", ["list", "criterion"], returns="integer", iterates=True, category="aggregate",
          doc='How many items meet the criterion, e.g. ">5", "<>closed", "open*".',
          example='COUNTIF(items.qty, ">5")')
def countif(deadline: float, values: Any, test: Any) -> Decimal:
    check = criterion(test)
    total = 0
    for position, value in enumerate(items(values, "COUNTIF")):
        if position % DEADLINE_STRIDE == 0:
            check_deadline(deadline, "COUNTIF")
        total += check(value)
    return Decimal(total)


@function("SUMIF", ["list", "criterion", "list"], min_args=2, returns="number", iterates=True,
          category="aggregate",
          doc="The total of the items (or of the matching items of the third list) whose value meets the criterion.",
          example='SUMIF(items.kind, "service", items.amount)')
def sumif(deadline: float, values: Any, test: Any, to_add: Any = None) -> Decimal:
    check = criterion(test)
    tested = items(values, "SUMIF")
    added = tested if to_add is None else items(to_add, "SUMIF")
    total = Decimal(0)
    for position, (value, amount) in enumerate(zip(tested, added)):
        if position % DEADLINE_STRIDE == 0:
            check_deadline(deadline, "SUMIF")
        if check(value) and amount is not None:
            if type(amount) is not Decimal:
                raise EvalError(f"SUMIF adds numbers, got {kind(amount)}", "type_error")
            total += amount
    return total
