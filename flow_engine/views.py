"""Reading flows: an instance with its diagram and history, a task with the node's field rights, inboxes.

Inboxes page by keyset (newest first, a cursor ``time|id``) on the indexes of ``tables.py``, so page 500 costs
what page 1 does.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import Connection, and_, func, or_, select

from engine.audit import jsonable
from engine.errors import BadRequest, LoomworkError, NotFound
from engine.i18n import DEFAULT_LOCALE
from engine.identity import user_names
from engine.permissions import Principal, effective, in_scope

from .bpmn import diagram
from .comments import file_names
from .state import OPEN, RUNNING
from .store import ACTED, CC, page_filter
from .tables import history, instances, tasks

BOXES = ("todo", "done", "initiated", "cc")
MAX_PAGE = 200


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    if not text:
        return None
    try:
        when, _, ident = text.rpartition("|")
        parsed = datetime.fromisoformat(when)
        return parsed, int(ident)
    except ValueError:
        raise BadRequest("after must be the 'next' cursor of the previous page",
                         details=[{"field": "after", "message": "not a cursor", "code": "invalid"}]) from None


def _cursor(when: datetime, ident: int) -> str:
    return f"{when.isoformat()}|{ident}"


def reader_locale(who: Principal, locale: str | None = None) -> str:
    """The language names are shown in: the page's (``locale``), else the user's own setting."""
    return locale or getattr(who, "locale", None) or DEFAULT_LOCALE


def node_name(flow: Any, node: str | None, stored: str | None, locale: str) -> str | None:
    """A node's name in ``locale`` from the definition, or the name stored with the row (the app's language)
    when the definition has no such node."""
    spec = flow.by_id.get(node) if flow is not None and node else None
    return spec.label_in(locale) if spec is not None else stored


# -- access ---------------------------------------------------------------------------------------------------------------
def can_see(conn: Connection, platform: Any, inst: Mapping[str, Any], who: Principal) -> bool:
    """Admins, the initiator, anyone with a task (or cc copy) in it, and whoever may read the record."""
    if who.is_admin or (inst["initiator_id"] is not None and inst["initiator_id"] == who.id):
        return True
    involved = conn.execute(select(tasks.c.id).where(tasks.c.instance_id == inst["id"], or_(
        tasks.c.assignee_id == who.id, tasks.c.acted_by == who.id)).limit(1)).first()
    if involved is not None:
        return True
    live = platform.apps.get(inst["app"])
    records = platform.services.get("records")
    if live is None or records is None or inst["form"] not in live.spec.forms:
        return False
    form = live.spec.forms[inst["form"]]
    table = records.table(live, form)
    row = conn.execute(select(table.c.owner_id, table.c.department_id).where(table.c.id == inst["record_id"])
                       ).mappings().first()
    return row is not None and in_scope(effective(form.permissions, who).read, row, who)


def instance_row(conn: Connection, platform: Any, instance_id: int, who: Principal) -> Mapping[str, Any]:
    inst = conn.execute(select(instances).where(instances.c.id == instance_id)).mappings().first()
    if inst is None or not can_see(conn, platform, inst, who):
        raise NotFound(f"no flow instance {instance_id}")
    return inst


# -- one instance ---------------------------------------------------------------------------------------------------------
def task_json(t: Mapping[str, Any], names: Mapping[int, str], flow: Any = None,
              locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """A task row as JSON; with its instance's ``flow`` definition, the node's name is in ``locale``."""
    return {"id": t["id"], "instance": t["instance_id"], "app": t["app"], "flow": t["flow"], "node": t["node"],
            "node_name": node_name(flow, t["node"], t["node_name"], locale), "title": t["title"], "kind": t["kind"],
            "status": t["status"],
            "assignee": {"id": t["assignee_id"], "name": names.get(t["assignee_id"])} if t["assignee_id"] else None,
            "created_at": _iso(t["created_at"]), "remind_at": _iso(t["remind_at"]), "due_at": _iso(t["due_at"]),
            "acted_at": _iso(t["acted_at"]),
            "acted_by": {"id": t["acted_by"], "name": names.get(t["acted_by"])} if t["acted_by"] else None,
            "reason": t["reason"]}


def instance_view(conn: Connection, platform: Any, service: Any, instance_id: int, who: Principal,
                  locale: str | None = None) -> dict[str, Any]:
    """An instance with its tasks, history and diagram; names in ``locale`` (default: the user's language)."""
    lang = reader_locale(who, locale)
    inst = instance_row(conn, platform, instance_id, who)
    pinned = service.pinned(inst["app"], inst["app_version"], inst["flow"], inst["flow_hash"])
    flow = pinned.flow
    task_rows = conn.execute(select(tasks).where(tasks.c.instance_id == instance_id).order_by(tasks.c.id)
                             ).mappings().all()
    hist = conn.execute(select(history).where(history.c.instance_id == instance_id).order_by(history.c.id)
                        ).mappings().all()
    people = {t["assignee_id"] for t in task_rows} | {t["acted_by"] for t in task_rows} | {
        h["user_id"] for h in hist} | {inst["initiator_id"]}
    names = user_names(conn, {p for p in people if p})
    state = inst["state"]
    now = platform.clock.now()
    visits = state.get("visits", [])
    left = {v["node"] for v in visits if v.get("left_at")}
    entered = {v["node"] for v in visits}
    position = set(inst["position"] or [])
    picture = diagram(flow, lang)
    for shape in picture["shapes"]:
        node = shape["node"]
        shape["state"] = "active" if node in position else "done" if node in left else (
            "entered" if node in entered else "pending")
    order = {v["node"]: i for i, v in enumerate(visits)}
    for edge in picture["edges"]:
        source = edge["source"].split("__")[0]
        target = edge["target"].split("__")[0]
        edge["taken"] = source in left and target in order and order[target] >= order.get(source, 0)
    active = []
    for a in state.get("active", []):
        since = datetime.fromisoformat(a["entered_at"])
        active.append({"node": a["node"], "name": flow.node(a["node"]).label_in(lang),
                       "entered_at": a["entered_at"], "waiting_s": round((now - since).total_seconds(), 3)})
    entries = [{"id": h["id"], "kind": h["kind"], "node": h["node"],
                "node_name": node_name(flow, h["node"], h["node_name"], lang),
                "visit": h["visit"], "task": h["task_key"],
                "user": {"id": h["user_id"], "name": names.get(h["user_id"])} if h["user_id"] else None,
                "actor": h["actor"], "action": h["action"], "entered_at": _iso(h["entered_at"]),
                "left_at": _iso(h["left_at"]), "duration_s": h["duration_s"], "comment": h["comment"],
                "detail": h["detail"], "at": _iso(h["at"])} for h in hist]
    file_names(conn, entries)
    return {
        "id": inst["id"], "app": inst["app"], "flow": inst["flow"], "flow_label": flow.label_in(lang),
        "form": inst["form"], "record_id": inst["record_id"], "title": inst["title"], "status": inst["status"],
        "outcome": inst["outcome"], "error": inst["error"], "row_version": inst["row_version"],
        "app_version": inst["app_version"], "flow_hash": inst["flow_hash"],
        "initiator": {"id": inst["initiator_id"], "name": names.get(inst["initiator_id"])},
        "started_at": _iso(inst["started_at"]), "finished_at": _iso(inst["finished_at"]),
        "position": active,
        "tasks": [task_json(t, names, flow, lang) for t in task_rows if t["kind"] != CC],
        "cc": [task_json(t, names, flow, lang) for t in task_rows if t["kind"] == CC],
        "history": entries,
        "diagram": picture,
    }


def task_view(conn: Connection, platform: Any, service: Any, task_id: int, who: Principal,
              locale: str | None = None) -> dict[str, Any]:
    """A task for its assignee (or an admin): the record with the node's field rights applied, and what may be done;
    names in ``locale`` (default: the user's language)."""
    lang = reader_locale(who, locale)
    t = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
    if t is None or t["kind"] == CC or not (who.is_admin or t["assignee_id"] == who.id or t["acted_by"] == who.id):
        raise NotFound(f"no task {task_id}")
    inst = conn.execute(select(instances).where(instances.c.id == t["instance_id"])).mappings().one()
    pinned = service.pinned(inst["app"], inst["app_version"], inst["flow"], inst["flow_hash"])
    node = pinned.flow.node(t["node"])
    live = platform.app(inst["app"])
    records = platform.services["records"]
    form = live.spec.forms[inst["form"]]
    record = records.get_unchecked(conn, live, form, inst["record_id"])
    rights = {}
    for f in form.data_fields:
        right = "editable" if t["kind"] == "resubmit" else node.rights.right(f.key)
        rights[f.key] = right
        if right == "hidden":
            record.pop(f.key, None)
    names = user_names(conn, {p for p in (t["assignee_id"], t["acted_by"]) if p})
    open_ = t["status"] == OPEN and inst["status"] == RUNNING and t["assignee_id"] == who.id
    actions: list[str] = []
    if open_:
        actions = ["approve", "reject", "transfer", "add_signer", "comment"] if t["kind"] in ("approval", "fill") \
            else ["approve", "comment"]
        if node.returnable_to and t["kind"] != "resubmit":
            actions.insert(2, "return")
        if t["kind"] == "fill":
            actions[0] = "submit"
    return {"task": task_json(t, names, pinned.flow, lang),
            "instance": {"id": inst["id"], "status": inst["status"], "outcome": inst["outcome"],
                         "row_version": inst["row_version"], "flow": inst["flow"], "title": inst["title"]},
            "node": {"id": node.id, "name": node.label_in(lang), "type": node.type, "mode": node.mode,
                     "require_reason": sorted(node.require_reason), "returnable_to": list(node.returnable_to)},
            "record": jsonable(record), "fields": rights, "actions": actions}


# -- inboxes --------------------------------------------------------------------------------------------------------------
def _task_filters(filters: Mapping[str, Any]) -> list[Any]:
    cond = []
    if filters.get("app"):
        cond.append(tasks.c.app == filters["app"])
    if filters.get("flow"):
        cond.append(tasks.c.flow == filters["flow"])
    if filters.get("node"):
        cond.append(tasks.c.node == filters["node"])
    if filters.get("q"):
        cond.append(tasks.c.title.contains(str(filters["q"]), autoescape=True))
    return cond


def inbox_query(box: str, who: Principal, filters: Mapping[str, Any]) -> tuple[Any, Any, Any, list[Any]]:
    """(table, time column, id column, conditions) of one inbox, matching its index."""
    if box == "todo":
        return tasks, tasks.c.created_at, tasks.c.id, [tasks.c.assignee_id == who.id, tasks.c.status == OPEN,
                                                        *_task_filters(filters)]
    if box == "cc":
        return tasks, tasks.c.created_at, tasks.c.id, [tasks.c.assignee_id == who.id, tasks.c.status == CC,
                                                        *_task_filters(filters)]
    if box == "done":
        return tasks, tasks.c.acted_at, tasks.c.id, [tasks.c.acted_by == who.id, tasks.c.status.in_(ACTED),
                                                      *_task_filters(filters)]
    if box == "initiated":
        cond = [instances.c.initiator_id == who.id]
        for key in ("app", "flow", "status"):
            if filters.get(key):
                cond.append(instances.c[key] == filters[key])
        if filters.get("q"):
            cond.append(instances.c.title.contains(str(filters["q"]), autoescape=True))
        return instances, instances.c.started_at, instances.c.id, cond
    raise NotFound(f"no inbox '{box}'", details=[{"known": list(BOXES)}])


def inbox(conn: Connection, who: Principal, box: str, filters: Mapping[str, Any], *, after: str | None = None,
          size: int = 50, service: Any = None, locale: str | None = None) -> dict[str, Any]:
    """One page of an inbox; with the flow ``service``, node names are read from each instance's pinned definition
    in ``locale`` (default: the user's language), else they are the names stored with the tasks."""
    if not 1 <= size <= MAX_PAGE:
        raise BadRequest(f"size is 1..{MAX_PAGE}", details=[{"field": "size", "message": f"1..{MAX_PAGE}"}])
    table, when, ident, cond = inbox_query(box, who, filters)
    cursor = parse_cursor(after)
    if cursor is not None:
        cond.append(page_filter(when, ident, cursor))
    rows = conn.execute(select(table).where(and_(*cond)).order_by(when.desc(), ident.desc()).limit(size + 1)
                        ).mappings().all()
    page = rows[:size]
    if table is tasks:
        names = user_names(conn, {p for r in page for p in (r["assignee_id"], r["acted_by"]) if p})
        flows = pinned_flows(conn, service, {r["instance_id"] for r in page}) if service is not None else {}
        lang = reader_locale(who, locale)
        items = [task_json(r, names, flows.get(r["instance_id"]), lang) for r in page]
    else:
        names = user_names(conn, {r["initiator_id"] for r in page if r["initiator_id"]})
        items = [{"id": r["id"], "app": r["app"], "flow": r["flow"], "form": r["form"], "record_id": r["record_id"],
                  "title": r["title"], "status": r["status"], "outcome": r["outcome"], "position": r["position"],
                  "error": r["error"], "started_at": _iso(r["started_at"]), "finished_at": _iso(r["finished_at"])}
                 for r in page]
    last = page[-1] if page else None
    next_cursor = _cursor(last[when.key], last["id"]) if last is not None and len(rows) > size else None
    return {"box": box, "items": items, "next": next_cursor, "size": size}


def pinned_flows(conn: Connection, service: Any, instance_ids: set[int]) -> dict[int, Any]:
    """instance id → the flow definition it runs under (one query; definitions are cached by the service)."""
    if not instance_ids:
        return {}
    out = {}
    for r in conn.execute(select(instances.c.id, instances.c.app, instances.c.app_version, instances.c.flow,
                                 instances.c.flow_hash).where(instances.c.id.in_(instance_ids))):
        try:
            out[r.id] = service.pinned(r.app, r.app_version, r.flow, r.flow_hash).flow
        except LoomworkError:  # a definition no longer there: the stored names are shown
            continue
    return out


def counts(conn: Connection, who: Principal, filters: Mapping[str, Any]) -> dict[str, int]:
    out = {}
    for box in BOXES:
        table, _when, _ident, cond = inbox_query(box, who, filters)
        out[box] = int(conn.execute(select(func.count()).select_from(table).where(and_(*cond))).scalar_one())
    return out
