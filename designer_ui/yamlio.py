"""Writing definition files the way a person would have: round-trip YAML that keeps comments, key order and style.

The designer edits plain data (what the browser sends as JSON). ``merge_text(old_text, data)`` applies that data
onto the file as it stands, with ruamel.yaml's round-trip loader:

* keys keep their order; a new key goes after its predecessor in the new data (or in the schema's order);
* list items that carry a ``key`` (fields) or ``id`` (flow nodes) are matched by it, so moving or changing one field
  touches only its own lines, and the comments written above an item move with it;
* a value that did not change keeps its exact spelling (quotes, ``1.0``, flow or block style);
* a new mapping in a list whose items are written in flow style (``- {key: a, type: text}``) is written the same way.

The result is stable: the same data always gives the same text, and a one-field change is a one-hunk diff.
New files get keys in the order of the kind's JSON Schema (``order_by_schema``).
"""
from __future__ import annotations

import io
import json
from datetime import date, datetime
from typing import Any, Callable, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString, SingleQuotedScalarString

IDENTITY_KEYS = ("key", "id")
#: flow-style items longer than this are written in block style instead
MAX_FLOW_WIDTH = 160


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load_rt(text: str) -> Any:
    return _yaml().load(text) if text.strip() else None


def dump_rt(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _plain(value: Any) -> Any:
    """A loaded value as the JSON the browser would send back (dates become their ISO text)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _same_scalar(old: Any, new: Any) -> bool:
    old = _plain(old)
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool) and old == new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return old == new
    if isinstance(old, str) and isinstance(new, str):
        return old == new
    return old is None and new is None


def _identity(item: Any) -> tuple[str, Any] | None:
    if isinstance(item, Mapping):
        for name in IDENTITY_KEYS:
            value = item.get(name)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return name, value
    return None


def _is_flow(node: Any) -> bool:
    return bool(getattr(node, "fa", None) is not None and node.fa.flow_style())


def _flow_width(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


def _inline_ok(value: Mapping[str, Any]) -> bool:
    """Whether a mapping reads well written inline: small, no lists of mappings, no multi-line text."""
    def walk(v: Any) -> bool:
        if isinstance(v, str):
            return "\n" not in v
        if isinstance(v, Mapping):
            return all(walk(x) for x in v.values())
        if isinstance(v, list):
            return all(not isinstance(x, Mapping) and walk(x) for x in v)
        return True

    return walk(value) and _flow_width(value) <= MAX_FLOW_WIDTH


def to_rt(value: Any, *, flow: bool = False) -> Any:
    """Plain data → ruamel nodes, in the house style: block mappings at the top, lists of scalars inline
    (``[a, b]``), list items that are small mappings inline (``- {key: a, type: text}``); ``flow`` asks for an
    inline mapping where it reads well."""
    if isinstance(value, Mapping):
        node = CommentedMap()
        inline = flow and _inline_ok(value)
        for k, v in value.items():
            node[k] = to_rt(v, flow=inline)
        if inline:
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq()
        for v in value:
            seq.append(to_rt(v, flow=True))
        if all(not isinstance(x, (Mapping, list)) for x in value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and "\n" in value and not flow:
        return LiteralScalarString(value)
    if isinstance(value, str) and flow and _risky_in_flow(value):
        return DoubleQuotedScalarString(value) if "'" in value else SingleQuotedScalarString(value)
    return value


def _risky_in_flow(text: str) -> bool:
    """Text that a YAML 1.1 reader (PyYAML, which loads definitions) would misread inside ``{...}`` unquoted."""
    return any(c in text for c in "?,[]{}#\"'") or ": " in text or text != text.strip()


def merge(old: Any, new: Any, flow: bool = False) -> Any:
    """``new`` (plain data) written over ``old`` (ruamel nodes), keeping everything of ``old`` that did not change."""
    if isinstance(old, CommentedMap) and isinstance(new, Mapping):
        _merge_map(old, new)
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        _merge_seq(old, new)
        return old
    if not isinstance(new, (Mapping, list)) and not isinstance(old, (Mapping, list)) and _same_scalar(old, new):
        return old
    return to_rt(new, flow=flow or _is_flow(old))


def _merge_map(old: CommentedMap, new: Mapping[str, Any]) -> None:
    for k in [k for k in old if k not in new]:
        del old[k]
    previous: str | None = None
    for k, v in new.items():
        if k in old:
            merged = merge(old[k], v, _is_flow(old))
            if merged is not old[k]:
                old[k] = merged
        else:
            position = (list(old).index(previous) + 1) if previous in old else (0 if previous is None else len(old))
            old.insert(position, k, to_rt(v, flow=_is_flow(old)))
        previous = k


def _merge_seq(old: CommentedSeq, new: list[Any]) -> None:
    items = list(old)
    comments = dict(old.ca.items)
    by_id: dict[tuple[str, Any], int] = {}
    for i, item in enumerate(items):
        ident = _identity(item)
        if ident is not None and ident not in by_id:
            by_id[ident] = i
    flow_items = [_is_flow(x) for x in items if isinstance(x, Mapping)]
    flow_siblings = sum(flow_items) * 2 >= len(flow_items) if flow_items else True
    keyed = bool(by_id) and all(_identity(x) is not None for x in new if isinstance(x, Mapping))
    result: list[Any] = []
    origin: dict[int, int] = {}
    used: set[int] = set()
    for j, value in enumerate(new):
        source: int | None = None
        if keyed and isinstance(value, Mapping):
            ident = _identity(value)
            source = by_id.get(ident) if ident is not None else None
        elif not keyed and j < len(items):
            source = j
        if source is not None and source not in used:
            used.add(source)
            origin[j] = source
            result.append(merge(items[source], value, _is_flow(old)))
        else:
            result.append(to_rt(value, flow=flow_siblings or _is_flow(old)))
    unchanged = len(result) == len(items) and all(origin.get(j) == j and result[j] is items[j] for j in range(len(items)))
    if unchanged:
        return
    del old[:]
    old.ca.items.clear()
    old.extend(result)
    for j, i in origin.items():
        if i in comments:
            old.ca.items[j] = comments[i]


def merge_text(old_text: str, data: Any, *, order: Callable[[Any], Any] | None = None) -> str:
    """The file text after writing ``data`` over ``old_text`` (which may be empty for a new file)."""
    old = load_rt(old_text) if old_text else None
    if old is None or not isinstance(old, (CommentedMap, CommentedSeq)):
        return dump_rt(to_rt(order(data) if order else data))
    return dump_rt(merge(old, data))


def merge_json_text(old_text: str, data: Any) -> str:
    """JSON definition files: key order of the old file kept, two-space indent, UTF-8 text."""
    try:
        old = json.loads(old_text) if old_text.strip() else None
    except ValueError:
        old = None

    def keep(o: Any, n: Any) -> Any:
        if isinstance(o, dict) and isinstance(n, Mapping):
            out = {k: keep(o[k], n[k]) for k in o if k in n}
            out.update({k: v for k, v in n.items() if k not in o})
            return out
        if isinstance(o, list) and isinstance(n, list):
            return [keep(o[i], v) if i < len(o) else v for i, v in enumerate(n)]
        return n

    return json.dumps(keep(old, data) if old is not None else data, ensure_ascii=False, indent=2) + "\n"


def order_by_schema(data: Any, schema: Mapping[str, Any], resolve: Callable[[str], Mapping[str, Any]]) -> Any:
    """``data`` with every mapping's keys in the order its JSON Schema lists them (unknown keys last)."""
    node = _deref(schema, resolve)
    if isinstance(data, Mapping):
        props = node.get("properties", {}) if isinstance(node, Mapping) else {}
        extra = node.get("additionalProperties") if isinstance(node, Mapping) else None
        ordered = [k for k in props if k in data] + [k for k in data if k not in props]
        out = {}
        for k in ordered:
            sub = props.get(k) if k in props else (extra if isinstance(extra, Mapping) else {})
            out[k] = order_by_schema(data[k], sub or {}, resolve)
        return out
    if isinstance(data, list):
        items = node.get("items", {}) if isinstance(node, Mapping) else {}
        return [order_by_schema(x, items if isinstance(items, Mapping) else {}, resolve) for x in data]
    return data


def _deref(node: Any, resolve: Callable[[str], Mapping[str, Any]]) -> Any:
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node and seen < 10:
        node = resolve(node["$ref"])
        seen += 1
    return node
