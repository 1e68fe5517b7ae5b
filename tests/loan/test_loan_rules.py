"""The loan app's rules: `loomwork check --test` passes every decision-table example, and the formulas that apply
two of the tables on every save (loan classification, customer tier) agree with the tables cell for cell."""
from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from engine.cli import main
from engine.loader import load_app_folder
from engine.plugins import Hooks, load_builtin
from rules_engine import Env
from tests.loan.loan_data import LOAN_DIR


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    return load_app_folder(LOAN_DIR, load_builtin(Hooks()).kinds)


def test_check_with_tests_passes_and_counts_the_examples(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["check", str(LOAN_DIR), "--test"]) == 0
    out = capsys.readouterr()
    assert out.out.strip().splitlines()[-1] == "47 rule tests passed, 0 failed"
    assert "0 problems in 1 app" in out.err


def test_the_tables_of_the_issue_exist(app) -> None:  # type: ignore[no-untyped-def]
    assert set(app.of_kind("decision_table")) >= {"risk_grade", "credit_limit", "compliance_checks",
                                                    "loan_classification", "customer_tier"}


@pytest.mark.parametrize("form", ["repayment_instalment", "disbursement"])
def test_classification_formula_is_the_decision_table(app, form) -> None:  # type: ignore[no-untyped-def]
    table = app.of_kind("decision_table")["loan_classification"]
    formula = app.forms[form].field("classification").expr
    for days in (0, 1, 2, 30, 89, 90, 91, 92, 179, 180, 181, 182, 359, 360, 361, 362, 1000, 10_000):
        expected = table.evaluate({"days_past_due": days}, Env()).result["classification"]
        assert formula.evaluate({"days_past_due": Decimal(days)}, Env()) == expected, days


def test_tier_formula_is_the_decision_table(app) -> None:  # type: ignore[no-untyped-def]
    table = app.of_kind("decision_table")["customer_tier"]
    formula = app.forms["customer"].field("tier").expr
    for rating, overdue, blacklisted in itertools.product(["A", "B", "C", "D", None], [0, 1, 40, 400], [False, True]):
        expected = table.evaluate({"rating": rating, "overdue_days_max": overdue, "blacklisted": blacklisted},
                                  Env()).result["tier"]
        got = formula.evaluate({"rating": rating, "overdue_days_max": Decimal(overdue), "blacklisted": blacklisted},
                               Env())
        assert got == expected, (rating, overdue, blacklisted)


def test_risk_grade_table_traces_why(app) -> None:  # type: ignore[no-untyped-def]
    table = app.of_kind("decision_table")["risk_grade"]
    decision = table.evaluate({"credit_score": 600, "debt_ratio": Decimal("0.9"), "past_overdue": 3}, Env())
    assert decision.result == {"grade": "R5"}
    assert set(decision.matched) == {2, 4, 6}       # three reasons; the worst grade wins (PRIORITY)
