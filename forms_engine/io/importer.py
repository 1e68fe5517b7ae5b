"""Importing rows of a spreadsheet as records: checked with the records API's own validation, then written in bulk.

``check`` runs everything a save runs except the writes: each row's cells are read with the field types'
``from_cell`` through ``validate.coerce_submission(cells=True)`` and completed with ``validate.complete`` (defaults,
formulas, conditions, cross-field rules) — the same code as ``POST /records``. What needs the database is done in
batches: relations, users and departments found by a key field, unique values checked against stored records and
against the other rows of the file, existing records loaded for update.

``commit`` writes the planned rows in the caller's transaction: serial numbers allocated in one counter update,
records inserted in chunks with ids drawn beforehand (``engine.db.insert_many``: one executemany through the driver
on SQLite, COPY on PostgreSQL), sub-table rows, one audit entry per record (written the same way) and the record
events other engines react to (a chunk at a time to handlers with a batch form). Any failure rolls the whole import
back. Both run with the cyclic garbage collector paused (``engine.bulk``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import ARRAY, Connection, any_, bindparam, cast, insert, or_, select, update

from engine import audit
from engine.bulk import gc_paused
from engine.db import insert_many, insert_rows
from engine.plugins import emit_record_events
from engine.errors import FieldProblem, PreconditionFailed, ValidationFailed
from engine.permissions import Principal, in_scope
from engine.platform import LiveApp, Platform
from engine.tables import audit_log, departments, users

from .. import validate
from ..fields import InvalidField
from ..fields.basic import cell_text
from ..records import SYSTEM_FIELDS, RecordEvent, Records, _auditable, make_env, owner_of
from ..serials import next_serials
from ..spec import FieldSpec, FormSpec
from .mapping import Column, SubSheet, apply_overrides, importable, names_of, normalise, propose, sub_sheets
from .reading import EXCEL_ERRORS, Workbook, column_letter

MODES = ("all_or_nothing", "valid_only")
DUPLICATES = ("error", "skip", "update")
CHUNK = 1000
_SPLIT = re.compile(r"[,，;；、\n]")


@dataclass(frozen=True)
class Options:
    mapping: Mapping[str, Any] | None = None
    mode: str = "all_or_nothing"
    duplicates: str = "error"
    match_field: str | None = None
    key_fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any) -> "Options":
        raw = raw or {}
        if not isinstance(raw, Mapping):
            raise ValidationFailed([FieldProblem("_body", "expected a JSON object of import options", "type")])
        problems = []
        unknown = set(raw) - {"mapping", "mode", "duplicates", "match_field", "key_fields"}
        problems += [FieldProblem(k, "unknown import option", "unknown") for k in sorted(unknown)]
        mode, duplicates = raw.get("mode", "all_or_nothing"), raw.get("duplicates", "error")
        if mode not in MODES:
            problems.append(FieldProblem("mode", f"one of {', '.join(MODES)}", "enum"))
        if duplicates not in DUPLICATES:
            problems.append(FieldProblem("duplicates", f"one of {', '.join(DUPLICATES)}", "enum"))
        keys = raw.get("key_fields") or {}
        if not isinstance(keys, Mapping) or not all(isinstance(v, str) for v in keys.values()):
            problems.append(FieldProblem("key_fields", "expected an object of relation field → key field", "type"))
            keys = {}
        if raw.get("match_field") is not None and not isinstance(raw.get("match_field"), str):
            problems.append(FieldProblem("match_field", "expected a field key", "type"))
        if problems:
            raise ValidationFailed(problems)
        return cls(raw.get("mapping"), mode, duplicates, raw.get("match_field"), dict(keys))

    def to_json(self) -> dict[str, Any]:
        return {"mapping": dict(self.mapping or {}), "mode": self.mode, "duplicates": self.duplicates,
                "match_field": self.match_field, "key_fields": dict(self.key_fields)}


@dataclass
class Problem:
    row: int
    sheet: str
    column: str
    header: str
    field: str
    message: str
    code: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "sheet": self.sheet, "column": self.column, "header": self.header,
                "field": self.field, "message": self.message, "code": self.code}


@dataclass
class RowPlan:
    row: int
    action: str = "create"  # create | update | skip | reject
    values: dict[str, Any] = field(default_factory=dict)
    before: Mapping[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    #: sub-table key → the sheet row numbers of this record's lines
    lines: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Plan:
    rows: list[RowPlan]
    columns: list[Column]
    subs: list[SubSheet]
    notes: list[str]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.rows for p in r.problems]


def relation_key(f: FieldSpec, target: FormSpec) -> str:
    """The field of the target form a relation cell holds: a unique field, else ``display``, the title, or the id.

    Export writes the same field, so an exported file imports back."""
    for t in target.fields:
        if t.unique and t.stored and not t.many:
            return t.key
    display = f.extra.get("display")
    if display and display in target.by_key and target.by_key[display].stored:
        return str(display)
    if target.title_field and target.by_key[target.title_field].stored:
        return target.title_field
    return "id"


Progress = Callable[[str, int, int], None]


class Importer:
    def __init__(self, platform: Platform, app: LiveApp, form: FormSpec, who: Principal, book: Workbook,
                 options: Options, progress: Progress | None = None) -> None:
        self.platform, self.app, self.form, self.who, self.book, self.options = platform, app, form, who, book, options
        self.records: Records = platform.services["records"]
        self.progress = progress or (lambda phase, done, total: None)
        self.tz = ZoneInfo(app.spec.settings.timezone)

    # -- the plan ------------------------------------------------------------------------------------------------

    def mapping(self) -> tuple[list[Column], list[SubSheet], list[str]]:
        columns = apply_overrides(self.form, propose(self.form, self.book.main), self.options.mapping)
        subs, notes = sub_sheets(self.form, self.book)
        mapped = {c.field for c in columns if c.field}
        for f in self.form.data_fields:
            if f.required and importable(f) and f.key not in mapped and f.default is None and f.default_expr is None:
                notes.append(f"required field '{f.label.get(self.who.locale)}' ({f.key}) is not filled from any column")
        return columns, subs, notes

    def check(self, conn: Connection) -> Plan:
        with gc_paused():  # see engine.bulk: many short-lived objects, no cycles
            return self._check(conn)

    def _check(self, conn: Connection) -> Plan:
        form, opts = self.form, self.options
        grant = self.records.grant(form, self.who)
        columns, subs, notes = self.mapping()
        match = self._match_field(columns)
        sheet = self.book.main
        total = len(sheet.rows)
        self.progress("checking", 0, total)
        mapped = [(c.index, form.by_key[c.field]) for c in columns if c.field]
        where = {c.field: c for c in columns if c.field}
        # sub-table rows grouped by the main-sheet value they point at
        children: list[tuple[SubSheet, dict[str, list[tuple[int, list[Any]]]]]] = []
        for s in subs:
            groups: dict[str, list[tuple[int, list[Any]]]] = {}
            for number, cells in s.sheet.rows:
                groups.setdefault(normalise(cell_text(cells[s.parent_column])), []).append((number, cells))
            children.append((s, groups))
        resolver = _References(self, conn)
        for index, f in mapped:
            resolver.want(f, f.key, (cells[index] for _, cells in sheet.rows))
        for s, _groups in children:
            for c in s.columns:
                if c.field:
                    sf = s.sub.sub(c.field)
                    resolver.want(sf, f"{s.sub.key}.{sf.key}", (cells[c.index] for _, cells in s.sheet.rows))
        resolver.resolve()
        plans: list[RowPlan] = []
        # plain columns (not references, not date-times) go straight to the field's compiled cell check
        plain = [(index, f, f.cell_check) for index, f in mapped
                 if f.type not in ("relation", "user", "department", "datetime")]
        special = [(index, f) for index, f in mapped if f.type in ("relation", "user", "department", "datetime")]
        for n, (number, cells) in enumerate(sheet.rows):
            plan = RowPlan(number)
            if not children and not special:
                values, problems = self._plain_row(cells, plain, plan, sheet.name, where, number)
                if problems:
                    self._report(plan, problems, where, subs, plan.lines)
                plan.values = values
                plans.append(plan)
                if n % CHUNK == CHUNK - 1:
                    self.progress("checking", (n + 1) // 2, total)
                continue
            body: dict[str, Any] = {}
            for index, f in mapped:
                value = self._cell(cells[index], f, f.key, f.key, resolver, plan, sheet.name, where[f.key], number)
                if value is not None:
                    body[f.key] = value
            for s, groups in children:
                lines = groups.get(normalise(cell_text(cells[s.main_column])), [])
                rows_body = []
                for line_number, line_cells in lines:
                    line: dict[str, Any] = {}
                    for c in s.columns:
                        if c.field:
                            sf = s.sub.sub(c.field)
                            assert sf is not None
                            value = self._cell(line_cells[c.index], sf, f"{s.sub.key}.{sf.key}",
                                               f"{s.sub.key}[{len(rows_body)}].{sf.key}", resolver, plan,
                                               s.sheet.name, c, line_number)
                            if value is not None:
                                line[sf.key] = value
                    rows_body.append(line)
                if lines:
                    body[s.sub.key] = rows_body
                    plan.lines[s.sub.key] = [ln for ln, _ in lines]
            values, problems = validate.coerce_submission(form, body, creating=True, cells=True)
            if problems:
                self._report(plan, problems, where, subs, plan.lines)
            plan.values = values
            plans.append(plan)
            if n % CHUNK == CHUNK - 1:
                self.progress("checking", (n + 1) // 2, total)
        self._uniques(conn, plans, match, where, grant)
        env = make_env(self.platform, self.app, self.who) if form.uses_expressions else None
        related = _Related(self, conn, plans)
        lookups = [f for f in form.fields if f.type == "lookup"]
        for n, plan in enumerate(plans):
            if plan.action in ("skip",):
                continue
            lines = plan.lines
            readonly = validate.readonly_problems(form, plan.values, plan.before if plan.action == "update" else None)
            if plan.action == "update":
                before = plan.before
                assert before is not None
                merged = {k: v for k, v in before.items() if k not in SYSTEM_FIELDS}
                merged.update(plan.values)
                plan.values = merged
            row_related = related.for_row(plan.values) if related.keys else {}
            if lookups:
                self._lookups(plan.values, row_related, lookups)  # formulas and rules may read lookups
            problems = validate.complete(form, plan.values, env, creating=plan.action != "update",
                                         before=plan.before, related=row_related)
            if readonly or problems:
                self._report(plan, readonly + problems, where, subs, lines)
            if plan.problems:
                plan.action = "reject"
            elif plan.action == "update" and not audit.diff(_auditable(form, plan.before), _auditable(form, plan.values)):
                plan.action = "skip"  # the row says what is stored already: no new version, no audit entry
            if n % CHUNK == CHUNK - 1:
                self.progress("checking", total // 2 + (n + 1) // 2, total)
        self.progress("checking", total, total)
        return Plan(plans, columns, subs, notes)

    def _match_field(self, columns: list[Column]) -> str | None:
        opts, form = self.options, self.form
        mapped = {c.field for c in columns if c.field}
        if opts.match_field is not None:
            f = form.by_key.get(opts.match_field)
            if f is None or not f.unique:
                raise ValidationFailed([FieldProblem("match_field", f"'{opts.match_field}' is not a unique field of "
                                                                    f"{form.key}", "unknown")])
            if f.key not in mapped:
                raise ValidationFailed([FieldProblem("match_field", f"no column fills '{f.key}'", "unmapped")])
            return f.key
        if opts.duplicates == "error":
            return None
        found = next((f.key for f in form.fields if f.unique and f.key in mapped), None)
        if found is None:
            raise ValidationFailed([FieldProblem("duplicates", "finding existing records needs a column that fills a "
                                                               "unique field of the form", "unmapped")])
        return found

    def _plain_row(self, cells: list[Any], plain: list[tuple[int, FieldSpec, Any]], plan: RowPlan, sheet: str,
                   where: Mapping[str, Column], number: int) -> tuple[dict[str, Any], list[FieldProblem]]:
        """A main-sheet row of a form whose columns are all plain values: what ``_cell`` then
        ``coerce_submission(cells=True)`` give, without building the submission in between."""
        values: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        for index, f, check in plain:
            raw = cells[index]
            if raw is None:
                continue
            if isinstance(raw, str):
                stripped = raw.strip()
                if not stripped:
                    continue
                if stripped in EXCEL_ERRORS:
                    column = where[f.key]
                    plan.problems.append(Problem(number, sheet, column.letter, column.header, f.key,
                                                 f"the cell shows the spreadsheet error {stripped}", "cell_error"))
                    continue
            try:
                values[f.key] = check(raw)
            except InvalidField as exc:
                problems.append(FieldProblem(f.key, exc.message, exc.code))
                values[f.key] = None
        return values, problems

    def _cell(self, raw: Any, f: FieldSpec, path: str, name: str, resolver: "_References", plan: RowPlan, sheet: str,
              column: Column, row: int) -> Any:
        """One cell, ready for ``from_cell``: blank → None, Excel errors refused, references resolved, datetimes
        localised to the app's time zone. ``path`` names the field for options, ``name`` for problems."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, str) and raw.strip() in EXCEL_ERRORS:
            plan.problems.append(Problem(row, sheet, column.letter, column.header, name,
                                         f"the cell shows the spreadsheet error {raw.strip()}", "cell_error"))
            return None
        if f.type in ("relation", "user", "department"):
            found, message = resolver.lookup(path, raw, many=f.many)
            if message is not None:
                plan.problems.append(Problem(row, sheet, column.letter, column.header, name, message, "reference"))
                return None
            return found
        if f.type == "datetime":
            return _localise(raw, self.tz)
        return raw

    def _report(self, plan: RowPlan, problems: Iterable[FieldProblem], where: Mapping[str, Column],
                subs: list[SubSheet], lines: Mapping[str, list[int]]) -> None:
        already = {p.field for p in plan.problems}
        for p in problems:
            if p.field in already and p.code == "required":
                continue  # the cell was refused already (unknown reference, spreadsheet error)
            m = re.fullmatch(r"(\w+)\[(\d+)\]\.(\w+)", p.field)
            if m:
                sub_key, index, key = m[1], int(m[2]), m[3]
                s = next((s for s in subs if s.sub.key == sub_key), None)
                column = next((c for c in s.columns if c.field == key), None) if s else None
                numbers = lines.get(sub_key, [])
                plan.problems.append(Problem(numbers[index] if index < len(numbers) else plan.row,
                                             s.sheet.name if s else self.book.main.name,
                                             column.letter if column else "", column.header if column else key,
                                             p.field, p.message, p.code))
                continue
            column = where.get(p.field)
            f = self.form.by_key.get(p.field)
            label = f.label.get(self.who.locale) if f is not None else p.field
            plan.problems.append(Problem(plan.row, self.book.main.name, column.letter if column else "",
                                         column.header if column else label, p.field, p.message, p.code))

    def _lookups(self, values: dict[str, Any], related: Mapping[str, Any], lookups: list[FieldSpec]) -> None:
        for f in lookups:
            source = related.get(f.extra["relation"])
            value = None if source is None else source.get(f.extra["field"])
            values[f.key] = value.get("id") if isinstance(value, Mapping) else value

    def _uniques(self, conn: Connection, plans: list[RowPlan], match: str | None, where: Mapping[str, Column],
                 grant: Any) -> None:
        """Duplicates inside the file and against stored records; existing records found for skip/update."""
        form, opts = self.form, self.options
        table = self.records.table(self.app, form)
        uniques = [f for f in form.fields if f.unique and f.stored and f.key in where]
        existing: dict[str, dict[Any, Mapping[str, Any]]] = {}
        for f in uniques:
            wanted = sorted({p.values[f.key] for p in plans if p.values.get(f.key) is not None}, key=str)
            found: dict[Any, Mapping[str, Any]] = {}
            column = table.c[f.key]
            for chunk in _chunks(wanted, 10_000 if conn.dialect.name == "postgresql" else 500):
                query = select(table) if f.key == match else select(table.c.id, column)
                for row in conn.execute(query.where(_among(conn, column, chunk))).mappings():
                    found[row[f.key]] = row
            existing[f.key] = found
        first_seen: dict[tuple[str, Any], int] = {}
        to_load: list[RowPlan] = []
        for plan in plans:
            if plan.problems:
                continue
            for f in uniques:
                value = plan.values.get(f.key)
                if value is None:
                    continue
                if (f.key, value) in first_seen:
                    self._problem(plan, where, f, f"the same value as row {first_seen[(f.key, value)]}", "duplicate")
                    continue
                first_seen[(f.key, value)] = plan.row
            if plan.problems:
                continue
            hit = existing.get(match, {}).get(plan.values.get(match)) if match else None
            if hit is not None:
                if opts.duplicates == "skip":
                    plan.action = "skip"
                    continue
                if opts.duplicates == "update":
                    if not (in_scope(grant.read, hit, self.who) and in_scope(grant.update, hit, self.who)):
                        self._problem(plan, where, form.by_key[match], f"record #{hit['id']} has this value and you "
                                                                        "may not update it", "forbidden")
                        continue
                    plan.action = "update"
                    plan.before = dict(hit)
                    to_load.append(plan)
            for f in uniques:
                other = existing[f.key].get(plan.values.get(f.key))
                if other is not None and (plan.action != "update" or other["id"] != plan.before["id"]):  # type: ignore[index]
                    self._problem(plan, where, f, f"already used by record #{other['id']}", "unique")
        self._load_before(conn, to_load)

    def _problem(self, plan: RowPlan, where: Mapping[str, Column], f: FieldSpec, message: str, code: str) -> None:
        column = where.get(f.key)
        plan.problems.append(Problem(plan.row, self.book.main.name, column.letter if column else "",
                                     column.header if column else f.label.get(self.who.locale), f.key, message, code))

    def _load_before(self, conn: Connection, plans: list[RowPlan]) -> None:
        form = self.form
        for chunk in _chunks(plans, 500):
            ids = [p.before["id"] for p in chunk]  # type: ignore[index]
            children = {sub.key: self.records._rows_of(conn, self.app, form, sub, ids) for sub in form.subtables}
            for p in chunk:
                row = p.before
                assert row is not None
                values = {k: row[k] for k in SYSTEM_FIELDS} | {f.key: row[f.key] for f in form.stored_fields}
                for sub in form.subtables:
                    values[sub.key] = children[sub.key][row["id"]]
                p.before = values

    # -- writing -------------------------------------------------------------------------------------------------

    def commit(self, conn: Connection, plan: Plan, job_id: int | None = None) -> dict[str, int]:
        """Write the plan in the caller's transaction. Rejected rows are not written (the caller decides whether
        any rejected row stops the whole import)."""
        with gc_paused():
            return self._commit(conn, plan, job_id)

    def _commit(self, conn: Connection, plan: Plan, job_id: int | None) -> dict[str, int]:
        form, app, who = self.form, self.app, self.who
        table = self.records.table(app, form)
        now = self.platform.clock.now()
        creates = [r for r in plan.rows if r.action == "create"]
        updates = [r for r in plan.rows if r.action == "update"]
        total = len(creates) + len(updates)
        done = 0
        self.progress("importing", 0, total)
        serial_fields = [f for f in form.fields if f.type == "serial_number"]
        serials = {f.key: iter(next_serials(conn, app.key, form.key, f, now, app.spec.settings.timezone, len(creates)))
                   for f in serial_fields}
        stored_fields = form.stored_fields
        keys = [f.key for f in stored_fields]
        system = {"row_version": 1, "def_version": app.version, "created_at": now, "updated_at": now,
                  "created_by": who.id or None, "owner_id": who.id or None, "department_id": who.department_id}
        if form.owner_field:  # the owner comes from each record's user field
            keys.append("owner_id")
            creator = system.pop("owner_id")
        extra = {"import": job_id} if job_id is not None else None
        # one audit entry per record: who created it, when, by which import, and its values
        audit_columns = ("record_id", "changes")
        audit_constants = {"at": now, "user_id": who.id or None, "app": app.key, "form": form.key,
                           "action": "create", "def_version": app.version, "extra": extra}
        created = _creation_changes(form)
        handlers = self.platform.hooks.record_events
        for chunk in _chunks(creates, CHUNK):
            rows = []
            for r in chunk:
                values = r.values
                for key, numbers in serials.items():
                    values[key] = next(numbers)
                row = [values.get(k) for k in keys]
                if form.owner_field:
                    row[-1] = owner_of(form, values, creator)
                rows.append(row)
            ids = insert_many(conn, table, keys, rows, system)
            for r, record_id in zip(chunk, ids):
                r.values["id"] = record_id
            self._write_children(conn, chunk, replace=False)
            insert_rows(conn, audit_log, audit_columns,
                        [(r.values["id"], created(r.values)) for r in chunk], audit_constants)
            if handlers:
                emit_record_events(handlers, conn, [
                    RecordEvent(self.platform, app, form, "created", r.values["id"], None, dict(r.values), who)
                    for r in chunk])
            done += len(chunk)
            self.progress("importing", done, total)
        for r in updates:
            before = r.before
            assert before is not None
            record_id = before["id"]
            stored = {f.key: r.values.get(f.key) for f in stored_fields}
            if form.owner_field:
                stored["owner_id"] = owner_of(form, stored, before["created_by"])
            result = conn.execute(update(table).where(table.c.id == record_id, table.c.row_version == before["row_version"])
                                  .values(**stored, row_version=table.c.row_version + 1, updated_at=now,
                                          def_version=app.version))
            if result.rowcount != 1:
                raise PreconditionFailed(f"record {record_id} (row {r.row}) was changed by someone else during the "
                                         "import; nothing was imported, run it again")
            r.values["id"] = record_id
            self._write_children(conn, [r], replace=True)
            audit.record(conn, at=now, user_id=who.id, app=app.key, form=form.key, record_id=record_id,
                         action="update", def_version=app.version, extra=extra,
                         changes=audit.diff(_auditable(form, before), _auditable(form, r.values)))
            if handlers:
                event = RecordEvent(self.platform, app, form, "updated", record_id, before, dict(r.values), who)
                for handler in handlers:
                    handler(conn, event)
            done += 1
            if done % CHUNK == 0:
                self.progress("importing", done, total)
        self.progress("importing", total, total)
        counts = {"created": len(creates), "updated": len(updates), "skipped": plan.count("skip"),
                  "rejected": plan.count("reject")}
        audit.record(conn, at=now, user_id=who.id, app=app.key, form=form.key, action="import",
                     def_version=app.version, extra={"job": job_id, **counts})
        return counts

    def _write_children(self, conn: Connection, chunk: list[RowPlan], *, replace: bool) -> None:
        from sqlalchemy import delete

        for sub in self.form.subtables:
            table = self.records.child(self.app, self.form, sub)
            fields = [s for s in sub.fields if s.stored]
            owners = [r for r in chunk if not replace or sub.key in r.lines]
            if replace and owners:
                conn.execute(delete(table).where(table.c.parent_id.in_([r.values["id"] for r in owners])))
            rows = [{"parent_id": r.values["id"], "row_index": i, **{s.key: line.get(s.key) for s in fields}}
                    for r in owners for i, line in enumerate(r.values.get(sub.key) or [])]
            if rows:
                conn.execute(insert(table), rows)


class _References:
    """Relation, user and department cells resolved to ids in a few queries per column."""

    def __init__(self, importer: Importer, conn: Connection) -> None:
        self.importer, self.conn = importer, conn
        self.wanted: dict[str, tuple[FieldSpec, set[str]]] = {}
        self.found: dict[str, dict[str, list[int]]] = {}
        self.normal: dict[str, Callable[[str], Any]] = {}
        self.describe: dict[str, str] = {}

    def want(self, f: FieldSpec, path: str, cells: Iterable[Any]) -> None:
        if f.type not in ("relation", "user", "department"):
            return
        texts: set[str] = set()
        for cell in cells:
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            parts = _SPLIT.split(str(cell_text(cell))) if f.many else [str(cell_text(cell))]
            texts.update(p.strip() for p in parts if p.strip())
        self.wanted[path] = (f, texts)

    def resolve(self) -> None:
        imp = self.importer
        for path, (f, texts) in self.wanted.items():
            found: dict[str, list[int]] = {}
            if f.type == "user":
                self.describe[path] = "user"
                self.normal[path] = lambda t: t
                for chunk in _chunks(sorted(texts), 500):
                    for row in self.conn.execute(select(users.c.id, users.c.username, users.c.display_name).where(
                            or_(users.c.username.in_(chunk), users.c.display_name.in_(chunk)))):
                        for name in {row.username, row.display_name}:
                            found.setdefault(name, []).append(row.id)
            elif f.type == "department":
                self.describe[path] = "department"
                self.normal[path] = lambda t: t
                for chunk in _chunks(sorted(texts), 500):
                    for row in self.conn.execute(select(departments.c.id, departments.c.key, departments.c.name).where(
                            or_(departments.c.key.in_(chunk), departments.c.name.in_(chunk)))):
                        for name in {row.key, row.name}:
                            found.setdefault(name, []).append(row.id)
            else:
                target = imp.app.spec.forms[f.to]
                key = imp.options.key_fields.get(path) or imp.options.key_fields.get(f.key) or relation_key(f, target)
                if key != "id" and (key not in target.by_key or not target.by_key[key].stored or target.by_key[key].many):
                    raise ValidationFailed([FieldProblem(f"key_fields.{path}", f"form '{f.to}' has no field '{key}' "
                                                                               "to match by", "unknown")])
                table = imp.records.table(imp.app, target)
                tf = target.by_key.get(key)
                label = "ID" if key == "id" else tf.label.get(imp.who.locale)  # type: ignore[union-attr]
                self.describe[path] = f"{target.label.get(imp.who.locale)} with {label}"

                def normal(text: str, tf: FieldSpec | None = tf) -> Any:
                    if tf is None:
                        return int(text) if text.isdigit() else None
                    try:
                        return tf.ftype.from_cell(text, tf)
                    except Exception:  # noqa: BLE001 - an unreadable key simply matches nothing
                        return None
                self.normal[path] = normal
                values = sorted({v for v in (normal(t) for t in texts) if v is not None}, key=str)
                column = table.c.id if key == "id" else table.c[key]
                for chunk in _chunks(values, 500):
                    for row in self.conn.execute(select(table.c.id, column.label("k")).where(column.in_(chunk))):
                        found.setdefault(str(row.k), []).append(row.id)
                self.found[path] = {t: found.get(str(normal(t)), []) for t in texts}
                continue
            self.found[path] = {t: found.get(t, []) for t in texts}

    def lookup(self, path: str, raw: Any, *, many: bool) -> tuple[Any, str | None]:
        text = str(cell_text(raw)).strip()
        parts = [p.strip() for p in _SPLIT.split(text) if p.strip()] if many else [text]
        ids = []
        for part in parts:
            hits = self.found[path].get(part, [])
            if not hits:
                return None, f"no {self.describe[path]} '{part}'"
            if len(set(hits)) > 1:
                return None, f"'{part}' matches {len(set(hits))} {self.describe[path].split(' with ')[0]} records; " \
                             "use a unique key column"
            ids.append(hits[0])
        return (ids if many else ids[0]), None


class _Related:
    """Related records read by expressions and lookups: the first level loaded in batches for all rows, records
    further along ``a.b.c`` paths loaded once each when a row needs them."""

    def __init__(self, importer: Importer, conn: Connection, plans: list[RowPlan]) -> None:
        form, app = importer.form, importer.app
        self.importer, self.conn = importer, conn
        self.paths = form.related_paths
        self.keys = [k for k in sorted(self.paths) if k in form.by_key and form.by_key[k].type == "relation"
                     and not form.by_key[k].many]
        self.cache: dict[tuple[str, int], Any] = {}
        for key in self.keys:
            f = form.by_key[key]
            target = app.spec.forms[f.to]
            table = importer.records.table(app, target)
            ids = sorted({p.values.get(key) for p in plans if p.values.get(key) is not None})
            for chunk in _chunks(ids, 500):
                found = {row["id"]: row for row in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings()}
                for i in chunk:
                    row = found.get(i)
                    self.cache[(target.key, i)] = None if row is None else (
                        {k: row[k] for k in SYSTEM_FIELDS} | {t.key: row[t.key] for t in target.stored_fields})

    def for_row(self, values: Mapping[str, Any]) -> dict[str, Any]:
        form, load = self.importer.form, self.importer.records._load_related
        return {key: load(self.conn, self.importer.app, form.by_key[key], values.get(key), self.paths[key], self.cache)
                for key in self.keys}


def _plain(value: Any) -> Any:
    """``audit.jsonable`` for the value types records hold, dispatched on the exact type (bulk path)."""
    kind = value.__class__
    if value is None or kind is str or kind is int or kind is bool or kind is float:
        return value
    if kind is Decimal:
        return str(value)
    if kind is date or kind is datetime or kind is time:
        return value.isoformat()
    if kind is dict:
        return {str(k): _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    return audit.jsonable(value)


def _creation_changes(form: FormSpec) -> Callable[[Mapping[str, Any]], dict[str, list[Any]] | None]:
    """The audit changes of a new record, as ``audit.diff(None, _auditable(form, values)) or None`` gives them,
    with the form's audited keys found once."""
    keys = [f.key for f in form.data_fields if f.stored or f.type == "subtable"]
    plain = _plain

    def changes(values: Mapping[str, Any]) -> dict[str, list[Any]] | None:
        out = {}
        get = values.get
        for key in keys:
            value = get(key)
            if value is not None:
                value = plain(value)
                if value is not None:
                    out[key] = [None, value]
        return out or None

    return changes


def _localise(raw: Any, tz: ZoneInfo) -> Any:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=tz)
    if isinstance(raw, str):
        text = re.sub(r"^(\d{4})/(\d{1,2})/(\d{1,2})", lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", raw.strip())
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return raw
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    return raw


def _among(conn: Connection, column: Any, values: list[Any]) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(values)`` with the values as one array parameter (one
    statement for thousands of values, not thousands of parameters)."""
    if conn.dialect.name == "postgresql":
        return column == any_(cast(bindparam(None, values, type_=ARRAY(column.type)), ARRAY(column.type)))
    return column.in_(values)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


__all__ = ["Importer", "Options", "Plan", "Problem", "RowPlan", "relation_key", "column_letter", "names_of"]
