"""Generated tables for app data, and additive migration when a new version is published.

Engines describe the tables they need as ``TableSpec`` (names and SQLAlchemy types only); this module creates
them, adds new columns to existing tables, and never drops or narrows anything: a removed field keeps its column
and data; a field whose type changed gets a new column (``<name>__v<N>``) so no value is ever lost.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (BigInteger, Column, Connection, ForeignKey, Index, Integer, MetaData, Table,
                        UniqueConstraint, inspect)
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.types import TypeEngine

from .tables import Id, UtcDateTime

#: columns every record table has, whatever the form
SYSTEM_COLUMNS = ("id", "row_version", "def_version", "created_at", "updated_at", "created_by", "owner_id",
                  "department_id")


#: ``{table: {field: {"column": physical name, "type": type signature}}}``, stored with each version
ColumnMap = dict[str, dict[str, dict[str, str]]]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: TypeEngine
    unique: bool = False
    index: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    parent: str | None = None  # child table of a sub-table: rows belong to a parent record
    children: tuple["TableSpec", ...] = field(default=())


def _type_key(t: TypeEngine) -> str:
    scale = getattr(t, "scale", None)
    return type(t).__name__ + (f"({scale})" if scale is not None else "")


def build_table(spec: TableSpec, metadata: MetaData, renamed: dict[str, str] | None = None) -> Table:
    """The SQLAlchemy ``Table`` for ``spec``; ``renamed`` maps field names to physical column names."""
    renamed = renamed or {}
    cols: list[Any] = [Column("id", Id, primary_key=True, autoincrement=True)]
    if spec.parent:
        cols += [
            Column("parent_id", Id, ForeignKey(f"{spec.parent}.id", ondelete="CASCADE"), nullable=False, index=True),
            Column("row_index", Integer, nullable=False),
        ]
    else:
        cols += [
            Column("row_version", Integer, nullable=False, default=1),
            Column("def_version", Integer, nullable=True),
            Column("created_at", UtcDateTime(), nullable=False),
            Column("updated_at", UtcDateTime(), nullable=False),
            Column("created_by", BigInteger, nullable=True),
            Column("owner_id", BigInteger, nullable=True, index=True),
            Column("department_id", BigInteger, nullable=True, index=True),
        ]
    extra: list[Any] = []
    for c in spec.columns:
        name = renamed.get(c.name, c.name)
        cols.append(Column(name, c.type, nullable=True, key=c.name))
        if c.unique:
            extra.append(UniqueConstraint(c.name, name=f"uq_{spec.name}_{name}"[:63]))
        elif c.index:
            extra.append(Index(f"ix_{spec.name}_{name}"[:63], c.name))
    if not spec.parent:
        extra.append(Index(f"ix_{spec.name}_created_at"[:63], "created_at"))
    return Table(spec.name, metadata, *cols, *extra)


@dataclass
class MigrationReport:
    created: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def migrate(conn: Connection, specs: list[TableSpec], previous: ColumnMap | None = None
            ) -> tuple[dict[str, Table], ColumnMap, MigrationReport]:
    """Create or extend the tables of ``specs`` inside the caller's transaction.

    Args:
        conn: a connection inside a transaction (a failure rolls every DDL back).
        specs: the tables the new version needs, parents before children.
        previous: the physical column map of the last published version.

    Returns:
        The ``Table`` objects, the new physical column map, and what changed.
    """
    previous = previous or {}
    report = MigrationReport()
    inspector = inspect(conn)
    metadata = MetaData()
    tables: dict[str, Table] = {}
    column_map: ColumnMap = {}
    for spec in _flatten(specs):
        mapping = {k: dict(v) for k, v in previous.get(spec.name, {}).items()}
        exists = inspector.has_table(spec.name)
        existing: dict[str, Any] = {c["name"]: c for c in inspector.get_columns(spec.name)} if exists else {}
        renamed: dict[str, str] = {}
        for c in spec.columns:
            known = mapping.get(c.name, {})
            physical = known.get("column", c.name)
            changed = known.get("type") not in (None, _type_key(c.type))
            if physical in existing and (changed or not _compatible(existing[physical]["type"], c.type, conn)):
                n = 2
                while f"{c.name}__v{n}" in existing:
                    n += 1
                physical = f"{c.name}__v{n}"
                report.retyped.append(f"{spec.name}.{c.name} → {physical}")
            renamed[c.name] = physical
            mapping[c.name] = {"column": physical, "type": _type_key(c.type)}
        table = build_table(spec, metadata, {k: v for k, v in renamed.items() if k != v})
        tables[spec.name] = table
        column_map[spec.name] = mapping
        if not exists:
            conn.execute(CreateTable(table))
            for index in table.indexes:
                conn.execute(CreateIndex(index))
            report.created.append(spec.name)
            continue
        existing_indexes = {i["name"] for i in inspector.get_indexes(spec.name)}
        for col in table.columns:
            if col.name not in existing:
                ddl_type = col.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f'ALTER TABLE "{spec.name}" ADD COLUMN "{col.name}" {ddl_type}')
                report.added.append(f"{spec.name}.{col.name}")
        for index in table.indexes:
            if index.name not in existing_indexes:
                conn.execute(CreateIndex(index))
        for name in existing:
            if name not in table.columns:
                report.kept.append(f"{spec.name}.{name}")
    return tables, column_map, report


def _compatible(existing: TypeEngine, wanted: TypeEngine, conn: Connection) -> bool:
    want = wanted.dialect_impl(conn.dialect)
    if hasattr(want, "impl"):
        want = want.load_dialect_impl(conn.dialect)
    have_names, want_names = _type_names(existing), _type_names(want)
    families = [
        {"TEXT", "VARCHAR", "STRING", "CLOB"},
        {"BIGINT", "BIGINTEGER", "INTEGER", "INT"},
        {"NUMERIC", "DECIMAL"},
        {"DATE"}, {"DATETIME", "TIMESTAMP"}, {"TIME"}, {"BOOLEAN"}, {"JSON", "JSONB"},
    ]
    for family in families:
        if have_names & family and want_names & family:
            if "NUMERIC" in family and getattr(existing, "scale", None) not in (None, getattr(want, "scale", None)):
                return False
            return True
    # SQLite reflects BOOLEAN as BOOLEAN, JSON as JSON; anything else is a real change of type
    return type(existing).__name__.upper().lstrip("_") in want_names


def _type_names(t: TypeEngine) -> set[str]:
    """Upper-case class names along a type's inheritance chain (dialect classes such as SQLAlchemy 2.1's
    ``_PGString`` count as ``STRING``)."""
    names = [c.__name__.upper().lstrip("_") for c in type(t).__mro__]
    names = [n[2:] if n.startswith("PG") and len(n) > 2 else n for n in names]
    return set(names)


def _flatten(specs: list[TableSpec]) -> list[TableSpec]:
    out: list[TableSpec] = []
    for s in specs:
        out.append(s)
        out.extend(_flatten(list(s.children)))
    return out
