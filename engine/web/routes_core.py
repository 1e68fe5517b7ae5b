"""Core routes: sign-in, API tokens, meta-schemas, apps and their versions."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from .. import metaschema
from ..errors import BadRequest, NotFound
from ..identity import attempt_login, change_password, create_token, end_session, revoke_token, start_session
from ..permissions import Principal
from .auth import SESSION_COOKIE, admin_user, csrf_token, current_user, platform_of
from .body import read_json

router = APIRouter()


@router.post("/api/auth/login", tags=["auth"])
async def login(request: Request) -> JSONResponse:
    platform = platform_of(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("username"), str) or not isinstance(body.get("password"), str):
        raise BadRequest("send {\"username\": ..., \"password\": ...}")
    address = request.client.host if request.client else "?"
    now = platform.clock.now()
    user_id = attempt_login(platform.db, body["username"], body["password"], address, now,
                            platform.settings.login_attempts)
    with platform.db.begin() as conn:
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            end_session(conn, old)  # a fresh session id at every login: no fixation
        token = start_session(conn, user_id, now)
    response = JSONResponse({"ok": True, "csrf_token": csrf_token(platform, token)})
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=platform.settings.cookie_secure,
                        max_age=platform.settings.session_max_age, path="/")
    return response


@router.post("/api/auth/logout", tags=["auth"])
def logout(request: Request, who: Principal = Depends(current_user)) -> JSONResponse:
    platform = platform_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with platform.db.begin() as conn:
            end_session(conn, cookie)
    response = JSONResponse({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/api/auth/password", tags=["auth"])
async def new_password(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
    """Change one's own password (``{"current": ..., "new": ...}``): the password policy applies, and every other
    session of the user ends."""
    platform = platform_of(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("current"), str) or not isinstance(body.get("new"), str):
        raise BadRequest("send {\"current\": ..., \"new\": ...}")
    with platform.db.begin() as conn:
        change_password(conn, who.id, body["current"], body["new"],
                        keep_session=None if who.via_token else request.cookies.get(SESSION_COOKIE))
    return {"ok": True}


@router.get("/api/me", tags=["auth"])
def me(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
    out = who.to_json()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and not who.via_token:
        out["csrf_token"] = csrf_token(platform_of(request), cookie)
    return out


@router.post("/api/tokens", tags=["auth"], status_code=201)
async def new_token(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
    body = await read_json(request)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BadRequest("give the token a name")
    platform = platform_of(request)
    with platform.db.begin() as conn:
        token_id, secret = create_token(conn, who.id, name.strip(), platform.clock.now())
    return {"id": token_id, "name": name.strip(), "token": secret}


@router.delete("/api/tokens/{token_id}", tags=["auth"], status_code=204)
def delete_token(token_id: int, request: Request, who: Principal = Depends(current_user)) -> Response:
    platform = platform_of(request)
    with platform.db.begin() as conn:
        if not revoke_token(conn, token_id, None if who.is_admin else who.id, platform.clock.now()):
            raise NotFound(f"no token {token_id}")
    return Response(status_code=204)


@router.get("/api/meta-schemas", tags=["definitions"])
def meta_schema_list() -> dict[str, Any]:
    return {"kinds": metaschema.schema_names()}


@router.get("/api/meta-schemas/{kind}", tags=["definitions"])
def meta_schema(kind: str) -> JSONResponse:
    try:
        return JSONResponse(dict(metaschema.load_schema(kind)), media_type="application/schema+json")
    except KeyError:
        raise NotFound(f"no meta-schema for '{kind}'", details=[{"known": metaschema.schema_names()}]) from None


@router.get("/api/apps", tags=["apps"])
def list_apps(request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
    platform = platform_of(request)
    return {"apps": [{"key": a.key, "label": a.spec.label.get(who.locale), "version": a.version,
                      "forms": [{"key": f.key, "label": f.label.get(who.locale)} for f in a.spec.forms.values()]}
                     for a in platform.apps.values()]}


@router.get("/api/apps/{app}/versions", tags=["apps"])
def versions(app: str, request: Request, who: Principal = Depends(admin_user)) -> dict[str, Any]:
    return {"versions": [v.to_json() for v in platform_of(request).versions(app)]}


@router.post("/api/apps/{app}/versions", tags=["apps"], status_code=201)
async def publish(app: str, request: Request, who: Principal = Depends(admin_user)) -> dict[str, Any]:
    """Publish new definition files (``{"files": {path: text}, "message": ...}``) or roll back (``{"rollback_to": N}``)."""
    platform = platform_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    message = body.get("message")
    if "rollback_to" in body:
        if not isinstance(body["rollback_to"], int):
            raise BadRequest("rollback_to must be a version number")
        return platform.rollback(app, body["rollback_to"], who.username, message).to_json()
    files = body.get("files")
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise BadRequest("files must map relative paths to file texts")
    if not isinstance(message, str) or not message.strip():
        raise BadRequest("a publish needs a message")
    info = platform.publish_files(files, who.username, message)
    if info.app != app:
        raise BadRequest(f"the files define app '{info.app}', not '{app}'")
    return info.to_json() | {"changed": info.changed}


@router.get("/api/apps/{app}/versions/{old}/diff/{new}", tags=["apps"], response_class=PlainTextResponse)
def version_diff(app: str, old: int, new: int, request: Request, who: Principal = Depends(admin_user)) -> str:
    return platform_of(request).diff(app, old, new)
