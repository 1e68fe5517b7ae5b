"""The record service: create, read, list, update and delete records of any form, with rights, audit and versions.

Every write is one transaction together with its audit entry and the record events other engines react to.
A record outside the caller's scope answers exactly as a missing one (404). Updates carry the record's
``row_version``; a stale one gets 412 and changes nothing.
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import Connection, Table, and_, delete, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from engine import audit
from engine import files as file_store
from engine.errors import BadRequest, FieldProblem, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from engine.identity import department_exists, user_exists
from engine.permissions import Grant, Principal, effective, in_scope, scope_filter
from engine.platform import LiveApp, Platform

from . import validate
from .serials import next_serial
from .spec import FieldSpec, FormSpec
from .storage import child_table_name, table_name

log = logging.getLogger("loomwork")
#: the largest number of records a list page may skip (far past any real list; keeps OFFSET inside 64 bits)
MAX_OFFSET = 10**12

SYSTEM_FIELDS = ("id", "row_version", "def_version", "created_at", "updated_at", "created_by", "owner_id",
                 "department_id")


@dataclass(frozen=True)
class RecordEvent:
    """A change to a record, handed to other engines inside the same transaction."""

    platform: Platform
    app: LiveApp
    form: FormSpec
    action: str  # created | updated | deleted
    record_id: int
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    who: Principal
    depth: int = 0


def make_env(platform: Platform, app: LiveApp, who: Principal | None) -> Any:
    import rules_engine

    s = app.spec.settings
    return rules_engine.Env(clock=platform.clock.now, timezone=s.timezone, user=who.to_json() if who else None,
                            holidays=s.holidays, workdays=s.work_days, extra_workdays=s.extra_workdays)


class Records:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    # -- lookup helpers ------------------------------------------------------------------------------------------

    def form(self, app: LiveApp, key: str) -> FormSpec:
        form = app.spec.forms.get(key)
        if form is None:
            raise NotFound(f"app '{app.key}' has no form '{key}'")
        return form

    def table(self, app: LiveApp, form: FormSpec) -> Table:
        return app.tables[table_name(app.key, form.key)]

    def child(self, app: LiveApp, form: FormSpec, sub: FieldSpec) -> Table:
        return app.tables[child_table_name(app.key, form.key, sub.key)]

    def grant(self, form: FormSpec, who: Principal) -> Grant:
        return effective(form.permissions, who)

    # -- reading -------------------------------------------------------------------------------------------------

    def _row(self, conn: Connection, app: LiveApp, form: FormSpec, record_id: int, *, lock: bool = False) -> Mapping[str, Any] | None:
        query = self._statements(self.table(app, form))[1 if lock and conn.dialect.name == "postgresql" else 0]
        return conn.execute(query, {"record_id": record_id}).mappings().first()

    def _statements(self, table: Table) -> tuple[Any, Any, Any]:
        """Prebuilt statements per table (select by id, the same for update, insert), so executing one costs no
        statement building or cache-key generation."""
        cache = self.__dict__.setdefault("_statement_cache", {})
        found = cache.get(table)
        if found is None:
            from sqlalchemy import bindparam

            by_id = select(table).where(table.c.id == bindparam("record_id"))
            found = cache[table] = (by_id, by_id.with_for_update(), insert(table))
        return found

    def _visible_row(self, conn: Connection, app: LiveApp, form: FormSpec, record_id: int, who: Principal,
                     action: str, *, lock: bool = False) -> Mapping[str, Any]:
        grant = self.grant(form, who)
        row = self._row(conn, app, form, record_id, lock=lock)
        if row is None or not in_scope(grant.read, row, who):
            if row is not None:
                log.warning("refused: user %s may not read %s.%s record %s (answered as not found)",
                            who.username, app.key, form.key, record_id)
            raise NotFound(f"no {form.key} record {record_id}")
        if action != "read" and not in_scope(getattr(grant, action), row, who):
            raise Forbidden(f"you may not {action} this {form.key} record")
        return row

    def _rows_of(self, conn: Connection, app: LiveApp, form: FormSpec, sub: FieldSpec, parent_ids: list[int]
                 ) -> dict[int, list[dict[str, Any]]]:
        table = self.child(app, form, sub)
        out: dict[int, list[dict[str, Any]]] = {i: [] for i in parent_ids}
        if not parent_ids:
            return out
        query = select(table).where(table.c.parent_id.in_(parent_ids)).order_by(table.c.parent_id, table.c.row_index)
        for row in conn.execute(query).mappings():
            out[row["parent_id"]].append({f.key: row[f.key] for f in sub.fields if f.stored} | {"id": row["id"]})
        return out

    def values_of(self, conn: Connection, app: LiveApp, form: FormSpec, row: Mapping[str, Any]) -> dict[str, Any]:
        """A stored row as Python values: system fields, fields and sub-table rows."""
        values = {k: row[k] for k in SYSTEM_FIELDS}
        for f in form.stored_fields:
            values[f.key] = row[f.key]
        for sub in form.subtables:
            values[sub.key] = self._rows_of(conn, app, form, sub, [row["id"]])[row["id"]]
        self._describe_files(conn, form, [values])
        return values

    def _describe_files(self, conn: Connection, form: FormSpec, records: list[dict[str, Any]]) -> None:
        """Replace stored file references by their descriptions (name, kind, size) in one query."""
        fields = [f for f in form.fields if f.ftype.group == "files"]
        if not fields:
            return
        ids = [v["id"] for r in records for f in fields for v in r.get(f.key) or []]
        found = file_store.describe(conn, ids)
        for r in records:
            for f in fields:
                r[f.key] = [{"id": v["id"], "name": found[v["id"]]["display_name"], "kind": found[v["id"]]["kind"],
                             "size": found[v["id"]]["size"]} for v in r.get(f.key) or [] if v["id"] in found]

    def hidden(self, form: FormSpec, who: Principal | None) -> frozenset[str]:
        """The fields ``who`` sees only masked (and may not filter, sort or search by)."""
        if who is None or not form.masked or self.grant(form, who).unmask:
            return frozenset()
        return form.masked

    def to_json(self, form: FormSpec, values: Mapping[str, Any], who: Principal | None = None) -> dict[str, Any]:
        """A record as JSON; with ``who``, fields they may not see in full come masked."""
        out: dict[str, Any] = {k: audit.jsonable(values.get(k)) for k in SYSTEM_FIELDS if k in values}
        for f in form.data_fields:
            if f.type == "subtable":
                out[f.key] = [{"id": r.get("id"), **{s.key: _json(s, r.get(s.key)) for s in f.fields if s.stored}}
                              for r in values.get(f.key, [])]
            elif f.stored:
                out[f.key] = _json(f, values.get(f.key))
        for key in self.hidden(form, who):
            if key in out:
                out[key] = mask_value(out[key])
        return out

    def get(self, conn: Connection, app: LiveApp, form_key: str, record_id: int, who: Principal, *,
            log_read: bool = False) -> dict[str, Any]:
        """One record as ``who`` may see it. ``log_read`` (a person viewing the record) writes a ``view`` entry to
        the audit trail when the form has ``audit_reads: true``; the caller's transaction must commit it."""
        form = self.form(app, form_key)
        row = self._visible_row(conn, app, form, record_id, who, "read")
        if log_read and form.audit_reads:
            audit.record(conn, at=self.platform.clock.now(), user_id=who.id, app=app.key, form=form.key,
                         record_id=record_id, action="view", def_version=app.version,
                         extra={"masked": sorted(self.hidden(form, who))} if form.masked else None)
        return self.to_json(form, self.values_of(conn, app, form, row), who)

    def list(self, conn: Connection, app: LiveApp, form_key: str, who: Principal, *, filters: Mapping[str, str] | None = None,
             sort: str | None = None, search: str | None = None, page: int = 1, size: int = 50) -> dict[str, Any]:
        from .query import build_list_query

        form = self.form(app, form_key)
        grant = self.grant(form, who)
        if grant.read == "none":
            raise Forbidden(f"you may not read {form.key} records")
        if (page - 1) * size > MAX_OFFSET:
            raise BadRequest(f"page {page} is past any list (at most {MAX_OFFSET} records are skipped)")
        table = self.table(app, form)
        where, order = build_list_query(form, table, filters or {}, sort, search, hidden=self.hidden(form, who))
        where.append(scope_filter(grant.read, table, who))
        cond = and_(*where)
        total = conn.execute(select(func.count()).select_from(table).where(cond)).scalar_one()
        rows = conn.execute(select(table).where(cond).order_by(*order).limit(size).offset((page - 1) * size)).mappings().all()
        ids = [r["id"] for r in rows]
        children = {sub.key: self._rows_of(conn, app, form, sub, ids) for sub in form.subtables}
        loaded = []
        for r in rows:
            values = {k: r[k] for k in SYSTEM_FIELDS} | {f.key: r[f.key] for f in form.stored_fields}
            for sub in form.subtables:
                values[sub.key] = children[sub.key][r["id"]]
            loaded.append(values)
        self._describe_files(conn, form, loaded)
        items = [self.to_json(form, values, who) for values in loaded]
        return {"items": items, "total": total, "page": page, "size": size}

    # -- writing -------------------------------------------------------------------------------------------------

    def create(self, conn: Connection, app: LiveApp, form_key: str, body: Any, who: Principal, *, depth: int = 0
               ) -> dict[str, Any]:
        form = self.form(app, form_key)
        if not self.grant(form, who).create:
            raise Forbidden(f"you may not create {form.key} records")
        values, problems = validate.coerce_submission(form, body, creating=True)
        problems += validate.readonly_problems(form, values, None)
        validate.raise_if(problems)
        record_id = self._save(conn, app, form, values, who, before=None, depth=depth)
        return self.get_unchecked(conn, app, form, record_id, who)

    def create_as_system(self, conn: Connection, app: LiveApp, form_key: str, values: Mapping[str, Any],
                         who: Principal, *, depth: int = 0, audit_extra: Mapping[str, Any] | None = None) -> int:
        """Create a record for an automation: values are still type-checked and validated, rights are not asked.
        ``audit_extra`` is kept with the audit entry (e.g. which automation wrote it)."""
        form = self.form(app, form_key)
        coerced, problems = validate.coerce_submission(form, values, creating=True)
        validate.raise_if(problems)
        return self._save(conn, app, form, coerced, who, before=None, depth=depth, audit_extra=audit_extra)

    def load(self, conn: Connection, app: LiveApp, form_key: str, record_id: int, *,
             relations: frozenset[str] | set[str] = frozenset()) -> dict[str, Any] | None:
        """A record's values as Python values, without rights (for automations), or None when it is gone.
        Single relations named in ``relations`` come as the related record's values (for ``customer.rating``)."""
        form = self.form(app, form_key)
        row = self._row(conn, app, form, record_id)
        if row is None:
            return None
        values = self.values_of(conn, app, form, row)
        if relations:
            values.update(self._related(conn, app, form, values, wanted=set(relations)))
        return values

    def find(self, conn: Connection, app: LiveApp, form_key: str, match: Mapping[str, Any], *,
             ranges: Mapping[str, tuple[Any, Any]] | None = None, limit: int = 1000) -> list[int]:
        """Ids of the records whose fields equal ``match`` (None matches a blank) and lie within ``ranges``
        (field → (low, high), both included), oldest first, without rights (for automations)."""
        form = self.form(app, form_key)
        table = self.table(app, form)
        cond = [table.c[k] == v if v is not None else table.c[k].is_(None) for k, v in match.items()]
        for key, (low, high) in (ranges or {}).items():
            cond.append(table.c[key].between(low, high))
        query = select(table.c.id).where(and_(true(), *cond)).order_by(table.c.id).limit(limit)
        return [int(r[0]) for r in conn.execute(query)]

    def find_values(self, conn: Connection, app: LiveApp, form_key: str, field: str, *,
                    ranges: Mapping[str, tuple[Any, Any]] | None = None, limit: int = 1000) -> list[tuple[int, Any]]:
        """(id, value of ``field``) of the records within ``ranges``, oldest first, without rights."""
        form = self.form(app, form_key)
        table = self.table(app, form)
        cond = [table.c[key].between(low, high) for key, (low, high) in (ranges or {}).items()]
        query = select(table.c.id, table.c[field]).where(and_(true(), *cond)).order_by(table.c.id).limit(limit)
        return [(int(r[0]), r[1]) for r in conn.execute(query)]

    def get_unchecked(self, conn: Connection, app: LiveApp, form: FormSpec, record_id: int,
                      who: Principal | None = None) -> dict[str, Any]:
        row = self._row(conn, app, form, record_id)
        assert row is not None
        return self.to_json(form, self.values_of(conn, app, form, row), who)

    def update(self, conn: Connection, app: LiveApp, form_key: str, record_id: int, body: Any, who: Principal,
               *, if_match: int | None, depth: int = 0, check_rights: bool = True,
               audit_extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        form = self.form(app, form_key)
        if check_rights:
            row = self._visible_row(conn, app, form, record_id, who, "update", lock=True)
        else:
            row = self._row(conn, app, form, record_id, lock=True)
            if row is None:
                raise NotFound(f"no {form.key} record {record_id}")
        if if_match is not None and row["row_version"] != if_match:
            raise PreconditionFailed(f"record {record_id} was changed by someone else (now version "
                                     f"{row['row_version']}, yours {if_match}); reload and try again")
        submitted, problems = validate.coerce_submission(form, body, creating=False)
        before = self.values_of(conn, app, form, row)
        if check_rights:  # a client; flows (their node's field rights) and automations may set read-only fields
            problems += validate.readonly_problems(form, submitted, before)
        validate.raise_if(problems)
        values = {k: v for k, v in before.items() if k not in SYSTEM_FIELDS}
        values.update(submitted)
        self._save(conn, app, form, values, who, before=before, depth=depth, expected_version=row["row_version"],
                   audit_extra=audit_extra)
        return self.get_unchecked(conn, app, form, record_id, who if check_rights else None)

    def delete(self, conn: Connection, app: LiveApp, form_key: str, record_id: int, who: Principal, *,
               if_match: int | None) -> None:
        form = self.form(app, form_key)
        row = self._visible_row(conn, app, form, record_id, who, "delete", lock=True)
        if if_match is not None and row["row_version"] != if_match:
            raise PreconditionFailed(f"record {record_id} was changed by someone else; reload and try again")
        before = self.values_of(conn, app, form, row)
        table = self.table(app, form)
        done = conn.execute(delete(table).where(table.c.id == record_id, table.c.row_version == row["row_version"]))
        if done.rowcount != 1:
            raise PreconditionFailed(f"record {record_id} was changed by someone else; reload and try again")
        now = self.platform.clock.now()
        audit.record(conn, at=now, user_id=who.id, app=app.key, form=form.key, record_id=record_id, action="delete",
                     def_version=app.version, changes=audit.diff(_auditable(form, before), None))
        self._refresh_rollups(conn, app, form, before, None, who, 0)
        self._emit(conn, RecordEvent(self.platform, app, form, "deleted", record_id, before, None, who))

    # -- the save pipeline ---------------------------------------------------------------------------------------

    def _save(self, conn: Connection, app: LiveApp, form: FormSpec, values: dict[str, Any], who: Principal, *,
              before: Mapping[str, Any] | None, depth: int, expected_version: int | None = None,
              audit_extra: Mapping[str, Any] | None = None) -> int:
        env = make_env(self.platform, app, who) if form.uses_expressions else None
        for f in self._own_related_rollups(form):
            values[f.key] = self._rollup_value(conn, app, f, before["id"]) if before else (
                0 if f.extra["agg"] == "count" else None)
        related = self._related(conn, app, form, values)
        self._lookups(form, values, related)  # first: formulas and validation rules may read looked-up values
        problems = validate.complete(form, values, env, creating=before is None, before=before, related=related)
        problems += self._check_references(conn, app, form, values, who, before["id"] if before else None)
        validate.raise_if(problems)
        now = self.platform.clock.now()
        table = self.table(app, form)
        stored = {f.key: values.get(f.key) for f in form.stored_fields}
        for f in form.fields:
            if f.ftype.group == "files" and stored.get(f.key):
                stored[f.key] = [{"id": v["id"]} for v in stored[f.key]]
        # a savepoint lets a unique-constraint failure be reported by field; forms without unique fields skip it
        guard = conn.begin_nested() if any(f.unique for f in form.fields) else nullcontext()
        try:
            with guard:
                if before is None:
                    for f in form.fields:
                        if f.type == "serial_number":
                            stored[f.key] = next_serial(conn, app.key, form.key, f, now, app.spec.settings.timezone)
                    record_id = conn.execute(self._statements(table)[2], {
                        **stored, "row_version": 1, "def_version": app.version, "created_at": now, "updated_at": now,
                        "created_by": who.id or None, "owner_id": owner_of(form, stored, who.id or None),
                        "department_id": who.department_id,
                    }).inserted_primary_key[0]
                else:
                    record_id = before["id"]
                    owner = {"owner_id": owner_of(form, stored, before["created_by"])} if form.owner_field else {}
                    done = conn.execute(update(table).where(table.c.id == record_id,
                                                            table.c.row_version == expected_version)
                                        .values(**stored, **owner, row_version=table.c.row_version + 1, updated_at=now,
                                                def_version=app.version))
                    if done.rowcount != 1:
                        raise PreconditionFailed(f"record {record_id} was changed by someone else; reload and try again")
                self._save_rows(conn, app, form, record_id, values, replace=before is not None)
                file_ids = [v["id"] for f in form.fields if f.ftype.group == "files" for v in values.get(f.key) or []]
                file_store.attach(conn, file_ids, app.key, form.key, int(record_id))
        except IntegrityError as exc:
            raise ValidationFailed(self._unique_problems(conn, app, form, values, before)) from exc
        after = dict(values) | {"id": record_id}
        audit.record(conn, at=now, user_id=who.id, app=app.key, form=form.key, record_id=record_id,
                     action="create" if before is None else "update", def_version=app.version,
                     changes=audit.diff(_auditable(form, before), _auditable(form, after)),
                     extra=dict(audit_extra) if audit_extra else None)
        self._refresh_rollups(conn, app, form, before, after, who, depth)
        if before is not None:
            self._refresh_followers(conn, app, form, before, after, who, depth)
        self._emit(conn, RecordEvent(self.platform, app, form, "created" if before is None else "updated",
                                     int(record_id), before, after, who, depth))
        return int(record_id)

    def _save_rows(self, conn: Connection, app: LiveApp, form: FormSpec, record_id: int, values: Mapping[str, Any],
                   *, replace: bool) -> None:
        for sub in form.subtables:
            table = self.child(app, form, sub)
            if replace:
                conn.execute(delete(table).where(table.c.parent_id == record_id))
            rows = values.get(sub.key) or []
            if rows:
                conn.execute(insert(table), [
                    {"parent_id": record_id, "row_index": i, **{s.key: r.get(s.key) for s in sub.fields if s.stored}}
                    for i, r in enumerate(rows)])

    def _related(self, conn: Connection, app: LiveApp, form: FormSpec, values: Mapping[str, Any],
                 wanted: set[str] | None = None, cache: dict[tuple[str, int], Any] | None = None) -> dict[str, Any]:
        """Related records read by expressions or lookups (or the relations in ``wanted``, dotted paths allowed),
        loaded once per save; ``a.b.c`` paths load the records along the way (``customer`` and its ``team``)."""
        cache = {} if cache is None else cache
        paths: Mapping[str, Any] = form.related_paths
        if wanted is not None:
            tree: dict[str, Any] = {}
            for name in wanted:
                node = tree
                for part in name.split("."):
                    node = node.setdefault(part, {})
            paths = tree
        out: dict[str, Any] = {}
        for key, deeper in paths.items():
            f = form.by_key.get(key)
            if f is None or f.type != "relation" or f.many:
                continue
            out[key] = self._load_related(conn, app, f, values.get(key), deeper, cache)
        return out

    def _load_related(self, conn: Connection, app: LiveApp, f: FieldSpec, target_id: Any, deeper: Mapping[str, Any],
                      cache: dict[tuple[str, int], Any]) -> dict[str, Any] | None:
        target = app.spec.forms.get(f.to or "")
        if target_id is None or target is None:
            return None
        found = cache.get((target.key, target_id), cache)
        if found is cache:
            row = self._row(conn, app, target, target_id)
            found = cache[(target.key, target_id)] = None if row is None else (
                {k: row[k] for k in SYSTEM_FIELDS} | {t.key: row[t.key] for t in target.stored_fields})
        if found is None or not deeper:
            return found
        record = dict(found)
        for key, more in deeper.items():
            sub = target.by_key.get(key)
            if sub is not None and sub.type == "relation" and not sub.many:
                record[key] = self._load_related(conn, app, sub, record.get(key), more, cache)
        return record

    def _lookups(self, form: FormSpec, values: dict[str, Any], related: Mapping[str, Any]) -> None:
        for f in form.fields:
            if f.type == "lookup":
                source = related.get(f.extra["relation"])
                value = None if source is None else source.get(f.extra["field"])
                values[f.key] = value.get("id") if isinstance(value, Mapping) else value

    def _check_files(self, conn: Connection, app: LiveApp, form: FormSpec, f: FieldSpec, value: list[dict[str, Any]],
                     record_id: int | None, who: Principal) -> list[FieldProblem]:
        from .fields.files import kinds_of

        found = file_store.describe(conn, [v["id"] for v in value])
        accepted = kinds_of(f)
        for item in value:
            row = found.get(item["id"])
            mine = row is not None and row["record_id"] is None and row["uploaded_by"] == (who.id or None)
            here = row is not None and (row["app"], row["form"], row["record_id"]) == (app.key, form.key, record_id)
            if not (mine or here):
                return [FieldProblem(f.key, f"no uploaded file {item['id']}", "reference")]
            if row["kind"] not in accepted:
                return [FieldProblem(f.key, f"{row['display_name']}: only {', '.join(accepted)} files", "file_type")]
        return []

    def _check_references(self, conn: Connection, app: LiveApp, form: FormSpec, values: Mapping[str, Any],
                          who: Principal, record_id: int | None) -> list[FieldProblem]:
        problems: list[FieldProblem] = []
        for f in form.fields:
            value = values.get(f.key)
            if value and f.ftype.group == "files":
                problems += self._check_files(conn, app, form, f, value, record_id, who)
                continue
            if value is None or f.type not in ("relation", "user", "department"):
                continue
            for item in value if f.many else [value]:
                if f.type == "user":
                    ok = user_exists(conn, item)
                elif f.type == "department":
                    ok = department_exists(conn, item)
                else:
                    target = app.spec.forms[f.to]
                    ok = self._row(conn, app, target, item) is not None
                if not ok:
                    problems.append(FieldProblem(f.key, f"no {f.to or f.type} with id {item}", "reference"))
        return problems

    def _unique_problems(self, conn: Connection, app: LiveApp, form: FormSpec, values: Mapping[str, Any],
                         before: Mapping[str, Any] | None) -> list[FieldProblem]:
        table = self.table(app, form)
        problems = []
        for f in form.fields:
            if f.unique and values.get(f.key) is not None:
                query = select(table.c.id).where(table.c[f.key] == values[f.key])
                if before is not None:
                    query = query.where(table.c.id != before["id"])
                if conn.execute(query).first() is not None:
                    problems.append(FieldProblem(f.key, "this value is already used by another record", "unique"))
        return problems or [FieldProblem("_form", "the record conflicts with another record", "conflict")]

    # -- rollups over related records ----------------------------------------------------------------------------

    @staticmethod
    def _own_related_rollups(form: FormSpec) -> list[FieldSpec]:
        return [f for f in form.fields if f.type == "rollup" and "over_form" in f.extra]

    def _rollups_over(self, app: LiveApp, form_key: str) -> list[tuple[FormSpec, FieldSpec]]:
        """The rollups of other forms that aggregate records of ``form_key``."""
        cache = self.__dict__.setdefault("_rollup_index", {})
        key = (app.key, app.version)
        if key not in cache:
            index: dict[str, list[tuple[FormSpec, FieldSpec]]] = {}
            for spec in app.spec.forms.values():
                for f in self._own_related_rollups(spec):
                    index.setdefault(f.extra["over_form"], []).append((spec, f))
            cache[key] = index
        return cache[key].get(form_key, [])

    def _rollup_value(self, conn: Connection, app: LiveApp, f: FieldSpec, record_id: int) -> Any:
        child = self.form(app, f.extra["over_form"])
        table = self.table(app, child)
        where, column = f.extra.get("where_expr"), f.extra.get("field")
        names = {column} if column else set()
        if where is not None:
            names |= {n for n in where.reads if n in table.c}
        query = select(*(table.c[n] for n in sorted(names))) if names else select(table.c.id)
        rows = [dict(r) for r in conn.execute(query.where(table.c[f.extra["over_relation"]] == record_id)).mappings()]
        if where is not None:
            env = make_env(self.platform, app, None)
            rows = [r for r in rows if where.try_evaluate(r, env)[0] is True]
        agg = f.extra["agg"]
        if agg == "count":
            return len(rows)
        items = [r[column] for r in rows if r.get(column) is not None]
        if not items:
            return None
        return {"sum": sum, "min": min, "max": max}.get(agg, lambda xs: sum(xs) / len(xs))(items)

    def _refresh_rollups(self, conn: Connection, app: LiveApp, form: FormSpec, before: Mapping[str, Any] | None,
                         after: Mapping[str, Any] | None, who: Principal, depth: int) -> None:
        """A related record changed: recompute the rollups that count it, and the formulas that read them."""
        targets: dict[tuple[str, int], FormSpec] = {}
        for parent, f in self._rollups_over(app, form.key):
            for values in (before, after):
                parent_id = (values or {}).get(f.extra["over_relation"])
                if parent_id is not None:
                    targets[(parent.key, int(parent_id))] = parent
        if depth >= 8 and targets:
            raise ValidationFailed([FieldProblem("_form", "rollups refer to each other too deeply", "depth")])
        for (_, parent_id), parent in sorted(targets.items(), key=lambda t: t[0]):
            self._recalculate(conn, app, parent, parent_id, who, depth + 1)

    def _followers(self, app: LiveApp, form_key: str) -> list[tuple[FormSpec, str, frozenset[str]]]:
        """The forms whose ``follow`` lookups read records of ``form_key``: (form, relation field, fields read)."""
        cache = self.__dict__.setdefault("_follow_index", {})
        key = (app.key, app.version)
        if key not in cache:
            reads: dict[tuple[str, str, str], set[str]] = {}  # (target form, form, relation) → target fields
            for spec in app.spec.forms.values():
                for f in spec.fields:
                    rel = spec.by_key.get(f.extra.get("relation") or "") if f.type == "lookup" else None
                    if rel is not None and f.extra.get("follow") and rel.to:
                        reads.setdefault((rel.to, spec.key, rel.key), set()).add(f.extra["field"])
            index: dict[str, list[tuple[FormSpec, str, frozenset[str]]]] = {}
            for (target, spec_key, relation), fields in sorted(reads.items()):
                index.setdefault(target, []).append((app.spec.forms[spec_key], relation, frozenset(fields)))
            cache[key] = index
        return cache[key].get(form_key, [])

    def _refresh_followers(self, conn: Connection, app: LiveApp, form: FormSpec, before: Mapping[str, Any],
                           after: Mapping[str, Any], who: Principal, depth: int) -> None:
        """A record changed a field that ``follow`` lookups of other records read: recalculate those records."""
        for spec, relation, fields in self._followers(app, form.key):
            if all(before.get(k) == after.get(k) for k in fields):
                continue
            table = self.table(app, spec)
            ids = list(conn.execute(select(table.c.id).where(table.c[relation] == before["id"])
                                    .order_by(table.c.id)).scalars())
            if ids and depth >= 8:
                raise ValidationFailed([FieldProblem("_form", "lookups follow each other too deeply", "depth")])
            for record_id in ids:
                self._recalculate(conn, app, spec, record_id, who, depth + 1)

    def recalculate_many(self, conn: Connection, app: LiveApp, form: FormSpec, record_ids: list[int],
                         who: Principal, *, chunk: int = 1000) -> int:
        """``_recalculate(..., cascade=False)`` for many records at once (a bulk refresh in dependency order): the
        rows, their rollups and the related records they read are loaded in a few statements per chunk, and the
        changed values written with one statement per set of changed columns. Returns how many records changed."""
        from sqlalchemy import bindparam

        table = self.table(app, form)
        rollups = self._own_related_rollups(form)
        env = make_env(self.platform, app, who) if form.uses_expressions else None
        related_cache: dict[tuple[str, int], Any] = {}
        changed_count = 0
        for start in range(0, len(record_ids), chunk):
            ids = sorted(record_ids[start:start + chunk])
            rows = conn.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.id)).mappings().all()
            records = [{k: row[k] for k in SYSTEM_FIELDS} | {f.key: row[f.key] for f in form.stored_fields}
                       for row in rows]
            for sub in form.subtables:
                by_parent = self._rows_of(conn, app, form, sub, ids)
                for r in records:
                    r[sub.key] = by_parent[r["id"]]
            self._describe_files(conn, form, records)
            counted = {f.key: self._rollup_values(conn, app, f, ids) for f in rollups}
            writes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for before in records:
                values = {k: v for k, v in before.items() if k not in SYSTEM_FIELDS}
                for f in rollups:
                    values[f.key] = counted[f.key].get(before["id"], 0 if f.extra["agg"] == "count" else None)
                related = self._related(conn, app, form, values, cache=related_cache)
                self._lookups(form, values, related)
                validate.complete(form, values, env, creating=False, before=before, related=related)
                changed = {f.key: values.get(f.key) for f in form.stored_fields
                           if f.type in ("formula", "rollup", "lookup") and values.get(f.key) != before.get(f.key)}
                if not changed:
                    continue
                if form.owner_field is not None and form.owner_field in changed:
                    changed["owner_id"] = owner_of(form, values, before.get("created_by"))
                writes.setdefault(tuple(sorted(changed)), []).append({"b_id": before["id"], **changed})
                changed_count += 1
            for keys, items in writes.items():
                statement = update(table).where(table.c.id == bindparam("b_id")).values(
                    {k: bindparam(k) for k in keys})
                conn.execute(statement, items)
        return changed_count

    def _rollup_values(self, conn: Connection, app: LiveApp, f: FieldSpec, record_ids: list[int]) -> dict[int, Any]:
        """``_rollup_value`` for many records: one statement reads the related records of all of them."""
        child = self.form(app, f.extra["over_form"])
        table = self.table(app, child)
        relation = f.extra["over_relation"]
        where, column = f.extra.get("where_expr"), f.extra.get("field")
        names = {column} if column else set()
        if where is not None:
            names |= {n for n in where.reads if n in table.c}
        query = select(table.c[relation].label("_parent"), *(table.c[n] for n in sorted(names)))
        grouped: dict[int, list[dict[str, Any]]] = {}
        for r in conn.execute(query.where(table.c[relation].in_(record_ids))).mappings():
            grouped.setdefault(r["_parent"], []).append(dict(r))
        env = make_env(self.platform, app, None) if where is not None else None
        agg = f.extra["agg"]
        out: dict[int, Any] = {}
        for parent, rows in grouped.items():
            if where is not None:
                rows = [r for r in rows if where.try_evaluate(r, env)[0] is True]
            if agg == "count":
                out[parent] = len(rows)
                continue
            items = [r[column] for r in rows if r.get(column) is not None]
            out[parent] = ({"sum": sum, "min": min, "max": max}.get(agg, lambda xs: sum(xs) / len(xs))(items)
                           if items else None)
        return out

    def _recalculate(self, conn: Connection, app: LiveApp, form: FormSpec, record_id: int, who: Principal,
                     depth: int, *, cascade: bool = True) -> None:
        """Recompute a record's related rollups and what reads them. ``cascade=False`` (a bulk refresh in
        dependency order) writes the new values only: no audit entry, no event, no refresh of further rollups."""
        row = self._row(conn, app, form, record_id, lock=True)
        if row is None:
            return
        before = self.values_of(conn, app, form, row)
        values = {k: v for k, v in before.items() if k not in SYSTEM_FIELDS}
        for f in self._own_related_rollups(form):
            values[f.key] = self._rollup_value(conn, app, f, record_id)
        env = make_env(self.platform, app, who) if form.uses_expressions else None
        related = self._related(conn, app, form, values)
        self._lookups(form, values, related)
        validate.complete(form, values, env, creating=False, before=before, related=related)  # derived values only
        changed = {f.key: values.get(f.key) for f in form.stored_fields
                   if f.type in ("formula", "rollup", "lookup") and values.get(f.key) != before.get(f.key)}
        if not changed:
            return
        table = self.table(app, form)
        now = self.platform.clock.now()
        owner = ({"owner_id": owner_of(form, values, before.get("created_by"))}
                 if form.owner_field is not None and form.owner_field in changed else {})
        if not cascade:
            conn.execute(update(table).where(table.c.id == record_id).values(**changed, **owner))
            return
        conn.execute(update(table).where(table.c.id == record_id)
                     .values(**changed, **owner, row_version=table.c.row_version + 1, updated_at=now))
        after = dict(before) | changed
        audit.record(conn, at=now, user_id=who.id, app=app.key, form=form.key, record_id=record_id,
                     action="recalculate", def_version=app.version,
                     changes=audit.diff(_auditable(form, before), _auditable(form, after)))
        self._refresh_rollups(conn, app, form, before, after, who, depth)
        self._emit(conn, RecordEvent(self.platform, app, form, "updated", record_id, before, after, who, depth))

    def _emit(self, conn: Connection, event: RecordEvent) -> None:
        for handler in self.platform.hooks.record_events:
            handler(conn, event)

    def history(self, conn: Connection, app: LiveApp, form_key: str, record_id: int, who: Principal) -> list[dict[str, Any]]:
        form = self.form(app, form_key)
        grant = self.grant(form, who)
        row = self._row(conn, app, form, record_id)
        if row is None:
            # a deleted record keeps its history for those who may read the form at all scope
            if grant.read != "all":
                raise NotFound(f"no {form.key} record {record_id}")
        elif not in_scope(grant.read, row, who):
            raise NotFound(f"no {form.key} record {record_id}")
        entries = audit.history(conn, app.key, form.key, record_id)
        if not entries:
            raise NotFound(f"no {form.key} record {record_id}")
        hidden = self.hidden(form, who)
        for entry in entries if hidden else ():
            for key in hidden & set(entry["changes"]):
                entry["changes"][key] = [mask_value(v) for v in entry["changes"][key]]
        return entries


def owner_of(form: FormSpec, values: Mapping[str, Any], creator: int | None) -> int | None:
    """The record's owner (``owner_id``): the user its ``owner_field`` names, else whoever created it."""
    if form.owner_field is not None and values.get(form.owner_field) is not None:
        return int(values[form.owner_field])
    return creator


def mask_value(value: Any) -> Any:
    """``110101199003078515`` → ``110***********8515``: the first 3 and last 4 characters of a long value, only
    the last 2 of a shorter one; anything that is not text is withheld (None)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return None
    if len(value) >= 11:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if len(value) >= 5:
        return "*" * (len(value) - 2) + value[-2:]
    return "*" * len(value)


def _json(f: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    return f.ftype.to_json(value, f)


def _auditable(form: FormSpec, values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {f.key: values.get(f.key) for f in form.data_fields if f.stored or f.type == "subtable"}


__all__ = ["Records", "RecordEvent", "make_env", "mask_value", "owner_of", "SYSTEM_FIELDS"]
