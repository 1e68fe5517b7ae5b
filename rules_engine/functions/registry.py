"""The function registry: every function an expression may call, with its argument rules and documentation.

Built-in modules register with ``@function(...)`` exactly as an extension would; ``close()`` (run when
``rules_engine`` is imported) refuses later registrations, so the set of callable functions is fixed after start-up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

#: Argument kinds a function may declare (what static types each accepts is decided by the compiler).
ARG_KINDS = frozenset({"any", "scalar", "number", "text", "date", "boolean", "list", "countable", "numbers",
                       "criterion"})

Inline = Callable[[Sequence[str], Callable[[], str]], str]


@dataclass(frozen=True)
class FunctionSpec:
    """One library function.

    Attributes:
        name: upper-case name used in expressions.
        impl: the Python callable (receives language values; the Env first when ``needs_env``).
        params: argument kind of each positional argument.
        min_args: fewest arguments; ``max_args`` most (None: no limit, extra ones take ``rest``).
        returns: result type, or a callable of the argument types giving it.
        doc: one-line description; ``example``: an expression using it; ``category``: for the docs.
        needs_env: the callable takes the ``Env`` first; ``iterates``: the callable takes a deadline second.
        inline: code generator for functions evaluated lazily (IF, AND, ...): gets argument code and a
            temporary-name maker, returns Python code.
    """

    name: str
    impl: Callable[..., Any] | None
    params: tuple[str, ...]
    min_args: int
    max_args: int | None
    returns: str | Callable[[Sequence[str]], str]
    doc: str
    example: str
    category: str
    rest: str = "any"
    needs_env: bool = False
    iterates: bool = False
    inline: Inline | None = None
    even_args: bool = field(default=False)

    def arg_kind(self, position: int) -> str:
        """The kind expected at ``position``."""
        return self.params[position] if position < len(self.params) else self.rest

    def result_type(self, arg_types: Sequence[str]) -> str:
        """The static result type for these argument types."""
        return self.returns(arg_types) if callable(self.returns) else self.returns

    def arity(self) -> str:
        """Argument count as text, for messages."""
        if self.max_args is None:
            return f"at least {self.min_args}"
        if self.min_args == self.max_args:
            return str(self.min_args)
        return f"{self.min_args} to {self.max_args}"


class FunctionRegistry:
    """Name → ``FunctionSpec``; closed once start-up is over."""

    def __init__(self) -> None:
        self._specs: dict[str, FunctionSpec] = {}
        self._closed = False

    def add(self, spec: FunctionSpec) -> None:
        """Register a function; refused after ``close()`` or for a name already taken."""
        if self._closed:
            raise RuntimeError(f"function registry is closed; cannot register {spec.name}")
        if not spec.name.isidentifier() or spec.name.upper() != spec.name or spec.name.startswith("_"):
            raise ValueError(f"function names are upper-case identifiers: {spec.name!r}")
        if spec.name in self._specs:
            raise ValueError(f"function {spec.name} is already registered")
        for kind in (*spec.params, spec.rest):
            if kind not in ARG_KINDS:
                raise ValueError(f"{spec.name}: unknown argument kind {kind!r}")
        self._specs[spec.name] = spec

    def close(self) -> None:
        """Refuse further registrations."""
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def get(self, name: str) -> FunctionSpec | None:
        return self._specs.get(name)

    def specs(self) -> Mapping[str, FunctionSpec]:
        """A read-only view of every registered function."""
        return MappingProxyType(self._specs)


#: The registry of the expression language.
REGISTRY = FunctionRegistry()


def function(name: str, params: Sequence[str], *, returns: str | Callable[[Sequence[str]], str], doc: str,
             example: str, category: str, min_args: int | None = None, max_args: int | None | str = "params",
             rest: str = "any", needs_env: bool = False, iterates: bool = False, inline: Inline | None = None,
             even_args: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``impl`` as the function ``name``.

    By default the function takes exactly ``len(params)`` arguments; give ``min_args`` for optional trailing ones
    and ``max_args=None`` for a variable count (extra arguments are of kind ``rest``).
    """

    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY.add(FunctionSpec(
            name=name, impl=impl, params=tuple(params),
            min_args=len(params) if min_args is None else min_args,
            max_args=len(params) if max_args == "params" else max_args,  # type: ignore[arg-type]
            returns=returns, doc=doc, example=example, category=category, rest=rest,
            needs_env=needs_env, iterates=iterates, inline=inline, even_args=even_args))
        return impl

    return register
