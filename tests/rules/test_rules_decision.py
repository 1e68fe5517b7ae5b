"""Decision tables: cells, hit policies, load-time problems, traces and example tests."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from engine.errors import Problems
from engine.source import parse_text
from rules_engine import (EvalError, Scope, build_decision_table, run_table_tests, run_tests, summary_line)
from rules_engine.decision import DecisionTable

D = Decimal
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "rules_engine" / "schemas" /
                     "decision_table.json").read_text())

GRADE = """\
key: score_grade
kind: decision_table
label: Score grade
hit_policy: UNIQUE
inputs:
  - {key: score, label: Score, type: number, domain: "[0..1000]"}
  - {key: segment, type: text, domain: [retail, business]}
outputs:
  - {key: grade, type: text, values: [A, B, C]}
rules:
  - {when: [">= 750", "retail"], then: ["A"], note: "best retail"}
  - {when: ["[600..750)", "-"], then: ["B"]}
  - {when: ["< 600", "-"], then: [C]}
  - {when: {score: ">= 750", segment: business}, then: {grade: B}}
tests:
  - {given: {score: 800, segment: retail}, expect: {grade: A}}
  - {given: {score: 650, segment: business}, expect: B}
  - {given: {score: 599.99, segment: retail}, expect: {grade: C}}
"""


def build(text: str, **kwargs: Any) -> tuple[DecisionTable | None, Problems]:
    problems = Problems()
    table = build_decision_table(parse_text(text, "tables/t.yaml"), problems, **kwargs)
    return table, problems


def table_of(policy: str, rules: str, outputs: str = "[{key: out, type: text, values: [high, mid, low]}]",
             extra: str = "") -> DecisionTable:
    text = (f"key: t\nhit_policy: {policy}\n{extra}inputs: [{{key: x, type: number}}, {{key: kind, type: text}}]\n"
            f"outputs: {outputs}\nrules:\n{rules}")
    table, problems = build(text)
    assert not problems, [str(e) for e in problems.errors]
    assert table is not None
    return table


def test_rules_definition_validates_against_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(yaml.safe_load(GRADE), SCHEMA)


def test_rules_unique_table_evaluates_and_explains() -> None:
    table, problems = build(GRADE)
    assert not problems and table is not None
    decision = table.evaluate({"score": 800, "segment": "retail"})
    assert decision.result == {"grade": "A"}
    assert decision.matched == (1,)
    trace = json.loads(json.dumps(decision.trace))
    assert trace["matched"] == [1] and trace["inputs"] == {"score": "800", "segment": "retail"}
    assert trace["rules"][0] == {"rule": 1, "matched": True, "note": "best retail", "cells": [
        {"input": "score", "test": ">= 750", "matched": True}, {"input": "segment", "test": "retail", "matched": True}]}
    assert trace["rules"][3]["cells"][1] == {"input": "segment", "test": "business", "matched": False}
    assert table.evaluate({"score": 600, "segment": "business"}).result == {"grade": "B"}
    assert table.evaluate({"score": None, "segment": "retail"}).result is None
    passed, failed, results = run_tests([table])
    assert (passed, failed) == (3, 0)
    assert summary_line(passed, failed) == "3 rule tests passed, 0 failed"


CELLS = [
    ("-", [1, None], []),
    (">= 5", [5, 6], [4, None]),
    ("< 5", [4], [5, None]),
    ("!= 5", [4, 6], [5, None]),
    ("= 5", [5], [4]),
    ("5", [D("5.0")], [4]),
    ("[1..3]", [1, 2, 3], [0, D("3.01")]),
    ("(1..3)", [2], [1, 3]),
    ("[1..3)", [1], [3]),
    ("]1..3]", [3], [1]),
    ("1, 3, 5", [3], [2]),
    ("not(1, 3)", [2], [1, 3, None]),
    ("not([1..3])", [4], [2]),
    ("not(>= 5)", [4], [5]),
    ("null", [None], [0]),
    ("= ? * 2 > 10", [6], [5]),
    ("= ? > limit", [11], [10]),
    ("= limit + 1", [11], [10]),
]


@pytest.mark.parametrize(("cell", "matching", "failing"), CELLS)
def test_rules_number_cells(cell: str, matching: list[Any], failing: list[Any]) -> None:
    text = ("key: t\nhit_policy: FIRST\ninputs: [{key: x, type: number}, {key: limit, type: number}]\n"
            f"outputs: [{{key: ok, type: boolean}}]\nrules:\n  - {{when: [{json.dumps(cell)}, '-'], then: [true]}}\n")
    table, problems = build(text)
    assert not problems, [str(e) for e in problems.errors]
    assert table is not None
    for value in matching:
        assert table.evaluate({"x": value, "limit": 10}).matched == (1,), (cell, value)
    for value in failing:
        assert table.evaluate({"x": value, "limit": 10}).matched == (), (cell, value)


def test_rules_text_date_and_boolean_cells() -> None:
    text = """key: t
hit_policy: RULE ORDER
inputs: [{key: kind, type: text}, {key: due, type: date}, {key: vip, type: boolean}]
outputs: [{key: n, type: integer}]
rules:
  - {when: ['"gold card", silver', '-', '-'], then: [1]}
  - {when: ['-', '< 2024-06-01', '-'], then: [2]}
  - {when: ['-', '[2024-01-01..2024-12-31]', 'true'], then: [3]}
  - {when: ['not(silver)', '-', 'false'], then: [4]}
"""
    table, problems = build(text)
    assert not problems and table is not None
    result = table.evaluate({"kind": "gold card", "due": "2024-05-01", "vip": True}).result
    assert result == [{"n": D(1)}, {"n": D(2)}, {"n": D(3)}]
    assert table.evaluate({"kind": "bronze", "due": None, "vip": False}).result == [{"n": D(4)}]


RULES = """  - {when: [">= 10", "-"], then: [high]}
  - {when: [">= 5", "-"], then: [mid]}
  - {when: ["-", "a"], then: [low]}
  - {when: ["-", "a"], then: [mid]}
"""


@pytest.mark.parametrize(("policy", "inputs", "expected"), [
    ("FIRST", {"x": 12, "kind": "a"}, {"out": "high"}),
    ("FIRST", {"x": 1, "kind": "b"}, None),
    ("PRIORITY", {"x": 6, "kind": "a"}, {"out": "mid"}),
    ("PRIORITY", {"x": 12, "kind": "a"}, {"out": "high"}),
    ("RULE ORDER", {"x": 6, "kind": "a"}, [{"out": "mid"}, {"out": "low"}, {"out": "mid"}]),
    ("OUTPUT ORDER", {"x": 12, "kind": "a"}, [{"out": "high"}, {"out": "mid"}, {"out": "mid"}, {"out": "low"}]),
    ("COLLECT", {"x": 6, "kind": "b"}, [{"out": "mid"}]),
    ("COLLECT", {"x": 1, "kind": "b"}, []),
])
def test_rules_hit_policies(policy: str, inputs: dict[str, Any], expected: Any) -> None:
    assert table_of(policy, RULES).evaluate(inputs).result == expected


def test_rules_unique_and_any_refuse_ambiguity() -> None:
    rules = """  - {when: [">= 10", "-"], then: [high]}
  - {when: ["< 10", "-"], then: [low]}
"""
    table = table_of("UNIQUE", rules)
    assert table.evaluate({"x": 3}).result == {"out": "low"}
    any_table = table_of("ANY", RULES)
    assert any_table.evaluate({"x": 1, "kind": "b"}).result is None
    assert any_table.evaluate({"x": 7, "kind": "b"}).result == {"out": "mid"}
    with pytest.raises(EvalError) as caught:
        any_table.evaluate({"x": 7, "kind": "a"})
    assert caught.value.code == "conflicting_matches"
    text = "key: t\ninputs: [{key: x, type: any}]\noutputs: [{key: out}]\nrules:\n" \
           "  - {when: ['= ? > 1'], then: [a]}\n  - {when: ['= ? > 2'], then: [b]}\n"
    table2, problems = build(text)
    assert not problems and table2 is not None
    with pytest.raises(EvalError) as caught:
        table2.evaluate({"x": 5})
    assert caught.value.code == "multiple_matches" and "rules 1, 2" in caught.value.message


@pytest.mark.parametrize(("aggregation", "expected"), [("SUM", D(35)), ("MIN", D(5)), ("MAX", D(20)),
                                                       ("COUNT", D(3))])
def test_rules_collect_aggregations_count_duplicates(aggregation: str, expected: Decimal) -> None:
    rules = """  - {when: [">= 0", "-"], then: [10]}
  - {when: [">= 0", "-"], then: [5]}
  - {when: [">= 1", "-"], then: [20]}
  - {when: ["< 0", "-"], then: [100]}
"""
    table = table_of("COLLECT", rules, outputs="[{key: points, type: number}]", extra=f"aggregation: {aggregation}\n")
    assert table.evaluate({"x": 3}).result == expected


def test_rules_output_expressions_and_defaults() -> None:
    text = """key: fee
hit_policy: FIRST
inputs: [{key: amount, type: money}]
outputs: [{key: fee, type: money, default: 0}, {key: band, type: text, default: none}]
rules:
  - {when: [">= 1000"], then: {fee: "= ROUND(amount * 0.015, 2)", band: large}}
  - {when: ["[100..1000)"], then: {fee: 5, band: small}}
"""
    table, problems = build(text)
    assert not problems and table is not None
    assert table.evaluate({"amount": "1234.50"}).result == {"fee": D("18.52"), "band": "large"}
    assert table.evaluate({"amount": 1}).result == {"fee": D(0), "band": "none"}


def test_rules_evaluate_record_uses_input_expressions() -> None:
    text = """key: order_band
hit_policy: FIRST
inputs:
  - {key: total, type: money, expr: "SUM(items.price)"}
  - {key: rating, type: text, expr: customer.rating}
outputs: [{key: band, type: text}]
rules:
  - {when: [">= 100", "A"], then: [gold]}
  - {when: ["-", "-"], then: [standard]}
"""
    scope = Scope.from_fields({"customer": Scope.from_fields({"rating": "text"}),
                               "items": Scope.rows({"price": "money"})})
    table, problems = build(text, scope=scope)
    assert not problems and table is not None
    record = {"customer": {"rating": "A"}, "items": [{"price": 60}, {"price": 50}]}
    assert table.evaluate_record(record).result == {"band": "gold"}
    _, problems = build(text.replace("customer.rating", "customer.ratng"), scope=scope)
    assert "has no field 'ratng'" in str(problems.errors[0])


R0 = '  - {when: [">= 750", "retail"], then: ["A"], note: "best retail"}'
R1 = '  - {when: ["[600..750)", "-"], then: ["B"]}'
R2 = '  - {when: ["< 600", "-"], then: [C]}'
R3 = '  - {when: {score: ">= 750", segment: business}, then: {grade: B}}'
OUT = "outputs:\n  - {key: grade, type: text, values: [A, B, C]}"
BAD = [
    ("hit_policy: UNIQUE", "hit_policy: SOMETIMES", "hit_policy: unknown hit policy 'SOMETIMES'", 4),
    (R0, R0.replace('"retail"]', '"retail", "x"]'), "rules[0].when: 3 input cells for 2 inputs", 11),
    (R1, R1.replace("[600..750)", "[600.."), "rules[1].when[0]: invalid cell '[600..'", 12),
    (R2, '  - {when: {scor: "< 600", segment: "-"}, then: [C]}', "rules[2].when.scor: unknown input 'scor'", 13),
    (R3, R3.replace("{grade: B}", "{}"), "rules[3].then: missing output: grade", 14),
    (OUT, "outputs: []", "outputs: outputs must be a non-empty list", 8),
    (R2, R2.replace("[C]", "[D]"), "rules[2].then[0]: 'D' is not one of the values", 13),
    (R1, R1.replace("[600..750)", "abc"), "rules[1].when[0]: invalid cell 'abc': 'abc' is not a number", 12),
]


@pytest.mark.parametrize(("original", "replacement", "message", "line"), BAD)
def test_rules_bad_definitions_are_located(original: str, replacement: str, message: str, line: int) -> None:
    text = GRADE.replace(original, replacement)
    assert text != GRADE
    table, problems = build(text)
    assert table is None
    texts = [str(e) for e in problems.errors]
    assert any(message in t for t in texts), texts
    assert any(e.line == line for e in problems.errors if message in str(e)), texts


def test_rules_overlaps_and_gaps_are_reported_at_load() -> None:
    text = GRADE.replace('{score: ">= 750", segment: business}', '{score: ">= 700", segment: business}') \
                .replace('"[600..750)", "-"', '"[600..740)", "-"')
    table, problems = build(text)
    assert table is None
    texts = [str(e) for e in problems.errors]
    assert any("rules[3]: rules 2 and 4 overlap; UNIQUE allows one match" in t for t in texts), texts
    assert any("no rule matches inputs such as score = 740" in t and 'segment = "retail"' in t for t in texts)


def test_rules_integer_domain_gap_and_list_domain_gap() -> None:
    text = """key: t
hit_policy: FIRST
inputs: [{key: n, type: integer, domain: "[1..10]"}, {key: c, type: text, domain: [red, green, blue]}]
outputs: [{key: out, type: text}]
rules:
  - {when: ["[1..4]", "red, green"], then: [a]}
  - {when: ["[5..10]", "-"], then: [b]}
  - {when: ["(4..5)", "-"], then: [never]}
"""
    _, problems = build(text)
    texts = [str(e) for e in problems.errors]
    assert len(texts) == 1 and 'n = 1, c = "blue"' in texts[0], texts
    complete = text.replace('"red, green"', '"-"')
    table, problems = build(complete)
    assert table is not None and not problems


def test_rules_failing_example_is_reported() -> None:
    text = GRADE + "  - {given: {score: 10, segment: retail}, expect: {grade: A}, note: wrong on purpose}\n" \
                   "  - {given: {score: 1, segment: retail}, expect_error: multiple_matches}\n"
    table, problems = build(text)
    assert table is not None and not problems
    results = run_table_tests(table)
    assert [r.passed for r in results] == [True, True, True, False, False]
    assert "expected {'grade': 'A'}, got {'grade': 'C'} (rules matched: [3])" in results[3].message
    assert "expected error multiple_matches" in results[4].message
    assert summary_line(3, 2) == "3 rule tests passed, 2 failed"


def test_rules_check_with_tests_fails_on_a_broken_example_and_ends_with_the_summary(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A business user's change that breaks an example fails ``loomwork check --test`` (exit 1, as a git hook would
    see it), names the failing example, and the output ends with the count line."""
    import shutil

    from engine.cli import main
    from tests.conftest import APPS

    folder = tmp_path / "purchasing"
    shutil.copytree(APPS / "purchasing", folder)
    assert main(["check", str(folder), "--test"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "4 rule tests passed, 0 failed"
    table = folder / "rules" / "approval_level.yaml"
    # the change: office purchases from 1000 now go to the board; the example still expects department
    table.write_text(table.read_text().replace('then: [department]', 'then: [board]'))
    assert main(["check", str(folder), "--test"]) == 1
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "3 rule tests passed, 1 failed"
    assert "approval_level" in out and "department" in out
