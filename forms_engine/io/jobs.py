"""Import jobs: one row per upload, updated as the job is checked and committed, polled by the import page.

Progress while a job runs is also kept in this process (``PROGRESS``): on SQLite the import's own transaction holds
the database's write lock until it commits, so no other connection can write the job row meanwhile. On PostgreSQL
the row itself is updated every chunk from a separate connection, so any worker process can answer a poll.
"""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import JSON, BigInteger, Column, Connection, Index, Integer, MetaData, String, Table, Text, select, update

from engine.tables import Id, UtcDateTime

metadata = MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s",
                                       "pk": "pk_%(table_name)s"})

import_jobs = Table(
    "lw_import_jobs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("form", String(64), nullable=False),
    Column("user_id", BigInteger, nullable=True),
    Column("file_id", BigInteger, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("kind", String(8), nullable=False),
    #: uploaded → checking → checked → importing → done | failed
    Column("status", String(16), nullable=False),
    Column("options", JSON, nullable=True),
    Column("total_rows", Integer, nullable=False, default=0),
    Column("processed_rows", Integer, nullable=False, default=0),
    Column("created_count", Integer, nullable=False, default=0),
    Column("updated_count", Integer, nullable=False, default=0),
    Column("skipped_count", Integer, nullable=False, default=0),
    Column("rejected_count", Integer, nullable=False, default=0),
    Column("problems", JSON, nullable=True),
    Column("message", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Index("ix_lw_import_jobs_user", "user_id", "created_at"),
)

_lock = threading.Lock()
#: job id → {"phase": ..., "processed": n, "total": n}; the live view of running jobs in this process
PROGRESS: dict[int, dict[str, Any]] = {}


def set_progress(job_id: int, phase: str, processed: int, total: int) -> None:
    with _lock:
        PROGRESS[job_id] = {"phase": phase, "processed": processed, "total": total}


def clear_progress(job_id: int) -> None:
    with _lock:
        PROGRESS.pop(job_id, None)


def live_progress(job_id: int) -> dict[str, Any] | None:
    with _lock:
        found = PROGRESS.get(job_id)
        return dict(found) if found else None


def load(conn: Connection, job_id: int) -> Mapping[str, Any] | None:
    return conn.execute(select(import_jobs).where(import_jobs.c.id == job_id)).mappings().first()


def claim(conn: Connection, job_id: int, allowed: tuple[str, ...], status: str, now: datetime) -> bool:
    """Move a job to ``status`` only from one of ``allowed``: two concurrent runs of one job cannot both start."""
    done = conn.execute(update(import_jobs).where(import_jobs.c.id == job_id, import_jobs.c.status.in_(allowed))
                        .values(status=status, processed_rows=0, updated_at=now, message=None))
    return done.rowcount == 1


def to_json(row: Mapping[str, Any], *, problems_limit: int = 1000) -> dict[str, Any]:
    live = live_progress(row["id"]) if row["status"] in ("checking", "importing") else None
    problems = row["problems"] or []
    processed = live["processed"] if live else row["processed_rows"]
    total = row["total_rows"] or 0
    return {
        "id": row["id"], "app": row["app"], "form": row["form"], "file": row["filename"], "kind": row["kind"],
        "status": row["status"], "options": row["options"] or {},
        "progress": {"processed": processed, "total": total,
                     "percent": round(100 * processed / total, 1) if total else (100.0 if row["status"] == "done" else 0.0)},
        "counts": {"created": row["created_count"], "updated": row["updated_count"], "skipped": row["skipped_count"],
                   "rejected": row["rejected_count"]},
        "problem_count": len(problems), "problems": problems[:problems_limit], "message": row["message"],
        "created_at": row["created_at"].isoformat(), "updated_at": row["updated_at"].isoformat(),
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
    }
