"""Serial-number patterns."""

from datetime import date
import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # the package may not be installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest  # noqa: E402

from forms_engine.validators import InvalidValue  # noqa: E402
from forms_engine.validators import serials  # noqa: E402

WHEN = date(2024, 5, 7)


@pytest.mark.parametrize(
    ("pattern", "counter", "expected", "period", "key"),
    [
        ("AP-{YYYY}{MM}-{0000}", 42, "AP-202405-0042", "month", "2024-05"),
        ("{YY}{MM}{DD}-{000}", 7, "240507-007", "day", "2024-05-07"),
        ("INV{YYYY}-{00000}", 1, "INV2024-00001", "year", "2024"),
        ("NO.{000000}", 123, "NO.000123", "never", ""),
        ("{0}", 5, "5", "never", ""),
        ("{YY}-{00}", 123, "24-123", "year", "2024"),  # a wider counter is written in full
        ("合同{YYYY}/{MM}#{0000}", 9, "合同2024/05#0009", "month", "2024-05"),
    ],
)
def test_format(pattern: str, counter: int, expected: str, period: str, key: str) -> None:
    spec = serials.parse_pattern(pattern)
    assert spec.period == period
    assert serials.format(spec, WHEN, counter) == expected
    assert serials.format_serial(spec, WHEN, counter) == expected
    assert serials.period_key(spec, WHEN) == key


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("", "1-64 characters"),
        ("X" * 65 + "{0}", "1-64 characters"),
        ("AP-{YYYY}", "exactly one counter"),
        ("{0000}-{000}", "exactly one counter"),
        ("AP-{YYYY}-{NNNN}", "unknown token '{NNNN}'"),
        ("AP-{yyyy}-{0000}", "unknown token '{yyyy}'"),
        ("AP-{YYYY-{0000}", "character '{' is not allowed"),
        ("AP}-{0000}", "character '}' is not allowed"),
        ("AP {0000}", "character ' ' is not allowed"),
        ("{MM}-{0000}", "{MM} needs {YYYY} or {YY}"),
        ("{YYYY}{DD}-{0000}", "{DD} needs {MM}"),
        ("{0000000000000}", "wider than 12"),
    ],
)
def test_invalid_patterns(pattern: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        serials.parse_pattern(pattern)
    assert caught.value.code == "serial.pattern"
    assert fragment in caught.value.message


@pytest.mark.parametrize("counter", [0, -1])
def test_counter_must_be_positive(counter: int) -> None:
    spec = serials.parse_pattern("{0000}")
    with pytest.raises(InvalidValue) as caught:
        serials.format(spec, WHEN, counter)
    assert caught.value.code == "serial.counter"


def test_spec_is_frozen() -> None:
    spec = serials.parse_pattern("{YYYY}-{000}")
    with pytest.raises(AttributeError):
        spec.width = 5  # type: ignore[misc]
