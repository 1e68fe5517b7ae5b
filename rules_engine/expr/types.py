"""Static value types used by the compiler to refuse obvious type errors and to pick fast code."""
from __future__ import annotations

from ..scope import NUMBER_TYPES

#: The type of the literal ``None``: merges into any other type.
NULL = "null"
#: Types that are never plain values on their own.
STRUCTURED = frozenset({"record", "rows"})


def is_number(t: str) -> bool:
    return t in NUMBER_TYPES


def is_list(t: str) -> bool:
    return t == "list" or t.startswith("list:")


def is_loose(t: str) -> bool:
    """A type known only at run time."""
    return t in ("any", NULL)


def item_type(t: str) -> str:
    """The item type of a list type (``list:number`` → ``number``)."""
    return t[5:] if t.startswith("list:") else "any"


def list_of(t: str) -> str:
    return "list" if t in ("list", "any", NULL) or is_list(t) or t in STRUCTURED else f"list:{t}"


def merge(types: list[str]) -> str:
    """One type for values that may be any of ``types`` (branches of IF)."""
    known = [t for t in types if t != NULL]
    if not known:
        return "any"
    first = known[0]
    if all(t == first for t in known):
        return first
    if all(is_number(t) for t in known):
        return "number"
    if all(is_list(t) for t in known):
        return "list"
    return "any"


def accepts(kind: str, t: str) -> bool:
    """Whether a value of static type ``t`` may be passed where a function expects ``kind``."""
    if is_loose(t):
        return True
    structured = t in STRUCTURED
    listy = is_list(t)
    if kind == "any":
        return not structured
    if kind in ("scalar", "text", "boolean", "criterion"):
        return not structured and not listy
    if kind == "number":
        return is_number(t)
    if kind == "date":
        return t in ("date", "datetime", "text")
    if kind == "list":
        return listy
    if kind == "countable":
        return listy or t == "rows"
    if kind == "numbers":
        return is_number(t) or t in ("list", "list:any") or (listy and is_number(item_type(t)))
    return False


def describe(t: str) -> str:
    """A type for messages."""
    if t == "record":
        return "a related record"
    if t == "rows":
        return "sub-table rows"
    if t.startswith("list:"):
        return f"a list of {t[5:]}"
    return {"text": "text", "list": "a list", "any": "a value", NULL: "blank"}.get(t, f"a {t}")
