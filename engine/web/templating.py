"""Server-rendered pages: one Jinja2 environment, one ``render`` that gives every page what the layout needs.

Templates are looked up in ``engine/templates`` first, then in the ``templates/`` folder of each engine package
(forms_engine, flow_engine, report_engine, designer_ui) that exists. Autoescape is always on: labels, options and
values from definitions or users are text, never markup. ``docs/pages.md`` says how an engine adds a page.

    from engine.web.templating import PageRoute, page_user, render

    router = APIRouter(route_class=PageRoute)

    @router.get("/inbox")
    def inbox(request: Request, who: Principal = Depends(page_user)):
        return render(request, "inbox.html", title=t(request, "inbox"), tasks=...)
"""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup

from ..appspec import MenuItem
from ..errors import LoomworkError, Unauthorized
from ..i18n import DEFAULT_LOCALE, LOCALES, MESSAGES, Text, add_messages, message  # noqa: F401 (re-exported)
from ..permissions import Principal
from .auth import SESSION_COOKIE, csrf_token, optional_user, platform_of

#: packages whose ``templates/`` folder joins the search path, in this order (the core's own comes first)
TEMPLATE_PACKAGES = ("engine", "forms_engine", "flow_engine", "report_engine", "designer_ui")
LANG_COOKIE = "lw_lang"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# -- texts of the portal itself ---------------------------------------------------------------------------------

# the catalog (``MESSAGES``, ``add_messages``, ``message``) lives in ``engine.i18n``, so texts built outside a
# request (notifications, mails) use the same one; engines add their UI strings with ``add_messages``

add_messages({
    "app_name": {"zh-CN": "Loomwork", "en": "Loomwork"},
    "home": {"zh-CN": "首页", "en": "Home"},
    "login": {"zh-CN": "登录", "en": "Sign in"},
    "logout": {"zh-CN": "退出", "en": "Sign out"},
    "username": {"zh-CN": "用户名", "en": "Username"},
    "password": {"zh-CN": "密码", "en": "Password"},
    "wrong_login": {"zh-CN": "用户名或密码错误", "en": "Wrong username or password"},
    "too_many_logins": {"zh-CN": "登录失败次数过多，请 15 分钟后再试", "en": "Too many failed sign-ins; try again in 15 minutes"},
    "notifications": {"zh-CN": "通知", "en": "Notifications"},
    "language": {"zh-CN": "语言", "en": "Language"},
    "menu": {"zh-CN": "菜单", "en": "Menu"},
    "apps": {"zh-CN": "应用", "en": "Apps"},
    "no_panels": {"zh-CN": "这里还没有内容。从左侧菜单开始工作。", "en": "Nothing here yet. Start from the menu."},
    "error": {"zh-CN": "出错了", "en": "Something went wrong"},
    "not_found": {"zh-CN": "找不到该页面或记录", "en": "Page or record not found"},
    "forbidden": {"zh-CN": "您没有权限访问此页面", "en": "You may not open this page"},
    "back_home": {"zh-CN": "返回首页", "en": "Back to the home page"},
})


def t(request: Request, key: str, **values: Any) -> str:
    """A UI string in the language of this request."""
    return message(key, locale_of(request), **values)


# -- language ---------------------------------------------------------------------------------------------------

def locale_of(request: Request) -> str:
    """The language of a page: the switch (cookie) first, then the user's own setting, then zh-CN."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen  # type: ignore[return-value]
    who = getattr(request.state, "principal", None)
    if who and who.locale in LOCALES:
        return str(who.locale)
    return DEFAULT_LOCALE


def text_of(value: Any, locale: str) -> str:
    """A ``Text`` (or a plain value) as a string in ``locale``."""
    if isinstance(value, Text):
        return value.get(locale)
    if isinstance(value, Mapping):
        return Text.of(value).get(locale)
    return "" if value is None else str(value)


# -- navigation -------------------------------------------------------------------------------------------------

PORTAL_PAGES = {"home": "/", "inbox": "/inbox", "notifications": "/notifications"}


def menu_url(app_key: str, item: MenuItem) -> str | None:
    """Where a menu entry of ``app.yaml`` leads (the URL conventions every engine's pages follow)."""
    if item.form:
        return f"/apps/{app_key}/forms/{item.form}"
    if item.dashboard:
        return f"/apps/{app_key}/dashboards/{item.dashboard}"
    if item.report:
        return f"/apps/{app_key}/reports/{item.report}"
    if item.page:
        return PORTAL_PAGES.get(item.page)
    return None


@dataclass(frozen=True)
class NavEntry:
    label: str
    url: str | None
    icon: str | None = None
    children: tuple["NavEntry", ...] = ()


@dataclass(frozen=True)
class NavLink:
    """A portal-wide link an engine adds to every user's navigation (e.g. the task inbox)."""

    key: str
    label: Text
    url: str
    order: int = 50
    visible: Callable[[Principal], bool] | None = None


def add_nav_link(platform: Any, link: NavLink) -> None:
    """Call from an engine's ``on_start`` hook: the link shows above the apps' menus."""
    links: list[NavLink] = platform.services.setdefault("portal.nav", [])
    if any(x.key == link.key for x in links):
        raise RuntimeError(f"navigation link {link.key!r} added twice")
    links.append(link)


def _allowed(item: MenuItem, who: Principal, app: Any) -> bool:
    if item.roles and not who.is_admin and not (set(item.roles) & set(who.roles)):
        return False
    if item.form:
        from ..permissions import effective

        form = app.spec.forms.get(item.form)
        if form is None:
            return False
        grant = effective(form.permissions, who)
        return grant.read != "none" or grant.create
    return True


def _entries(app: Any, items: tuple[MenuItem, ...], who: Principal, locale: str) -> tuple[NavEntry, ...]:
    out: list[NavEntry] = []
    for item in items:
        if not _allowed(item, who, app):
            continue
        children = _entries(app, item.items, who, locale)
        url = menu_url(app.key, item)
        if url is None and not children:
            continue
        out.append(NavEntry(text_of(item.label, locale), url, item.icon, children))
    return tuple(out)


def app_menu(platform: Any, who: Principal, locale: str) -> list[dict[str, Any]]:
    """Each live app the user can use, with the entries of its menu they may see.

    An app without a menu lists its forms the user may read or create.
    """
    out = []
    for app in sorted(platform.apps.values(), key=lambda a: a.key):
        items = app.spec.menu or tuple(MenuItem(label=f.label, form=f.key) for f in app.spec.forms.values())
        entries = _entries(app, items, who, locale)
        if entries:
            out.append({"key": app.key, "label": text_of(app.spec.label, locale) or app.key, "entries": entries})
    return out


def portal_links(platform: Any, who: Principal, locale: str) -> list[NavEntry]:
    links: list[NavLink] = sorted(platform.services.get("portal.nav", []), key=lambda x: (x.order, x.key))
    return [NavEntry(x.label.get(locale), x.url) for x in links if x.visible is None or x.visible(who)]


# -- the environment --------------------------------------------------------------------------------------------

def template_dirs() -> list[Path]:
    """The template folders of the installed engine packages, core first."""
    dirs = []
    for name in TEMPLATE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            folder = Path(location) / "templates"
            if folder.is_dir():
                dirs.append(folder)
                break
    return dirs


def _tojson(value: Any) -> Markup:
    """JSON safe to place inside a ``<script>`` element or an attribute (``<``, ``>``, ``&`` and ``'`` escaped)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    return Markup(text)


def make_environment(dirs: list[Path] | None = None) -> Environment:
    env = Environment(loader=ChoiceLoader([FileSystemLoader(str(d)) for d in (dirs or template_dirs())]),
                      autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                      lstrip_blocks=True, auto_reload=False)
    env.policies["json.dumps_function"] = lambda v, **kw: json.dumps(v, ensure_ascii=False, default=str, **kw)
    env.filters["tojson_safe"] = _tojson
    env.filters["text"] = _text_filter
    env.filters["urlquote"] = lambda v: quote(str(v), safe="")
    env.globals["t"] = _t_global
    return env


@pass_context
def _t_global(ctx: Any, key: str, **values: Any) -> str:
    return message(key, ctx.get("lang", DEFAULT_LOCALE), **values)


@pass_context
def _text_filter(ctx: Any, value: Any) -> str:
    return text_of(value, ctx.get("lang", DEFAULT_LOCALE))


def environment(request: Request) -> Environment:
    """The app's one environment (built on first use)."""
    state = request.app.state
    env = getattr(state, "templates", None)
    if env is None:
        env = make_environment()
        state.templates = env
    return env


# -- rendering --------------------------------------------------------------------------------------------------

def page_context(request: Request) -> dict[str, Any]:
    """What every page gets: the user, the language, the CSRF token, the navigation."""
    platform = platform_of(request)
    who: Principal | None = getattr(request.state, "principal", None) or None
    lang = locale_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    return {
        "request": request,
        "user": who,
        "lang": lang,
        "locales": LOCALES,
        "csrf_token": csrf_token(platform, cookie) if who is not None and cookie else "",
        "app_menu": app_menu(platform, who, lang) if who is not None else [],
        "portal_links": portal_links(platform, who, lang) if who is not None else [],
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "vendor": "/vendor",
    }


def render(request: Request, template: str, *, status: int = 200, headers: Mapping[str, str] | None = None,
           **ctx: Any) -> HTMLResponse:
    """Render ``template`` with the page context plus ``ctx``; pages are never cached by the browser."""
    values = page_context(request) | ctx
    html = environment(request).get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# -- page routes ------------------------------------------------------------------------------------------------

class LoginRequired(Exception):
    """Raised by ``page_user`` when nobody is signed in: the page route answers with a redirect to /login."""


def page_user(request: Request) -> Principal:
    """FastAPI dependency for pages: the signed-in user, or a redirect to the login page."""
    try:
        who = optional_user(request)
    except Unauthorized:
        who = None
    if who is None:
        raise LoginRequired()
    return who


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")


class PageRoute(APIRoute):
    """Route class for HTML pages: errors become an error page in the user's language, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return RedirectResponse(login_url(request), status_code=303)
            except LoomworkError as exc:
                if exc.status == 401:
                    return RedirectResponse(login_url(request), status_code=303)
                key = {403: "forbidden", 404: "not_found"}.get(exc.status, "error")
                return render(request, "error.html", status=exc.status, title=t(request, key), error=exc)

        return page_handler


def safe_next(target: str | None) -> str:
    """A same-site path to go to after login (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
