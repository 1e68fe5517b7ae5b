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
  - {key: mobile, type: phone}
  - {key: stars4, type: rating, max: 4, min: 1}
  - {key: idno, type: id_card}
  - {key: opens, type: time}
  - key: level
    type: select
    options: [{value: hi, label: {zh-CN: 高, en: High}}, {value: lo, label: {zh-CN: hi, en: Low}}, {value: Mid, label: mid}]
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
    # web addresses: the plain shape returned as given, everything else through the full check
    "https://example.com", "http://example.com/", "https://a.b.example.com/p/q?x=1&y=2#top", "https://x.org?",
    "https://x.org#", "https://x.org/?#", "https://x.org/a?b#", "http://1.2.3.4/x", "http://999.1.1.1",
    "http://1.2.3.4a", "https://a-.org", "https://-a.org", "https://a..org", "https://x.org:8080/p", "https://x.org:/p",
    "https://例子.中国/路径", "https://x.org/路径?q=值", "https://x.org/a b", "https://x.org/a\tb", "https://x.org/%zz",
    "https://x.org/a#b#c?d", "https://x.org/a?b?c", "https://[::1]/", "https://x.org\\evil.com", "HTTPS://x.org",
    "https://" + "a" * 64 + ".org", "https://" + ".".join(["a" * 60] * 5) + ".org", "https://x.org/" + "p" * 2040,
    "https://x.org/" + "p" * 2030, "https://x.org/\u00a0", "https://x.org/\u3000", "https://x", "https://x1", "https://1x",
    # phone numbers
    "13800138000", "12800138000", "1380013800", "138001380001", "+86 13800138000", "138-0013-8000", "0871-65123456",
    "13800138000#12", " 13800138000", "１３８００１３８０００",
    # ratings
    4, 6, 0, 3.0, "4",
    # addresses
    {"region": "530102", "detail": " x "}, {"region": "530102 ", "detail": "x"}, {"region": "999999", "detail": "x"},
    {"region": "530102", "detail": "x" * 501}, {"region": "530102", "detail": " " + "x" * 500 + " "},
    {"region": "", "detail": "x"}, {"region": 530102, "detail": "x"}, {"region": "5301", "detail": "x"},
    {"region": "530102", "detail": 5}, {"region": "530102", "detail": None}, {"region": "530102", "other": "x"},
    # numbers: the plain shape and its edges
    "12.5", "-12.5", "+0.50", "12.", "-.5", ".", "-", "+", "+-1", "1.2.3", "00012.30", "12.3456789", "0.0000001",
    "9" * 19, "9" * 20, "9" * 21, "9" * 22, "9" * 16 + ".5", "1" + "0" * 17, "١٢.٥", "1²", "12.5e1", " 12.5 ", "1,234.5",
    "-0", "-0.00", "007", "0" * 25 + "1", "1000000.01", "999999.99", "0.9", "1000001",
    # date-times and times
    "2026-03-01T10:00:00+08:00 ", " 2026-03-01T10:00:00+08:00", "2026-03-01T10:00:00", "2026-03-01 10:00+08:00",
    "2026-03-01T10:00:00.123456+08:00", "2026-03-01T10:00:00-05:30", "2026-03-01T25:00:00+08:00", "2026-03-01",
    "2026-03-01T10:00:00z", "20260301T100000+0800", "2026-03-01T10:00:00+08", "09:30", "9:30", "09:30:15", "23:59",
    "24:00", "09:60", " 09:30", "09:30 ", "０９:30", "09:30:15.5", "12:00:00+08:00",
    # identity numbers
    "11010519491231002X", "11010519491231002x", "110105194912310021",
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
                             0.1 + 0.2, 1234.5678901, 1e20, "45%", date(2026, 1, 2),
                             "2026/03/15", "２０２６-03-15", "2026-03-15 00:00:00", "2026.03.15", "2026年3月15日",
                             "2026-13-01", "yes", " YES ", "是", "no", "N", "maybe", "45 %", "45％ ", " 4.5%", "'2026-03-15",
                             "'abc", "''", "'", "hi", "lo", "高", "High", "high", "HIGH", "Low", "low", "mid", "Mid",
                             "MID", " hi", "'hi", "低"]


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
    # a fast path is a closure made by a type's ``fast``; patterns, minimum lengths and durations keep the generic
    # check
    generic = {"coded", "longer", "lasts"}
    for key, f in fields.items():
        assert ("fast" not in f.check.__qualname__) == (key in generic), (key, f.check.__qualname__)


SUB_FORM = """key: probe
label: Probe
fields:
  - {key: title, type: text, required: true}
  - {key: amount, type: money, min: 0}
  - {key: total, type: formula, expr: "amount * 2", result: money}
  - key: lines
    type: subtable
    min_rows: 1
    max_rows: 3
    fields:
      - {key: sku, type: text, required: true}
      - {key: qty, type: integer, min: 1}
      - {key: double, type: formula, expr: "qty * 2", result: integer}
  - key: notes
    type: subtable
    fields:
      - {key: text, type: textarea}
"""

BODIES: list[Any] = [
    {}, {"title": "a"}, {"title": "a", "amount": "12.5", "lines": [{"sku": "x", "qty": 2}]},
    {"title": None, "amount": None, "lines": None, "notes": None},
    {"title": "a", "amount": "-1"}, {"title": "a", "amount": "abc", "nope": 1}, {"id": 3, "title": "a"},
    {"created_at": "x"}, {"total": "1"}, {"lines": []}, {"lines": [{"sku": "x"}] * 4}, {"lines": "x"},
    {"lines": [1]}, {"lines": [{"sku": "x", "id": 5}]}, {"lines": [{"sku": "x", "double": 4}]},
    {"lines": [{"sku": "x", "qty": 0}, {"sku": "y", "qty": "2"}]}, {"lines": [{"sku": None, "qty": None}]},
    {"lines": [{"sku": "x", "other": 1}]}, {"notes": [{"text": "a"}, {}]}, {"notes": [{"text": 5}]},
    {"notes": ({"text": "a"},)}, {"amount": 1.5, "title": "b", "notes": [{"text": "z"}]},
]


@pytest.mark.parametrize("cells", [False, True])
def test_the_straight_path_of_coerce_submission_answers_as_the_full_loop(cells: bool) -> None:
    from forms_engine import validate

    hooks = load_builtin(Hooks())
    form = load_app({"app.yaml": "key: probe\nlabel: Probe\n", "forms/probe.yaml": SUB_FORM}, hooks.kinds,
                    services=hooks.services).forms["probe"]
    for body in BODIES:
        got = validate.coerce_submission(form, body, creating=True, cells=cells)
        assert got == validate._coerce_each(form, body, cells), body
        assert list(got[0]) == list(validate._coerce_each(form, body, cells)[0]), body  # the same key order
