"""Decision tables at run time: specs compiled into one Python function per table, hit policies, explanations."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, getcontext, setcontext
from typing import Any, Callable, Iterator, Mapping, NamedTuple

from ..env import DEFAULT_ENV, Env
from ..errors import EvalError
from ..expr.expression import Expression, build_function
from ..expr.operators import translate
from ..limits import CONTEXT
from ..values import CONVERTERS, to_json
from .cells import Cell

HIT_POLICIES = ("UNIQUE", "ANY", "FIRST", "PRIORITY", "RULE ORDER", "OUTPUT ORDER", "COLLECT")
SINGLE_HIT = frozenset({"UNIQUE", "ANY", "FIRST", "PRIORITY"})
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
#: Most decisions one ``recording()`` keeps (a loop over a thousand rows keeps the first ones and a count).
MAX_RECORDED = 100

_RECORDING: ContextVar["Recording | None"] = ContextVar("lw_decision_recording", default=None)


class Recording:
    """The decisions evaluated inside one ``recording()`` block, to store their traces with what they decided."""

    __slots__ = ("decisions", "dropped")

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.dropped = 0

    def add(self, decision: "Decision") -> None:
        if len(self.decisions) < MAX_RECORDED:
            self.decisions.append(decision)
        else:
            self.dropped += 1

    def traces(self) -> list[dict[str, Any]]:
        """Each decision's trace (JSON), in evaluation order; a last ``{"omitted": N}`` when some were dropped."""
        out = [d.trace for d in self.decisions]
        if self.dropped:
            out.append({"omitted": self.dropped})
        return out


@contextmanager
def recording() -> Iterator[Recording]:
    """Collect every decision table evaluated in this block (this thread or task), e.g. by ``DECIDE`` in a
    condition, an action's values or a formula recalculated meanwhile. Blocks nest: an inner block keeps its own."""
    found = Recording()
    token = _RECORDING.set(found)
    try:
        yield found
    finally:
        _RECORDING.reset(token)


@dataclass(frozen=True)
class InputSpec:
    """One input column: its key, type, the expression giving it from a record, and its declared domain."""

    key: str
    type: str
    label: str = ""
    expr: Expression | None = None
    domain: Cell | tuple[Any, ...] | None = None


@dataclass(frozen=True)
class OutputSpec:
    """One output column: key, type, allowed values in priority order (first is highest), default."""

    key: str
    type: str
    label: str = ""
    values: tuple[Any, ...] = ()
    default: Any = None


@dataclass(frozen=True)
class RuleSpec:
    """One row: its input cells, its output values (or expressions) and a note."""

    number: int
    cells: tuple[Cell, ...]
    outputs: Mapping[str, Any]
    output_exprs: Mapping[str, Expression]
    note: str = ""


@dataclass(frozen=True)
class TableTest:
    """An example carried by the definition: given inputs, the expected result (or error code)."""

    number: int
    given: Mapping[str, Any]
    expect: Any
    expect_error: str | None = None
    note: str = ""


class Decision(NamedTuple):
    """The outcome of one evaluation: ``result`` plus the matched rule numbers; ``trace`` explains it.

    A named tuple rather than a frozen dataclass: it is made once per evaluation, on the hot path."""

    result: Any
    matched: tuple[int, ...]
    inputs: Mapping[str, Any]
    table: "DecisionTable"

    def __repr__(self) -> str:
        return f"Decision(result={self.result!r}, matched={self.matched!r})"

    @property
    def trace(self) -> dict[str, Any]:
        """Which rows matched and, per cell, whether it held: JSON data to store with an audited decision."""
        return self.table.explain(self.inputs, self.matched, self.result)


@dataclass(frozen=True)
class DecisionTable:
    """A compiled decision table.

    ``evaluate(inputs)`` takes input values by key; ``evaluate_record(values)`` first computes each input's
    expression against a record.
    """

    key: str
    label: str
    hit_policy: str
    aggregation: str | None
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    rules: tuple[RuleSpec, ...]
    tests: tuple[TableTest, ...]
    file: str
    code: str = field(repr=False)
    _match: Callable[[Mapping[str, Any], Env], tuple[Any, ...]] = field(repr=False, compare=False)
    _cell_tests: tuple[tuple[Callable[[Mapping[str, Any], Env], bool] | None, ...], ...] = field(
        repr=False, compare=False)

    def evaluate(self, inputs: Mapping[str, Any], env: Env | None = None) -> Decision:
        """Evaluate with input values by key; raise ``EvalError`` (``multiple_matches`` under UNIQUE, ...)."""
        env = DEFAULT_ENV if env is None else env
        old = getcontext()
        setcontext(CONTEXT)
        try:
            converted, matched = self._match(inputs, env)
            result = self._result(matched, converted, env)
        except EvalError as exc:
            raise EvalError(f"decision table {self.key!r}: {exc.message}", exc.code) from None
        except Exception as exc:  # every failure becomes an EvalError
            error = translate(exc, "")
            raise EvalError(f"decision table {self.key!r}: {error.message}", error.code) from None
        finally:
            setcontext(old)
        numbers = self._numbers
        decision = Decision(result, tuple(numbers[i] for i in matched) if len(matched) != 1
                            else (numbers[matched[0]],), converted, self)
        found = _RECORDING.get()
        if found is not None:
            found.add(decision)
        return decision

    @property
    def _numbers(self) -> tuple[int, ...]:
        cached = self.__dict__.get("_rule_numbers")
        if cached is None:
            cached = tuple(rule.number for rule in self.rules)
            object.__setattr__(self, "_rule_numbers", cached)
        return cached

    def evaluate_record(self, values: Mapping[str, Any], env: Env | None = None) -> Decision:
        """Compute each input from a record (its ``expr``, or the field of the same key) and evaluate."""
        inputs = {}
        for spec in self.inputs:
            inputs[spec.key] = spec.expr.evaluate(values, env) if spec.expr is not None else values.get(spec.key)
        return self.evaluate(inputs, env)

    # -- hit policies ---------------------------------------------------------------------------------------------
    def _outputs(self, index: int, inputs: Mapping[str, Any], env: Env) -> dict[str, Any]:
        rule = self.rules[index]
        out = dict(rule.outputs)
        for key, expr in rule.output_exprs.items():
            out[key] = expr.evaluate(inputs, env)
        return out

    def _priority(self, outputs: Mapping[str, Any]) -> tuple[int, ...]:
        key = []
        for spec in self.outputs:
            if spec.values:
                value = outputs.get(spec.key)
                key.append(spec.values.index(value) if value in spec.values else len(spec.values))
        return tuple(key)

    def _result(self, matched: tuple[int, ...], inputs: Mapping[str, Any], env: Env) -> Any:
        policy = self.hit_policy
        if policy in SINGLE_HIT:
            if not matched:
                return self._defaults()
            if policy == "FIRST":
                return self._outputs(matched[0], inputs, env)
            if policy == "UNIQUE":
                if len(matched) > 1:
                    rows = ", ".join(str(self.rules[i].number) for i in matched)
                    raise EvalError(f"rules {rows} all match; UNIQUE allows one", "multiple_matches")
                return self._outputs(matched[0], inputs, env)
            results = [self._outputs(i, inputs, env) for i in matched]
            if policy == "ANY":
                if any(r != results[0] for r in results[1:]):
                    rows = ", ".join(str(self.rules[i].number) for i in matched)
                    raise EvalError(f"rules {rows} match with different outputs; ANY needs them equal",
                                    "conflicting_matches")
                return results[0]
            return min(results, key=self._priority)
        results = [self._outputs(i, inputs, env) for i in matched]
        if policy == "OUTPUT ORDER":
            return sorted(results, key=self._priority)
        if policy == "COLLECT" and self.aggregation:
            key = self.outputs[0].key
            values = [r[key] for r in results if r.get(key) is not None]
            if self.aggregation == "COUNT":
                return Decimal(len(matched))
            if self.aggregation == "SUM":
                return sum(values, Decimal(0))
            if not values:
                return None
            return min(values) if self.aggregation == "MIN" else max(values)
        return results

    def _defaults(self) -> dict[str, Any] | None:
        if any(spec.default is not None for spec in self.outputs):
            return {spec.key: spec.default for spec in self.outputs}
        return None

    # -- explanation ----------------------------------------------------------------------------------------------
    def explain(self, inputs: Mapping[str, Any], matched: tuple[int, ...], result: Any) -> dict[str, Any]:
        """The JSON trace of one evaluation (see ``Decision.trace``)."""
        old = getcontext()
        setcontext(CONTEXT)
        try:
            rules = []
            for index, rule in enumerate(self.rules):
                cells = []
                for column, cell in enumerate(rule.cells):
                    if cell.kind == "any":
                        continue
                    test = self._cell_tests[index][column]
                    spec = self.inputs[column]
                    try:
                        held = bool(test(inputs, DEFAULT_ENV)) if test else True
                    except Exception:  # an explanation never fails; a failing cell did not hold
                        held = False
                    cells.append({"input": spec.key, "test": cell.text, "matched": held})
                rules.append({"rule": rule.number, "matched": rule.number in matched, "cells": cells,
                              **({"note": rule.note} if rule.note else {})})
        finally:
            setcontext(old)
        return {"table": self.key, "file": self.file, "hit_policy": self.hit_policy,
                **({"aggregation": self.aggregation} if self.aggregation else {}),
                "inputs": {spec.key: to_json(inputs.get(spec.key)) for spec in self.inputs},
                "matched": list(matched), "rules": rules, "result": to_json(result)}


def compile_matcher(inputs: tuple[InputSpec, ...], rules: list[tuple[Cell, ...]], hit_policy: str,
                    cell_codes: list[list[str | None]], ns: Any) -> tuple[str, Callable[..., Any]]:
    """Generate the matching function: convert inputs once, test the rows, return (inputs, matched indices)."""
    lines = ["def _table(_in, _env):"]
    names = []
    for position, spec in enumerate(inputs):
        var = f"_i{position}"
        names.append(var)
        ns.globals[f"_c_{spec.type}"] = CONVERTERS[spec.type]
        lines.append(f"    {var} = _c_{spec.type}(_in.get({spec.key!r}))")
    converted = "{" + ", ".join(f"{spec.key!r}: {names[i]}" for i, spec in enumerate(inputs)) + "}"
    lines.append(f"    _conv = {converted}")
    first = hit_policy == "FIRST"
    if not first:
        lines.append("    _m = []")
    for index, codes in enumerate(cell_codes):
        present = [code for code in codes if code is not None]
        if all(_plain(code) for code in present):  # comparisons cannot fail: test the cheap ones first
            present.sort(key=lambda code: code.count("<") + code.count(">"))
        test = " and ".join(present) or "True"
        action = f"return _conv, ({index},)" if first else f"_m.append({index})"
        lines.append(f"    if {test}:\n        {action}")
    ns.globals["_tuple"] = tuple
    lines.append("    return _conv, ()" if first else "    return _conv, _tuple(_m)")
    code = "\n".join(lines) + "\n"
    return code, build_function(code, ns, "_table", "decision table")


def _plain(code: str) -> bool:
    """A cell test made only of comparisons of converted inputs with constants (no calls, no expressions)."""
    return "_F_" not in code and "_env" not in code and "_v" not in code and "(_" not in code.replace("(_i", "")


def compile_cell_test(inputs: tuple[InputSpec, ...], code: str, ns: Any) -> Callable[..., bool]:
    """A function ``(converted inputs, env) -> bool`` for one cell, used by explanations and load-time checks."""
    lines = ["def _cell(_in, _env):"]
    lines += [f"    _i{i} = _in.get({spec.key!r})" for i, spec in enumerate(inputs)]
    lines.append(f"    return {code}")
    return build_function("\n".join(lines) + "\n", ns, "_cell", "decision cell")
