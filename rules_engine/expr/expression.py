"""Compiled expressions: ``compile_expression(text, scope)`` → ``Expression`` with ``evaluate(values, env)``."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import getcontext, setcontext
from typing import Any, Callable, Mapping

from ..env import DEFAULT_ENV, Env
from ..errors import EvalError, ExpressionCompileError
from ..limits import CONTEXT
from ..scope import Scope
from .operators import translate
from .parse import parse
from .translate import Local, Namespace, Translation, Translator

_NO_VALUES: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Expression:
    """One compiled expression.

    Attributes:
        source: the expression text as written.
        reads: dotted record paths the expression reads (``{"items.price", "rate"}``), for dependency order.
        result_type: the inferred result type, or ``"any"``.
        functions: the library functions it calls.
        code: the generated Python source (for debugging and review).
    """

    source: str
    reads: frozenset[str]
    result_type: str
    functions: frozenset[str]
    code: str = field(repr=False)
    _fn: Callable[[Mapping[str, Any], Env], Any] = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, Any] | None = None, env: Env | None = None) -> Any:
        """Evaluate against a record; raise ``EvalError`` (and nothing else) when the evaluation fails."""
        old = getcontext()
        setcontext(CONTEXT)
        try:
            return self._fn(_NO_VALUES if values is None else values, DEFAULT_ENV if env is None else env)
        except EvalError:
            raise
        except Exception as exc:  # every failure becomes an EvalError: never another type
            raise translate(exc, self.source) from None
        finally:
            setcontext(old)

    def try_evaluate(self, values: Mapping[str, Any] | None = None,
                     env: Env | None = None) -> tuple[Any, EvalError | None]:
        """Evaluate; return ``(value, None)`` or ``(None, error)``."""
        try:
            return self.evaluate(values, env), None
        except EvalError as exc:
            return None, exc


def compile_expression(source: str, scope: Scope | None = None, *, aliases: Mapping[str, str] | None = None) -> Expression:
    """Parse, check and compile ``source`` once.

    Args:
        source: the expression text.
        scope: the names it may read; an empty scope when omitted.
        aliases: internal name → name shown in messages (decision-table cells show ``?``).

    Raises:
        ExpressionCompileError: with a 1-based column and a hint.
    """
    scope = scope or Scope()
    node, located = parse(source)
    ns = Namespace()
    translation = Translator(scope, located, ns, aliases=aliases).run(node)
    code = _function_source("_expression", translation)
    fn = build_function(code, ns, "_expression", source)
    return Expression(source=source, reads=frozenset(translation.reads), result_type=translation.type,
                      functions=frozenset(translation.functions), code=code, _fn=fn)


def translate_expression(source: str, scope: Scope, ns: Namespace, local_names: Mapping[str, Local] | None = None,
                         aliases: Mapping[str, str] | None = None) -> Translation:
    """Translate without building a function (formula sets and decision tables join several translations)."""
    node, located = parse(source)
    return Translator(scope, located, ns, local_names, aliases).run(node)


def _function_source(name: str, translation: Translation) -> str:
    lines = [f"def {name}(_v, _env):"]
    if translation.needs_deadline:
        lines.append("    _dl = _mono() + _env.time_budget")
    lines.append(f"    return {translation.code}")
    return "\n".join(lines) + "\n"


def build_function(code: str, ns: Namespace, name: str, source: str) -> Callable[..., Any]:
    """Compile generated ``code`` with the namespace's globals and return the function called ``name``."""
    try:
        compiled = compile(code, f"<expression {source[:40]!r}>", "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise ExpressionCompileError("expression too complex", 1, "split it into several formulas", source) from None
    scope: dict[str, Any] = {}
    exec(compiled, ns.globals, scope)  # noqa: S102 - generated code only; see translate.py
    return scope[name]
