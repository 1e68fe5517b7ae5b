"""HTTP routes over the record service; the OpenAPI document gets a concrete schema per form."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

from engine.errors import BadRequest
from engine.permissions import Principal
from engine.platform import Platform
from engine.web.auth import current_user, platform_of
from engine.web.body import read_json

from .records import Records
from .schema import input_schema, output_schema

BASE = "/api/apps/{app}/forms/{form}/records"
RESERVED = {"sort", "q", "page", "size"}


def _records(request: Request) -> Records:
    return request.app.state.platform.services["records"]  # type: ignore[no-any-return]


def _if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    raw = raw.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise BadRequest("If-Match must carry the record's row_version (the ETag of its last read)")
    return int(raw)


def _etag(response: Response, record: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = f'"{record["row_version"]}"'
    return record


def build_router() -> APIRouter:
    router = APIRouter(tags=["records"])

    @router.get(BASE)
    def list_records(app: str, form: str, request: Request, who: Principal = Depends(current_user),
                     sort: str | None = None, q: str | None = None, page: int = 1, size: int = 50) -> dict[str, Any]:
        platform = platform_of(request)
        if page < 1 or not 1 <= size <= platform.settings.page_size_max:
            raise BadRequest(f"page starts at 1; size is 1..{platform.settings.page_size_max}")
        filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
        with platform.db.connect() as conn:
            return _records(request).list(conn, platform.app(app), form, who, filters=filters, sort=sort, search=q,
                                          page=page, size=size)

    @router.post(BASE, status_code=201)
    async def create_record(app: str, form: str, request: Request, response: Response,
                            who: Principal = Depends(current_user)) -> dict[str, Any]:
        platform = platform_of(request)
        live = platform.app(app)
        _records(request).form(live, form)
        body = await read_json(request)
        with platform.db.begin() as conn:
            record = _records(request).create(conn, live, form, body, who)
        response.headers["Location"] = f"/api/apps/{app}/forms/{form}/records/{record['id']}"
        return _etag(response, record)

    @router.get(BASE + "/{record_id}")
    def get_record(app: str, form: str, record_id: int, request: Request, response: Response,
                   who: Principal = Depends(current_user)) -> dict[str, Any]:
        platform = platform_of(request)
        with platform.db.begin() as conn:  # a view of a form with audit_reads writes its audit entry
            return _etag(response, _records(request).get(conn, platform.app(app), form, record_id, who, log_read=True))

    @router.patch(BASE + "/{record_id}")
    async def update_record(app: str, form: str, record_id: int, request: Request, response: Response,
                            who: Principal = Depends(current_user)) -> dict[str, Any]:
        platform = platform_of(request)
        live = platform.app(app)
        _records(request).form(live, form)
        body = await read_json(request)
        with platform.db.begin() as conn:
            record = _records(request).update(conn, live, form, record_id, body, who, if_match=_if_match(request))
        return _etag(response, record)

    @router.delete(BASE + "/{record_id}", status_code=204)
    def delete_record(app: str, form: str, record_id: int, request: Request,
                      who: Principal = Depends(current_user)) -> Response:
        platform = platform_of(request)
        with platform.db.begin() as conn:
            _records(request).delete(conn, platform.app(app), form, record_id, who, if_match=_if_match(request))
        return Response(status_code=204)

    @router.get(BASE + "/{record_id}/history")
    def record_history(app: str, form: str, record_id: int, request: Request,
                       who: Principal = Depends(current_user)) -> dict[str, Any]:
        platform = platform_of(request)
        with platform.db.connect() as conn:
            return {"entries": _records(request).history(conn, platform.app(app), form, record_id, who)}

    @router.post("/api/files", status_code=201, tags=["files"])
    async def upload_file(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        """Upload one file (multipart field ``file``); ``?app=&form=&field=`` applies that field's accepted kinds."""
        from engine import files as file_store

        platform = platform_of(request)
        allowed, limit = file_store.DEFAULT_KINDS, platform.settings.max_upload_bytes
        params = request.query_params
        if params.get("app") and params.get("form") and params.get("field"):
            spec = _records(request).form(platform.app(params["app"]), params["form"])
            field = spec.by_key.get(params["field"])
            if field is None or field.ftype.group != "files":
                raise BadRequest(f"'{params['field']}' is not a file field of {spec.key}")
            allowed = field.ftype.accepted(field)
            limit = min(limit, int(field.extra.get("max_size", limit)))
        form = await request.form(max_files=1, max_fields=5, max_part_size=limit + 1)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest("send the file as multipart form field 'file'")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            from engine.errors import PayloadTooLarge

            raise PayloadTooLarge(f"file larger than {limit} bytes")
        with platform.db.begin() as conn:
            stored = file_store.save_upload(conn, Path(platform.settings.attachments_dir), upload.filename or "file",
                                            data, allowed=allowed, max_bytes=limit, user_id=who.id,
                                            now=platform.clock.now())
        return stored.to_json()

    @router.get("/api/files/{file_id}", tags=["files"])
    def download_file(file_id: int, request: Request, who: Principal = Depends(current_user)) -> Response:
        """A stored file, to the uploader (before it is attached) or to anyone who may read its record."""
        from fastapi.responses import FileResponse

        from engine import files as file_store
        from engine.errors import NotFound

        platform = platform_of(request)
        with platform.db.connect() as conn:
            row, path = file_store.open_file(conn, Path(platform.settings.attachments_dir), file_id)
            if row["record_id"] is None:
                if row["uploaded_by"] != who.id:
                    raise NotFound(f"no file {file_id}")
            else:
                _records(request).get(conn, platform.app(row["app"]), row["form"], row["record_id"], who)
        inline = row["kind"] in ("png", "jpeg", "gif", "webp") and request.query_params.get("inline") == "1"
        return FileResponse(path, media_type=row["content_type"], filename=row["display_name"],
                            content_disposition_type="inline" if inline else "attachment",
                            headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})

    @router.get("/api/apps/{app}/forms/{form}/schema")
    def form_schema(app: str, form: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        spec = _records(request).form(platform_of(request).app(app), form)
        return {"input": input_schema(spec, who.locale), "output": output_schema(spec, who.locale)}

    return router


def install_openapi(app: FastAPI, platform: Platform) -> None:
    """Give each live form its own paths and component schemas in ``/api/openapi.json``."""

    def openapi() -> dict[str, Any]:
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        generic = doc["paths"].get(BASE, {})
        for live in platform.apps.values():
            for form in live.spec.forms.values():
                name = f"{live.key}.{form.key}"
                components[name + ".input"] = input_schema(form)
                components[name + ".record"] = output_schema(form)
                ref_in = {"$ref": f"#/components/schemas/{name}.input"}
                ref_out = {"$ref": f"#/components/schemas/{name}.record"}
                path = BASE.replace("{app}", live.key).replace("{form}", form.key)
                label = form.label.get()
                doc["paths"][path] = {
                    "get": {"tags": [f"{live.key}: {label}"], "summary": f"List {label}",
                            "parameters": [p for p in generic.get("get", {}).get("parameters", [])
                                           if p["name"] not in ("app", "form")],
                            "responses": {"200": {"description": "a page of records", "content": {"application/json": {
                                "schema": {"type": "object", "properties": {"items": {"type": "array", "items": ref_out},
                                                                            "total": {"type": "integer"}}}}}}}},
                    "post": {"tags": [f"{live.key}: {label}"], "summary": f"Create {label}",
                             "requestBody": {"required": True, "content": {"application/json": {"schema": ref_in}}},
                             "responses": {"201": {"description": "created", "content": {"application/json": {"schema": ref_out}}},
                                           "422": {"description": "invalid values, one entry per field"}}},
                }
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
