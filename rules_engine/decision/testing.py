"""Running the examples a decision table carries (``tests:``), for ``loomwork check --test``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..errors import EvalError
from ..values import CONVERTERS, to_json
from .cells import CellError, parse_output_cell
from .table import DecisionTable, OutputSpec


@dataclass(frozen=True)
class TestResult:
    """One example's outcome: the table, the test number, whether it passed, and what happened."""

    __test__ = False  # not a pytest class

    table: str
    file: str
    number: int
    passed: bool
    message: str
    expected: Any = None
    actual: Any = None
    note: str = ""

    def __str__(self) -> str:
        status = "passed" if self.passed else "FAILED"
        return f"{self.file}: {self.table} test {self.number} {status}" + (f": {self.message}" if self.message else "")


def _expected_row(outputs: tuple[OutputSpec, ...], row: Any) -> Any:
    if not isinstance(row, dict):
        if len(outputs) == 1:
            row = {outputs[0].key: row}
        else:
            return row
    by_key = {o.key: o for o in outputs}
    out = {}
    for key, value in row.items():
        spec = by_key.get(key)
        try:
            out[key] = parse_output_cell(value, spec.type)[0] if spec else value
        except CellError:
            out[key] = value
    return out


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and actual[k] == v for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_matches(e, a) for e, a in zip(expected, actual))
    return bool(expected == actual)


def run_table_tests(table: DecisionTable) -> list[TestResult]:
    """Evaluate every example of ``table`` and compare with its expectation (outputs not named are not compared)."""
    results = []
    for test in table.tests:
        given = {k: v for k, v in test.given.items()}
        try:
            decision = table.evaluate(given)
        except EvalError as exc:
            passed = test.expect_error is not None and exc.code == test.expect_error
            results.append(TestResult(table.key, table.file, test.number, passed,
                                      "" if passed else f"raised {exc.code}: {exc.message}", test.expect_error,
                                      exc.code, test.note))
            continue
        if test.expect_error is not None:
            results.append(TestResult(table.key, table.file, test.number, False,
                                      f"expected error {test.expect_error}, got {to_json(decision.result)}",
                                      test.expect_error, to_json(decision.result), test.note))
            continue
        expected = test.expect
        if isinstance(expected, list):
            expected = [_expected_row(table.outputs, row) for row in expected]
        elif table.aggregation and expected is not None:
            expected = CONVERTERS[table.outputs[0].type](expected)
        elif expected is not None:
            expected = _expected_row(table.outputs, expected)
        passed = _matches(expected, decision.result)
        message = "" if passed else f"expected {to_json(expected)}, got {to_json(decision.result)} " \
                                    f"(rules matched: {list(decision.matched) or 'none'})"
        results.append(TestResult(table.key, table.file, test.number, passed, message, to_json(expected),
                                  to_json(decision.result), test.note))
    return results


def run_tests(tables: Iterable[DecisionTable]) -> tuple[int, int, list[TestResult]]:
    """Run the examples of several tables: ``(passed, failed, results)``."""
    results = [result for table in tables for result in run_table_tests(table)]
    passed = sum(1 for r in results if r.passed)
    return passed, len(results) - passed, results


def summary_line(passed: int, failed: int) -> str:
    """``12 rule tests passed, 0 failed``."""
    return f"{passed} rule test{'s' if passed != 1 else ''} passed, {failed} failed"
