"""Loading the loan app's flow definitions with the flow engine against the app's own forms and organisation.

The flow definition kind is not registered with the platform yet, so the flows live in tests/loan/flows/ and are
loaded here with ``flow_engine.load_flow`` exactly as the kind will: roles from org.yaml, field types from the
form (a relation's fields nested, so ``customer.rating`` is checked), conditions compiled by the rules engine.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from engine.source import parse_text
from flow_engine import BusinessCalendar, FlowSpec, MemoryDirectory, load_flow

FLOWS = Path(__file__).parent / "flows"


def field_types(app: Any, form_key: str, depth: int = 1) -> dict[str, Any]:
    """``{field: type}`` of a form; a relation's entry is its target form's mapping (one level)."""
    out: dict[str, Any] = {}
    for f in app.forms[form_key].data_fields:
        if f.type == "relation" and not f.many and depth > 0:
            out[f.key] = field_types(app, f.to, depth - 1)
        elif f.type == "formula":
            out[f.key] = f.extra.get("result", "number")
        else:
            out[f.key] = f.type
    return out


def load(app: Any, name: str) -> FlowSpec:
    path = FLOWS / f"{name}.yaml"
    doc = parse_text(path.read_text(encoding="utf-8"), f"flows/{path.name}")
    return load_flow(doc, roles=app.org.role_keys, fields=field_types(app, doc.data["form"]))


def directory(app: Any) -> MemoryDirectory:
    """The demo organisation of org.yaml as the flow engine's directory (users by username)."""
    org = app.org
    roles: dict[str, list[str]] = {}
    for user in org.users:
        for role in user.roles:
            roles.setdefault(role, []).append(user.username)
    return MemoryDirectory(users={u.username: u.department for u in org.users}, roles=roles,
                           departments={d.key: (d.parent, d.manager) for d in org.departments})


def calendar(app: Any) -> BusinessCalendar:
    s = app.settings
    return BusinessCalendar(working_hours=(s.work_start.hour, s.work_end.hour), workdays=s.work_days,
                            holidays=frozenset(d for d in s.holidays if isinstance(d, date)))
