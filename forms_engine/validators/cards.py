"""Bank card numbers: length and the Luhn (ISO/IEC 7812) check digit."""

from __future__ import annotations

from forms_engine.validators import InvalidValue

__all__ = ["CARD_MAX_DIGITS", "CARD_MIN_DIGITS", "luhn_check_digit", "luhn_valid", "normalise_bank_card"]

CARD_MIN_DIGITS = 12
CARD_MAX_DIGITS = 19


def _luhn_sum(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total


def luhn_valid(digits: str) -> bool:
    """Return whether a string of ASCII digits passes the Luhn check."""
    return bool(digits) and digits.isascii() and digits.isdigit() and _luhn_sum(digits) % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """Return the digit that makes ``partial + digit`` pass the Luhn check."""
    if not partial.isascii() or not partial.isdigit():
        raise InvalidValue("Luhn input must be digits", "card.format", "Luhn 校验的输入必须是数字")
    return str((10 - _luhn_sum(partial + "0") % 10) % 10)


def normalise_bank_card(number: str, *, require_luhn: bool = True) -> str:
    """Check a bank card number and return its digits without spaces or hyphens.

    Args:
        number: The number as typed, e.g. ``"6222 0212 3456 7890 128"``.
        require_luhn: Check the Luhn digit (a few domestic debit cards do not carry one).

    Raises:
        InvalidValue: On characters other than digits, spaces and hyphens, a length outside 12-19
            digits, or a failed Luhn check.
    """
    digits = "".join(str(number).split()).replace("-", "")
    if not digits.isascii() or not digits.isdigit():
        raise InvalidValue("Card number must contain only digits", "card.format", "银行卡号只能包含数字")
    if not CARD_MIN_DIGITS <= len(digits) <= CARD_MAX_DIGITS:
        raise InvalidValue(
            f"Card number must have {CARD_MIN_DIGITS}-{CARD_MAX_DIGITS} digits, not {len(digits)}",
            "card.length",
            f"银行卡号应为{CARD_MIN_DIGITS}-{CARD_MAX_DIGITS}位，实际为{len(digits)}位",
        )
    if require_luhn and not luhn_valid(digits):
        raise InvalidValue("Card number check digit does not match", "card.checksum", "银行卡号校验位错误")
    return digits
