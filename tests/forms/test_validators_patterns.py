"""User-supplied regular expressions."""

import time
import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # the package may not be installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest  # noqa: E402

from forms_engine.validators import InvalidValue  # noqa: E402
from forms_engine.validators.patterns import check_pattern, compile_pattern, match_pattern  # noqa: E402

SAFE = [
    r"^\d{6}$",
    r"[A-Z]{2}-\d{4}",
    r"^1[3-9]\d{9}$",
    r"(?:cat|dog)+",
    r"(\d{3}-)+\d{4}",
    r"(?:ab|cd){2,5}",
    r"[^,]+(,[^,]+)*",
    r"\w+(\.\w+)*@example\.com",
    r"[\w.-]+@[\w-]+(\.[\w-]+)+",
    r"(?i)abc",
    r"(?=a)a+",
    r"[]a]+",
    r"(?:A|b)+",
    r"(x\d+)+",
    r"合同-\d+",
]

UNSAFE = [
    (r"(a+)+", "pattern.unsafe"),
    (r"(a|a)*", "pattern.unsafe"),
    (r"(.*)*", "pattern.unsafe"),
    (r"(a|ab)*", "pattern.unsafe"),
    (r"(\w+\s?)*$", "pattern.unsafe"),
    (r"(\d+)*", "pattern.unsafe"),
    (r"(a*)*b", "pattern.unsafe"),
    (r"(a?)+", "pattern.unsafe"),
    (r"(|a)+", "pattern.unsafe"),
    (r"(a{1,3})+", "pattern.unsafe"),
    (r"(?:[0-9]|5)+", "pattern.unsafe"),
    (r"(?i)(?:a|A)+", "pattern.unsafe"),
    (r"(,.+)*", "pattern.unsafe"),
    (r"(a)\1", "pattern.unsafe"),
    (r"(?P<x>a)(?P=x)", "pattern.unsafe"),
    (r"(?P<x>a)(?(x)b|c)", "pattern.unsafe"),
    ("x" * 201, "pattern.too_long"),
    (r"(", "pattern.syntax"),
    (r"a{2}{3}", "pattern.syntax"),
    (r"[[a]", "pattern.syntax"),
    (r"[a--b]", "pattern.syntax"),
]


@pytest.mark.parametrize("pattern", SAFE)
def test_safe_patterns_compile(pattern: str) -> None:
    assert compile_pattern(pattern).pattern == pattern


@pytest.mark.parametrize(("pattern", "code"), UNSAFE)
def test_unsafe_patterns_are_refused(pattern: str, code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        compile_pattern(pattern)
    assert caught.value.code == code
    assert caught.value.message.startswith("Pattern")


@pytest.mark.parametrize("pattern", SAFE)
def test_safe_patterns_run_fast_on_hostile_input(pattern: str) -> None:
    started = time.perf_counter()
    for hostile in ("a" * 999 + "!", "1" * 999 + "!", "a." * 499 + "!", "ab" * 499 + "!", ",a" * 499):
        match_pattern(pattern, hostile)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (r"\d{6}", "650000", True),
        (r"\d{6}", "6500001", False),  # the whole value must match
        (r"\d{6}", "65000", False),
        (r"[A-Z]{2}-\d{4}", "AB-1234", True),
        (r"[A-Z]{2}-\d{4}", "ab-1234", False),
    ],
)
def test_match_pattern(pattern: str, value: str, matches: bool) -> None:
    assert match_pattern(pattern, value) is matches


def test_input_length_is_capped() -> None:
    with pytest.raises(InvalidValue) as caught:
        match_pattern(r"a*", "a" * 1001)
    assert caught.value.code == "pattern.input_too_long"


def test_check_pattern_uses_designer_message() -> None:
    assert check_pattern("AB-1234", r"[A-Z]{2}-\d{4}") == "AB-1234"
    with pytest.raises(InvalidValue) as caught:
        check_pattern("x", r"[A-Z]{2}-\d{4}", message="Use the form AB-1234", message_zh="格式应为 AB-1234")
    assert (caught.value.code, caught.value.message, caught.value.message_zh) == (
        "pattern.mismatch",
        "Use the form AB-1234",
        "格式应为 AB-1234",
    )
