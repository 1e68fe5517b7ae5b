"""The platform's own tables (SQLAlchemy Core). Form tables are generated separately from form specs.

Migrated with Alembic (``engine/migrations``); ``loomwork db upgrade`` applies the revisions.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, String,
                        Table, Text, UniqueConstraint)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """An aware datetime, stored in UTC; SQLite's naive values come back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

Id = BigInteger().with_variant(Integer(), "sqlite")

departments = Table(
    "lw_departments", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", Id, ForeignKey("lw_departments.id"), nullable=True),
    Column("manager_id", Id, nullable=True),
)

users = Table(
    "lw_users", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(254), nullable=True),
    Column("password_hash", String(200), nullable=True),
    Column("department_id", Id, ForeignKey("lw_departments.id"), nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("locale", String(16), nullable=False, default="zh-CN"),
    Column("created_at", UtcDateTime(), nullable=False),
)

roles = Table(
    "lw_roles", metadata,
    Column("key", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
)

user_roles = Table(
    "lw_user_roles", metadata,
    Column("user_id", Id, ForeignKey("lw_users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_key", String(64), ForeignKey("lw_roles.key", ondelete="CASCADE"), primary_key=True),
)

api_tokens = Table(
    "lw_api_tokens", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("lw_users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

sessions = Table(
    "lw_sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("lw_users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("seen_at", UtcDateTime(), nullable=False),
)

login_failures = Table(
    "lw_login_failures", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_lw_login_failures_lookup", "username", "at"),
)

app_versions = Table(
    "lw_app_versions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("files", JSON, nullable=False),
    Column("column_map", JSON, nullable=False),
    Column("author", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("app", "number"),
)

audit_log = Table(
    "lw_audit_log", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("user_id", Id, nullable=True),
    Column("app", String(64), nullable=False),
    Column("form", String(64), nullable=True),
    Column("record_id", Id, nullable=True),
    Column("action", String(32), nullable=False),
    Column("def_version", Integer, nullable=True),
    Column("changes", JSON, nullable=True),
    Column("extra", JSON, nullable=True),
    Index("ix_lw_audit_log_record", "app", "form", "record_id", "id"),
)

serial_counters = Table(
    "lw_serial_counters", metadata,
    Column("app", String(64), primary_key=True),
    Column("form", String(64), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

files = Table(
    "lw_files", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("storage_name", String(80), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by", Id, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("app", String(64), nullable=True),
    Column("form", String(64), nullable=True),
    Column("record_id", Id, nullable=True),
    Index("ix_lw_files_record", "app", "form", "record_id"),
)
