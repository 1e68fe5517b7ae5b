"""Helpers for 18-digit PRC resident identity numbers (GB 11643): IDCARD_VALID, IDCARD_BIRTHDATE, IDCARD_AGE,
IDCARD_SEX.

Digits 7-14 hold the birth date, digit 17 the sex (odd: male, even: female) and the 18th is an ISO 7064 MOD 11-2
check character (``0-9`` or ``X``). The reading functions give blank for a number that is not valid, so a form can
show "invalid" through IDCARD_VALID while computed fields stay empty.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ..env import Env
from .args import day, text
from .registry import function

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """The check character for the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def parse_id(value: Any) -> tuple[str, date] | None:
    """The normalised number and birth date of a valid 18-digit ID number, else None."""
    if value is None:
        return None
    number = text(value).strip().upper()
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return None
    if check_character(number[:17]) != number[17]:
        return None
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    if born.year < 1800:
        return None
    return number, born


@function("IDCARD_VALID", ["text"], returns="boolean", category="idcard",
          doc="True when the text is a well-formed 18-digit ID number with a real birth date and a correct check "
              "character.", example="IDCARD_VALID(id_number)")
def idcard_valid(value: Any) -> bool:
    return parse_id(value) is not None


@function("IDCARD_BIRTHDATE", ["text"], returns="date", category="idcard",
          doc="The birth date written in an ID number; blank when the number is not valid.",
          example="IDCARD_BIRTHDATE(id_number)")
def idcard_birthdate(value: Any) -> date | None:
    parsed = parse_id(value)
    return None if parsed is None else parsed[1]


@function("IDCARD_AGE", ["text", "date"], min_args=1, returns="integer", needs_env=True, category="idcard",
          doc="Age in whole years from an ID number, as of TODAY() (or the date given); blank when not valid.",
          example="IDCARD_AGE(id_number)")
def idcard_age(env: Env, value: Any, as_of: Any = None) -> Decimal | None:
    parsed = parse_id(value)
    if parsed is None:
        return None
    born = parsed[1]
    when = env.today() if as_of is None else day(as_of, "IDCARD_AGE")
    if when is None:
        return None
    years = when.year - born.year - ((when.month, when.day) < (born.month, born.day))
    return Decimal(max(years, 0))


@function("IDCARD_SEX", ["text"], returns="text", category="idcard",
          doc='"male" or "female" from the 17th digit of an ID number; blank when not valid.',
          example="IDCARD_SEX(id_number)")
def idcard_sex(value: Any) -> str | None:
    parsed = parse_id(value)
    if parsed is None:
        return None
    return "male" if int(parsed[0][16]) % 2 else "female"
