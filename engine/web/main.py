"""The ASGI entry point used by ``loomwork serve`` (one per worker process)."""
from __future__ import annotations

from fastapi import FastAPI

from ..platform import Platform
from .app import create_app


def app_from_env() -> FastAPI:
    platform = Platform()
    platform.activate_published()
    return create_app(platform)
