"""Loomwork's rules engine: a compiled, sandboxed expression language with Excel-like functions, and decision
tables with hit policies, load-time checks, explanations and tests.

Public API (everything else is private and may change)::

    compile_expression(source, scope) -> Expression        .evaluate(values, env) / .try_evaluate(...)
    compile_formulas({key: source}, scope) -> FormulaSet     .evaluate(values, env) -> {key: value}
    Scope.from_fields({...}, extra_names=...), Scope.rows({...}), Env(clock=..., user=..., holidays=...)
    build_decision_table(document, problems) -> DecisionTable | None   .evaluate(inputs, env) -> Decision
    run_tests(tables) -> (passed, failed, results), summary_line(passed, failed)
    amortization_schedule(principal, annual_rate, months, method)
    FUNCTIONS: name -> FunctionSpec (closed registry)
"""
from __future__ import annotations

from . import functions as _functions
from .env import DEFAULT_ENV, Env
from .errors import EvalError, ExpressionCompileError
from .expr.expression import Expression, compile_expression
from .expr.formulas import FormulaSet, compile_formulas
from .finance import amortization_schedule, round_money
from .functions.registry import REGISTRY as _REGISTRY
from .functions.registry import FunctionSpec
from .scope import VALUE_TYPES, Scope

_REGISTRY.close()

#: Every function an expression may call (read-only; the registry is closed).
FUNCTIONS = _REGISTRY.specs()

from .decision import (  # noqa: E402 - the decision tables compile cells with the closed library
    Decision,
    DecisionTable,
    TestResult,
    build_decision_table,
    run_table_tests,
    run_tests,
    summary_line,
)

__all__ = [
    "DEFAULT_ENV", "FUNCTIONS", "VALUE_TYPES", "Decision", "DecisionTable", "Env", "EvalError", "Expression",
    "ExpressionCompileError", "FormulaSet", "FunctionSpec", "Scope", "TestResult", "amortization_schedule",
    "build_decision_table", "compile_expression", "compile_formulas", "round_money", "run_table_tests",
    "run_tests", "summary_line",
]
del _functions
