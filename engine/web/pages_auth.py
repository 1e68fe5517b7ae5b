"""The login and logout pages (HTML forms over the same identity functions as ``/api/auth/login``)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..errors import Forbidden, TooManyRequests, Unauthorized
from ..identity import attempt_login, end_session, start_session
from .auth import SESSION_COOKIE, optional_user, platform_of
from .templating import PageRoute, render, safe_next, t

MAX_FIELD = 200


def build_router() -> APIRouter:
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/login")
    def login_page(request: Request, next: str | None = None) -> Response:
        try:
            who = optional_user(request)
        except Unauthorized:
            who = None
        if who is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        return render(request, "login.html", title=t(request, "login"), next=safe_next(next), error=None, username="")

    @router.post("/login")
    async def login_submit(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        username = str(form.get("username") or "")[:MAX_FIELD].strip()
        password = str(form.get("password") or "")[:MAX_FIELD]
        target = safe_next(str(form.get("next") or "/"))
        platform = platform_of(request)
        address = request.client.host if request.client else "?"
        now = platform.clock.now()
        try:  # attempt_login keeps the failure count of a refused login (throttling)
            user_id = attempt_login(platform.db, username, password, address, now, platform.settings.login_attempts)
        except (Unauthorized, TooManyRequests) as exc:
            key = "too_many_logins" if isinstance(exc, TooManyRequests) else "wrong_login"
            return render(request, "login.html", status=exc.status, title=t(request, "login"), next=target,
                          error=t(request, key), username=username)
        with platform.db.begin() as conn:
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                end_session(conn, old)  # a fresh session id at every login: no fixation
            token = start_session(conn, user_id, now)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=platform.settings.cookie_secure,
                            max_age=platform.settings.session_max_age, path="/")
        return response

    @router.post("/logout")
    async def logout_submit(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=3)
        request.state.form_csrf = str(form.get("csrf_token") or "")
        try:
            who = optional_user(request)  # checks the CSRF token of the form
        except Forbidden:
            return RedirectResponse("/", status_code=303)
        cookie = request.cookies.get(SESSION_COOKIE)
        if who is not None and cookie:
            platform = platform_of(request)
            with platform.db.begin() as conn:
                end_session(conn, cookie)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
