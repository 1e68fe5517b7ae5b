"""The staff portal's frame: home page with the engines' panels, language switch, app entry, static and vendor files.

Registered as a built-in plugin (``engine/plugins.py`` BUILTIN); the login pages are in ``pages_auth.py``.
"""
from __future__ import annotations

import json
import logging
import mimetypes
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from ..errors import NotFound
from ..i18n import LOCALES
from ..permissions import Principal
from .auth import platform_of
from .templating import (LANG_COOKIE, STATIC_DIR, PageRoute, app_menu, locale_of, page_user, render, safe_next)

log = logging.getLogger("loomwork.portal")
#: the repository root: ``package.json`` and the ``node_modules`` that ``npm ci`` fills
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Panel:
    """One panel of the home page, given by a ``home_panels`` hook.

    Give either ``template`` (rendered with ``context`` plus the page context) or ``items``
    (``[{"label", "url", "meta"}]``, shown as a list) or ``text``. Lower ``order`` comes first.
    """

    title: str
    items: tuple[Mapping[str, Any], ...] = ()
    template: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    url: str | None = None
    order: int = 50
    empty: str = ""

    @classmethod
    def of(cls, raw: Any) -> "Panel":
        if isinstance(raw, Panel):
            return raw
        if isinstance(raw, Mapping):
            return cls(title=str(raw.get("title", "")), items=tuple(raw.get("items") or ()),
                       template=raw.get("template"), context=raw.get("context") or {}, text=str(raw.get("text") or ""),
                       url=raw.get("url"), order=int(raw.get("order", 50)), empty=str(raw.get("empty") or ""))
        raise TypeError(f"a home panel must be a Panel or a mapping, not {type(raw).__name__}")


def home_panels(request: Request, who: Principal) -> list[Panel]:
    """Every panel the engines offer this user; one failing panel is logged and left out, never the whole page."""
    platform = platform_of(request)
    panels: list[Panel] = []
    for hook in platform.hooks.home_panels:
        try:
            got = hook(request, platform, who)
            for raw in got if isinstance(got, (list, tuple)) else [got]:
                if raw is not None:
                    panels.append(Panel.of(raw))
        except Exception:  # noqa: BLE001 - a broken panel must not take the home page down
            log.exception("home panel %r failed", getattr(hook, "__name__", hook))
    return sorted(panels, key=lambda p: p.order)


@lru_cache(maxsize=1)
def vendor_packages() -> frozenset[str]:
    """The front-end packages the project declares (``package.json`` dependencies): only these are served."""
    try:
        data = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(data.get("dependencies", {}))


def _file_in(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        raise NotFound(f"no file {rel}")
    return path


def _static(path: Path) -> FileResponse:
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media.startswith("text/") or media.endswith("javascript"):
        media += "; charset=utf-8"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600",
                                                         "X-Content-Type-Options": "nosniff"})


def build_router() -> APIRouter:
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/")
    def home(request: Request, who: Principal = Depends(page_user)) -> Response:
        return render(request, "home.html", title=None, panels=home_panels(request, who))

    @router.get("/apps/{app}")
    def app_home(app: str, request: Request, who: Principal = Depends(page_user)) -> Response:
        """An app's first menu entry the user may open."""
        for entry in app_menu(platform_of(request), who, locale_of(request)):
            if entry["key"] != app:
                continue
            stack = list(entry["entries"])
            while stack:
                item = stack.pop(0)
                if item.url:
                    return RedirectResponse(item.url, status_code=303)
                stack[:0] = item.children
        raise NotFound(f"no app '{app}' you may use")

    @router.get("/lang/{code}")
    def switch_language(code: str, request: Request, next: str | None = None) -> Response:
        if code not in LOCALES:
            raise NotFound(f"no language '{code}'")
        response = RedirectResponse(safe_next(next or request.headers.get("referer-path")), status_code=303)
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/")
        return response

    @router.get("/static/{rel:path}")
    def static(rel: str) -> Response:
        return _static(_file_in(STATIC_DIR, rel))

    @router.get("/vendor/{package}/{rel:path}")
    def vendor(package: str, rel: str) -> Response:
        """Front-end libraries installed from the npm registry (``npm ci``), only those in package.json."""
        if package not in vendor_packages():
            raise NotFound(f"no front-end package '{package}'")
        return _static(_file_in(ROOT / "node_modules" / package, rel))

    return router


def register(hooks: Any) -> None:
    hooks.routers.append(lambda platform: [build_router(), _auth_router()])


def _auth_router() -> APIRouter:
    from .pages_auth import build_router as auth_pages

    return auth_pages()
