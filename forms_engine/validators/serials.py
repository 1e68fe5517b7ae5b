"""Serial-number patterns such as ``AP-{YYYY}{MM}-{0000}``.

Tokens: ``{YYYY}`` and ``{YY}`` (year), ``{MM}`` (month), ``{DD}`` (day) and exactly one counter ``{000…}``
whose zeros give the minimum width. Everything else is literal text. The counter resets per day, month or
year according to the finest date token present, or never when there is none. Storing and incrementing the
counter is the caller's job; :func:`period_key` names the counter bucket for a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from forms_engine.validators import InvalidValue

__all__ = ["SerialSpec", "format", "format_serial", "parse_pattern", "period_key"]

MAX_PATTERN_LENGTH = 64
MAX_COUNTER_WIDTH = 12
Period = Literal["day", "month", "year", "never"]
_TOKEN = re.compile(r"\{([^{}]*)\}")
_LITERAL = re.compile(r"[A-Za-z0-9\-_/.#]|[\u4e00-\u9fff]")
_DATE_TOKENS = {"YYYY", "YY", "MM", "DD"}


@dataclass(frozen=True, slots=True)
class SerialSpec:
    """A parsed pattern: its parts (literal text or a token name), counter width and reset period."""

    pattern: str
    parts: tuple[tuple[Literal["text", "token"], str], ...]
    width: int
    period: Period


def _bad(message: str, message_zh: str) -> InvalidValue:
    return InvalidValue(f"Serial pattern invalid: {message}", "serial.pattern", f"流水号格式无效：{message_zh}")


def _literal(text: str) -> tuple[Literal["text", "token"], str]:
    for char in text:
        if not _LITERAL.fullmatch(char):
            raise _bad(f"character {char!r} is not allowed", f"不允许的字符 {char!r}")
    return ("text", text)


def parse_pattern(pattern: str) -> SerialSpec:
    """Parse a serial-number pattern.

    Raises:
        InvalidValue: On unknown tokens, stray braces or characters, no counter or more than one, a
            counter wider than 12, or a day without a month or a month without a year.
    """
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        raise _bad(f"must have 1-{MAX_PATTERN_LENGTH} characters", f"长度须为1-{MAX_PATTERN_LENGTH}个字符")
    parts: list[tuple[Literal["text", "token"], str]] = []
    position = 0
    for match in _TOKEN.finditer(pattern):
        if match.start() > position:
            parts.append(_literal(pattern[position : match.start()]))
        token = match[1]
        if token not in _DATE_TOKENS and not re.fullmatch(r"0+", token):
            raise _bad(f"unknown token {match[0]!r}", f"未知的占位符 {match[0]!r}")
        parts.append(("token", token))
        position = match.end()
    if position < len(pattern):
        parts.append(_literal(pattern[position:]))
    counters = [value for kind, value in parts if kind == "token" and value.startswith("0")]
    if len(counters) != 1:
        raise _bad("needs exactly one counter such as {0000}", "须包含且仅包含一个序号占位符，如 {0000}")
    width = len(counters[0])
    if width > MAX_COUNTER_WIDTH:
        raise _bad(f"counter is wider than {MAX_COUNTER_WIDTH}", f"序号位数超过{MAX_COUNTER_WIDTH}")
    tokens = {value for kind, value in parts if kind == "token"}
    has_year = bool(tokens & {"YYYY", "YY"})
    if "DD" in tokens and "MM" not in tokens:
        raise _bad("{DD} needs {MM}", "{DD} 需要同时使用 {MM}")
    if "MM" in tokens and not has_year:
        raise _bad("{MM} needs {YYYY} or {YY}", "{MM} 需要同时使用 {YYYY} 或 {YY}")
    period: Period = "day" if "DD" in tokens else "month" if "MM" in tokens else "year" if has_year else "never"
    return SerialSpec(pattern, tuple(parts), width, period)


def period_key(spec: SerialSpec, when: date) -> str:
    """Return the counter bucket for ``when``: ``"2024-05-17"``, ``"2024-05"``, ``"2024"`` or ``""``."""
    if spec.period == "day":
        return when.isoformat()
    if spec.period == "month":
        return f"{when.year:04d}-{when.month:02d}"
    return f"{when.year:04d}" if spec.period == "year" else ""


def format(spec: SerialSpec, when: date, counter: int) -> str:  # noqa: A001 - the module's public name
    """Return the serial number for ``counter`` (1 or more) on ``when``.

    A counter with more digits than the pattern's zeros is written in full rather than cut.

    Raises:
        InvalidValue: When ``counter`` is below 1.
    """
    if counter < 1:
        raise InvalidValue(
            f"Serial counter must be 1 or more, not {counter}", "serial.counter", f"流水号序号须不小于1，实际为{counter}"
        )
    values = {
        "YYYY": f"{when.year:04d}",
        "YY": f"{when.year % 100:02d}",
        "MM": f"{when.month:02d}",
        "DD": f"{when.day:02d}",
    }
    pieces = []
    for kind, value in spec.parts:
        if kind == "text":
            pieces.append(value)
        else:
            pieces.append(values[value] if value in values else f"{counter:0{spec.width}d}")
    return "".join(pieces)


format_serial = format
