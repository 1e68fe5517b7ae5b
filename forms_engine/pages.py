"""Generated pages of every form: list, create, edit, record and print pages, plus the small APIs they call
(draft evaluation, saved views, region data). Routes are thin: the records service does the work and checks rights.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from engine.errors import Forbidden, LoomworkError, NotFound
from engine.permissions import Principal, effective, in_scope
from engine.platform import LiveApp
from engine.web.auth import current_user, platform_of
from engine.web.body import read_json
from engine.web.templating import PageRoute, add_messages, locale_of, page_user, render, text_of

from . import page_model as pm
from . import views_store
from .page_kind import PageSpec, RelatedList, TimelineSource
from .records import Records
from .spec import FieldSpec, FormSpec

PAGE_SIZES = (20, 50, 100)

#: what an audit entry's action is called on a record's timeline (``audit_<action>``; unknown actions show as is)
add_messages({f"audit_{action}": texts for action, texts in {
    "create": {"zh-CN": "创建", "en": "Created"},
    "update": {"zh-CN": "修改", "en": "Updated"},
    "delete": {"zh-CN": "删除", "en": "Deleted"},
    "view": {"zh-CN": "查看", "en": "Viewed"},
    "import": {"zh-CN": "导入", "en": "Imported"},
    "recalculate": {"zh-CN": "重新计算", "en": "Recalculated"},
    "flow_start": {"zh-CN": "发起流程", "en": "Flow started"},
    "flow_approve": {"zh-CN": "同意", "en": "Approved"},
    "flow_submit": {"zh-CN": "提交", "en": "Submitted"},
    "flow_reject": {"zh-CN": "驳回", "en": "Rejected"},
    "flow_return": {"zh-CN": "退回", "en": "Returned"},
    "flow_transfer": {"zh-CN": "转交", "en": "Transferred"},
    "flow_delegate": {"zh-CN": "委托", "en": "Delegated"},
    "flow_add_signer": {"zh-CN": "加签", "en": "Signer added"},
    "flow_comment": {"zh-CN": "评论", "en": "Commented"},
    "flow_withdraw": {"zh-CN": "撤回", "en": "Withdrawn"},
    "flow_retry": {"zh-CN": "重试", "en": "Retried"},
    "flow_remind": {"zh-CN": "催办提醒", "en": "Reminder sent"},
    "flow_escalate": {"zh-CN": "超时处理", "en": "Escalated"},
    "flow_subflow_approve": {"zh-CN": "子流程通过", "en": "Sub-flow approved"},
    "flow_subflow_reject": {"zh-CN": "子流程驳回", "en": "Sub-flow rejected"},
}.items()})

add_messages({
    "new": {"zh-CN": "新建", "en": "New"},
    "edit": {"zh-CN": "编辑", "en": "Edit"},
    "save": {"zh-CN": "保存", "en": "Save"},
    "saving": {"zh-CN": "正在保存…", "en": "Saving…"},
    "saved": {"zh-CN": "已保存", "en": "Saved"},
    "cancel": {"zh-CN": "取消", "en": "Cancel"},
    "print": {"zh-CN": "打印", "en": "Print"},
    "search": {"zh-CN": "搜索", "en": "Search"},
    "filter": {"zh-CN": "筛选", "en": "Filter"},
    "clear": {"zh-CN": "清除", "en": "Clear"},
    "all": {"zh-CN": "全部", "en": "All"},
    "yes": {"zh-CN": "是", "en": "Yes"},
    "no": {"zh-CN": "否", "en": "No"},
    "from": {"zh-CN": "从", "en": "From"},
    "to": {"zh-CN": "至", "en": "To"},
    "records_total": {"zh-CN": "共 {n} 条", "en": "{n} records"},
    "no_records": {"zh-CN": "没有记录", "en": "No records"},
    "previous": {"zh-CN": "上一页", "en": "Previous"},
    "next": {"zh-CN": "下一页", "en": "Next"},
    "page_of": {"zh-CN": "第 {page} / {pages} 页", "en": "Page {page} of {pages}"},
    "views": {"zh-CN": "我的视图", "en": "My views"},
    "save_view": {"zh-CN": "保存为视图", "en": "Save as view"},
    "view_name": {"zh-CN": "视图名称", "en": "View name"},
    "delete_view": {"zh-CN": "删除视图", "en": "Delete view"},
    "add_row": {"zh-CN": "添加一行", "en": "Add row"},
    "remove_row": {"zh-CN": "删除", "en": "Remove"},
    "choose": {"zh-CN": "请选择", "en": "Choose"},
    "search_records": {"zh-CN": "输入关键字搜索", "en": "Type to search"},
    "upload": {"zh-CN": "上传文件", "en": "Upload"},
    "uploading": {"zh-CN": "上传中", "en": "Uploading"},
    "remove": {"zh-CN": "移除", "en": "Remove"},
    "sign_here": {"zh-CN": "请在此处签名", "en": "Sign here"},
    "clear_signature": {"zh-CN": "重写", "en": "Clear"},
    "use_signature": {"zh-CN": "确认签名", "en": "Use signature"},
    "my_location": {"zh-CN": "获取当前位置", "en": "Use my location"},
    "latitude": {"zh-CN": "纬度", "en": "Latitude"},
    "longitude": {"zh-CN": "经度", "en": "Longitude"},
    "detail_address": {"zh-CN": "详细地址", "en": "Street address"},
    "province": {"zh-CN": "省", "en": "Province"},
    "city": {"zh-CN": "市", "en": "City"},
    "district": {"zh-CN": "区县", "en": "District"},
    "previous_step": {"zh-CN": "上一步", "en": "Back"},
    "next_step": {"zh-CN": "下一步", "en": "Next"},
    "conflict": {"zh-CN": "保存失败：这条记录已被其他人修改。您的修改没有覆盖对方的内容——请刷新页面查看最新内容后再改。",
                 "en": "Not saved: someone else changed this record meanwhile. Nothing was overwritten — reload to see "
                       "their version, then make your change again."},
    "reload": {"zh-CN": "刷新", "en": "Reload"},
    "fix_errors": {"zh-CN": "请修正标出的字段", "en": "Please correct the marked fields"},
    "save_failed": {"zh-CN": "保存失败", "en": "Could not save"},
    "history": {"zh-CN": "历史记录", "en": "History"},
    "timeline": {"zh-CN": "动态", "en": "Timeline"},
    "related": {"zh-CN": "相关记录", "en": "Related records"},
    "created": {"zh-CN": "创建", "en": "created"},
    "updated": {"zh-CN": "修改", "en": "changed"},
    "deleted": {"zh-CN": "删除", "en": "deleted"},
    "recalculate": {"zh-CN": "重新计算", "en": "recalculated"},
    "more": {"zh-CN": "更多", "en": "more"},
    "created_at": {"zh-CN": "创建时间", "en": "Created"},
    "updated_at": {"zh-CN": "更新时间", "en": "Updated"},
    "owner": {"zh-CN": "负责人", "en": "Owner"},
    "columns": {"zh-CN": "列", "en": "Columns"},
    "apply": {"zh-CN": "应用", "en": "Apply"},
    "preview_check": {"zh-CN": "检查（不保存）", "en": "Check (not saved)"},
    "preview_not_saved": {"zh-CN": "预览：表单检查通过，预览从不保存记录", "en": "Preview: the form checks out; a preview never saves records"},
    "preview_no_upload": {"zh-CN": "预览不上传文件", "en": "The preview does not upload files"},
})


def _records(request: Request) -> Records:
    return platform_of(request).services["records"]  # type: ignore[no-any-return]


def _live(request: Request, app: str, form: str) -> tuple[LiveApp, FormSpec]:
    live = platform_of(request).app(app)
    return live, _records(request).form(live, form)


def page_for(live: LiveApp, form: FormSpec, key: str | None = None) -> PageSpec | None:
    """The page definition laying out this form's record page (``?page=key`` picks one of several)."""
    pages = [p for p in live.spec.of_kind("page").values() if p.form == form.key]
    if key:
        return next((p for p in pages if p.key == key), None)
    return sorted(pages, key=lambda p: p.key)[0] if pages else None


def auto_related(live: LiveApp, form: FormSpec) -> list[RelatedList]:
    """Without a page definition: every single relation of another form that points to this form."""
    out = []
    for other in live.spec.forms.values():
        for f in other.fields:
            if f.type == "relation" and f.to == form.key and not f.many:
                out.append(RelatedList(other.key, f.key, other.label, tuple(c.key for c in pm.list_columns(other)
                                                                            if c.key != f.key)[:5]))
    return out


@lru_cache(maxsize=1)
def _region_json() -> bytes:
    from .validators.regions import DATA_FILE

    return DATA_FILE.read_bytes()


# -- list pages -------------------------------------------------------------------------------------------------

def _list_query(request: Request, form: FormSpec) -> dict[str, Any]:
    params = request.query_params
    size = int(params["size"]) if params.get("size", "").isdigit() and int(params["size"]) in PAGE_SIZES else 20
    page = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) > 0 else 1
    filters = {k: v for k, v in params.items() if k not in ("sort", "q", "page", "size", "cols", "view") and v != ""}
    columns = pm.list_columns(form)
    if params.get("cols"):
        chosen = [form.by_key[k] for k in params["cols"].split(",") if k in form.by_key and form.by_key[k].stored]
        columns = chosen or columns
    return {"size": size, "page": page, "filters": filters, "sort": params.get("sort") or None,
            "q": params.get("q") or None, "columns": columns}


def _rows(form: FormSpec, items: list[dict[str, Any]], columns: list[FieldSpec], lang: str, refs: pm.Refs,
          tz: str) -> list[dict[str, Any]]:
    return [{"id": r["id"], "title": pm.title_of(form, r),
             "cells": [pm.display(c, r.get(c.key), lang, refs, tz) for c in columns]} for r in items]


def build_router() -> APIRouter:
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/apps/{app}/forms/{form}")
    def list_page(app: str, form: str, request: Request, who: Principal = Depends(page_user)) -> Response:
        live, spec = _live(request, app, form)
        records, platform, lang = _records(request), platform_of(request), locale_of(request)
        query = _list_query(request, spec)
        grant = records.grant(spec, who)
        error = None
        with platform.db.connect() as conn:
            try:
                result = records.list(conn, live, form, who, filters=query["filters"], sort=query["sort"],
                                      search=query["q"], page=query["page"], size=query["size"])
            except Forbidden:
                raise
            except LoomworkError as exc:  # a bad filter in the address: show the message and the unfiltered list
                error = exc.message + "".join(f" {d.get('field')}: {d.get('message')}" for d in exc.details)
                result = records.list(conn, live, form, who, page=1, size=query["size"])
            refs = pm.load_refs(conn, records, live, spec, result["items"], who)
            views = views_store.list_views(conn, who.id, app, form)
            people = pm.people(conn) if any(f.type == "user" for f in pm.filterable(spec)) else []
            depts = pm.department_list(conn) if any(f.type == "department" for f in pm.filterable(spec)) else []
        tz = live.spec.settings.timezone
        pages = max(1, -(-result["total"] // query["size"]))
        base = {k: v for k, v in request.query_params.items() if k not in ("page",)}
        return render(request, "forms/list.html", title=text_of(spec.label, lang), app=live, form=spec,
                      columns=query["columns"], rows=_rows(spec, result["items"], query["columns"], lang, refs, tz),
                      total=result["total"], page=query["page"], pages=pages, size=query["size"],
                      sizes=PAGE_SIZES, q=query["q"] or "", sort=query["sort"] or "", filters=query["filters"],
                      filterable=pm.filterable(spec), can_create=grant.create, views=views, error=error,
                      people=people, departments=depts,
                      page_url=lambda n: "?" + urlencode(base | {"page": n}),
                      sort_url=lambda key: "?" + urlencode({k: v for k, v in base.items() if k != "sort"} | {
                          "sort": key if query["sort"] != key else "-" + key}),
                      current_query=request.url.query)

    # -- create / edit ----------------------------------------------------------------------------------------

    def form_page(request: Request, live: LiveApp, spec: FormSpec, who: Principal, record: dict[str, Any] | None,
                  initial: dict[str, Any], flags: dict[str, Any]) -> Response:
        lang = locale_of(request)
        platform = platform_of(request)
        with platform.db.connect() as conn:
            refs = pm.load_refs(conn, _records(request), live, spec, [initial], who)
            people = pm.people(conn) if _uses(spec, "user") else []
            depts = pm.department_list(conn) if _uses(spec, "department") else []
        tz = live.spec.settings.timezone
        title = text_of(spec.label, lang) + " · " + (f"{pm.title_of(spec, record)}" if record else t_new(lang))
        return render(request, "forms/form.html", title=title, app=live, form=spec, layout=pm.layout(spec),
                      record=record, values=initial, flags=flags, refs=refs, people=people, departments=depts,
                      tz=tz, tz_offset=pm.tz_offset(tz, platform.clock.now()), pm=pm,
                      related_forms={k: f for k, f in live.spec.forms.items()})

    @router.get("/apps/{app}/forms/{form}/new")
    def new_page(app: str, form: str, request: Request, who: Principal = Depends(page_user)) -> Response:
        live, spec = _live(request, app, form)
        records = _records(request)
        if not records.grant(spec, who).create:
            raise Forbidden(f"you may not create {text_of(spec.label, locale_of(request))} records")
        platform = platform_of(request)
        with platform.db.connect() as conn:
            draft = _prefill(request, spec)
            state = pm.evaluate_draft(conn, records, live, spec, draft, who, record_id=None, lang=locale_of(request),
                                      full=True)
        return form_page(request, live, spec, who, None, state["record"], state)

    @router.get("/apps/{app}/forms/{form}/{record_id:int}/edit")
    def edit_page(app: str, form: str, record_id: int, request: Request, who: Principal = Depends(page_user)) -> Response:
        live, spec = _live(request, app, form)
        records = _records(request)
        platform = platform_of(request)
        with platform.db.connect() as conn:
            records._visible_row(conn, live, spec, record_id, who, "update")
            record = records.get(conn, live, form, record_id, who)
            state = pm.evaluate_draft(conn, records, live, spec, {}, who, record_id=record_id,
                                      lang=locale_of(request), full=True)
        return form_page(request, live, spec, who, record, record, state)

    # -- record page ------------------------------------------------------------------------------------------

    def record_context(request: Request, app: str, form: str, record_id: int, who: Principal) -> dict[str, Any]:
        live, spec = _live(request, app, form)
        records, platform, lang = _records(request), platform_of(request), locale_of(request)
        page = page_for(live, spec, request.query_params.get("page"))
        tz = live.spec.settings.timezone
        with platform.db.connect() as conn:
            record = records.get(conn, live, form, record_id, who)
            refs = pm.load_refs(conn, records, live, spec, [record], who)
            grant = records.grant(spec, who)
            row = records._row(conn, live, spec, record_id)
            can_edit = row is not None and in_scope(grant.update, row, who)
            related = [_related_list(conn, records, live, rel, record_id, who, lang, tz)
                       for rel in (page.related if page and page.related
                                   else spec.related_lists or auto_related(live, spec))]
            timeline = _timeline(conn, request, records, live, spec, page, record_id, who, lang, tz)
            flows = platform.services.get("flows")
            startable = flows.startable(conn, live, spec.key, record_id, who) if (
                can_edit and flows is not None and hasattr(flows, "startable")) else []
            for item in startable:  # the flow's label in the reader's language, when the definition has one
                label_in = getattr(live.spec.of_kind("flow").get(item.get("key")), "label_in", None)
                if label_in is not None:
                    item["label"] = label_in(lang)
        if page and page.sections:
            sections = [{"label": text_of(s.label, lang), "columns": s.columns,
                         "fields": [_field_or_system(spec, k) for k in s.fields]} for s in page.sections]
        else:
            lay = pm.layout(spec)
            sections = [{"label": text_of(g.label, lang), "columns": max(g.columns, 2) if g.columns > 1 else 2,
                         "fields": [f for f in g.fields if f.type not in ("divider",)]} for g in lay.head + lay.groups]
        return {"title": text_of(spec.label, lang) + " · " + pm.title_of(spec, record), "app": live, "form": spec,
                "record": record, "refs": refs, "sections": sections, "related": [r for r in related if r],
                "timeline": timeline, "can_edit": can_edit, "tz": tz, "pm": pm, "page": page,
                "record_title": pm.title_of(spec, record), "actions": _actions(platform, live, form, who, can_edit),
                "startable": startable}

    @router.get("/apps/{app}/forms/{form}/{record_id:int}")
    def record_page(app: str, form: str, record_id: int, request: Request, who: Principal = Depends(page_user)) -> Response:
        return render(request, "forms/record.html", **record_context(request, app, form, record_id, who))

    @router.get("/apps/{app}/forms/{form}/{record_id:int}/print")
    def print_page(app: str, form: str, record_id: int, request: Request, who: Principal = Depends(page_user)) -> Response:
        return render(request, "forms/print.html", **record_context(request, app, form, record_id, who))

    return router


def _actions(platform: Any, live: Any, form: str, who: Principal, can_edit: bool) -> list[dict[str, str]]:
    """The buttons of automations the user may press on this record (they need the right to change it)."""
    service = platform.services.get("automations")
    return service.buttons(live, form, who) if service is not None and can_edit else []


def t_new(lang: str) -> str:
    from engine.web.templating import message

    return message("new", lang)


def _uses(spec: FormSpec, kind: str) -> bool:
    return any(f.type == kind or any(s.type == kind for s in f.fields) for f in spec.fields)


def _prefill(request: Request, spec: FormSpec) -> dict[str, Any]:
    """``/new?customer=12`` starts the record with that value (the "new" button of a related list uses it)."""
    out: dict[str, Any] = {}
    for key, value in request.query_params.items():
        f = spec.by_key.get(key)
        if f is not None and f.type in ("relation", "select", "radio", "text", "user", "department") and not f.many:
            out[key] = int(value) if f.type in ("relation", "user", "department") and value.isdigit() else value
    return out


class _System:
    """A system column shown on a record page (created_at, owner_id…) like a read-only field."""

    ftype = None
    fields = ()

    def __init__(self, key: str) -> None:
        self.key = key
        self.type = {"owner_id": "user", "created_by": "user", "department_id": "department"}.get(key, "system")
        from engine.i18n import Text

        labels = {"id": "ID", "created_at": {"zh-CN": "创建时间", "en": "Created"},
                  "updated_at": {"zh-CN": "更新时间", "en": "Updated"}, "owner_id": {"zh-CN": "负责人", "en": "Owner"},
                  "created_by": {"zh-CN": "创建人", "en": "Created by"},
                  "department_id": {"zh-CN": "部门", "en": "Department"}}
        self.label = Text.of(labels.get(key, key))
        self.many = False
        self.to = None
        self.options = ()
        self.extra: dict[str, Any] = {}
        self.currency = None
        self.max = None


def _field_or_system(spec: FormSpec, key: str) -> Any:
    return spec.by_key.get(key) or _System(key)


def _related_list(conn: Any, records: Records, live: LiveApp, rel: RelatedList, record_id: int, who: Principal,
                  lang: str, tz: str) -> dict[str, Any] | None:
    other = live.spec.forms.get(rel.form)
    if other is None or effective(other.permissions, who).read == "none":
        return None
    result = records.list(conn, live, rel.form, who, filters={rel.field: str(record_id)}, sort=rel.sort, size=rel.limit)
    columns = [other.by_key[k] for k in rel.columns if k in other.by_key] or [
        c for c in pm.list_columns(other) if c.key != rel.field][:5]
    refs = pm.load_refs(conn, records, live, other, result["items"], who)
    return {"form": other, "label": text_of(rel.label, lang), "columns": columns, "total": result["total"],
            "rows": _rows(other, result["items"], columns, lang, refs, tz), "field": rel.field,
            "can_create": effective(other.permissions, who).create,
            "list_url": f"/apps/{live.key}/forms/{other.key}?{urlencode({rel.field: record_id})}",
            "new_url": f"/apps/{live.key}/forms/{other.key}/new?{urlencode({rel.field: record_id})}"}


def _timeline(conn: Any, request: Request, records: Records, live: LiveApp, spec: FormSpec, page: PageSpec | None,
              record_id: int, who: Principal, lang: str, tz: str) -> list[dict[str, Any]]:
    """Audit entries, flow events and records of other forms pointing here, newest first."""
    from engine.web.templating import message

    timeline = page.timeline if page else None
    entries: list[dict[str, Any]] = []
    if timeline is None or timeline.audit:
        try:
            history = records.history(conn, live, spec.key, record_id, who)
        except NotFound:
            history = []
        user_ids = {h["user"] for h in history if h["user"]}
        names = pm.load_refs(conn, records, live, spec, [{"owner_id": u} for u in user_ids], who).users
        refs = pm.load_refs(conn, records, live, spec, [_after(h) for h in history], who)
        for h in history:
            changes = []
            for key, (old, new) in (h["changes"] or {}).items():
                f = spec.by_key.get(key)
                if f is None or f.type == "subtable" or f.ftype.group == "files":
                    changes.append({"label": text_of(f.label, lang) if f else key, "old": "", "new": "…"})
                    continue
                changes.append({"label": text_of(f.label, lang), "old": pm.display(f, old, lang, refs, tz),
                                "new": pm.display(f, new, lang, refs, tz)})
            title = message(f"audit_{h['action']}", lang)
            entries.append({"at": h["at"], "kind": "audit",
                            "title": title if title != f"audit_{h['action']}" else h["action"],
                            "user": names.get(h["user"], "") if h["user"] else "", "changes": changes, "text": ""})
    flows = records.platform.services.get("flows")
    if (timeline is None or timeline.flows) and flows is not None and hasattr(flows, "record_timeline"):
        try:
            for e in flows.record_timeline(conn, live, spec.key, record_id, who) or []:
                entries.append({"at": str(e.get("at", "")), "kind": "flow", "title": str(e.get("title", "")),
                                "user": str(e.get("user", "") or ""), "text": str(e.get("text", "") or ""),
                                "changes": [], "url": e.get("url")})
        except LoomworkError:
            pass
    for source in (timeline.events if timeline else ()):
        entries.extend(_events(conn, records, live, source, record_id, who, lang, tz))
    entries.sort(key=lambda e: e["at"], reverse=True)
    for e in entries:
        e["when"] = pm.display_when(e["at"], tz)
    return entries[: (timeline.limit if timeline else 100)]


def _after(h: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, pair in (h.get("changes") or {}).items():
        out[key] = pair[1] if pair[1] is not None else pair[0]
    return out


def _events(conn: Any, records: Records, live: LiveApp, source: TimelineSource, record_id: int, who: Principal,
            lang: str, tz: str) -> list[dict[str, Any]]:
    other = live.spec.forms.get(source.form)
    if other is None or effective(other.permissions, who).read == "none":
        return []
    result = records.list(conn, live, source.form, who, filters={source.field: str(record_id)},
                          sort="-" + (source.date or "created_at"), size=50)
    refs = pm.load_refs(conn, records, live, other, result["items"], who)
    out = []
    for r in result["items"]:
        at = r.get(source.date or "created_at") or r["created_at"]
        text = ""
        if source.text and source.text in other.by_key:
            text = pm.display(other.by_key[source.text], r.get(source.text), lang, refs, tz)
        out.append({"at": str(at), "kind": "event", "title": text_of(source.label, lang) + " · " + pm.title_of(other, r),
                    "user": refs.users.get(r.get("owner_id"), ""), "text": text, "changes": [],
                    "url": f"/apps/{live.key}/forms/{other.key}/{r['id']}"})
    return out


# -- the APIs the pages call ------------------------------------------------------------------------------------

def build_api_router() -> APIRouter:
    router = APIRouter(tags=["pages"])

    @router.post("/api/apps/{app}/forms/{form}/evaluate")
    async def evaluate(app: str, form: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        """A draft's computed values, visible/required/readonly flags and problems, as the server sees them.

        Body: ``{"values": {...}, "record_id": 12}`` (``record_id`` for an edit). Nothing is saved.
        """
        live, spec = _live(request, app, form)
        records = _records(request)
        body = await read_json(request)
        if not isinstance(body, dict):
            body = {}
        record_id = body.get("record_id")
        if record_id is not None and (isinstance(record_id, bool) or not isinstance(record_id, int)):
            record_id = None
        grant = records.grant(spec, who)
        if record_id is None and not grant.create:
            raise Forbidden(f"you may not create {spec.key} records")
        with platform_of(request).db.connect() as conn:
            return pm.evaluate_draft(conn, records, live, spec, body.get("values", {}), who, record_id=record_id,
                                     lang=locale_of(request))

    @router.get("/api/apps/{app}/forms/{form}/views")
    def my_views(app: str, form: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        _live(request, app, form)
        with platform_of(request).db.connect() as conn:
            return {"views": views_store.list_views(conn, who.id, app, form)}

    @router.post("/api/apps/{app}/forms/{form}/views", status_code=201)
    async def save_view(app: str, form: str, request: Request, who: Principal = Depends(current_user)) -> dict[str, Any]:
        live, spec = _live(request, app, form)
        if _records(request).grant(spec, who).read == "none":
            raise Forbidden(f"you may not read {spec.key} records")
        body = await read_json(request)
        platform = platform_of(request)
        with platform.db.begin() as conn:
            return views_store.save_view(conn, who.id, app, spec, body, platform.clock.now())

    @router.delete("/api/views/{view_id}", status_code=204)
    def delete_view(view_id: int, request: Request, who: Principal = Depends(current_user)) -> Response:
        with platform_of(request).db.begin() as conn:
            views_store.delete_view(conn, who.id, view_id)
        return Response(status_code=204)

    @router.get("/api/regions")
    def region_data() -> Response:
        """Administrative divisions (code → name) for the region pickers; the same file the server checks with."""
        return Response(_region_json(), media_type="application/json",
                        headers={"Cache-Control": "public, max-age=86400"})

    return router


__all__ = ["build_router", "build_api_router", "page_for", "auto_related"]
