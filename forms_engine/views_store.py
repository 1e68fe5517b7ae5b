"""Saved views of list pages: a user's named filters, sort, search and columns for one form. Private to their owner.

The table is the forms engine's own (``lw_saved_views``), created by the Alembic revision ``0004_pages``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import JSON, Column, Connection, ForeignKey, Index, MetaData, String, Table, delete, insert, select

from engine.errors import FieldProblem, NotFound, ValidationFailed
from engine.tables import Id, UtcDateTime

metadata = MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s", "pk": "pk_%(table_name)s",
                                       "fk": "fk_%(table_name)s_%(column_0_name)s"})

saved_views = Table(
    "lw_saved_views", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("lw_users.id", ondelete="CASCADE"), nullable=False),
    Column("app", String(64), nullable=False),
    Column("form", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("query", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_lw_saved_views_owner", "user_id", "app", "form"),
)

MAX_VIEWS = 50
MAX_QUERY = 2000
#: query parameters a view may keep: filters (``field``, ``field__op``), sort, search, columns
RESERVED = ("sort", "q", "cols", "size")


def clean_query(form: Any, raw: Any) -> str:
    """A list page's query string, keeping only parameters that name the form's fields or the list's options."""
    if not isinstance(raw, str) or len(raw) > MAX_QUERY:
        raise ValidationFailed([FieldProblem("query", f"expected the list's query string (at most {MAX_QUERY} characters)",
                                             "type")])
    kept = []
    for name, value in parse_qsl(raw.lstrip("?"), keep_blank_values=False):
        key = name.partition("__")[0]
        if name in RESERVED or key in form.by_key or key in ("id", "owner_id", "department_id", "created_by"):
            kept.append((name, value))
    return urlencode(kept)


def list_views(conn: Connection, user_id: int, app: str, form: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(saved_views).where(saved_views.c.user_id == user_id, saved_views.c.app == app,
                                                  saved_views.c.form == form).order_by(saved_views.c.name))
    return [_json(r) for r in rows.mappings()]


def save_view(conn: Connection, user_id: int, app: str, form: Any, body: Any, now: datetime) -> dict[str, Any]:
    """Create a view, or replace the owner's view of the same name."""
    if not isinstance(body, Mapping):
        raise ValidationFailed([FieldProblem("_body", "expected {name, query}", "type")])
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise ValidationFailed([FieldProblem("name", "give the view a name (at most 100 characters)", "required")])
    name = name.strip()
    query = clean_query(form, body.get("query", ""))
    mine = list_views(conn, user_id, app, form.key)
    same = next((v for v in mine if v["name"] == name), None)
    if same is None and len(mine) >= MAX_VIEWS:
        raise ValidationFailed([FieldProblem("name", f"at most {MAX_VIEWS} views per form", "max")])
    if same is not None:
        conn.execute(delete(saved_views).where(saved_views.c.id == same["id"]))
    new_id = conn.execute(insert(saved_views).values(user_id=user_id, app=app, form=form.key, name=name,
                                                     query={"q": query}, created_at=now)).inserted_primary_key[0]
    return {"id": int(new_id), "name": name, "query": query}


def delete_view(conn: Connection, user_id: int, view_id: int) -> None:
    """Delete one of the user's own views; another user's view answers as a missing one."""
    done = conn.execute(delete(saved_views).where(saved_views.c.id == view_id, saved_views.c.user_id == user_id))
    if done.rowcount != 1:
        raise NotFound(f"no saved view {view_id}")


def _json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "query": (row["query"] or {}).get("q", "")}
