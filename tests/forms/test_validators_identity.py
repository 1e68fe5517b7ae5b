"""Resident ID card numbers and unified social credit codes."""

import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # the package may not be installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


from datetime import date

import pytest  # noqa: E402

from forms_engine.validators import InvalidValue
from forms_engine.validators.identity import (
    IdCardInfo,
    age_on,
    credit_code_check_char,
    idcard_info,
    normalise_credit_code,
    normalise_idcard,
)

TODAY = date(2026, 6, 1)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check(body: str) -> str:
    """Append the ISO 7064 MOD 11-2 check character, computed independently of the module."""
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def body_with_x() -> str:
    """Find a 17-digit body (Kunming, born 1990-01-01) whose check character is X."""
    for sequence in range(1000):
        body = f"53010219900101{sequence:03d}"
        if with_check(body).endswith("X"):
            return body
    raise AssertionError("no body with check X")


VALID = with_check("11010519491231002")
VALID_X = with_check(body_with_x())


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (VALID, VALID),
        (VALID_X, VALID_X),
        (VALID_X.lower(), VALID_X),
        (f" {VALID[:6]} {VALID[6:14]} {VALID[14:]} ", VALID),
    ],
)
def test_valid_idcard_is_normalised(typed: str, expected: str) -> None:
    assert normalise_idcard(typed, today=TODAY) == expected


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (wrong_check(VALID), "idcard.checksum"),
        (wrong_check(VALID_X), "idcard.checksum"),
        (with_check("11010519900230001"), "idcard.birth_date"),  # 30 February
        (with_check("11010520991231001"), "idcard.birth_date"),  # future
        (with_check("11010518991231001"), "idcard.birth_date"),  # before 1900
        (with_check("99010519491231002"), "idcard.region"),
        (VALID[:17], "idcard.length"),
        (VALID + "1", "idcard.length"),
        ("110105194912310", "idcard.length"),  # old 15-digit numbers are not accepted
        ("", "idcard.length"),
        ("X1010519491231002" + VALID[17], "idcard.format"),
        (VALID[:16] + "X" + VALID[17], "idcard.format"),
        ("１１０１０５１９４９１２３１００２X", "idcard.format"),  # full-width digits
    ],
)
def test_invalid_idcard_is_refused(number: str, code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_idcard(number, today=TODAY)
    assert caught.value.code == code
    assert caught.value.message and caught.value.message_zh


def test_checksum_message_names_expected_character() -> None:
    with pytest.raises(InvalidValue, match=r"checksum does not match \(expected 'X'\)"):
        normalise_idcard(VALID_X[:17] + "0", today=TODAY)


def test_idcard_info() -> None:
    assert idcard_info(VALID, today=TODAY) == IdCardInfo(date(1949, 12, 31), "F", "110105")
    male = with_check("11010519491231011")
    assert idcard_info(male, today=TODAY).sex == "M"
    assert idcard_info(VALID_X, today=TODAY).region_code == "530102"


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1990, 5, 10), date(2026, 5, 9), 35),
        (date(1990, 5, 10), date(2026, 5, 10), 36),
        (date(2000, 2, 29), date(2018, 2, 28), 17),
        (date(2000, 2, 29), date(2018, 3, 1), 18),
        (date(2000, 2, 29), date(2020, 2, 29), 20),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


CREDIT_CODE = "91350100M000100Y43"


def test_known_credit_code_checksum() -> None:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(charset.index(c) * w for c, w in zip(CREDIT_CODE[:17], weights))
    assert charset[(31 - total % 31) % 31] == CREDIT_CODE[17] == credit_code_check_char(CREDIT_CODE[:17])


@pytest.mark.parametrize("typed", [CREDIT_CODE, CREDIT_CODE.lower(), f" {CREDIT_CODE[:9]} {CREDIT_CODE[9:]} "])
def test_valid_credit_code(typed: str) -> None:
    assert normalise_credit_code(typed) == CREDIT_CODE


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (CREDIT_CODE[:17] + "4", "credit_code.checksum"),
        ("91350100M000100Y53", "credit_code.checksum"),  # one body character changed
        ("91350100M000101Y43", "credit_code.checksum"),
        ("91350100M000100Y4", "credit_code.length"),
        (CREDIT_CODE + "0", "credit_code.length"),
        ("91350100M000100I43", "credit_code.format"),  # I is not in the character set
        ("9135O100M000100Y43", "credit_code.format"),  # letter in the region digits
    ],
)
def test_invalid_credit_code(code: str, error: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_credit_code(code)
    assert caught.value.code == error
