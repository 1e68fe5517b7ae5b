"""Who is calling: bearer API tokens for integrations, session cookies (with CSRF tokens) for the browser."""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import Request

from ..errors import Forbidden, Unauthorized
from ..db import read_only
from ..identity import load_principal, session_user, token_principal
from ..permissions import Principal
from ..platform import Platform

SESSION_COOKIE = "lw_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def platform_of(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


def csrf_token(platform: Platform, session_token: str) -> str:
    key = platform.settings.resolved_secret_key().encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def _principal(request: Request) -> Principal | None:
    platform = platform_of(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        with read_only(platform.db) as conn:
            who = token_principal(conn, header[7:].strip())
        if who is None:
            raise Unauthorized("invalid or revoked API token")
        return who
    with platform.db.connect() as conn:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        with conn.begin():
            user_id = session_user(conn, cookie, platform.clock.now(), platform.settings.session_max_age)
        if user_id is None:
            return None
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "form_csrf", None) or ""
            if not hmac.compare_digest(sent, csrf_token(platform, cookie)):
                raise Forbidden("missing or wrong CSRF token")
        return load_principal(conn, user_id)


def optional_user(request: Request) -> Principal | None:
    cached: Any = getattr(request.state, "principal", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    who = _principal(request)
    request.state.principal = who
    return who


def current_user(request: Request) -> Principal:
    """FastAPI dependency: the signed-in principal, or 401."""
    who = optional_user(request)
    if who is None:
        raise Unauthorized("sign in first (session cookie or 'Authorization: Bearer <token>')")
    return who


def admin_user(request: Request) -> Principal:
    who = current_user(request)
    if not who.is_admin:
        raise Forbidden("only administrators may do this")
    return who
