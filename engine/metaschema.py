"""Meta-schemas: the JSON Schema of every definition kind, and checking documents against them.

Each schema error becomes a located ``DefinitionError`` whose message a business user can act on: an unknown key
names the key and suggests the nearest allowed one; an unknown enum value suggests the nearest choice.
Schemas never fetch remote references: they resolve only among the registered files.
"""
from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from .errors import DefinitionError
from .source import Document

BASE_URI = "https://loomwork.dev/schemas/"

_SCHEMA_FILES: dict[str, Path] = {}


def register_schema_file(name: str, path: Path) -> None:
    """Make ``name`` (e.g. ``form``) resolvable as ``{BASE_URI}{name}.json``."""
    _SCHEMA_FILES[name] = path
    _registry.cache_clear()
    validator_for.cache_clear()


def schema_names() -> list[str]:
    return sorted(_SCHEMA_FILES)


@lru_cache(maxsize=None)
def load_schema(name: str) -> Mapping[str, Any]:
    if name not in _SCHEMA_FILES:
        raise KeyError(name)
    return json.loads(_SCHEMA_FILES[name].read_text("utf-8"))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = [(f"{BASE_URI}{n}.json", Resource.from_contents(load_schema(n))) for n in _SCHEMA_FILES]
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator_for(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), registry=_registry(), format_checker=FormatChecker())


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean" hint, or None."""
    found = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{found[0]}'?" if found else None


def check_document(doc: Document, schema_name: str) -> list[DefinitionError]:
    """All schema problems of ``doc`` against the named meta-schema, located and worded for people."""
    validator = validator_for(schema_name)
    out: list[DefinitionError] = []
    seen: set[tuple[str, str]] = set()
    for error in validator.iter_errors(doc.data):
        for item in _explain(doc, error):
            marker = (item.path, item.message)
            if marker not in seen:
                seen.add(marker)
                out.append(item)
    return out


def _explain(doc: Document, error: ValidationError) -> list[DefinitionError]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [doc.error(path + (k,), f"unknown key '{k}'", suggest(k, allowed), key=True) for k in extra]
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [doc.error(path, f"missing required key '{missing}'")]
    if kind == "enum":
        what = schema.get("x-name", "value")
        return [doc.error(path, f"unknown {what} {error.instance!r}", suggest(error.instance, error.validator_value))]
    if kind == "const":
        return [doc.error(path, f"must be {error.validator_value!r}")]
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [doc.error(path, f"expected {expected}, got {_json_type(error.instance)}")]
    if kind == "pattern":
        hint = schema.get("x-hint")
        return [doc.error(path, f"{error.instance!r} does not have the required form", hint or f"pattern {error.validator_value}")]
    if kind in ("oneOf", "anyOf") and error.context:
        branch = _meant_branch(error)
        if branch is not None:  # the one alternative the value was written as: all of its problems
            return [item for e in error.context if e.relative_schema_path[0] == branch
                    for item in _explain(doc, e)]
        return _explain(doc, best_match(error.context))
    if kind == "propertyNames":
        return [doc.error(path, error.message)]
    return [doc.error(path, error.message)]


def _meant_branch(error: ValidationError) -> int | None:
    """Of a oneOf/anyOf's alternatives, the only one the value was evidently written as — of its JSON type, and
    with the same ``type`` key when alternatives are told apart by it (a flow's node types) — or None."""
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    value = error.instance
    found = []
    for index, branch in enumerate(branches):
        if not isinstance(branch, Mapping):
            return None
        wanted = branch.get("type")
        types = wanted if isinstance(wanted, list) else [wanted]
        if wanted is not None and not any(_is_type(value, t) for t in types):
            continue
        const = ((branch.get("properties") or {}).get("type") or {}).get("const")
        if const is not None and isinstance(value, Mapping) and value.get("type") != const:
            continue
        found.append(index)
    return found[0] if len(found) == 1 else None


def _is_type(value: Any, name: str) -> bool:
    actual = _json_type(value)
    return actual == name or (name == "number" and actual == "integer")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


register_schema_file("app", Path(__file__).parent / "schemas" / "app.json")
register_schema_file("org", Path(__file__).parent / "schemas" / "org.json")
