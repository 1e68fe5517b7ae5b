"""Plugs the designer into the platform: its JSON API (``/api/designer``), its page (``/designer/``) and a link to
it in the navigation of administrators and designers."""
from __future__ import annotations

from engine.plugins import Hooks


def register(hooks: Hooks) -> None:
    def routers(platform):  # type: ignore[no-untyped-def]
        from .api import build_router
        from .pages import build_pages

        return [build_router(), build_pages()]

    def start(platform):  # type: ignore[no-untyped-def]
        from .pages import add_link

        add_link(platform)

    hooks.routers.append(routers)
    hooks.on_start.append(start)
