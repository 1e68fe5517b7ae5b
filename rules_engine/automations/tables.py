"""The automations' tables (SQLAlchemy Core), created by ``engine/migrations/versions/0007_automations.py``.

    lw_automation_runs    one row per run: trigger, record, what each action did, outcome or error (admins read it)
    lw_automation_ledger  one row per (automation, item, due moment) of scheduled and date-relative automations;
                          its unique key is the claim, so several processes never run one item twice
"""
from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from engine.tables import Id, UtcDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
})

runs = Table(
    "lw_automation_runs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("automation", String(64), nullable=False),
    Column("trigger", String(200), nullable=False),
    Column("form", String(64), nullable=True),
    Column("record_id", Id, nullable=True),
    Column("user_id", Id, nullable=True),
    #: done | skipped (the condition was false) | failed
    Column("status", String(16), nullable=False),
    Column("actions", JSON, nullable=True),
    #: traces of the decision tables consulted (``Decision.trace``), so a decision can be audited later
    Column("decisions", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("depth", Integer, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Index("ix_lw_automation_runs_record", "app", "form", "record_id", "id"),
    Index("ix_lw_automation_runs_automation", "app", "automation", "id"),
)

ledger = Table(
    "lw_automation_ledger", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("automation", String(64), nullable=False),
    #: the record id, "-" for a schedule without records, "@since" for the moment the automation was first seen
    Column("item", String(64), nullable=False),
    Column("due", String(32), nullable=False),
    #: running (claimed), done, failed, since
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    UniqueConstraint("app", "automation", "item", "due"),
)
