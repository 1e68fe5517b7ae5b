"""Logic functions: IF, IFS, SWITCH, AND, OR, NOT, ISBLANK, COALESCE, IN.

IF, IFS, SWITCH, AND, OR, NOT and COALESCE are generated inline, so only the chosen branch is evaluated.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..expr.operators import contains
from ..expr.types import merge
from .registry import function

Temp = Callable[[], str]


def _if(codes: Sequence[str], temp: Temp) -> str:
    otherwise = codes[2] if len(codes) > 2 else "None"
    return f"({codes[1]} if {codes[0]} else {otherwise})"


def _ifs(codes: Sequence[str], temp: Temp) -> str:
    parts = [f"{codes[i + 1]} if {codes[i]} else " for i in range(0, len(codes), 2)]
    return "(" + "".join(parts) + "None)"


def _switch(codes: Sequence[str], temp: Temp) -> str:
    t = temp()
    pairs = codes[1:]
    default = pairs[-1] if len(pairs) % 2 else "None"
    out = []
    for i in range(0, len(pairs) - 1, 2):
        subject = f"({t}:={codes[0]})" if i == 0 else t
        out.append(f"{pairs[i + 1]} if {subject} == {pairs[i]} else ")
    return "(" + "".join(out) + default + ")"


def _and(codes: Sequence[str], temp: Temp) -> str:
    return "_bool(" + " and ".join(codes) + ")"


def _or(codes: Sequence[str], temp: Temp) -> str:
    return "_bool(" + " or ".join(codes) + ")"


def _not(codes: Sequence[str], temp: Temp) -> str:
    return f"(not {codes[0]})"


def _coalesce(codes: Sequence[str], temp: Temp) -> str:
    out = []
    for code in codes:
        t = temp()
        out.append(f"{t} if ({t}:={code}) is not None else ")
    return "(" + "".join(out) + "None)"


def _branches(types: Sequence[str]) -> str:
    return merge(list(types[1:]))


@function("IF", ["boolean", "any", "any"], min_args=2, returns=_branches, inline=_if, category="logic",
          doc="The second argument when the condition is true, else the third (blank when omitted).",
          example='IF(amount > 1000, "large", "small")')
def if_(*args: Any) -> Any:  # pragma: no cover - always inlined
    raise NotImplementedError


@function("IFS", ["boolean", "any"], max_args=None, returns=lambda ts: merge(list(ts[1::2])), inline=_ifs,
          even_args=True, category="logic",
          doc="The value after the first true condition (pairs of condition, value); blank when none is true.",
          example='IFS(score >= 750, "A", score >= 600, "B", true, "C")')
def ifs(*args: Any) -> Any:  # pragma: no cover - always inlined
    raise NotImplementedError


@function("SWITCH", ["scalar", "scalar", "any"], max_args=None,
          returns=lambda ts: merge([*ts[2::2], *(ts[-1:] if len(ts) % 2 == 0 else [])]), inline=_switch,
          category="logic",
          doc="Compares the first argument with each case and gives the matching result, or the last (default).",
          example='SWITCH(status, "new", 1, "open", 2, 0)')
def switch(*args: Any) -> Any:  # pragma: no cover - always inlined
    raise NotImplementedError


@function("AND", ["boolean"], max_args=None, rest="boolean", returns="boolean", inline=_and, category="logic",
          doc="True when every argument is true (stops at the first false one).",
          example="AND(amount > 0, paid)")
def and_(*args: Any) -> Any:  # pragma: no cover - always inlined
    raise NotImplementedError


@function("OR", ["boolean"], max_args=None, rest="boolean", returns="boolean", inline=_or, category="logic",
          doc="True when any argument is true (stops at the first true one).",
          example='OR(status == "new", amount == 0)')
def or_(*args: Any) -> Any:  # pragma: no cover - always inlined
    raise NotImplementedError


@function("NOT", ["boolean"], returns="boolean", inline=_not, category="logic",
          doc="True when the argument is false or blank.", example="NOT(paid)")
def not_(*args: Any) -> Any:  # pragma: no cover - always inlined
    raise NotImplementedError


@function("COALESCE", ["any"], max_args=None, returns=lambda ts: merge(list(ts)), inline=_coalesce,
          category="logic", doc="The first argument that is not blank.", example="COALESCE(discount, 0)")
def coalesce(*args: Any) -> Any:  # pragma: no cover - always inlined
    raise NotImplementedError


@function("ISBLANK", ["any"], returns="boolean", category="logic",
          doc="True when the value is blank: missing, empty text or an empty list.", example="ISBLANK(note)")
def isblank(value: Any) -> bool:
    return value is None or value == "" or value == []


@function("IN", ["scalar", "any"], max_args=None, returns="boolean", category="logic",
          doc="True when the first argument equals one of the others (or is in the list given second).",
          example='IN(status, "new", "open")')
def in_(value: Any, *candidates: Any) -> bool:
    if len(candidates) == 1 and isinstance(candidates[0], list):
        return contains(value, candidates[0])
    return value is not None and value in candidates
