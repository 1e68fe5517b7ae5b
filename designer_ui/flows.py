"""The flow designer's server side: node-level checks of a draft flow, and simulation on a sample record.

A flow is checked by ``flow_engine.load_flow`` with what the rest of the app tells it (roles from org.yaml, the
form's fields), so the errors carry the node's path (``nodes[2].assignees``) and the editor can mark the node.
Simulation runs ``flow_engine.simulate`` (every task approved) with the app's organisation as the directory.
"""
from __future__ import annotations

from typing import Any, Mapping

from engine.errors import DefinitionError, DefinitionErrors, Problems
from engine.loader import read_app_folder
from engine.source import DocumentError, parse_text

from .workspace import AppFolder, Workspace


def _app_without_flows(ws: Workspace, files: Mapping[str, str]) -> Any:
    """The app spec (forms, org) for checking a flow; flow files are left out so a broken flow cannot hide it."""
    files = {k: v for k, v in files.items() if not k.startswith("flows/")}
    try:
        return ws.platform.load_files(files)
    except DefinitionErrors:
        return None


def _field_types(form: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in form.fields:
        if f.ftype.layout_only:
            continue
        out[f.key] = f.type if f.type in ("user", "department") else str(f.ftype.expr_type)
        if out[f.key] in ("record", "rows"):
            out[f.key] = "any"
    return out


def load_draft_flow(ws: Workspace, folder: AppFolder | None, path: str, content: str,
                    app_files: Mapping[str, str] | None = None) -> tuple[Any, Any, list[DefinitionError]]:
    """(flow spec or None, app spec or None, problems) for a draft flow file, checked against the app's forms and
    roles (the app's files from ``folder``, or ``app_files``)."""
    from flow_engine import load_flow

    try:
        doc = parse_text(content, path)
    except DocumentError as exc:
        return None, None, [exc.error]
    if app_files is None:
        assert folder is not None
        app_files = read_app_folder(folder.folder)[0]
    app = _app_without_flows(ws, app_files)
    roles = app.org.role_keys if app is not None else None
    fields = None
    if app is not None and isinstance(doc.data, dict) and doc.data.get("form") in app.forms:
        fields = _field_types(app.forms[doc.data["form"]])
    problems = Problems()
    if isinstance(doc.data, dict) and app is not None and doc.data.get("form") not in app.forms:
        problems.add(doc.error(("form",), f"unknown form '{doc.data.get('form')}'"))
    try:
        flow = load_flow(doc, roles=roles, fields=fields, problems=problems)
    except DefinitionErrors as exc:  # pragma: no cover - load_flow collects into ``problems``
        problems.errors.extend(exc.errors)
        flow = None
    return (None if problems else flow), app, list(problems.errors)


def _directory(app: Any) -> Any:
    from flow_engine import MemoryDirectory

    org = app.org
    roles: dict[str, list[str]] = {}
    for u in org.users:
        for r in u.roles:
            roles.setdefault(r, []).append(u.username)
    return MemoryDirectory(users={u.username: u.department for u in org.users}, roles=roles,
                           departments={d.key: (d.parent, d.manager) for d in org.departments})


def _values(app: Any, flow: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    form = app.forms.get(flow.form) if app is not None else None
    out: dict[str, Any] = {}
    for key, raw in record.items():
        f = form.by_key.get(key) if form is not None else None
        if f is None or f.ftype.is_blank(raw):
            out[key] = raw
            continue
        try:
            out[key] = f.ftype.coerce(raw, f)
        except Exception:  # noqa: BLE001 - a sample value the type refuses is passed as typed
            out[key] = raw
    return out


def simulate_flow(ws: Workspace, folder: AppFolder, path: str, content: str, record: Mapping[str, Any]) -> dict[str, Any]:
    from flow_engine import simulate

    flow, app, errors = load_draft_flow(ws, folder, path, content)
    if flow is None or app is None:
        return {"errors": [e.to_dict() for e in errors], "path": [], "people": {}, "outcome": None, "error": None}
    first_user = next((u.username for u in app.org.users), "initiator")
    try:
        sim = simulate(flow, _values(app, flow, record), _directory(app), initiator=first_user)
    except Exception as exc:  # noqa: BLE001 - a failing sample run is shown to the designer, not raised
        return {"errors": [], "path": [], "people": {}, "outcome": None, "error": getattr(exc, "message", str(exc))}
    return {"errors": [], "path": list(sim.path), "people": {k: list(v) for k, v in sim.people.items()},
            "outcome": sim.outcome, "error": sim.error}
