"""The FastAPI application factory."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from ..platform import Platform
from . import errors
from .routes_core import router as core_router


class RefuseNul:
    """Refuses NUL characters in the path or query string before any route sees them (no text column of
    PostgreSQL can hold one, and no legitimate client sends one)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode()
            query = scope.get("query_string", b"")
            if b"\x00" in raw or b"%00" in raw.lower() or b"\x00" in query or b"%00" in query.lower() \
                    or "\x00" in scope.get("path", ""):
                from fastapi.responses import JSONResponse

                response = JSONResponse(errors.error_body(400, "bad_request", "NUL characters are not allowed in URLs"),
                                        status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(title="Loomwork", version="0.1.0", description="Forms, flows, rules and reports from app definitions.",
                  openapi_url="/api/openapi.json", docs_url="/docs", redoc_url=None)
    app.state.platform = platform
    errors.install(app)
    app.add_middleware(RefuseNul)
    app.include_router(core_router)
    for provider in platform.hooks.routers:
        for router in provider(platform):
            app.include_router(router)
    for hook in platform.hooks.openapi:
        hook(app, platform)
    return app
