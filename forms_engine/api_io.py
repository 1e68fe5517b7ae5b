"""HTTP routes for Excel/CSV import and export (docs/import-export.md).

    POST /api/apps/{app}/forms/{form}/imports                 upload (multipart ``file``) → job, proposed mapping
    GET  /api/apps/{app}/forms/{form}/imports/{id}            status, progress, counts, problems (poll this)
    POST /api/apps/{app}/forms/{form}/imports/{id}/dry-run    check every row, write nothing
    POST /api/apps/{app}/forms/{form}/imports/{id}/commit     import (all_or_nothing or valid_only)
    GET  /api/apps/{app}/forms/{form}/imports/{id}/rejected   rejected rows with their reasons (?format=xlsx|csv)
    GET  /api/apps/{app}/forms/{form}/export                  the list view as ?format=xlsx|csv, same filters as list
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from engine.errors import BadRequest, PayloadTooLarge
from engine.permissions import Principal
from engine.web.auth import current_user, platform_of
from engine.web.body import read_json

from .io import service
from .io.exporter import FORMATS, Export, iter_file
from .io.reading import LIMITS, UnsupportedFile

BASE = "/api/apps/{app}/forms/{form}"
RESERVED = {"sort", "q", "format", "columns", "page", "size"}


def _form(request: Request, app: str, form: str) -> tuple[Any, Any, Any]:
    platform = platform_of(request)
    live = platform.app(app)
    return platform, live, platform.services["records"].form(live, form)


def _download(body: Any, filename: str, fmt: str) -> StreamingResponse:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    stream = body if not hasattr(body, "read") else iter_file(body)
    return StreamingResponse(stream, media_type=FORMATS[fmt], headers={
        "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


def build_router() -> APIRouter:
    router = APIRouter(tags=["import/export"])

    @router.post(BASE + "/imports", status_code=201)
    async def upload(app: str, form: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        """Upload a .xlsx or .csv file (multipart field ``file``); nothing is imported yet."""
        platform, live, spec = _form(request, app, form)
        service.require_create(platform, spec, who)
        limit = LIMITS.max_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
            raise PayloadTooLarge(f"file larger than {limit} bytes")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise UnsupportedFile("send the spreadsheet as multipart/form-data with the field 'file'")
        data_form = await request.form(max_files=1, max_fields=5, max_part_size=limit + 1)
        upload = data_form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest("send the spreadsheet as multipart form field 'file'")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"file larger than {limit} bytes")
        return service.upload(platform, live, spec, who, upload.filename or "", data)

    @router.get(BASE + "/imports/{job_id}")
    def job(app: str, form: str, job_id: int, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        from .io import jobs

        platform, live, spec = _form(request, app, form)
        return jobs.to_json(service.job_row(platform, live, spec, job_id, who))

    def _start(app: str, form: str, job_id: int, request: Request, who: Principal, body: Any,
               background: BackgroundTasks, *, commit: bool) -> JSONResponse:
        from .io import jobs

        platform, live, spec = _form(request, app, form)
        row = service.job_row(platform, live, spec, job_id, who)
        options = service.prepare_run(platform, live, spec, row, who, body, commit=commit)
        service.claim(platform, job_id, options, commit=commit)
        wait = request.query_params.get("wait", "").lower() in ("1", "true", "yes")
        if wait:
            service.run(platform, live, spec, job_id, who, options, commit=commit)
        else:
            background.add_task(service.run, platform, live, spec, job_id, who, options, commit=commit)
        current = jobs.to_json(service.job_row(platform, live, spec, job_id, who))
        return JSONResponse(current, status_code=200 if wait else 202)

    @router.post(BASE + "/imports/{job_id}/dry-run")
    async def dry_run(app: str, form: str, job_id: int, request: Request, background: BackgroundTasks,
                      who: Principal = Depends(current_user)) -> JSONResponse:
        """Check every row with the options given (mapping, duplicates, key_fields); writes no record."""
        return _start(app, form, job_id, request, who, await read_json(request), background, commit=False)

    @router.post(BASE + "/imports/{job_id}/commit")
    async def commit(app: str, form: str, job_id: int, request: Request, background: BackgroundTasks,
                     who: Principal = Depends(current_user)) -> JSONResponse:
        """Import: ``mode`` all_or_nothing (any invalid row → nothing written) or valid_only."""
        return _start(app, form, job_id, request, who, await read_json(request), background, commit=True)

    @router.get(BASE + "/imports/{job_id}/rejected")
    def rejected(app: str, form: str, job_id: int, request: Request, format: str = "xlsx",
                 who: Principal = Depends(current_user)) -> StreamingResponse:
        if format not in FORMATS:
            raise BadRequest(f"unknown format '{format}'; use xlsx or csv")
        platform, live, spec = _form(request, app, form)
        row = service.job_row(platform, live, spec, job_id, who)
        body, filename = service.rejected_file(platform, row, format, who.locale)
        return _download(body, filename, format)

    @router.get(BASE + "/export")
    def export(app: str, form: str, request: Request, format: str = "xlsx", sort: str | None = None,
               q: str | None = None, columns: str | None = None,
               who: Principal = Depends(current_user)) -> StreamingResponse:
        """The list view (same filters, sort, search and read scope as the records list) as a spreadsheet."""
        platform, live, spec = _form(request, app, form)
        filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
        job = Export(platform, live, spec, who, fmt=format, filters=filters, sort=sort, search=q, columns=columns)
        if format == "csv":
            return _download(job.csv_chunks(), job.filename, "csv")
        return _download(job.xlsx_file(), job.filename, "xlsx")

    return router
