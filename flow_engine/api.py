"""HTTP routes over the flow service: start, instances, task actions, inboxes, simulation, BPMN, delegations.

Task actions honour an ``Idempotency-Key`` header: the first answer is stored with the action, in its transaction,
and a repeated request with the same key gets that answer again without acting twice.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.errors import BadRequest
from engine.permissions import Principal
from engine.web.auth import admin_user, current_user, platform_of
from engine.web.body import read_json
from engine.web.templating import locale_of

from . import views
from .bpmn import to_bpmn
from .service import TASK_ACTIONS, FlowService
from .tables import requests as idempotent_requests

#: Longest Idempotency-Key accepted.
MAX_KEY = 200


def _service(request: Request) -> FlowService:
    return platform_of(request).services["flows"]  # type: ignore[no-any-return]


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    return body


def _if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    raw = raw.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise BadRequest("If-Match must carry the instance's row_version")
    return int(raw)


def _idempotent(request: Request, who: Principal, work: Any) -> JSONResponse:
    """Run ``work(conn)`` in one transaction; with an Idempotency-Key, store its answer or replay a stored one."""
    platform = platform_of(request)
    key = request.headers.get("idempotency-key")
    if key is None:
        with platform.db.begin() as conn:
            return JSONResponse(work(conn))
    if not key.strip() or len(key) > MAX_KEY:
        raise BadRequest(f"Idempotency-Key must be 1..{MAX_KEY} characters")
    table = idempotent_requests
    try:
        with platform.db.begin() as conn:
            seen = conn.execute(select(table.c.status, table.c.response).where(
                table.c.user_id == who.id, table.c.key == key)).first()
            if seen is not None:
                return JSONResponse(seen.response, status_code=seen.status, headers={"Idempotent-Replayed": "true"})
            # claimed first: a concurrent request with the same key waits on this row, then replays our answer
            conn.execute(insert(table).values(user_id=who.id, key=key, status=0, response={},
                                              created_at=platform.clock.now()))
            answer = work(conn)
            conn.execute(update(table).where(table.c.user_id == who.id, table.c.key == key)
                         .values(status=200, response=answer))
            return JSONResponse(answer)
    except IntegrityError:
        with platform.db.connect() as conn:
            seen = conn.execute(select(table.c.status, table.c.response).where(
                table.c.user_id == who.id, table.c.key == key)).first()
        if seen is None or seen.status == 0:
            raise
        return JSONResponse(seen.response, status_code=seen.status, headers={"Idempotent-Replayed": "true"})


def build_router() -> APIRouter:
    router = APIRouter(tags=["flows"])

    @router.get("/api/apps/{app}/flows")
    def list_flows(app: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        live = platform_of(request).app(app)
        lang = views.reader_locale(who)
        return {"flows": [{"key": f.key, "label": f.label_in(lang), "form": f.form, "start_on": f.start_on,
                           "version": f.version, "nodes": [{"id": n.id, "type": n.type, "name": n.label_in(lang)}
                                                           for n in f.nodes]}
                          for f in live.spec.of_kind("flow").values()]}

    @router.post("/api/apps/{app}/flows/{flow}/instances", status_code=201)
    async def start_flow(app: str, flow: str, request: Request, response: Response,
                         who: Principal = Depends(current_user)) -> dict[str, Any]:
        body = _object(await read_json(request))
        record_id = body.get("record_id")
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            raise BadRequest("send {\"record_id\": <id>}", details=[{"field": "record_id", "message": "required"}])
        platform = platform_of(request)
        with platform.db.begin() as conn:
            started = _service(request).start(conn, app, flow, record_id, who)
        response.headers["Location"] = f"/api/flows/instances/{started['id']}"
        return started

    @router.get("/api/apps/{app}/flows/{flow}/bpmn")
    def export_bpmn(app: str, flow: str, request: Request, who: Principal = Depends(current_user)) -> Response:
        xml = to_bpmn(_service(request).flow(app, flow))
        return Response(xml, media_type="application/xml",
                        headers={"Content-Disposition": f'attachment; filename="{app}-{flow}.bpmn"'})

    @router.post("/api/apps/{app}/flows/{flow}/simulate")
    async def simulate(app: str, flow: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        """Run the flow on a sample record (``{"values": {...}}``) without saving: the path and the people."""
        body = _object(await read_json(request))
        platform = platform_of(request)
        with platform.db.connect() as conn:
            result = _service(request).simulate(conn, app, flow, body.get("values") or {}, who)
        spec, lang = _service(request).flow(app, flow), views.reader_locale(who)
        for step in result.get("path", []):  # the names in the user's language
            step["name"] = views.node_name(spec, step.get("node"), step.get("name"), lang)
        return result

    @router.get("/api/flows/instances/{instance_id}")
    def get_instance(instance_id: int, request: Request, response: Response,
                     who: Principal = Depends(current_user)) -> dict[str, Any]:
        platform = platform_of(request)
        with platform.db.connect() as conn:
            view = views.instance_view(conn, platform, _service(request), instance_id, who)
        response.headers["ETag"] = f'"{view["row_version"]}"'
        return view

    @router.post("/api/flows/instances/{instance_id}/withdraw")
    async def withdraw(instance_id: int, request: Request, who: Principal = Depends(current_user)) -> JSONResponse:
        body = _object(await read_json(request))
        platform = platform_of(request)

        def work(conn: Any) -> dict[str, Any]:
            views.instance_row(conn, platform, instance_id, who)
            return _service(request).withdraw(conn, instance_id, who, body.get("reason"))

        return _idempotent(request, who, work)

    @router.post("/api/flows/instances/{instance_id}/comments")
    async def comment(instance_id: int, request: Request, who: Principal = Depends(current_user)) -> JSONResponse:
        body = _object(await read_json(request))
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("a comment needs text", details=[{"field": "text", "message": "required"}])
        platform = platform_of(request)

        def work(conn: Any) -> dict[str, Any]:
            views.instance_row(conn, platform, instance_id, who)
            return _service(request).comment(conn, instance_id, who, text.strip(), body.get("attachments"))

        return _idempotent(request, who, work)

    @router.post("/api/flows/instances/{instance_id}/retry")
    def retry(instance_id: int, request: Request, who: Principal = Depends(admin_user)) -> dict[str, Any]:
        with platform_of(request).db.begin() as conn:
            return _service(request).retry(conn, instance_id, who)

    @router.get("/api/flows/tasks/{task_id}")
    def get_task(task_id: int, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        platform = platform_of(request)
        with platform.db.connect() as conn:
            return views.task_view(conn, platform, _service(request), task_id, who)

    @router.post("/api/flows/tasks/{task_id}/evaluate")
    async def evaluate(task_id: int, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        """The task's record with a draft of the node's writable fields (``{"values": {...}}``), as the task page
        sees it while it is being filled: computed values, visible/required/readonly flags and problems, under the
        node's field rights (hidden fields are not in the answer). Nothing is saved."""
        body = _object(await read_json(request))
        platform = platform_of(request)
        with platform.db.connect() as conn:
            task = views.task_view(conn, platform, _service(request), task_id, who)
            inst = views.instance_row(conn, platform, task["instance"]["id"], who)
            return platform.services["rights_form"].evaluate(
                conn, platform.app(inst["app"]), inst["form"], int(inst["record_id"]), body.get("values", {}),
                task["fields"], who, locale_of(request),
                editable=any(a in ("approve", "submit") for a in task["actions"]))

    @router.post("/api/flows/tasks/{task_id}/{action}")
    async def act(task_id: int, action: str, request: Request, who: Principal = Depends(current_user)) -> JSONResponse:
        """approve | submit | reject | return | transfer | delegate | add_signer | comment, with a JSON payload:
        ``values`` (field changes the node allows), ``reason``, ``comment``, ``to``, ``users``, ``position``, ``text``."""
        if action not in TASK_ACTIONS:
            raise BadRequest(f"unknown action '{action}'", details=[{"allowed": list(TASK_ACTIONS)}])
        body = _object(await read_json(request))
        if_match = _if_match(request)
        return _idempotent(request, who, lambda conn: _service(request).act(conn, task_id, who, action, body,
                                                                             if_match=if_match))

    @router.post("/api/flows/tasks/batch")
    async def batch(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        """The same action on several tasks (``{"tasks": [ids], "action": "approve", ...payload}``); each alone."""
        body = _object(await read_json(request))
        ids = body.pop("tasks", None)
        action = body.pop("action", "approve")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise BadRequest("tasks must be a list of task ids", details=[{"field": "tasks", "message": "required"}])
        if len(ids) > views.MAX_PAGE:
            raise BadRequest(f"at most {views.MAX_PAGE} tasks at once")
        if action not in ("approve", "reject"):
            raise BadRequest("batch action is approve or reject", details=[{"field": "action", "message": "invalid"}])
        with platform_of(request).db.begin() as conn:
            results = _service(request).batch(conn, ids, who, action, body)
        return {"results": results, "ok": sum(1 for r in results if r["ok"]),
                "failed": sum(1 for r in results if not r["ok"])}

    @router.get("/api/flows/inbox")
    def inbox_counts(request: Request, who: Principal = Depends(current_user), app: str | None = None,
                     flow: str | None = None) -> dict[str, Any]:
        with platform_of(request).db.connect() as conn:
            return {"counts": views.counts(conn, who, {"app": app, "flow": flow})}

    @router.get("/api/flows/inbox/{box}")
    def inbox(box: str, request: Request, who: Principal = Depends(current_user), app: str | None = None,
              flow: str | None = None, node: str | None = None, status: str | None = None, q: str | None = None,
              after: str | None = None, size: int = 50) -> dict[str, Any]:
        """todo | done | initiated | cc, newest first; pass ``next`` back as ``after`` for the next page."""
        filters = {"app": app, "flow": flow, "node": node, "status": status, "q": q}
        with platform_of(request).db.connect() as conn:
            page = views.inbox(conn, who, box, filters, after=after, size=size, service=_service(request))
            page["total"] = views.counts(conn, who, filters)[box] if box in views.BOXES else 0
        return page

    @router.post("/api/flows/delegations", status_code=201)
    async def delegate(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        """While away: ``{"to": user, "ends_at": ISO time, "starts_at": optional}``; new tasks go to ``to``."""
        body = _object(await read_json(request))
        platform = platform_of(request)
        try:
            starts = datetime.fromisoformat(body["starts_at"]) if body.get("starts_at") else platform.clock.now()
            ends = datetime.fromisoformat(body["ends_at"])
        except (KeyError, TypeError, ValueError):
            raise BadRequest("ends_at (and starts_at) must be ISO 8601 times with a time zone",
                             details=[{"field": "ends_at", "message": "ISO 8601 time"}]) from None
        if starts.tzinfo is None or ends.tzinfo is None:
            raise BadRequest("times need a time zone", details=[{"field": "ends_at", "message": "add +08:00 or Z"}])
        if "to" not in body:
            raise BadRequest("to is required", details=[{"field": "to", "message": "required"}])
        with platform.db.begin() as conn:
            return _service(request).delegate_while_away(conn, who, body["to"], starts, ends)

    @router.delete("/api/flows/delegations/{delegation_id}", status_code=204)
    def end_delegation(delegation_id: int, request: Request, who: Principal = Depends(current_user)) -> Response:
        with platform_of(request).db.begin() as conn:
            _service(request).end_delegation(conn, who, delegation_id)
        return Response(status_code=204)

    return router



