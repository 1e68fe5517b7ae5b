"""The ASGI entry point used by ``loomwork serve`` (one per worker process)."""
from __future__ import annotations

from fastapi import FastAPI

from ..platform import Platform
from .app import create_app


def app_from_env() -> FastAPI:
    from ..scheduler import start_background

    platform = Platform()
    platform.activate_published()
    app = create_app(platform)
    app.state.scheduler = start_background(platform)  # one per worker process; jobs claim their work safely
    return app
