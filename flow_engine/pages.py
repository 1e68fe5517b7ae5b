"""The flow engine's portal pages: the task inbox, a task (the record under the node's field rights, the actions,
the diagram with the current position, the history), an instance, the notification centre, and the home panel.

Pages read through the same views as the API (``views.py``) and act through the API from the browser, so rights,
field rights and errors are the API's.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from engine.errors import BadRequest
from engine.i18n import Text
from engine.permissions import Principal
from engine.web.auth import platform_of
from engine.web.templating import (NavLink, PageRoute, add_messages, add_nav_link, locale_of, message, page_user,
                                   render, t)

from . import views

add_messages({
    "flow_inbox": {"zh-CN": "我的待办", "en": "My tasks"},
    "flow_box_todo": {"zh-CN": "待办", "en": "To do"},
    "flow_box_done": {"zh-CN": "已办", "en": "Done"},
    "flow_box_initiated": {"zh-CN": "我发起的", "en": "Initiated by me"},
    "flow_box_cc": {"zh-CN": "抄送我的", "en": "Cc'd to me"},
    "flow_empty": {"zh-CN": "没有事项", "en": "Nothing here"},
    "flow_unread": {"zh-CN": "提醒与通知", "en": "Reminders and notifications"},
    "flow_no_unread": {"zh-CN": "没有未读通知", "en": "No unread notifications"},
    "flow_next": {"zh-CN": "下一页", "en": "Next page"},
    "flow_title": {"zh-CN": "标题", "en": "Title"},
    "flow_node": {"zh-CN": "节点", "en": "Step"},
    "flow_status": {"zh-CN": "状态", "en": "Status"},
    "flow_when": {"zh-CN": "时间", "en": "When"},
    "flow_due": {"zh-CN": "期限", "en": "Due"},
    "flow_history": {"zh-CN": "审批记录", "en": "History"},
    "flow_diagram": {"zh-CN": "流程图", "en": "Diagram"},
    "flow_record": {"zh-CN": "表单", "en": "Record"},
    "flow_who": {"zh-CN": "处理人", "en": "Who"},
    "flow_action": {"zh-CN": "操作", "en": "Action"},
    "flow_duration": {"zh-CN": "用时", "en": "Took"},
    "flow_comment": {"zh-CN": "意见", "en": "Comment"},
    "flow_reason": {"zh-CN": "理由", "en": "Reason"},
    "flow_to": {"zh-CN": "转交/退回到", "en": "To (person or step)"},
    "flow_approve": {"zh-CN": "同意", "en": "Approve"},
    "flow_reject": {"zh-CN": "驳回", "en": "Reject"},
    "flow_return": {"zh-CN": "退回", "en": "Return"},
    "flow_transfer": {"zh-CN": "转交", "en": "Transfer"},
    "flow_add_signer": {"zh-CN": "加签", "en": "Add signer"},
    "flow_submit": {"zh-CN": "提交", "en": "Submit"},
    "flow_comment_action": {"zh-CN": "评论", "en": "Comment"},
    "flow_comment_files": {"zh-CN": "评论附件", "en": "Files for the comment"},
    "flow_withdraw": {"zh-CN": "撤回", "en": "Withdraw"},
    "flow_open_instance": {"zh-CN": "查看流程", "en": "Open the flow"},
    "flow_mark_read": {"zh-CN": "全部标为已读", "en": "Mark all read"},
})

#: task statuses, instance statuses and the usual outcomes, as the pages show them (``status_word``)
add_messages({f"flow_status_{word}": texts for word, texts in {
    "open": {"zh-CN": "待处理", "en": "Open"},
    "waiting": {"zh-CN": "等待中", "en": "Waiting"},
    "approved": {"zh-CN": "已同意", "en": "Approved"},
    "submitted": {"zh-CN": "已提交", "en": "Submitted"},
    "rejected": {"zh-CN": "已驳回", "en": "Rejected"},
    "returned": {"zh-CN": "已退回", "en": "Returned"},
    "transferred": {"zh-CN": "已转交", "en": "Transferred"},
    "cancelled": {"zh-CN": "已取消", "en": "Cancelled"},
    "skipped": {"zh-CN": "已跳过", "en": "Skipped"},
    "cc": {"zh-CN": "抄送", "en": "Cc"},
    "running": {"zh-CN": "进行中", "en": "Running"},
    "finished": {"zh-CN": "已结束", "en": "Finished"},
    "withdrawn": {"zh-CN": "已撤回", "en": "Withdrawn"},
    "error": {"zh-CN": "出错", "en": "Error"},
}.items()})

ACTION_LABELS = {"approve": "flow_approve", "submit": "flow_submit", "reject": "flow_reject",
                 "return": "flow_return", "transfer": "flow_transfer", "add_signer": "flow_add_signer",
                 "comment": "flow_comment_action"}


def _writes(task: dict[str, Any]) -> bool:
    """Whether the task page may change the record: the task is open for its viewer, who can approve or submit."""
    return any(a in ("approve", "submit") for a in task["actions"])


def status_word(status: str | None, lang: str) -> str:
    """A task's or an instance's status (or outcome) in the reader's language; unknown words show as they are."""
    if not status:
        return ""
    text = message(f"flow_status_{status}", lang)
    return status if text == f"flow_status_{status}" else text


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    minutes = int(value // 60)
    if minutes < 60:
        return f"{minutes}m" if minutes else f"{int(value)}s"
    hours = minutes // 60
    return f"{hours}h{minutes % 60:02d}m" if hours < 48 else f"{hours // 24}d{hours % 24}h"


def build_router() -> APIRouter:
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/inbox")
    def inbox_page(request: Request, box: str = "todo", after: str | None = None, q: str | None = None,
                   who: Principal = Depends(page_user)) -> Any:
        if box not in views.BOXES:
            raise BadRequest(f"no inbox '{box}'")
        platform = platform_of(request)
        with platform.db.connect() as conn:
            page = views.inbox(conn, who, box, {"q": q}, after=after, size=50, service=platform.services["flows"],
                               locale=locale_of(request))
            counts = views.counts(conn, who, {})
        lang = locale_of(request)
        return render(request, "flow/inbox.html", title=t(request, "flow_inbox"), box=box, boxes=views.BOXES,
                      page=page, counts=counts, q=q or "", status_word=lambda s: status_word(s, lang))

    @router.get("/flows/tasks/{task_id}")
    def task_page(task_id: int, request: Request, who: Principal = Depends(page_user)) -> Any:
        platform = platform_of(request)
        service = platform.services["flows"]
        with platform.db.connect() as conn:
            task = views.task_view(conn, platform, service, task_id, who, locale_of(request))
            inst = views.instance_view(conn, platform, service, task["instance"]["id"], who, locale_of(request))
            # the record under the node's field rights, rendered by the forms engine as its record and edit pages
            # render it; it is writable only while the task is open for this person (approve or submit)
            rf = platform.services["rights_form"].context(
                conn, platform.app(inst["app"]), inst["form"], int(inst["record_id"]), task["fields"], who,
                locale_of(request), editable=_writes(task), evaluate_url=f"/api/flows/tasks/{task_id}/evaluate")
        lang = locale_of(request)
        return render(request, "flow/task.html", title=task["node"]["name"], task=task, inst=inst, rf=rf, pm=rf["pm"],
                      actions=[(a, ACTION_LABELS[a]) for a in task["actions"]], duration=_seconds,
                      status_word=lambda s: status_word(s, lang))

    @router.get("/flows/instances/{instance_id}")
    def instance_page(instance_id: int, request: Request, who: Principal = Depends(page_user)) -> Any:
        platform = platform_of(request)
        with platform.db.connect() as conn:
            inst = views.instance_view(conn, platform, platform.services["flows"], instance_id, who,
                                       locale_of(request))
        lang = locale_of(request)
        return render(request, "flow/instance.html", title=inst["title"] or inst["flow_label"], inst=inst,
                      duration=_seconds, can_withdraw=inst["status"] == "running" and inst["initiator"]["id"] == who.id,
                      status_word=lambda s: status_word(s, lang))

    @router.get("/notifications")
    def notifications_page(request: Request, after: int | None = None, who: Principal = Depends(page_user)) -> Any:
        platform = platform_of(request)
        with platform.db.connect() as conn:
            page = platform.services["notifications"].list(conn, who.id, after=after, size=50)
        for item in page["items"]:
            link = item.get("link") or ""
            item["href"] = link.replace("/api/flows/", "/flows/") if link.startswith("/api/flows/") else link
        return render(request, "flow/notifications.html", title=t(request, "notifications"), page=page)

    return router


def notifications_panel(request: Request, platform: Any, who: Principal) -> Any:
    """My unread notifications (reminders, escalations, mentions, automations' messages), newest first (five),
    linking to the notification centre."""
    from engine.notifications import page_link
    from engine.web.portal import Panel
    from engine.web.templating import message

    with platform.db.connect() as conn:
        page = platform.services["notifications"].list(conn, who.id, unread=True, size=5)
    lang = locale_of(request)
    items = tuple({"label": i["title"] + (f" · {i['body']}" if i.get("body") else ""),
                   "url": page_link(i.get("link")) or "/notifications",
                   "meta": (i.get("created_at") or "")[:16].replace("T", " ")} for i in page["items"])
    return Panel(title=f"{message('flow_unread', lang)} ({page['unread']})", items=items, url="/notifications",
                 order=15, empty=message("flow_no_unread", lang))


def home_panel(request: Request, platform: Any, who: Principal) -> Any:
    """My open tasks, newest first (five), linking to the inbox."""
    from engine.web.portal import Panel
    from engine.web.templating import message

    lang = locale_of(request)
    with platform.db.connect() as conn:
        page = views.inbox(conn, who, "todo", {}, size=5, service=platform.services.get("flows"), locale=lang)
        total = views.counts(conn, who, {})["todo"]
    items = tuple({"label": f"{i['title'] or ''} · {i['node_name']}", "url": f"/flows/tasks/{i['id']}",
                   "meta": (i["created_at"] or "")[:16].replace("T", " ")} for i in page["items"])
    return Panel(title=f"{message('flow_inbox', lang)} ({total})", items=items, url="/inbox", order=10,
                 empty=message("flow_empty", lang))


def on_start(platform: Any) -> None:
    add_nav_link(platform, NavLink(key="inbox", label=Text.of({"zh-CN": "我的待办", "en": "My tasks"}),
                                   url="/inbox", order=10))
