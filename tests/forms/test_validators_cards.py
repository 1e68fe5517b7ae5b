"""Bank card numbers."""

import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # the package may not be installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


import pytest  # noqa: E402

from forms_engine.validators import InvalidValue
from forms_engine.validators.cards import luhn_check_digit, luhn_valid, normalise_bank_card


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("4111111111111111", "4111111111111111"),
        ("4111 1111 1111 1111", "4111111111111111"),
        ("4111-1111-1111-1111", "4111111111111111"),
        ("6011000990139424", "6011000990139424"),
        ("378282246310005", "378282246310005"),
        ("3530111333300000", "3530111333300000"),
        ("123456789012345678" + luhn_check_digit("123456789012345678"),) * 2,  # 19 digits
        ("12345678901" + luhn_check_digit("12345678901"),) * 2,  # 12 digits
    ],
)
def test_valid_card(typed: str, expected: str) -> None:
    assert normalise_bank_card(typed) == expected


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("4111111111111112", "card.checksum"),
        ("4111111111111121", "card.checksum"),
        ("1234567890" + luhn_check_digit("1234567890"), "card.length"),  # 11 digits
        ("1234567890123456789" + luhn_check_digit("1234567890123456789"), "card.length"),  # 20 digits
        ("4111a11111111111", "card.format"),
        ("４１１１１１１１１１１１１１１１", "card.format"),
        ("", "card.format"),
    ],
)
def test_invalid_card(typed: str, code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_bank_card(typed)
    assert caught.value.code == code


def test_luhn_can_be_skipped() -> None:
    assert normalise_bank_card("4111111111111112", require_luhn=False) == "4111111111111112"


@pytest.mark.parametrize("partial", ["411111111111111", "7992739871", "0"])
def test_check_digit_makes_valid(partial: str) -> None:
    assert luhn_valid(partial + luhn_check_digit(partial))
    assert not luhn_valid(partial + str((int(luhn_check_digit(partial)) + 1) % 10))
