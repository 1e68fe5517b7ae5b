"""HTTP routes of automations: buttons on records, and the run log for admins."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from engine.errors import BadRequest
from engine.permissions import Principal
from engine.web.auth import admin_user, current_user, platform_of

from .tables import runs

BASE = "/api/apps/{app}/forms/{form}/records/{record_id}"


def build_router() -> APIRouter:
    router = APIRouter(tags=["automations"])

    @router.get(BASE + "/actions")
    def list_buttons(app: str, form: str, record_id: int, request: Request,
                     who: Principal = Depends(current_user)) -> dict[str, Any]:
        """The buttons the caller may press on this record."""
        platform = platform_of(request)
        live = platform.app(app)
        with platform.db.connect() as conn:
            platform.services["records"].get(conn, live, form, record_id, who)
        return {"items": platform.services["automations"].buttons(live, form, who)}

    @router.post(BASE + "/actions/{name}")
    def press(app: str, form: str, record_id: int, name: str, request: Request,
              who: Principal = Depends(current_user)) -> dict[str, Any]:
        """Run a button's automation on the record (one transaction; a failure changes nothing)."""
        platform = platform_of(request)
        live = platform.app(app)
        with platform.db.begin() as conn:
            result = platform.services["automations"].press(conn, live, form, record_id, name, who)
            result["record"] = platform.services["records"].get(conn, live, form, record_id, who)
        return result  # type: ignore[no-any-return]

    @router.get("/api/admin/automation-runs")
    def list_runs(request: Request, who: Principal = Depends(admin_user), app: str | None = None,
                  automation: str | None = None, form: str | None = None, record_id: int | None = None,
                  limit: int = 100) -> dict[str, Any]:
        """What automations did, newest first: trigger, record, each action's effect, outcome or error."""
        if not 1 <= limit <= 1000:
            raise BadRequest("limit is 1..1000")
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        for column, value in (("app", app), ("automation", automation), ("form", form), ("record_id", record_id)):
            if value is not None:
                query = query.where(runs.c[column] == value)
        platform = platform_of(request)
        with platform.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return {"items": [dict(r) | {"started_at": r["started_at"].isoformat()} for r in rows]}

    return router
