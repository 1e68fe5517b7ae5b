"""The designer's pages: one page at ``/designer/`` in the portal's layout (the editors are JavaScript modules under
``/designer/static/``); SortableJS and Drawflow come from the npm registry through the portal's ``/vendor/``.

The page holds no definition data: the editors fetch everything from ``/api/designer``, which checks rights again.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from engine.errors import Forbidden, NotFound
from engine.i18n import Text
from engine.permissions import Principal
from engine.web.templating import NavLink, PageRoute, add_messages, add_nav_link, page_user, render, t

HERE = Path(__file__).parent
STATIC = HERE / "static"
#: the front-end libraries the pages load, as /vendor/<package>/<file>
LIBRARIES = {"sortablejs": "Sortable.min.js", "drawflow": "dist/drawflow.min.js"}
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

add_messages({"designer": {"zh-CN": "应用设计器", "en": "Designer"}})


def may_design(who: Principal) -> bool:
    from .api import DESIGNER_ROLE

    return who.is_admin or DESIGNER_ROLE in who.roles


def add_link(platform) -> None:  # type: ignore[no-untyped-def]
    add_nav_link(platform, NavLink(key="designer", label=Text.of({"zh-CN": "应用设计器", "en": "Designer"}),
                                   url="/designer/", order=90, visible=may_design))


def build_pages() -> APIRouter:
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/designer")
    def designer_redirect(who: Principal = Depends(page_user)) -> RedirectResponse:
        return RedirectResponse("/designer/", status_code=307)

    @router.get("/designer/")
    def designer_page(request: Request, who: Principal = Depends(page_user)) -> Response:
        if not may_design(who):
            raise Forbidden("only administrators and designers may use the designer")
        missing = [name for name in LIBRARIES if not (HERE.parent / "node_modules" / name).is_dir()]
        return render(request, "designer/designer.html", title=t(request, "designer"), missing=missing,
                      libraries=LIBRARIES)

    @router.get("/designer/static/{name}")
    def static(name: str, who: Principal = Depends(page_user)) -> FileResponse:
        """The editors' scripts, for signed-in users (the data they show needs designer rights in the API)."""
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in _MEDIA:
            raise NotFound(f"no designer file {name}")
        return FileResponse(path, media_type=_MEDIA[path.suffix], headers={"Cache-Control": "no-cache",
                                                                           "X-Content-Type-Options": "nosniff"})

    return router
