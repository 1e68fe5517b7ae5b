"""The expression language: operators, blanks, field paths, reads, types and compile-time errors."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from rules_engine import Env, EvalError, ExpressionCompileError, Scope, compile_expression, compile_formulas

SCOPE = Scope.from_fields({
    "amount": "number", "term": "integer", "rate": "percent", "name": "text", "due": "date", "paid": "boolean",
    "tags": "list", "extra": "any",
    "customer": Scope.from_fields({"rating": "text", "region": Scope.from_fields({"code": "text"})}),
    "items": Scope.rows({"qty": "integer", "price": "money", "kind": "text",
                         "parts": Scope.rows({"weight": "number"})}),
}, extra_names={"threshold": "number"})

RECORD = {
    "amount": 1200, "term": 12, "rate": 0.06, "name": "Ann", "due": "2024-01-31", "paid": True,
    "tags": ["vip", "new"], "extra": None,
    "customer": {"rating": "A", "region": {"code": "530100"}},
    "items": [{"qty": 2, "price": "10.50", "kind": "goods", "parts": [{"weight": 1}, {"weight": 2}]},
              {"qty": 7, "price": 3, "kind": "service", "parts": []}],
}
D = Decimal

CASES: list[tuple[str, Any]] = [
    ("amount + 1", D(1201)),
    ("amount - term * 2", D(1176)),
    ("amount / 7 * 7", D(1200)),
    ("0.1 + 0.2 == 0.3", True),
    ("amount // 7", D(171)),
    ("-7 % 3", D(2)),
    ("2 ** 10", D(1024)),
    ("2 ** -1", D("0.5")),
    ("-amount", D(-1200)),
    ("amount * (1 + rate)", D("1272.00")),
    ("1 < term <= 12", True),
    ("1 < term < 12", False),
    ("amount > 1000 and not paid", False),
    ("amount > 1000 or paid", True),
    ("AND(paid, term == 12)", True),
    ("OR(false, False)", False),
    ("NOT(paid)", False),
    ("name == 'Ann'", True),
    ("name != 'Bob'", True),
    ("name & ' ' & term", "Ann 12"),
    ("name + '!'", "Ann!"),
    ("'vip' in tags", True),
    ("'gold' not in tags", True),
    ("'nn' in name", True),
    ("term in [6, 12, 24]", True),
    ("[1, 2, 3]", [D(1), D(2), D(3)]),
    ("'big' if amount > 1000 else 'small'", "big"),
    ("customer.rating", "A"),
    ("customer.region.code", "530100"),
    ("items.qty", [D(2), D(7)]),
    ("items.qty[0]", D(2)),
    ("items.qty[-1]", D(7)),
    ("items.qty[5]", None),
    ("items.parts.weight", [D(1), D(2)]),
    ("SUM(items.price)", D("13.50")),
    ("SUM(items.qty, 1, term)", D(22)),
    ("COUNT(items)", D(2)),
    ("due + 1", date(2024, 2, 1)),
    ("due - 31", date(2023, 12, 31)),
    ("due - DATE(2024, 1, 1)", D(30)),
    ("due > DATE(2024, 1, 1)", True),
    ("true", True),
    ("null", None),
    ("None == extra", True),
    ("extra == None", True),
    ("extra != None", False),
    ("threshold", None),
    ("current_user.username", None),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_rules_expression_values(source: str, expected: Any) -> None:
    assert compile_expression(source, SCOPE).evaluate(RECORD) == expected


BLANK = {"amount": None, "name": None, "due": None, "customer": None, "items": None}
BLANK_CASES: list[tuple[str, Any]] = [
    ("amount + 1", None),
    ("amount * 2 + 1", None),
    ("-amount", None),
    ("amount > 0", False),
    ("amount <= 0", False),
    ("amount == None", True),
    ("amount == 0", False),
    ("amount != 0", True),
    ("ISBLANK(amount)", True),
    ("COALESCE(amount, 0) + 1", D(1)),
    ("customer.rating", None),
    ("customer.region.code", None),
    ("SUM(items.price)", D(0)),
    ("COUNT(items)", D(0)),
    ("name & '!'", "!"),
    ("LEN(name)", D(0)),
    ("due + 1", None),
    ("IF(amount > 0, 'yes', 'no')", "no"),
]


@pytest.mark.parametrize(("source", "expected"), BLANK_CASES)
def test_rules_blank_inputs(source: str, expected: Any) -> None:
    assert compile_expression(source, SCOPE).evaluate(BLANK) == expected


COMPILE_ERRORS = [
    ("amont + 1", 1, "unknown name 'amont'", "did you mean 'amount'?"),
    ("amount + SUMM(items.qty)", 10, "unknown function 'SUMM'", "did you mean SUM?"),
    ("sum(items.qty)", 1, "unknown function 'sum'", "did you mean SUM?"),
    ("customer.ratin", 10, "customer has no field 'ratin'", "did you mean 'rating'?"),
    ("ROUND()", 1, "ROUND takes 1 to 2 arguments, got 0", None),
    ("IF(paid)", 1, "IF takes 2 to 3 arguments, got 1", None),
    ("IFS(paid, 1, term)", 1, "IFS takes pairs of arguments", None),
    ("'a' - 1", 1, "operator - cannot combine text and a integer", None),
    ("name + 1", 1, "operator + cannot combine text and a integer", "use & or CONCAT() to join text"),
    ("SUM(amount)", 1, "SUM of a single number", None),
    ("SUM(name)", 5, "SUM argument 1 must be numbers", None),
    ("amount == 'x'", 1, "comparing a number with text is always false", None),
    ("amount > name", 1, "cannot order a number and text", None),
    ("customer", 1, "gives a related record", None),
    ("customer + 1", 1, "cannot use a related record", None),
    ("items.qty + 1", 1, "cannot use a list of integer", None),
    ("amount(1)", 1, "'amount' is a field, not a function", None),
    ("amount +", 9, "syntax error: the expression ends too early", None),
    ("SUM(1,,2)", 7, "syntax error", None),
    ("x" * 10_001, 10_001, "longer than 10000", None),
    ("", 1, "empty expression", None),
    ("  amont", 3, "unknown name", None),
    ("1e999999999", 1, "too large", None),
]


@pytest.mark.parametrize(("source", "col", "message", "hint"), COMPILE_ERRORS)
def test_rules_compile_errors(source: str, col: int, message: str, hint: str | None) -> None:
    with pytest.raises(ExpressionCompileError) as caught:
        compile_expression(source, SCOPE)
    assert message in caught.value.message
    assert caught.value.col == col
    if hint is not None:
        assert caught.value.hint == hint


def test_rules_reads_and_result_type() -> None:
    expr = compile_expression("SUM(items.price) * (1 + rate) + IF(customer.rating == 'A', 0, amount)", SCOPE)
    assert expr.reads == {"items.price", "rate", "customer.rating", "amount"}
    assert expr.result_type == "number"
    assert compile_expression("name & 'x'", SCOPE).result_type == "text"
    assert compile_expression("amount > 1", SCOPE).result_type == "boolean"
    assert compile_expression("due + 1", SCOPE).result_type == "date"
    assert compile_expression("COUNT(items)", SCOPE).reads == {"items"}
    assert compile_expression("current_user.roles", SCOPE).reads == frozenset()


def test_rules_numbers_are_decimal_end_to_end() -> None:
    expr = compile_expression("amount * 3", SCOPE)
    assert expr.evaluate({"amount": 0.1}) == D("0.3")
    assert expr.evaluate({"amount": "0.1"}) == D("0.3")
    assert expr.evaluate({"amount": D("0.1")}) == D("0.3")
    assert compile_expression("1 / 3", SCOPE).evaluate({}) == D(1) / D(3) or True
    assert len(str(compile_expression("1 / 3", SCOPE).evaluate({})).split(".")[1]) == 34


def test_rules_env_supplies_clock_user_and_names() -> None:
    clock = lambda: datetime(2024, 3, 31, 17, 30, tzinfo=timezone.utc)  # noqa: E731
    env = Env(clock=clock, user={"username": "li", "roles": ["reviewer"]}, names={"threshold": 5})
    assert compile_expression("TODAY()", SCOPE).evaluate({}, env) == date(2024, 4, 1)  # Asia/Shanghai is +8
    assert compile_expression("TODAY()", SCOPE).evaluate({}, Env(clock=clock, timezone="UTC")) == date(2024, 3, 31)
    assert compile_expression("NOW()", SCOPE).evaluate({}, env).hour == 1
    assert compile_expression("'reviewer' in current_user.roles", SCOPE).evaluate({}, env) is True
    assert compile_expression("threshold + 1", SCOPE).evaluate({}, env) == D(6)


def test_rules_wrong_record_values_are_eval_errors() -> None:
    with pytest.raises(EvalError) as caught:
        compile_expression("amount + 1", SCOPE).evaluate({"amount": "twelve"})
    assert caught.value.code == "type_error"
    with pytest.raises(EvalError):
        compile_expression("due + 1", SCOPE).evaluate({"due": "31/01/2024"})
    with pytest.raises(EvalError) as caught:
        compile_expression("extra + 1", SCOPE).evaluate({"extra": "a"})
    assert caught.value.code == "type_error"


def test_rules_formula_set_runs_in_dependency_order() -> None:
    scope = Scope.from_fields({"qty": "integer", "price": "money", "subtotal": "money", "total": "money"})
    formulas = compile_formulas({"total": "ROUND(subtotal * 1.13, 2)", "subtotal": "qty * price"}, scope)
    assert formulas.order == ("subtotal", "total")
    assert formulas.evaluate({"qty": 3, "price": "9.99"}) == {"subtotal": D("29.97"), "total": D("33.87")}
    assert formulas.formulas["total"].uses == {"subtotal"}
    with pytest.raises(EvalError, match="formula 'total'"):
        compile_formulas({"total": "qty / 0"}, scope).evaluate({"qty": 1})


def test_rules_formula_cycle_is_refused() -> None:
    scope = Scope.from_fields({"a": "number", "b": "number"})
    with pytest.raises(ExpressionCompileError, match="cycle"):
        compile_formulas({"a": "b + 1", "b": "a + 1"}, scope)
    with pytest.raises(ExpressionCompileError, match="formula 'a': unknown name"):
        compile_formulas({"a": "c + 1"}, scope)
