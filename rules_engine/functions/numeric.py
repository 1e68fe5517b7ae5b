"""Number functions: ROUND, ROUNDUP, ROUNDDOWN, ROUNDMONEY, ABS, MOD, POWER.

ROUND rounds half away from zero (Excel's rule, the "half-up" of money), ROUNDUP away from zero and ROUNDDOWN
towards zero. Negative digits round to tens, hundreds, ...
"""
from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from ..expr import operators
from .args import number, whole
from .registry import function

#: Most decimal places (or, negative, tens) a rounding may ask for.
MAX_DIGITS = 30


def round_to(value: Decimal, digits: int, rounding: str) -> Decimal:
    """``value`` rounded to ``digits`` decimal places with a ``decimal`` rounding mode."""
    result = value.quantize(Decimal(1).scaleb(-digits), rounding=rounding)
    return result.quantize(Decimal(1)) if digits < 0 else result


def _rounder(name: str, rounding: str) -> Any:
    def run(value: Any, digits: Any = None) -> Decimal | None:
        x = number(value, name)
        places = 0 if digits is None else whole(digits, name, -MAX_DIGITS, MAX_DIGITS)
        return None if x is None else round_to(x, places, rounding)
    return run


function("ROUND", ["number", "number"], min_args=1, returns="number", category="math",
         doc="Rounds to a number of decimal places (default 0), halves away from zero.",
         example="ROUND(amount * rate, 2)")(_rounder("ROUND", ROUND_HALF_UP))
function("ROUNDUP", ["number", "number"], min_args=1, returns="number", category="math",
         doc="Rounds away from zero to a number of decimal places (default 0).",
         example="ROUNDUP(hours, 0)")(_rounder("ROUNDUP", ROUND_UP))
function("ROUNDDOWN", ["number", "number"], min_args=1, returns="number", category="math",
         doc="Rounds towards zero to a number of decimal places (default 0).",
         example="ROUNDDOWN(score / 10, 0)")(_rounder("ROUNDDOWN", ROUND_DOWN))


@function("ROUNDMONEY", ["number", "number"], min_args=1, returns="money", category="math",
          doc="Rounds a money amount half-up to the currency's minor unit (2 places unless given).",
          example="ROUNDMONEY(price * qty * 1.13)")
def roundmoney(value: Any, places: Any = None) -> Decimal | None:
    x = number(value, "ROUNDMONEY")
    digits = 2 if places is None else whole(places, "ROUNDMONEY", 0, 8)
    return None if x is None else round_to(x, digits, ROUND_HALF_UP)


@function("ABS", ["number"], returns="number", category="math", doc="The absolute value.", example="ABS(balance)")
def abs_(value: Any) -> Decimal | None:
    x = number(value, "ABS")
    return None if x is None else abs(x)


@function("MOD", ["number", "number"], returns="number", category="math",
          doc="The remainder of a division, with the sign of the divisor (as Excel).", example="MOD(term, 12)")
def mod(value: Any, divisor: Any) -> Decimal | None:
    return operators.mod(number(value, "MOD"), number(divisor, "MOD"))


@function("POWER", ["number", "number"], returns="number", category="math",
          doc="A number raised to a power (the exponent is bounded).", example="POWER(1 + rate, 12)")
def power(value: Any, exponent: Any) -> Decimal | None:
    return operators.power(number(value, "POWER"), number(exponent, "POWER"))
