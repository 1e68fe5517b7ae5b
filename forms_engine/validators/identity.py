"""PRC resident identity card numbers (GB 11643-1999) and unified social credit codes (GB 32100-2015)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from forms_engine.validators import InvalidValue

__all__ = [
    "CREDIT_CODE_CHARSET",
    "IdCardInfo",
    "age_on",
    "credit_code_check_char",
    "idcard_check_digit",
    "idcard_info",
    "normalise_credit_code",
    "normalise_idcard",
]

IDCARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
IDCARD_CHECK_DIGITS = "10X98765432"
# First two digits: provinces of GB/T 2260, plus 83 (residence permits for residents of Taiwan).
IDCARD_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82 83".split()
)
IDCARD_EARLIEST_BIRTH = date(1900, 1, 1)
_IDCARD_SHAPE = re.compile(r"[0-9]{17}[0-9X]")

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_CODE_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")


@dataclass(frozen=True, slots=True)
class IdCardInfo:
    """Facts encoded in a resident ID card number."""

    birth_date: date
    sex: Literal["M", "F"]
    region_code: str


def _invalid_idcard(message: str, code: str, message_zh: str) -> InvalidValue:
    return InvalidValue(message, f"idcard.{code}", message_zh)


def idcard_check_digit(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for the first 17 digits of an ID card number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise _invalid_idcard("ID card number body must be 17 digits", "format", "身份证号码前17位必须是数字")
    total = sum(int(digit) * weight for digit, weight in zip(first17, IDCARD_WEIGHTS))
    return IDCARD_CHECK_DIGITS[total % 11]


def _parse_birth_date(digits: str) -> date:
    try:
        return date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise _invalid_idcard(
            f"ID card number has an impossible birth date ({digits})", "birth_date", f"身份证号码中的出生日期不存在（{digits}）"
        ) from None


def normalise_idcard(number: str, *, today: date | None = None) -> str:
    """Check an 18-character resident ID card number and return it upper-cased without spaces.

    Args:
        number: The number as typed; spaces are ignored and a final ``x`` is accepted.
        today: The date birth dates must not be after; defaults to ``date.today()``.

    Raises:
        InvalidValue: On wrong length or characters, unknown province, impossible or future birth
            date, or a checksum mismatch.
    """
    value = "".join(str(number).split()).upper()
    if len(value) != 18:
        raise _invalid_idcard(
            f"ID card number must have 18 characters, not {len(value)}", "length", f"身份证号码应为18位，实际为{len(value)}位"
        )
    if not _IDCARD_SHAPE.fullmatch(value):
        raise _invalid_idcard(
            "ID card number must be 17 digits followed by a digit or X", "format", "身份证号码应为17位数字加1位数字或X"
        )
    if value[:2] not in IDCARD_PROVINCES:
        raise _invalid_idcard(
            f"ID card number has an unknown province code ({value[:2]})", "region", f"身份证号码的省份代码无效（{value[:2]}）"
        )
    birth = _parse_birth_date(value[6:14])
    if birth < IDCARD_EARLIEST_BIRTH or birth > (today or date.today()):
        raise _invalid_idcard(
            f"ID card number has an out-of-range birth date ({value[6:14]})",
            "birth_date",
            f"身份证号码中的出生日期超出范围（{value[6:14]}）",
        )
    expected = idcard_check_digit(value[:17])
    if value[17] != expected:
        raise _invalid_idcard(
            f"ID card number checksum does not match (expected {expected!r})", "checksum", f"身份证号码校验位错误（应为 {expected}）"
        )
    return value


def idcard_info(number: str, *, today: date | None = None) -> IdCardInfo:
    """Check an ID card number and return its birth date, sex and region code."""
    value = normalise_idcard(number, today=today)
    return IdCardInfo(
        birth_date=_parse_birth_date(value[6:14]),
        sex="M" if int(value[16]) % 2 else "F",
        region_code=value[:6],
    )


def age_on(birth_date: date, on_date: date) -> int:
    """Return the age in whole years on ``on_date``; a 29 February birthday counts from 1 March."""
    years = on_date.year - birth_date.year
    if (on_date.month, on_date.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a credit code."""
    try:
        total = sum(CREDIT_CODE_CHARSET.index(ch) * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    except ValueError:
        raise InvalidValue(
            "Credit code body must be 17 characters from 0-9 and A-Y without I, O, S, V, Z",
            "credit_code.format",
            "统一社会信用代码前17位只能包含数字和除 I、O、S、V、Z 外的大写字母",
        ) from None
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def normalise_credit_code(code: str) -> str:
    """Check an 18-character unified social credit code and return it upper-cased without spaces.

    Raises:
        InvalidValue: On wrong length or characters, a non-numeric region part, or a checksum mismatch.
    """
    value = "".join(str(code).split()).upper()
    if len(value) != 18:
        raise InvalidValue(
            f"Credit code must have 18 characters, not {len(value)}",
            "credit_code.length",
            f"统一社会信用代码应为18位，实际为{len(value)}位",
        )
    if not _CREDIT_CODE_SHAPE.fullmatch(value):
        raise InvalidValue(
            "Credit code must use 0-9 and A-Y without I, O, S, V, Z, with digits in places 3-8",
            "credit_code.format",
            "统一社会信用代码只能包含数字和除 I、O、S、V、Z 外的大写字母，第3-8位须为数字",
        )
    expected = credit_code_check_char(value[:17])
    if value[17] != expected:
        raise InvalidValue(
            f"Credit code checksum does not match (expected {expected!r})",
            "credit_code.checksum",
            f"统一社会信用代码校验位错误（应为 {expected}）",
        )
    return value
