"""Exporting a list view to .xlsx or .csv: the records list's filters, sort, search and read scope, streamed.

Cells are written in their spreadsheet form (``FieldType.to_cell``): option labels and yes/no in the caller's
language, dates as dates, numbers as numbers, relations as the related record's key field (the one an import
matches by), users and departments by name. Text that a spreadsheet would run as a formula — starting with
``= + - @``, a tab or a carriage return — is written with a leading ``'`` (OWASP's CSV-injection advice), in both
formats; an import drops that quote again.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, select

from engine import files as file_store
from engine.errors import BadRequest, FieldProblem, Forbidden, ValidationFailed
from engine.identity import user_names
from engine.permissions import Principal, scope_filter
from engine.platform import LiveApp, Platform
from engine.tables import departments

from ..fields.basic import FORMULA_STARTS
from ..query import build_list_query
from ..spec import FieldSpec, FormSpec
from .importer import relation_key

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CHUNK = 1000
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


def neutralise(value: Any) -> Any:
    """Text a spreadsheet would evaluate gets a leading ``'``; plain numbers (``-5.00``) stay as they are."""
    if isinstance(value, str) and value and value[0] in FORMULA_STARTS and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class Cells:
    """Converts stored values of one form to cells, with the lookups that need the database done per chunk."""

    def __init__(self, platform: Platform, app: LiveApp, form: FormSpec, who: Principal, fields: list[FieldSpec]) -> None:
        self.platform, self.app, self.form, self.who = platform, app, form, who
        self.fields = fields
        self.tz = ZoneInfo(app.spec.settings.timezone)
        self.names: dict[str, dict[Any, Any]] = {}

    def prepare(self, conn: Connection, records: list[Mapping[str, Any]], fields: list[FieldSpec] | None = None) -> None:
        records_service = self.platform.services["records"]
        for f in fields or self.fields:
            ids = set()
            for r in records:
                value = r.get(f.key)
                if value is None:
                    continue
                if f.ftype.group == "files":
                    ids.update(v["id"] for v in value)
                elif f.type in ("relation", "user", "department"):
                    ids.update(value if f.many else [value])
            if not ids:
                continue
            known = self.names.setdefault(f.key, {})
            wanted = sorted(i for i in ids if i not in known)
            if not wanted:
                continue
            if f.ftype.group == "files":
                known.update({i: d["display_name"] for i, d in file_store.describe(conn, wanted).items()})
            elif f.type == "user":
                known.update(user_names(conn, set(wanted)))
            elif f.type == "department":
                known.update({r.id: r.name for r in conn.execute(
                    select(departments.c.id, departments.c.name).where(departments.c.id.in_(wanted)))})
            else:
                target = self.app.spec.forms[f.to]
                key = relation_key(f, target)
                table = records_service.table(self.app, target)
                column = table.c.id if key == "id" else table.c[key]
                tf = None if key == "id" else target.by_key[key]
                for row in conn.execute(select(table.c.id, column.label("k")).where(table.c.id.in_(wanted))):
                    known[row.id] = row.k if tf is None or row.k is None else tf.ftype.to_cell(row.k, tf, self.who.locale)

    def cell(self, f: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        if f.ftype.group == "files":
            names = self.names.get(f.key, {})
            return neutralise("、".join(str(names.get(v["id"], v["id"])) for v in value))
        if f.type in ("relation", "user", "department"):
            names = self.names.get(f.key, {})
            if f.many:
                return neutralise("、".join(str(names.get(v, v)) for v in value))
            return neutralise(names.get(value, value))
        out = f.ftype.to_cell(value, f, self.who.locale)
        if isinstance(out, datetime):
            moment = out if out.tzinfo else out.replace(tzinfo=ZoneInfo("UTC"))
            return moment.astimezone(self.tz).replace(tzinfo=None)
        if isinstance(out, (dict, list)):
            import json

            return neutralise(json.dumps(out, ensure_ascii=False))
        return neutralise(out)


class XlsxWriter:
    """openpyxl write-only workbook (rows go to temporary files, not memory), saved to a spooled temp file."""

    def __init__(self) -> None:
        from openpyxl import Workbook

        self.book = Workbook(write_only=True)
        self.sheets: dict[str, Any] = {}

    def sheet(self, name: str, headers: list[str]) -> Any:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        title = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "Sheet"
        while title in self.sheets:
            title = title[:28] + f"_{len(self.sheets)}"
        ws = self.book.create_sheet(title)
        bold = Font(bold=True)
        row = []
        for h in headers:
            c = WriteOnlyCell(ws, value=_clean(neutralise(h)))
            c.font = bold
            row.append(c)
        ws.append(row)
        self.sheets[title] = ws
        return ws

    def row(self, ws: Any, values: list[Any]) -> None:
        ws.append([_xlsx_value(v) for v in values])

    def finish(self) -> Any:
        target = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
        self.book.save(target)
        target.seek(0)
        return target


def _clean(value: Any) -> Any:
    return _ILLEGAL.sub("", value) if isinstance(value, str) else value


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if abs(value) < Decimal(10) ** 15 else str(value)
    return _clean(value)


def csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(["" if v is None else _csv_text(v) for v in values])
    return buffer.getvalue()


def _csv_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def iter_file(handle: Any, size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := handle.read(size):
            yield chunk
    finally:
        handle.close()


class Export:
    """One export request, checked before any byte is sent (rights, filters, columns)."""

    def __init__(self, platform: Platform, app: LiveApp, form: FormSpec, who: Principal, *, fmt: str,
                 filters: Mapping[str, str], sort: str | None, search: str | None, columns: str | None) -> None:
        if fmt not in FORMATS:
            raise BadRequest(f"unknown export format '{fmt}'; use xlsx or csv")
        self.platform, self.app, self.form, self.who, self.fmt = platform, app, form, who, fmt
        self.records = platform.services["records"]
        grant = self.records.grant(form, who)
        if grant.read == "none":
            raise Forbidden(f"you may not read {form.key} records")
        table = self.records.table(app, form)
        where, order = build_list_query(form, table, filters, sort, search)
        where.append(scope_filter(grant.read, table, who))
        self.query = select(table).where(and_(*where)).order_by(*order)
        exportable = [f for f in form.data_fields if f.stored]
        if columns:
            wanted = [c.strip() for c in columns.split(",") if c.strip()]
            unknown = [c for c in wanted if c not in {f.key for f in exportable} | {s.key for s in form.subtables}]
            if unknown:
                raise ValidationFailed([FieldProblem("columns", f"unknown or not exportable field '{unknown[0]}'", "unknown")])
            exportable = [form.by_key[c] for c in wanted if form.by_key[c].stored]
            self.subs = [form.by_key[c] for c in wanted if form.by_key[c].type == "subtable"] if fmt == "xlsx" else []
        else:
            self.subs = list(form.subtables) if fmt == "xlsx" else []
        self.fields = exportable
        self.cells = Cells(platform, app, form, who, exportable)
        self.filename = f"{form.label.get(who.locale)}-{platform.clock.now().astimezone(self.cells.tz):%Y%m%d-%H%M}.{fmt}"

    def headers(self) -> list[str]:
        return ["ID"] + [f.label.get(self.who.locale) for f in self.fields]

    def _batches(self, conn: Connection) -> Iterator[list[Mapping[str, Any]]]:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(self.query).mappings()
        for part in result.partitions(CHUNK):
            yield list(part)

    def _row(self, record: Mapping[str, Any]) -> list[Any]:
        return [record["id"]] + [self.cells.cell(f, record[f.key]) for f in self.fields]

    def csv_chunks(self) -> Iterator[bytes]:
        yield ("\ufeff" + csv_line(self.headers())).encode("utf-8")
        with self.platform.db.connect() as conn:
            for batch in self._batches(conn):
                self.cells.prepare(conn, batch)
                yield "".join(csv_line(self._row(r)) for r in batch).encode("utf-8")

    def xlsx_file(self) -> Any:
        out = XlsxWriter()
        main = out.sheet(self.form.label.get(self.who.locale), self.headers())
        sub_sheets = []
        for sub in self.subs:
            fields = [s for s in sub.fields if s.stored]
            ws = out.sheet(sub.label.get(self.who.locale), ["ID"] + [s.label.get(self.who.locale) for s in fields])
            sub_sheets.append((sub, fields, ws, Cells(self.platform, self.app, self.form, self.who, fields)))
        with self.platform.db.connect() as conn:
            for batch in self._batches(conn):
                self.cells.prepare(conn, batch)
                for r in batch:
                    out.row(main, self._row(r))
                if sub_sheets:
                    ids = [r["id"] for r in batch]
                    for sub, fields, ws, cells in sub_sheets:
                        lines = self.records._rows_of(conn, self.app, self.form, sub, ids)
                        flat = [line for i in ids for line in lines[i]]
                        cells.prepare(conn, flat)
                        for i in ids:
                            for line in lines[i]:
                                out.row(ws, [i] + [cells.cell(s, line.get(s.key)) for s in fields])
        return out.finish()
