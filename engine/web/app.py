"""The FastAPI application factory."""
from __future__ import annotations

from fastapi import FastAPI

from ..platform import Platform
from . import errors
from .routes_core import router as core_router


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(title="Loomwork", version="0.1.0", description="Forms, flows, rules and reports from app definitions.",
                  openapi_url="/api/openapi.json", docs_url="/docs", redoc_url=None)
    app.state.platform = platform
    errors.install(app)
    app.include_router(core_router)
    for provider in platform.hooks.routers:
        for router in provider(platform):
            app.include_router(router)
    for hook in platform.hooks.openapi:
        hook(app, platform)
    return app
