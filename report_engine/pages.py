"""Dashboard and report pages of the staff portal, the drill-down list, plotly.js, and the KPI panel of the home page.

* ``/apps/{app}/dashboards/{key}`` — the widget grid with the shared filters (multi-select with defaults, linked
  filters), auto-refresh, drill-down, cross-filtering, zoom, export; ``?filters=<json>`` keeps the chosen values in
  the address, so a filtered dashboard can be bookmarked or sent.
* ``/apps/{app}/reports/{key}`` — one report: its chart, its data as a table, export.
* ``/apps/{app}/reports/{key}/records`` — the records behind a bar, slice, row or number
  (``?point=<json>&filters=<json>&zoom=<json>&dashboard=<key>&dashboard_filters=<json>``): the report's filters,
  the dashboard's filters and the reader's rights all apply (``Reports.drill``).
* ``/vendor/plotly.min.js`` — plotly.js from the installed ``plotly`` Python package (nothing copied into the repo).

The pages render the first state on the server (the same service calls the API makes, in the page's language);
``engine/static/reports/reports.js`` draws the charts and asks the report API again when a filter changes. Values
from definitions and users reach the page escaped or as JSON through ``tojson_safe``.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from engine.errors import BadRequest, Forbidden, LoomworkError, NotFound
from engine.permissions import Principal
from engine.web.auth import platform_of
from engine.web.templating import PageRoute, add_messages, locale_of, page_user, render, t, text_of

from . import dates
from .loader import zoomable

add_messages({
    "reports.filters": {"zh-CN": "筛选", "en": "Filters"},
    "reports.all": {"zh-CN": "全部", "en": "All"},
    "reports.any_period": {"zh-CN": "不限", "en": "Any time"},
    "reports.refresh": {"zh-CN": "刷新", "en": "Refresh"},
    "reports.reset": {"zh-CN": "重置", "en": "Reset"},
    "reports.refused": {"zh-CN": "您没有权限查看此组件的数据", "en": "You may not see the data of this widget"},
    "reports.failed": {"zh-CN": "此组件无法显示", "en": "This widget cannot be shown"},
    "reports.loading": {"zh-CN": "加载中…", "en": "Loading…"},
    "reports.export_xlsx": {"zh-CN": "导出 Excel", "en": "Export .xlsx"},
    "reports.export_csv": {"zh-CN": "导出 CSV", "en": "Export .csv"},
    "reports.zoom_out": {"zh-CN": "返回", "en": "Zoom out"},
    "reports.total": {"zh-CN": "合计", "en": "Total"},
    "reports.records": {"zh-CN": "明细记录", "en": "Records"},
    "reports.records_of": {"zh-CN": "{label} 的明细", "en": "Records of {label}"},
    "reports.no_records": {"zh-CN": "没有符合条件的记录", "en": "No matching records"},
    "reports.count": {"zh-CN": "共 {n} 条", "en": "{n} records"},
    "reports.back": {"zh-CN": "返回看板", "en": "Back to the dashboard"},
    "reports.back_report": {"zh-CN": "返回报表", "en": "Back to the report"},
    "reports.previous_page": {"zh-CN": "上一页", "en": "Previous"},
    "reports.next_page": {"zh-CN": "下一页", "en": "Next"},
    "reports.vs_previous": {"zh-CN": "较上期", "en": "vs previous period"},
    "reports.vs_last_year": {"zh-CN": "较去年同期", "en": "vs same period last year"},
    "reports.no_data": {"zh-CN": "暂无数据", "en": "No data"},
    "reports.data": {"zh-CN": "数据", "en": "Data"},
    "reports.auto_refresh": {"zh-CN": "每 {n} 秒自动刷新", "en": "Refreshes every {n} s"},
    "reports.bad_filters": {"zh-CN": "地址中的筛选条件无效，已使用默认值", "en": "The filters in the address were invalid; defaults are used"},
})

#: Texts the page script needs, by key (sent along with the first state).
SCRIPT_TEXTS = ("reports.refused", "reports.failed", "reports.loading", "reports.zoom_out", "reports.total",
                "reports.vs_previous", "reports.vs_last_year", "reports.no_data", "reports.all",
                "reports.export_xlsx", "reports.export_csv")
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$", "GBP": "£", "JPY": "¥"}
PAGE_SIZE = 50


def plotly_js_path() -> Path:
    """plotly.js as shipped inside the installed plotly Python package."""
    spec = find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise NotFound("the plotly package is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise NotFound("plotly.min.js is missing from the plotly package")
    return path


def _service(request: Request) -> Any:
    service = platform_of(request).services.get("reports")
    if service is None:
        raise NotFound("the report engine is not running")
    return service


def reader(request: Request, who: Principal) -> Principal:
    """The caller, speaking the page's language (the switch in the top bar may differ from the user's own)."""
    lang = locale_of(request)
    return who if who.locale == lang else replace(who, locale=lang)


def _json_param(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be JSON", details=[{"field": name, "message": "invalid JSON"}]) from None


def _texts(request: Request) -> dict[str, str]:
    return {key.split(".", 1)[1]: t(request, key) for key in SCRIPT_TEXTS}


def _currency(live: Any) -> str:
    return str(getattr(live.spec.settings, "currency", "CNY") or "CNY")


# -- formatting on the server (the home panel; the pages format in the browser with Intl) ----------------------

def format_value(value: Any, fmt: str, scale: int, lang: str, currency: str = "CNY") -> str:
    """A measure's value as shown: money with its currency sign, percent from a fraction, grouped thousands."""
    if value is None or value == "":
        return "–"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return "–"
    if fmt == "percent":
        from .charts import percent_places

        return f"{number * 100:,.{percent_places(scale)}f}%"
    if fmt == "integer":
        return f"{number:,.0f}"
    if fmt == "money":
        sign = "-" if number < 0 else ""
        return f"{sign}{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{abs(number):,.{scale}f}"
    text = f"{number:,.{max(scale, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def number_card(result: Mapping[str, Any], lang: str, currency: str, texts: Mapping[str, str]) -> dict[str, Any] | None:
    """A number-card result as {label, value, previous, change, direction} texts."""
    measures = [c for c in result["columns"] if c["role"] == "measure"]
    if not measures:
        return None
    m = measures[0]
    row = result["rows"][0] if result["rows"] else {}
    card: dict[str, Any] = {"label": m["label"], "value": format_value(row.get(m["key"]), m["format"], m["scale"],
                                                                       lang, currency),
                            "report": result["report"], "change": None}
    change = row.get(m["key"] + "__change")
    previous_col = next((c for c in result["columns"] if c["key"] == m["key"] + "__previous"), None)
    if previous_col is not None:
        card["previous"] = format_value(row.get(previous_col["key"]), m["format"], m["scale"], lang, currency)
        card["compare"] = texts["vs_last_year" if previous_col.get("compare") == "same_period_last_year" else "vs_previous"]
        if change is not None:
            ratio = float(change)
            card["change"] = f"{ratio * 100:+.1f}%" if math.isfinite(ratio) else None
            card["direction"] = "up" if ratio > 0 else "down" if ratio < 0 else "flat"
    return card


# -- pages --------------------------------------------------------------------------------------------------------

def _filter_options(service: Any, app: str, board: Any, who: Principal, values: Mapping[str, Any]
                    ) -> dict[str, list[dict[str, Any]]]:
    """The options of every filter (a linked filter's narrowed by its parent's chosen values)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for f in board.filters:
        if f.range:
            continue
        parent = values.get(f.depends_on) if f.depends_on else None
        try:
            out[f.key] = service.filter_options(app, board.key, f.key, who, parent or None)["options"]
        except LoomworkError:  # a filter over a form the reader may not read offers nothing
            out[f.key] = []
    return out


def _range_options(request: Request) -> list[dict[str, str]]:
    return [{"value": name, "label": t(request, "reports.range." + name)} for name in dates.RANGES]


#: Labels of the relative date ranges a date filter offers (every name of ``dates.RANGES``; tested).
RANGE_TEXTS = {
    "today": ("今天", "Today"), "yesterday": ("昨天", "Yesterday"), "this_week": ("本周", "This week"),
    "last_week": ("上周", "Last week"), "this_month": ("本月", "This month"), "last_month": ("上月", "Last month"),
    "this_quarter": ("本季度", "This quarter"), "last_quarter": ("上季度", "Last quarter"),
    "this_year": ("今年", "This year"), "last_year": ("去年", "Last year"), "last_7_days": ("最近 7 天", "Last 7 days"),
    "last_30_days": ("最近 30 天", "Last 30 days"), "last_90_days": ("最近 90 天", "Last 90 days"),
    "last_365_days": ("最近 365 天", "Last 365 days"), "month_to_date": ("本月至今", "Month to date"),
    "quarter_to_date": ("本季度至今", "Quarter to date"), "year_to_date": ("今年至今", "Year to date"),
}
add_messages({f"reports.range.{k}": {"zh-CN": zh, "en": en} for k, (zh, en) in RANGE_TEXTS.items()})


def build_router() -> APIRouter:
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/vendor/plotly.min.js")
    def plotly_js(who: Principal = Depends(page_user)) -> Response:
        """For signed-in users (the pages that draw charts need a session anyway)."""
        return FileResponse(plotly_js_path(), media_type="text/javascript; charset=utf-8",
                            headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})

    @router.get("/apps/{app}/dashboards/{key}")
    def dashboard_page(app: str, key: str, request: Request, who: Principal = Depends(page_user)) -> Response:
        service = _service(request)
        me = reader(request, who)
        live, board = service.dashboard_spec(app, key)
        sent = _json_param_quiet(request, "filters")
        warning = None
        try:
            if sent is not None and not isinstance(sent, dict):
                raise BadRequest("filters must be a JSON object")
            data = service.dashboard(app, key, me, {"filters": sent} if sent is not None else None)
        except LoomworkError as exc:
            if exc.status in (401, 403, 404):
                raise
            warning = t(request, "reports.bad_filters")
            data = service.dashboard(app, key, me, None)
        values = {f["key"]: f["value"] for f in data["filters"]}
        boot = {"mode": "dashboard", "app": app, "dashboard": key, "refresh": data["refresh"],
                "filters": data["filters"], "values": values, "widgets": data["widgets"], "lang": me.locale,
                "currency": _currency(live), "texts": _texts(request)}
        return render(request, "reports/board.html", title=data["label"], heading=data["label"], boot=boot,
                      widgets=data["widgets"], filters=data["filters"], values=values, warning=warning,
                      options=_filter_options(service, app, board, me, values), ranges=_range_options(request),
                      refresh=data["refresh"])

    @router.get("/apps/{app}/reports/{key}")
    def report_page(app: str, key: str, request: Request, who: Principal = Depends(page_user)) -> Response:
        service = _service(request)
        me = reader(request, who)
        live, report = service.report(app, key)
        params = {name: value for name in ("filters", "zoom") if (value := _json_param(request, name)) is not None}
        for name in ("sort", "limit"):
            if request.query_params.get(name):
                params[name] = request.query_params[name]
        result = service.run(app, key, me, params)
        can_zoom = any(zoomable(d) for d in report.dimensions)
        widget = {"index": 0, "report": key, "x": 0, "y": 0, "w": 12, "h": 6, "title": result["label"],
                  "cross_filter": {}, "click": "zoom" if can_zoom else "drill", "result": result}
        boot = {"mode": "report", "app": app, "dashboard": None, "refresh": None, "filters": [], "values": {},
                "params": {k: v for k, v in params.items() if k != "zoom"}, "widgets": [widget], "lang": me.locale, "currency": _currency(live),
                "texts": _texts(request), "zoom": params.get("zoom")}
        return render(request, "reports/board.html", title=result["label"], heading=result["label"], boot=boot,
                      widgets=[widget], filters=[], values={}, warning=None, options={}, ranges=[], refresh=None,
                      data_table=report.chart.type not in ("table", "pivot", "number"))

    @router.get("/apps/{app}/reports/{key}/records")
    def drill_page(app: str, key: str, request: Request, page: int = 1,
                   who: Principal = Depends(page_user)) -> Response:
        from forms_engine import page_model as pm

        service = _service(request)
        me = reader(request, who)
        raw: dict[str, Any] = {}
        for name in ("point", "filters", "zoom", "dashboard_filters"):
            value = _json_param(request, name)
            if value is not None:
                raw[name] = value
        board = request.query_params.get("dashboard") or None
        if board:
            raw["dashboard"] = board
        if request.query_params.get("measure"):
            raw["measure"] = request.query_params["measure"][:100]
        result = service.drill(app, key, me, raw, page=max(1, min(page, 10_000)), size=PAGE_SIZE)
        platform = platform_of(request)
        live, report = service.report(app, key)
        form = live.spec.forms[result["form"]]
        columns = pm.list_columns(form)
        lang = me.locale
        with platform.db.connect() as conn:
            refs = pm.load_refs(conn, platform.services["records"], live, form, result["items"], me)
        tz = live.spec.settings.timezone
        rows = [{"id": r["id"], "title": pm.title_of(form, r), "url": f"/apps/{app}/forms/{form.key}/{r['id']}",
                 "cells": [pm.display(c, r.get(c.key), lang, refs, tz) for c in columns]} for r in result["items"]]
        label = (request.query_params.get("label") or "")[:200]
        keep = {k: v for k, v in request.query_params.items() if k != "page"}
        pages = max(1, -(-result["total"] // PAGE_SIZE))
        if board:
            back = f"/apps/{app}/dashboards/{board}" + (
                "?" + urlencode({"filters": json.dumps(raw["dashboard_filters"], ensure_ascii=False)})
                if "dashboard_filters" in raw else "")
            back_label = t(request, "reports.back")
        else:
            back = f"/apps/{app}/reports/{key}"
            back_label = t(request, "reports.back_report")
        heading = t(request, "reports.records_of", label=label) if label else t(request, "reports.records")
        return render(request, "reports/records.html", title=heading, heading=heading,
                      report_label=report.label.get(lang), form=form, columns=columns, rows=rows,
                      total=result["total"], page=result["page"], pages=pages, back=back, back_label=back_label,
                      page_url=lambda n: "?" + urlencode(keep | {"page": n}))

    return router


def _json_param_quiet(request: Request, name: str) -> Any:
    try:
        return _json_param(request, name)
    except BadRequest:
        return "invalid"


# -- home panel -----------------------------------------------------------------------------------------------------

def _departments_of(platform: Any, who: Principal) -> frozenset[str]:
    """The keys of the user's department and of every department above it (one query)."""
    from sqlalchemy import select

    from engine.tables import departments

    if who.department_id is None:
        return frozenset()
    with platform.db.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(departments.c.id, departments.c.key, departments.c.parent_id))}
    out: set[str] = set()
    current = rows.get(who.department_id)
    while current is not None and current.key not in out:
        out.add(current.key)
        current = rows.get(current.parent_id)
    return frozenset(out)


def home_panel(request: Request, platform: Any, who: Principal) -> Any:
    """The number cards of the first home dashboard meant for the user (``home: true``, or ``home: {roles,
    departments}`` matching them) whose cards they may read."""
    from engine.web.portal import Panel

    service = platform.services.get("reports")
    if service is None:
        return None
    me = reader(request, who)
    lang = me.locale
    mine: frozenset[str] | None = None  # the user's departments, read when a dashboard asks
    for app_key in sorted(platform.apps):
        live = platform.apps[app_key]
        reports = live.spec.of_kind("report")
        for board in live.spec.of_kind("dashboard").values():
            if board.home_departments and mine is None:
                mine = _departments_of(platform, who)
            if not board.home_of(who.roles, mine or frozenset()):
                continue
            cards = []
            for w in board.widgets:
                report = reports.get(w.report)
                if report is None or report.chart.type != "number":
                    continue
                try:
                    result = service.run(app_key, w.report, me, {"dashboard": board.key}, figure=False)
                except (Forbidden, LoomworkError):
                    continue
                card = number_card(result, lang, _currency(live), _texts(request))
                if card is not None:
                    card["title"] = w.title.get(lang) or result["label"]
                    cards.append(card)
            if cards:
                return Panel(title=text_of(board.label, lang), template="reports/home_panel.html",
                             context={"cards": cards}, url=f"/apps/{app_key}/dashboards/{board.key}", order=20)
    return None
