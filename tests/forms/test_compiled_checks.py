"""Each field's compiled check (``FieldType.compile``, with the types' fast paths) answers exactly as the plain
``is_blank`` + ``coerce`` it stands for: the same stored value, or the same error message and code."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from engine.loader import load_app
from engine.plugins import Hooks, load_builtin
from forms_engine.fields import InvalidField

FORM = """key: probe
label: Probe
fields:
  - {key: title, type: text}
  - {key: short, type: text, max_length: 5}
  - {key: coded, type: text, pattern: "^[A-Z]{2}$"}
  - {key: longer, type: text, min_length: 3}
  - {key: body, type: textarea, max_length: 20}
  - {key: amount, type: money, min: 1, max: 1000000}
  - {key: weight, type: number, scale: 3, min: -5}
  - {key: rate, type: percent}
  - {key: count, type: integer, min: 1, max: 100}
  - {key: big, type: integer}
  - {key: stars, type: rating, max: 5}
  - {key: flag, type: boolean}
  - {key: day, type: date}
  - {key: kind, type: select, options: [goods, service, "1"]}
  - {key: channel, type: radio, options: [web, phone]}
  - {key: tags, type: multi_select, options: [new, vip, risk]}
  - {key: days, type: checkboxes, options: [mon, tue]}
  - {key: spot, type: location}
  - {key: mail, type: email}
  - {key: site, type: url}
  - {key: place, type: address}
  - {key: at, type: datetime}
  - {key: lasts, type: duration}
"""

INPUTS: list[Any] = [
    None, "", " ", "  x  ", "abc", "ABC", "AB", "line\nbreak", "tab\there", "x" * 6, "x" * 30, "x" * 100_001,
    "0", "1", "-1", "+7", "100", "101", "1,000", "1，000.50", "12.345", "12.3456", "1e2", "1E-9", "1e999", ".5", "5.",
    "NaN", "Infinity", "1_000", "١٢", " 42 ", "0x10", "9" * 30,
    0, 1, -3, 5, 100, 101, 2**62, 2**62 + 1, -(2**62), True, False, 1.5, 2.0, float("nan"), float("inf"), -0.0,
    Decimal("3.50"), Decimal("NaN"), Decimal("1E+30"),
    "2026-03-01", "2026-02-30", "2026-3-1", " 2026-03-01 ", "2026-03-01T10:00:00+08:00", "2026-03-01T10:00:00Z",
    date(2026, 3, 1), datetime(2026, 3, 1, 10, tzinfo=timezone.utc), datetime(2026, 3, 1, 10),
    "goods", "service", "Goods", "1", "web", "phone",
    [], ["new"], ["vip", "new"], ["new", "new"], ["nope"], ["new", 1], [["new"]], [{"a": 1}], "new",
    {}, {"lat": 25.04, "lng": 102.71}, {"lat": 91.0, "lng": 0.0}, {"lat": 90.0, "lng": -180.0},
    {"lat": float("nan"), "lng": 1.0}, {"lat": "25.04", "lng": "102.71"}, {"lat": 1, "lng": 2}, {"lat": 1.0},
    {"lat": 1.0, "lng": 2.0, "x": 3}, {"lat": True, "lng": 1.0}, "25.04,102.71",
    "a@example.com", "A@Example.COM", "bad@", "https://Example.com/a?b=1", "ftp://x.org", "https://u:p@x.org",
    {"region": "530102", "detail": "2 Side St"}, {"detail": "x"}, {"other": 1},
    "1h 30m", 5400, -1,
]


def _probe_fields() -> list[Any]:
    hooks = load_builtin(Hooks())
    app = load_app({"app.yaml": "key: probe\nlabel: Probe\n", "forms/probe.yaml": FORM}, hooks.kinds,
                   services=hooks.services)
    return list(app.forms["probe"].fields)


def _answer(run: Any, value: Any) -> tuple[str, Any]:
    try:
        return "value", run(value)
    except InvalidField as exc:
        return "error", (exc.message, exc.code)


@pytest.mark.parametrize("field", _probe_fields(), ids=lambda f: f.key)
def test_compiled_check_answers_as_coerce(field: Any) -> None:
    def plain(value: Any) -> Any:
        return None if field.ftype.is_blank(value) else field.ftype.coerce(value, field)

    for value in INPUTS:
        if value is None:
            continue  # the caller stores None without a check
        expected, got = _answer(plain, value), _answer(field.check, value)
        assert got == expected, (field.key, value)
        if expected[0] == "value":
            assert type(got[1]) is type(expected[1]), (field.key, value)


CELLS: list[Any] = INPUTS + ["'=1+1", "'+86", "'abc", "¥1,000.50", "1 000元", "$12", "€3", 12.0, 13800138000.0,
                             0.1 + 0.2, 1234.5678901, 1e20, "45%", date(2026, 1, 2)]


@pytest.mark.parametrize("field", _probe_fields(), ids=lambda f: f.key)
def test_compiled_cell_check_answers_as_from_cell(field: Any) -> None:
    def plain(value: Any) -> Any:
        return None if field.ftype.is_blank(value) else field.ftype.from_cell(value, field)

    for value in CELLS:
        if value is None:
            continue
        expected, got = _answer(plain, value), _answer(field.cell_check, value)
        assert got == expected, (field.key, value)
        if expected[0] == "value":
            assert type(got[1]) is type(expected[1]), (field.key, value)


def test_the_fast_paths_are_in_use() -> None:
    fields = {f.key: f for f in _probe_fields()}
    # a fast path is a closure made by a type's ``fast``; patterns, minimum lengths, ratings (their own ``coerce``)
    # and the checked types keep the generic check
    generic = {"stars", "coded", "longer", "mail", "site", "place", "at", "lasts"}
    for key, f in fields.items():
        assert ("fast" not in f.check.__qualname__) == (key in generic), (key, f.check.__qualname__)
