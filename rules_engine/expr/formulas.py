"""Formula sets: several named formulas compiled into one function, evaluated in dependency order.

A form's computed fields are such a set: ``total`` may use ``subtotal``; the set orders them (refusing cycles) and
each later formula reads the value just computed, not the stored one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import getcontext, setcontext
from graphlib import CycleError, TopologicalSorter
from typing import Any, Callable, Mapping

from ..env import DEFAULT_ENV, Env
from ..errors import EvalError, ExpressionCompileError
from ..limits import CONTEXT
from ..scope import Scope
from .expression import build_function, translate_expression
from .operators import translate
from .translate import Local, Namespace

_NO_VALUES: Mapping[str, Any] = {}


@dataclass(frozen=True)
class FormulaInfo:
    """One formula of a set: its text, the record paths and the other formulas it reads, its result type."""

    key: str
    source: str
    reads: frozenset[str]
    uses: frozenset[str]
    result_type: str


@dataclass(frozen=True)
class FormulaSet:
    """Named formulas compiled into one function; ``order`` is the evaluation order."""

    formulas: Mapping[str, FormulaInfo]
    order: tuple[str, ...]
    code: str = field(repr=False)
    _fn: Callable[[Mapping[str, Any], Env], dict[str, Any]] = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, Any] | None = None, env: Env | None = None) -> dict[str, Any]:
        """Every formula's value, by key; raise ``EvalError`` naming the formula that failed."""
        old = getcontext()
        setcontext(CONTEXT)
        try:
            return self._fn(_NO_VALUES if values is None else values, DEFAULT_ENV if env is None else env)
        finally:
            setcontext(old)


def _fail(exc: BaseException, key: str, source: str) -> EvalError:
    error = translate(exc, source)
    return EvalError(f"formula {key!r}: {error.message}", error.code)


def compile_formulas(formulas: Mapping[str, str], scope: Scope) -> FormulaSet:
    """Compile named formulas against ``scope``, ordered so each runs after the formulas it uses.

    Raises:
        ExpressionCompileError: for a bad formula (its message starts with the formula's key) or a cycle.
    """
    keys = list(formulas)
    probe_locals = {key: Local(f"_L{i}", _declared(scope, key)) for i, key in enumerate(keys)}
    uses: dict[str, set[str]] = {}
    reads: dict[str, set[str]] = {}
    for key, source in formulas.items():
        others = {k: v for k, v in probe_locals.items() if k != key}
        probe = _translate(key, source, scope, Namespace(), others)
        uses[key], reads[key] = probe.locals_read, probe.reads
    try:
        order = tuple(TopologicalSorter(uses).static_order())
    except CycleError as exc:
        cycle = " → ".join(exc.args[1])
        raise ExpressionCompileError(f"formulas depend on each other in a cycle: {cycle}", 1) from None
    ns = Namespace()
    # each plain input field is read and converted once, before the first formula that uses it
    inputs: dict[str, Local] = {}
    first_use: dict[str, int] = {}
    for position, key in enumerate(order):
        for name in sorted(reads[key]):
            if "." not in name and name not in formulas and isinstance(scope.fields.get(name), str) \
                    and name not in inputs:
                inputs[name] = Local(f"_I{len(inputs)}", _declared(scope, name))
                first_use[name] = position
    locals_: dict[str, Local] = dict(inputs)
    lines = ["def _formulas(_v, _env):", "    _o = {}", "    _at = 0"]
    infos: dict[str, FormulaInfo] = {}
    deadline = False
    body = []
    for name, local in sorted(inputs.items(), key=lambda item: first_use[item[0]]):
        t = translate_expression(name, scope, ns)
        body += [f"        _at = {first_use[name]}", f"        {local.var} = {t.code}"]
    for position, key in enumerate(order):
        t = _translate(key, formulas[key], scope, ns, locals_)
        var = f"_L{position}"
        body += [f"        _at = {position}", f"        {var} = {t.code}", f"        _o[{key!r}] = {var}"]
        locals_[key] = Local(var, t.type)
        deadline = deadline or t.needs_deadline
        read_inputs = {name for name in t.locals_read if name in inputs}
        infos[key] = FormulaInfo(key, formulas[key], frozenset(set(t.reads) | read_inputs),
                                 frozenset(set(t.locals_read) - read_inputs), t.type)
    if deadline:
        lines.append("    _dl = _mono() + _env.time_budget")
    lines += ["    try:", *(body or ["        pass"]), "    except _Exc as _e:",
              "        raise _fail(_e, _keys[_at], _sources[_at]) from None", "    return _o"]
    ns.globals["_fail"] = _fail
    ns.globals["_keys"] = order
    ns.globals["_sources"] = tuple(formulas[k] for k in order)
    code = "\n".join(lines) + "\n"
    fn = build_function(code, ns, "_formulas", "; ".join(formulas.values()))
    return FormulaSet(formulas={k: infos[k] for k in keys}, order=order, code=code, _fn=fn)


def _declared(scope: Scope, key: str) -> str:
    kind = scope.fields.get(key)
    return kind if isinstance(kind, str) else "any"


def _translate(key: str, source: str, scope: Scope, ns: Namespace, locals_: Mapping[str, Local]) -> Any:
    try:
        return translate_expression(source, scope, ns, locals_)
    except ExpressionCompileError as exc:
        raise ExpressionCompileError(f"formula {key!r}: {exc.message}", exc.col, exc.hint, source) from None
