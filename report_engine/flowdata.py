"""The task history of approval flows as report datasets.

``dataset: flow_history:<flow>`` has one row per pass through a node of that flow; ``flow_history:<flow>.tasks``
one row per person's task. Both read the flow engine's insert-only history (``lw_flow_history``, kinds ``node`` and
``task``, documented in docs/flows.md as the table reports read) joined with its instance (outcome, status) and with
the record the flow moves. Row-level security applies through that record: a reader counts only history of records
they may read. The columns are a read-only view declared here (the flow engine's migration creates the tables), so
the report engine does not import the flow engine.

Fields of a row (the names a report uses):

=============== ======== ===========================================================================================
``node``        select   the node id, shown by the node's name (options: the flow's nodes)
``node_name``   text     the node's name when the row was written
``visit``       integer  1 for the first pass through the node, 2 after a return …
``action``      text     node rows: the node's result (approved, rejected, returned, done, skipped …); task rows:
                         the task's end (approved, rejected, returned, cancelled …)
``entered_at``  datetime when the node was entered / the task was created
``left_at``     datetime when it was left / acted on
``duration_s``  number   seconds between the two
``outcome``     select   the instance's outcome (approved, rejected, withdrawn …; blank while running)
``status``      select   the instance's status (running, finished, error …)
``started_at``  datetime when the instance started
``instance``    integer  the instance id
``record``      relation the record the flow moves: ``record.amount``, ``record.supplier.city`` …
``user``        user     (tasks) the person the task was for
``actor``       text     (tasks) the username of who acted
=============== ======== ===========================================================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, select

from engine.i18n import Text
from engine.tables import Id, UtcDateTime

PREFIX = "flow_history:"

_meta = MetaData()
#: the columns of ``lw_flow_history`` a report reads (created by the flow engine's migration 0003_flow)
HISTORY = Table("lw_flow_history", _meta, Column("id", Id), Column("instance_id", Id),
                Column("app", String), Column("flow", String), Column("form", String), Column("record_id", Id),
                Column("kind", String), Column("node", String), Column("node_name", String), Column("visit", Integer),
                Column("user_id", Id), Column("actor", String), Column("action", String),
                Column("entered_at", UtcDateTime()), Column("left_at", UtcDateTime()),
                Column("duration_s", Float), Column("at", UtcDateTime()))
#: the columns of ``lw_flow_instances`` a report reads
INSTANCES = Table("lw_flow_instances", _meta, Column("id", Id), Column("status", String),
                  Column("outcome", String), Column("started_at", UtcDateTime()))

OUTCOMES = ("approved", "rejected", "withdrawn", "cancelled")
STATUSES = ("running", "finished", "error", "withdrawn", "cancelled")


@dataclass(frozen=True)
class _Option:
    value: str
    label: Text


@dataclass(frozen=True)
class DataField:
    """A field of a flow dataset, shaped like a form field for name resolution (``Dataset.resolve``)."""

    key: str
    type: str
    label: Text
    options: tuple[_Option, ...] = ()
    to: str | None = None
    many: bool = False
    stored: bool = True
    scale: int | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class DataForm:
    """The rows of a flow dataset as a form-like spec: its fields, and no rights of its own (the record's apply)."""

    key: str
    label: Text
    fields: tuple[DataField, ...]
    title_field: str | None = None

    @property
    def by_key(self) -> Mapping[str, DataField]:
        return {f.key: f for f in self.fields}


@dataclass(frozen=True)
class FlowDataset:
    """A checked ``flow_history:<flow>[.tasks]`` dataset: the flow, the form it moves, and its fields."""

    key: str
    flow: str
    form: str
    tasks: bool
    spec: DataForm


def _text(zh: str, en: str) -> Text:
    return Text.of({"zh-CN": zh, "en": en})


def dataset(name: str, flow: Any) -> FlowDataset:
    """The dataset ``name`` (``flow_history:<flow>`` or ``….tasks``) of a checked flow spec."""
    tasks = name.endswith(".tasks")
    nodes = tuple(_Option(n.id, _node_text(n)) for n in flow.nodes)
    fields = [
        DataField("node", "select", _text("节点", "Node"), nodes),
        DataField("node_name", "text", _text("节点名称", "Node name")),
        DataField("visit", "integer", _text("第几次", "Visit")),
        DataField("action", "text", _text("结果", "Result")),
        DataField("entered_at", "datetime", _text("进入时间", "Entered")),
        DataField("left_at", "datetime", _text("离开时间", "Left")),
        DataField("duration_s", "number", _text("耗时（秒）", "Duration (s)"), scale=0),
        DataField("outcome", "select", _text("审批结果", "Outcome"), tuple(_Option(o, Text.of(o)) for o in OUTCOMES)),
        DataField("status", "select", _text("流程状态", "Status"), tuple(_Option(s, Text.of(s)) for s in STATUSES)),
        DataField("started_at", "datetime", _text("发起时间", "Started")),
        DataField("instance", "integer", _text("流程实例", "Instance")),
        DataField("record", "relation", _text("记录", "Record"), to=flow.form),
    ]
    if tasks:
        fields += [DataField("user", "user", _text("处理人", "Person")),
                   DataField("actor", "text", _text("操作人", "Actor"))]
    label = getattr(flow, "label_text", None)  # every language of the flow's label
    if label is None or not label.values:
        label = Text.of(flow.label or flow.key)
    return FlowDataset(name, flow.key, flow.form, tasks, DataForm(name, label, tuple(fields)))


def _node_text(node: Any) -> Text:
    """A node's name in every language it is written in (a flow node's ``name_text``), else its name or id."""
    text = getattr(node, "name_text", None)
    return text if text is not None and text.values else Text.of(node.name or node.id)


def rows(app: str, data: FlowDataset, form_table: Any) -> Any:
    """The dataset's rows as a subquery named like its fields, with the record's owner and department (for the
    reader's scope) and the system columns a report may name."""
    h, i, p = HISTORY, INSTANCES, form_table
    columns = [h.c.id.label("id"), h.c.node, h.c.node_name, h.c.visit, h.c.action, h.c.entered_at, h.c.left_at,
               h.c.duration_s, i.c.outcome, i.c.status, i.c.started_at, h.c.instance_id.label("instance"),
               h.c.record_id.label("record"), h.c.at.label("created_at"), h.c.at.label("updated_at"),
               p.c.owner_id, p.c.created_by, p.c.department_id]
    if data.tasks:
        columns += [h.c.user_id.label("user"), h.c.actor]
    return (select(*columns).select_from(h.join(i, i.c.id == h.c.instance_id).join(p, p.c.id == h.c.record_id))
            .where(h.c.app == app, h.c.flow == data.flow, h.c.kind == ("task" if data.tasks else "node"))
            .subquery("h"))
