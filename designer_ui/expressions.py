"""Checking one expression of a draft form as the designer types it: compiled by the rules engine against the
form's fields as written (and the app's other forms for relations), without loading the whole app."""
from __future__ import annotations

import re
from typing import Any, Mapping

from engine.loader import read_app_folder

from .workspace import AppFolder, Workspace, _quiet_load

_ROW = re.compile(r"^fields\[(\d+)\]\.fields\[\d+\]$")


def _forms(ws: Workspace, folder: AppFolder, path: str, data: Mapping[str, Any]) -> dict[str, list[Any]]:
    files, _errors = read_app_folder(folder.folder)
    out: dict[str, list[Any]] = {}
    for rel, text in files.items():
        if rel == path or ws.kind_of(rel) != "form":
            continue
        doc = _quiet_load(rel, text)
        if isinstance(doc, dict) and isinstance(doc.get("key"), str) and isinstance(doc.get("fields"), list):
            out[doc["key"]] = [f for f in doc["fields"] if isinstance(f, dict)]
    if isinstance(data.get("key"), str):
        out[data["key"]] = _fields(data)
    return out


def _fields(data: Mapping[str, Any]) -> list[Any]:
    fields = data.get("fields")
    return [f for f in fields if isinstance(f, dict)] if isinstance(fields, list) else []


def check_expression(ws: Workspace, folder: AppFolder, path: str, data: Mapping[str, Any], field: str, expr: str,
                     tables: Mapping[str, Any]) -> dict[str, Any]:
    import rules_engine
    from forms_engine.expressions import draft_scope

    fields = _fields(data)
    row_of = None
    m = _ROW.match(field or "")
    if m and int(m.group(1)) < len(fields) and fields[int(m.group(1))].get("type") == "subtable":
        row_of = fields[int(m.group(1))].get("key")
    try:
        scope = draft_scope(fields, _forms(ws, folder, path, data), tables, row_of)
    except (KeyError, TypeError, ValueError, AttributeError):
        return {"ok": False, "message": "the form's fields cannot be read yet", "col": 1, "hint": None}
    if not expr.strip():
        return {"ok": True, "type": None}
    try:
        compiled = rules_engine.compile_expression(expr, scope)
    except rules_engine.ExpressionCompileError as exc:
        return {"ok": False, "message": exc.message, "col": int(getattr(exc, "col", 1) or 1),
                "hint": getattr(exc, "hint", None)}
    return {"ok": True, "type": str(compiled.result_type)}
