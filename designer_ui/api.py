"""The designer's JSON API under ``/api/designer``: app folders, definition files, checks, publish, versions, git.

Every endpoint needs an administrator or a user with the ``designer`` role; state changes from a browser session
need the CSRF token (checked by ``engine.web.auth``). Errors use the platform's one JSON error shape; definition
problems come back as ``definition_invalid`` with one entry per problem (file, line, column, path, message, hint).
"""
from __future__ import annotations

import difflib
from typing import Any, Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy import select

from engine.errors import BadRequest, DefinitionError, DefinitionErrors, Forbidden, LoomworkError, NotFound
from engine.loader import read_app_folder
from engine.metaschema import load_schema, schema_names
from engine.permissions import Principal
from engine.tables import users
from engine.web.auth import current_user, platform_of
from engine.web.body import read_json

from . import gitrepo
from .workspace import NEW_FILE, AppFolder, Workspace, token_of

DESIGNER_ROLE = "designer"


class RuleTestsFailed(LoomworkError):
    status, code = 422, "rule_tests_failed"


def designer_user(request: Request) -> Principal:
    """FastAPI dependency: an administrator or a designer, else 401/403."""
    who = current_user(request)
    if not (who.is_admin or DESIGNER_ROLE in who.roles):
        raise Forbidden("only administrators and designers may use the designer")
    return who


def workspace_of(request: Request) -> Workspace:
    return Workspace(platform_of(request))


def _errors(errors: list[DefinitionError]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in errors]


def _body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    return body


def _text_from(ws: Workspace, app: AppFolder, rel: str, body: Mapping[str, Any]) -> str:
    """The file text a request asks for: ``content`` (text as typed) or ``data`` (the visual editors' data)."""
    if isinstance(body.get("content"), str):
        return str(body["content"])
    if "data" in body and isinstance(body["data"], (dict, list)):
        return ws.render(app, rel, body["data"])
    raise BadRequest("send the file as 'content' (text) or 'data' (an object)")


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/designer", tags=["designer"])

    @router.get("/meta")
    def meta(request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """What the editors offer: field types (palette), expression functions (completion), meta-schemas."""
        from forms_engine.fields import field_types
        import rules_engine

        types = [{"name": t.name, "label": t.label, "group": t.group, "options": list(t.options),
                  "layout_only": t.layout_only, "computed": t.computed, "expr_type": str(getattr(t, "expr_type", "any")),
                  "widget": t.widget} for t in field_types.all()]
        functions = [{"name": f.name, "doc": f.doc, "example": f.example, "category": f.category, "arity": f.arity()}
                     for f in sorted(rules_engine.FUNCTIONS.values(), key=lambda f: f.name)]
        schemas = {name: load_schema(name) for name in schema_names()}
        kinds = platform_of(request).hooks.kinds.ordered()
        from .reports import builder_meta

        return {"field_types": types, "functions": functions, "schemas": schemas, "report": builder_meta(),
                "kinds": [{"name": k.name, "folder": k.folder, "description": k.description} for k in kinds]}

    @router.get("/apps")
    def apps(request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        ws = workspace_of(request)
        platform = ws.platform
        out = []
        for app in ws.apps():
            live = platform.apps.get(app.key)
            out.append({"key": app.key, "label": app.label, "folder": app.folder.name,
                        "published_version": live.version if live else None, "git": gitrepo.is_repo(ws.root)})
        return {"apps": out, "kinds": [{"name": k.name, "folder": k.folder, "description": k.description}
                                       for k in platform.hooks.kinds.ordered()]}

    @router.get("/apps/{app}/files")
    def files(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        ws = workspace_of(request)
        folder = ws.app(app)
        return {"app": folder.key, "files": ws.files(folder)}

    @router.get("/apps/{app}/tokens/{path:path}")
    def file_token(app: str, path: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """The version token of one file as it is on disk now (the editors poll it to see outside changes)."""
        ws = workspace_of(request)
        folder = ws.app(app)
        target = ws.safe_path(folder, path)
        return {"path": path, "token": token_of(target.read_bytes() if target.is_file() else None)}

    @router.get("/apps/{app}/files/{path:path}")
    def read_file(app: str, path: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        ws = workspace_of(request)
        folder = ws.app(app)
        out = ws.read(folder, path)
        _spec, errors = ws.check(folder)
        return out | {"errors": _errors(errors)}

    @router.put("/apps/{app}/files/{path:path}")
    async def save_file(app: str, path: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Save a draft. ``{"token": ..., "content"|"data": ...}``; 409 when the file changed since ``token``.

        A draft is saved even when the app does not check yet (work in progress); the problems come back with it
        and publishing is refused until they are gone.
        """
        body = _body_object(await read_json(request))
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise BadRequest(f"send the version token you read the file with (or \"{NEW_FILE}\" for a new file)",
                             details=[{"field": "token"}])
        ws = workspace_of(request)
        folder = ws.app(app)
        text = _text_from(ws, folder, path, body)
        new_token = ws.write(folder, path, text, token)
        _spec, errors = ws.check(folder)
        out = ws.read(folder, path)
        return out | {"token": new_token, "errors": _errors(errors), "valid": not errors}

    @router.delete("/apps/{app}/files/{path:path}")
    def delete_file(app: str, path: str, token: str, request: Request,
                    who: Principal = Depends(designer_user)) -> dict[str, Any]:
        ws = workspace_of(request)
        folder = ws.app(app)
        if not (folder.folder / path).is_file():
            raise NotFound(f"no file {path} in app '{app}'")
        ws.write(folder, path, None, token)
        _spec, errors = ws.check(folder)
        return {"deleted": path, "errors": _errors(errors), "valid": not errors}

    @router.post("/apps/{app}/check")
    async def check(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Check the app as it would be with one file replaced (``{"path", "content"|"data"}``), nothing written."""
        body = _body_object(await read_json(request))
        ws = workspace_of(request)
        folder = ws.app(app)
        overrides: dict[str, str | None] = {}
        content = None
        if body.get("path") is not None:
            path = body["path"]
            ws.safe_path(folder, path)
            content = _text_from(ws, folder, path, body)
            overrides[path] = content
        _spec, errors = ws.check(folder, overrides)
        return {"errors": _errors(errors), "valid": not errors, "content": content}

    @router.post("/apps/{app}/preview")
    async def preview(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Run a draft form on sample values: which fields show, and what the formulas give."""
        from .preview import preview_form

        body = _body_object(await read_json(request))
        ws = workspace_of(request)
        folder = ws.app(app)
        path = body.get("path")
        ws.safe_path(folder, path)
        content = _text_from(ws, folder, path, body)
        spec, errors = ws.check(folder, {path: content})
        values = body.get("values") if isinstance(body.get("values"), dict) else {}
        if spec is None:
            return {"errors": _errors(errors), "visible": {}, "computed": {}}
        key = next((k for k, f in spec.forms.items() if f.file == path), None)
        if key is None:
            raise BadRequest(f"{path} is not a form")
        return {"errors": []} | preview_form(spec, spec.forms[key], values, ws.platform.clock)

    def _draft_form(request: Request, app: str, body: Mapping[str, Any]):  # type: ignore[no-untyped-def]
        from .form_preview import draft_form

        ws = workspace_of(request)
        folder = ws.app(app)
        path = body.get("path")
        if not isinstance(path, str):
            raise BadRequest("say which form to preview ('path')", details=[{"field": "path"}])
        ws.safe_path(folder, path)
        content = _text_from(ws, folder, path, body)
        return (path, content) + draft_form(ws, folder, path, content)

    @router.post("/apps/{app}/form-preview", response_class=HTMLResponse)
    async def form_preview(app: str, request: Request, who: Principal = Depends(designer_user)) -> Any:
        """The draft form as the real create page renders it (HTML for the designer's preview frame); nothing is
        saved. A draft with definition errors answers 422 with them."""
        from .form_preview import render_page

        body = _body_object(await read_json(request))
        path, content, live, form, errors = _draft_form(request, app, body)
        if live is None:
            raise DefinitionErrors(errors)
        return render_page(request, live, form, who, path, {"content": content})

    @router.post("/apps/{app}/form-preview/evaluate")
    async def form_preview_evaluate(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """The preview frame's evaluation: ``{"path", "content"|"data", "values"}`` run by the draft form the way the
        real form's evaluate endpoint runs the published one (flags, computed values, problems); nothing saved."""
        from engine.web.templating import locale_of
        from .form_preview import evaluate

        body = _body_object(await read_json(request))
        path, content, live, form, errors = _draft_form(request, app, body)
        if live is None:
            return {"fields": {}, "rows": {}, "display": {}, "values": {}, "errors": [],
                    "definition_errors": _errors(errors)}
        platform = platform_of(request)
        with platform.db.connect() as conn:
            return evaluate(conn, platform.services["records"], live, form, body.get("values", {}), who,
                            locale_of(request))

    @router.post("/apps/{app}/publish")
    async def publish(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Validate everything, run the rule test cases, publish the folder; commit it when it is a git repo."""
        body = _body_object(await read_json(request))
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            raise BadRequest("a publish needs a message saying what changed", details=[{"field": "message"}])
        ws = workspace_of(request)
        folder = ws.app(app)
        spec, errors = ws.check(folder)
        if errors:
            raise DefinitionErrors(errors)
        _run_rule_tests(ws.platform, spec)
        info = ws.platform.publish_folder(folder.folder, who.username, message.strip())
        out = info.to_json() | {"changed": info.changed}
        out["git"] = _commit(ws, folder, who, message.strip())
        return out

    @router.get("/apps/{app}/versions")
    def versions(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        ws = workspace_of(request)
        folder = ws.app(app)
        out: dict[str, Any] = {"versions": [v.to_json() for v in ws.platform.versions(folder.key)]}
        out["git"] = gitrepo.log(ws.root, folder.folder) if gitrepo.is_repo(ws.root) else None
        out["draft_changed"] = _draft_differs(ws, folder)
        return out

    @router.get("/apps/{app}/diff", response_class=PlainTextResponse)
    def diff(app: str, request: Request, old: int, new: str = "draft",
             who: Principal = Depends(designer_user)) -> str:
        """Unified diff between two versions, or between a version and the draft on disk (``new=draft``)."""
        ws = workspace_of(request)
        folder = ws.app(app)
        if new != "draft":
            if not new.isdigit():
                raise BadRequest("new must be a version number or 'draft'")
            return ws.platform.diff(folder.key, old, int(new))
        files, _ = read_app_folder(folder.folder)
        return diff_files(dict(ws.platform.version_row(folder.key, old)["files"]), files, f"v{old}", "draft")

    @router.get("/apps/{app}/changes")
    def changes(app: str, request: Request, old: int, new: str = "draft",
                who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Field-level changes between two versions, or a version and the draft: per file, the items added,
        removed, changed or reordered (matched by key / id), with their old and new values."""
        from .changes import changes as file_changes

        ws = workspace_of(request)
        folder = ws.app(app)
        before = dict(ws.platform.version_row(folder.key, old)["files"])
        if new == "draft":
            after, _ = read_app_folder(folder.folder)
        elif new.isdigit():
            after = dict(ws.platform.version_row(folder.key, int(new))["files"])
        else:
            raise BadRequest("new must be a version number or 'draft'")
        return {"old": old, "new": new, "files": file_changes(before, after)}

    @router.post("/apps/{app}/rollback")
    async def rollback(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Put an older version's files back in the folder and publish them as a new version."""
        body = _body_object(await read_json(request))
        number = body.get("version")
        if not isinstance(number, int) or isinstance(number, bool):
            raise BadRequest("give the version number to roll back to", details=[{"field": "version"}])
        ws = workspace_of(request)
        folder = ws.app(app)
        files = dict(ws.platform.version_row(folder.key, number)["files"])
        message = body.get("message") if isinstance(body.get("message"), str) and body["message"].strip() else None
        message = message or f"roll back to version {number}"
        ws.platform.load_files(files)  # still valid under this code? (raises DefinitionErrors if not)
        ws.replace_all(folder, files)
        info = ws.platform.publish_folder(folder.folder, who.username, message)
        return info.to_json() | {"changed": info.changed, "git": _commit(ws, folder, who, message)}

    @router.post("/apps/{app}/rule-tests")
    async def rule_tests(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Run the decision-table test cases of the draft, with one file replaced if given (``{"path", "data"}``)."""
        body = await read_json(request)
        ws = workspace_of(request)
        folder = ws.app(app)
        overrides: dict[str, str | None] = {}
        if isinstance(body, dict) and body.get("path") is not None:
            ws.safe_path(folder, body["path"])
            overrides[body["path"]] = _text_from(ws, folder, body["path"], body)
        spec, errors = ws.check(folder, overrides)
        if errors:
            raise DefinitionErrors(errors)
        runner = _rule_runner(ws.platform)
        if runner is None:
            return {"passed": 0, "failed": 0, "failures": [], "available": False}
        passed, failed, lines = runner(spec)
        return {"passed": passed, "failed": failed, "failures": lines, "available": True}

    @router.post("/apps/{app}/expression")
    async def expression(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Check one expression of a (draft) form as you type, without loading the whole app:
        ``{"path", "data"?, "field"?, "expr"}`` — ``field`` is the field's place (``fields[3]``, or
        ``fields[5].fields[0]`` inside a sub-table). Answers ``ok`` and the result type, or the compiler's
        ``message``, ``col`` and ``hint``."""
        from .expressions import check_expression

        body = _body_object(await read_json(request))
        ws = workspace_of(request)
        folder = ws.app(app)
        path = body.get("path")
        ws.safe_path(folder, path)
        expr = body.get("expr")
        if not isinstance(expr, str) or len(expr) > 5000:
            raise BadRequest("send the expression as 'expr' (text, at most 5000 characters)", details=[{"field": "expr"}])
        field = body.get("field") if isinstance(body.get("field"), str) else ""
        data = body.get("data") if isinstance(body.get("data"), dict) else ws.read(folder, path)["data"]
        live = ws.platform.apps.get(folder.key)
        tables = dict(live.spec.of_kind("decision_table")) if live is not None else {}
        return check_expression(ws, folder, path, data, field, expr, tables)

    @router.post("/apps/{app}/simulate")
    async def simulate(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Run a (draft) flow on a sample record, approving every task: the path it takes and who gets tasks."""
        from .flows import simulate_flow

        body = _body_object(await read_json(request))
        ws = workspace_of(request)
        folder = ws.app(app)
        path = body.get("path")
        ws.safe_path(folder, path)
        content = _text_from(ws, folder, path, body)
        record = body.get("record") if isinstance(body.get("record"), dict) else {}
        return simulate_flow(ws, folder, path, content, record)

    @router.get("/apps/{app}/datasets")
    def report_datasets(app: str, request: Request, without: str | None = None,
                        who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """The datasets a report may read, with the names of their fields (the report builder's field list).

        Built from the draft (with ``without`` left out: the report being edited need not check), else from the
        published app."""
        from .reports import datasets

        ws = workspace_of(request)
        folder = ws.app(app)
        overrides: dict[str, str | None] = {}
        if without:
            ws.safe_path(folder, without)
            overrides[without] = None
        spec, _errors = ws.check(folder, overrides)
        source = "draft"
        if spec is None:
            live = ws.platform.apps.get(folder.key)
            if live is None:
                return {"datasets": [], "source": None}
            spec, source = live.spec, "published"
        return {"datasets": datasets(spec), "source": source}

    @router.post("/apps/{app}/report-preview")
    async def report_preview(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Run a report definition as it is in the builder (``{"path", "data", "params"?}``) over the published
        data, with the designer's own rights: ``result`` (rows, columns, plotly figure), or ``errors`` / ``message``."""
        from .reports import preview

        body = _body_object(await read_json(request))
        ws = workspace_of(request)
        folder = ws.app(app)
        path = body.get("path")
        ws.safe_path(folder, path)
        params = body.get("params") if isinstance(body.get("params"), dict) else None
        return preview(ws.platform, folder.key, path, body.get("data"), who, params)

    @router.post("/apps/{app}/dashboard-preview")
    async def dashboard_preview(app: str, request: Request, who: Principal = Depends(designer_user)) -> dict[str, Any]:
        """Run every widget of a dashboard as it is in the editor (``{"path", "data"}``) over the published data,
        narrowed by its shared filters' defaults, with the designer's own rights: per widget ``result`` or
        ``message``; the draft's definition problems in ``errors``."""
        from .reports import preview_dashboard

        body = _body_object(await read_json(request))
        ws = workspace_of(request)
        folder = ws.app(app)
        path = body.get("path")
        ws.safe_path(folder, path)
        return preview_dashboard(ws.platform, folder.key, path, body.get("data"), who)

    return router


def _rule_runner(platform: Any) -> Any:
    return platform.services.get("rule_tests") or platform.hooks.services.get("rule_tests")


def _run_rule_tests(platform: Any, spec: Any) -> None:
    runner = _rule_runner(platform)
    if runner is None:
        return
    passed, failed, lines = runner(spec)
    if failed:
        details = []
        for line in lines:
            file, _, rest = line.partition(": ")
            details.append({"file": file, "line": 1, "col": 1, "path": "tests", "message": rest or line,
                            "hint": None, "text": line})
        raise RuleTestsFailed(f"{failed} rule test case{'s' if failed != 1 else ''} failed; publish refused",
                              details=details)


def _author(ws: Workspace, who: Principal) -> tuple[str, str]:
    with ws.platform.db.connect() as conn:
        row = conn.execute(select(users.c.display_name, users.c.email).where(users.c.id == who.id)).first()
    name = (row.display_name if row and row.display_name else who.display_name) or who.username
    email = row.email if row and row.email else f"{who.username}@loomwork.invalid"
    return name, email


def _commit(ws: Workspace, folder: AppFolder, who: Principal, message: str) -> dict[str, Any] | None:
    if not gitrepo.is_repo(ws.root):
        return None
    name, email = _author(ws, who)
    result = gitrepo.commit(ws.root, folder.folder, name, email, message)
    return {"committed": result.committed, "commit": result.commit, "message": result.message}


def _draft_differs(ws: Workspace, folder: AppFolder) -> bool:
    versions = ws.platform.versions(folder.key)
    if not versions:
        return True
    files, _ = read_app_folder(folder.folder)
    return dict(ws.platform.version_row(folder.key, versions[0].number)["files"]) != files


def diff_files(a: Mapping[str, str], b: Mapping[str, str], left: str, right: str) -> str:
    chunks: list[str] = []
    for name in sorted(set(a) | set(b)):
        old, new = a.get(name, ""), b.get(name, "")
        if old != new:
            chunks.extend(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                               fromfile=f"{left}/{name}" if name in a else "/dev/null",
                                               tofile=f"{right}/{name}" if name in b else "/dev/null"))
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)
