"""Phone numbers, email addresses and web addresses."""

import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # the package may not be installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest  # noqa: E402

from forms_engine.validators import InvalidValue  # noqa: E402
from forms_engine.validators.contact import (  # noqa: E402
    normalise_email,
    normalise_mobile,
    normalise_phone,
    normalise_url,
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13812345678", "+86 13812345678"),
        ("+86 138-1234-5678", "+86 13812345678"),
        ("+8613812345678", "+86 13812345678"),
        ("0086 13812345678", "+86 13812345678"),
        ("199 0000 1111", "+86 19900001111"),
        ("0871-65123456", "0871-65123456"),
        ("0871 6512 3456", "0871-65123456"),
        ("087165123456", "0871-65123456"),
        ("010-12345678", "010-12345678"),
        ("(010)12345678", "010-12345678"),
        ("（021）6123-4567", "021-61234567"),
        ("+86 10 12345678", "010-12345678"),
        ("+86-871-65123456", "0871-65123456"),
        ("0086 0871 65123456", "0871-65123456"),
        ("0871-65123456-123", "0871-65123456-123"),
        ("0871-6512345 转 8", "0871-6512345-8"),
        ("010-12345678 ext. 42", "010-12345678-42"),
        ("010-12345678#42", "010-12345678-42"),
    ],
)
def test_valid_phone(typed: str, expected: str) -> None:
    assert normalise_phone(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "12345678901",  # 12x is not a mobile prefix
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "+86 1381234567",
        "+1 4155550123",
        "12345678",  # local number without area code
        "0871-0123456",  # local numbers do not start with 0
        "0871-123456",  # too short
        "0871-123456789",  # too long
        "013-12345678",  # no such area code
        "13812345678-12",  # mobiles have no extension
        "１３８１２３４５６７８",  # full-width digits
        "",
        "phone",
    ],
)
def test_invalid_phone(typed: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_phone(typed)
    assert caught.value.code == "phone.format"


def test_mobile_only() -> None:
    assert normalise_mobile("+86 138 1234 5678") == "+86 13812345678"
    with pytest.raises(InvalidValue, match="mobile"):
        normalise_mobile("0871-65123456")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("user@example.com", "user@example.com"),
        (" First.Last+tag@Example.COM ", "First.Last+tag@example.com"),
        ("a_b-c@mail.example.com.cn", "a_b-c@mail.example.com.cn"),
        ("x@xn--fiqs8s.xn--fiqz9s", "x@xn--fiqs8s.xn--fiqz9s"),
    ],
)
def test_valid_email(typed: str, expected: str) -> None:
    assert normalise_email(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "user",
        "user@",
        "@example.com",
        "user@localhost",
        "user@example.c",
        "a..b@example.com",
        ".a@example.com",
        "a b@example.com",
        "user@-example.com",
        "user@exa_mple.com",
        "用户@example.com",
        "a" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_invalid_email(typed: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_email(typed)
    assert caught.value.code == "email.format"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://example.com", "https://example.com"),
        ("HTTPS://Example.COM/Path?q=1#Frag", "https://example.com/Path?q=1#Frag"),
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/x"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("https://例子.测试/路径", "https://例子.测试/路径"),
    ],
)
def test_valid_url(typed: str, expected: str) -> None:
    assert normalise_url(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "//example.com",
        "example.com",
        "https://",
        "https://user:pass@example.com",
        "https://bank.example@evil.example",
        "https://exa mple.com",
        "https://example.com/\x00",
        "http://example.com:99999",
        "http://-bad-.com",
        "http://999.1.1.1",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_invalid_url(typed: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_url(typed)
    assert caught.value.code == "url.format"
