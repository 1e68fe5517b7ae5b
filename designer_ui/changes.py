"""Field-level changes between two sets of definition files: what the versions panel shows next to the textual diff.

Files are compared as data, not text: a moved comment or a re-quoted value is no change. Items of a list that have
an identity — ``key`` (fields, measures), ``id`` (nodes), ``report`` (widgets), ``from``/``to`` (edges) — are
matched by it, so a field that moved is one "reordered" entry and its own changes are named by its key
(``fields[amount].max``), not by its position.
"""
from __future__ import annotations

from typing import Any, Mapping

from .workspace import _quiet_load

#: how many entries one comparison answers at most (a rewritten app is summarised, not listed value by value)
MAX_ENTRIES = 500


def _load(name: str, text: str) -> Any:
    data = _quiet_load(name, text)  # dates stay text, as the platform keeps them
    return text if data is None and text.strip() else data  # unreadable: compared as text


def _identity(item: Any) -> str | None:
    if not isinstance(item, Mapping):
        return None
    for key in ("key", "id"):
        if isinstance(item.get(key), (str, int)) and not isinstance(item.get(key), bool):
            return str(item[key])
    if "from" in item and "to" in item:
        return f"{item['from']}→{item['to']}"
    if isinstance(item.get("report"), str):
        return str(item["report"])
    return None


def _identities(items: list[Any]) -> list[str] | None:
    ids = [_identity(i) for i in items]
    if not items or any(i is None for i in ids) or len(set(ids)) != len(ids):
        return None
    return [str(i) for i in ids]


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def diff_data(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """The changes from ``old`` to ``new``: entries ``{path, change, old?, new?}``, change being added, removed,
    changed or reordered."""
    if old == new:
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[dict[str, Any]] = []
        for key in list(new) + [k for k in old if k not in new]:
            p = _join(path, str(key))
            if key not in old:
                out.append({"path": p, "change": "added", "new": new[key]})
            elif key not in new:
                out.append({"path": p, "change": "removed", "old": old[key]})
            else:
                out += diff_data(old[key], new[key], p)
        return out
    if isinstance(old, list) and isinstance(new, list):
        a_ids, b_ids = _identities(old), _identities(new)
        if a_ids is not None and b_ids is not None:
            out = []
            by_old = dict(zip(a_ids, old))
            for ident, item in zip(b_ids, new):
                p = f"{path}[{ident}]"
                if ident not in by_old:
                    out.append({"path": p, "change": "added", "new": item})
                else:
                    out += diff_data(by_old[ident], item, p)
            out += [{"path": f"{path}[{i}]", "change": "removed", "old": by_old[i]} for i in a_ids if i not in b_ids]
            kept_old = [i for i in a_ids if i in b_ids]
            kept_new = [i for i in b_ids if i in a_ids]
            if kept_old != kept_new:
                out.append({"path": path, "change": "reordered", "old": kept_old, "new": kept_new})
            return out
    return [{"path": path, "change": "changed", "old": old, "new": new}]


def changes(old_files: Mapping[str, str], new_files: Mapping[str, str]) -> list[dict[str, Any]]:
    """Per changed file: ``{file, change: added|removed|changed, items: [...]}`` (items only for changed files)."""
    out: list[dict[str, Any]] = []
    budget = MAX_ENTRIES
    for name in sorted(set(old_files) | set(new_files)):
        a, b = old_files.get(name), new_files.get(name)
        if a == b:
            continue
        if a is None or b is None:
            out.append({"file": name, "change": "added" if a is None else "removed", "items": []})
            continue
        items = diff_data(_load(name, a), _load(name, b))
        if not items:
            items = [{"path": "", "change": "formatting", "old": None, "new": None}]  # text differs, data does not
        out.append({"file": name, "change": "changed", "items": items[:max(budget, 0)],
                    "truncated": len(items) > budget})
        budget -= len(items)
    return out
