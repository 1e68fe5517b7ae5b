"""HTTP routes of the report engine: run a report, a dashboard, a filter's options, drill-down, export."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response

from engine.errors import BadRequest
from engine.permissions import Principal
from engine.web.auth import current_user, platform_of
from engine.web.body import read_json

BASE = "/api/apps/{app}"


def _service(request: Request) -> Any:
    return platform_of(request).services["reports"]


def _reader(request: Request, who: Principal) -> Principal:
    """The caller in the language of the portal's switch (labels of options, blanks, totals), if one is chosen."""
    from .pages import reader

    return reader(request, who)


def _query_params(request: Request) -> dict[str, Any]:
    """GET parameters: ``filters`` / ``zoom`` / ``point`` / ``dashboard_filters`` as JSON, ``sort``, ``limit``."""
    out: dict[str, Any] = {}
    for key, value in request.query_params.items():
        if key in ("page", "size", "format"):
            continue
        if key in ("filters", "zoom", "point", "dashboard_filters"):
            try:
                out[key] = json.loads(value)
            except ValueError:
                raise BadRequest(f"'{key}' must be JSON", details=[{"field": key, "message": "invalid JSON"}]) from None
        elif key == "limit":
            out[key] = int(value) if value.isdigit() else value
        else:
            out[key] = value
    return out


async def _body(request: Request) -> dict[str, Any]:
    body = await read_json(request) if (await request.body()) else {}
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object")
    return body


def build_router() -> APIRouter:
    router = APIRouter(tags=["reports"])

    @router.get(BASE + "/reports")
    def list_reports(app: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        live = platform_of(request).app(app)
        return {"reports": [{"key": r.key, "label": r.label.get(who.locale), "chart": r.chart.type}
                            for r in live.spec.of_kind("report").values()],
                "dashboards": [{"key": d.key, "label": d.label.get(who.locale)}
                               for d in live.spec.of_kind("dashboard").values()]}

    @router.get(BASE + "/reports/{report}/run")
    def run_get(app: str, report: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        return _service(request).run(app, report, _reader(request, who), _query_params(request))  # type: ignore[no-any-return]

    @router.post(BASE + "/reports/{report}/run")
    async def run_post(app: str, report: str, request: Request,
                       who: Principal = Depends(current_user)) -> dict[str, Any]:
        return _service(request).run(app, report, _reader(request, who), await _body(request))  # type: ignore[no-any-return]

    @router.post(BASE + "/reports/{report}/drill")
    async def drill(app: str, report: str, request: Request, page: int = 1, size: int = 50,
                    who: Principal = Depends(current_user)) -> dict[str, Any]:
        return _service(request).drill(app, report, _reader(request, who), await _body(request), page=page, size=size)  # type: ignore[no-any-return]

    @router.get(BASE + "/reports/{report}/export")
    def export(app: str, report: str, request: Request, format: str = "xlsx",
               who: Principal = Depends(current_user)) -> Response:
        content, media, name = _service(request).export(app, report, _reader(request, who), _query_params(request), format)
        return Response(content, media_type=media, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "X-Content-Type-Options": "nosniff"})

    @router.get(BASE + "/dashboards/{dashboard}")
    def dashboard_get(app: str, dashboard: str, request: Request,
                      who: Principal = Depends(current_user)) -> dict[str, Any]:
        raw = _query_params(request)
        if "dashboard_filters" in raw:
            raw = {"filters": raw.pop("dashboard_filters"), **raw}
        return _service(request).dashboard(app, dashboard, _reader(request, who), raw)  # type: ignore[no-any-return]

    @router.post(BASE + "/dashboards/{dashboard}")
    async def dashboard_post(app: str, dashboard: str, request: Request,
                             who: Principal = Depends(current_user)) -> dict[str, Any]:
        return _service(request).dashboard(app, dashboard, _reader(request, who), await _body(request))  # type: ignore[no-any-return]

    @router.get(BASE + "/dashboards/{dashboard}/filters/{key}/options")
    def options(app: str, dashboard: str, key: str, request: Request, parent: str | None = None,
                q: str | None = None, who: Principal = Depends(current_user)) -> dict[str, Any]:
        parent_values: Any = None
        if parent:
            try:
                parent_values = json.loads(parent)
            except ValueError:
                parent_values = parent
        return _service(request).filter_options(app, dashboard, key, _reader(request, who), parent_values, q)  # type: ignore[no-any-return]

    return router
