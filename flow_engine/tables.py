"""The flow engine's tables (SQLAlchemy Core), created by the migration ``engine/migrations/versions/0003_flow.py``.

    lw_flow_instances   one row per instance: pinned app version and flow hash, state JSON, status, row_version
    lw_flow_tasks       one row per task (and per cc copy), indexed for inboxes: (assignee_id, status, created_at, id)
    lw_flow_history     insert-only: per node and per person entered/left/duration, actions, comments, traces
    lw_flow_timers      due reminders and escalations, claimed by the scheduler
    lw_flow_requests    Idempotency-Key answers, so a repeated request has one effect
    lw_flow_delegations standing delegations while away: new tasks of a user go to the delegate
"""
from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from engine.tables import Id, UtcDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

instances = Table(
    "lw_flow_instances", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("form", String(64), nullable=False),
    Column("record_id", Id, nullable=False),
    Column("title", String(200), nullable=True),
    Column("app_version", Integer, nullable=False),
    Column("flow_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("outcome", String(32), nullable=True),
    Column("position", JSON, nullable=False),
    Column("error", Text, nullable=True),
    Column("initiator_id", Id, nullable=True),
    Column("parent_id", Id, nullable=True),
    Column("parent_task", String(32), nullable=True),
    Column("state", JSON, nullable=False),
    Column("row_version", Integer, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Index("ix_lw_flow_instances_initiator", "initiator_id", "started_at", "id"),
    Index("ix_lw_flow_instances_record", "app", "form", "record_id"),
    Index("ix_lw_flow_instances_status", "status", "app", "flow"),
)

tasks = Table(
    "lw_flow_tasks", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("instance_id", Id, ForeignKey("lw_flow_instances.id", ondelete="CASCADE"), nullable=False),
    Column("task_key", String(32), nullable=False),
    Column("app", String(64), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("node", String(64), nullable=False),
    Column("node_name", String(200), nullable=False),
    Column("title", String(200), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("visit", Integer, nullable=False),
    Column("assignee_id", Id, nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("remind_at", UtcDateTime(), nullable=True),
    Column("due_at", UtcDateTime(), nullable=True),
    Column("acted_at", UtcDateTime(), nullable=True),
    Column("acted_by", Id, nullable=True),
    Column("added_by", Id, nullable=True),
    Column("reason", Text, nullable=True),
    UniqueConstraint("instance_id", "task_key"),
    Index("ix_lw_flow_tasks_inbox", "assignee_id", "status", "created_at", "id"),
    Index("ix_lw_flow_tasks_done", "acted_by", "acted_at", "id"),
)

history = Table(
    "lw_flow_history", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("instance_id", Id, ForeignKey("lw_flow_instances.id", ondelete="CASCADE"), nullable=False),
    Column("app", String(64), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("form", String(64), nullable=False),
    Column("record_id", Id, nullable=False),
    #: node: one pass through a node; task: one person's task, from creation to action; action: one log entry
    Column("kind", String(8), nullable=False),
    Column("node", String(64), nullable=True),
    Column("node_name", String(200), nullable=True),
    Column("visit", Integer, nullable=True),
    Column("task_key", String(32), nullable=True),
    Column("user_id", Id, nullable=True),
    Column("actor", String(64), nullable=True),
    Column("action", String(32), nullable=False),
    Column("entered_at", UtcDateTime(), nullable=True),
    Column("left_at", UtcDateTime(), nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("comment", Text, nullable=True),
    Column("detail", JSON, nullable=True),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_lw_flow_history_instance", "instance_id", "id"),
    Index("ix_lw_flow_history_report", "app", "flow", "kind", "node"),
)

timers = Table(
    "lw_flow_timers", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("instance_id", Id, ForeignKey("lw_flow_instances.id", ondelete="CASCADE"), nullable=False),
    Column("task_key", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("instance_id", "task_key", "kind"),
    Index("ix_lw_flow_timers_due", "due_at", "id"),
)

requests = Table(
    "lw_flow_requests", metadata,
    Column("user_id", Id, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("status", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

delegations = Table(
    "lw_flow_delegations", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, nullable=False),
    Column("delegate_id", Id, nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index("ix_lw_flow_delegations_user", "user_id", "ends_at"),
)
