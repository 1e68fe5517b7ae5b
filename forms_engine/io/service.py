"""Import jobs end to end: upload (checked, stored through ``engine.files``), dry run, commit, rejected-rows file."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import insert, update

from engine import files as file_store
from engine.errors import Conflict, Forbidden, LoomworkError, NotFound, PreconditionFailed, ValidationFailed
from engine.permissions import Principal
from engine.platform import LiveApp, Platform

from ..spec import FormSpec
from . import jobs
from .exporter import XlsxWriter, csv_line, neutralise
from .importer import Importer, Options, Plan, relation_key
from .mapping import Column, apply_overrides, importable, propose, sub_sheets
from .reading import LIMITS, Workbook, read_upload

log = logging.getLogger("loomwork.imports")
RUNNABLE = ("uploaded", "checked", "failed")


class RowsRejected(Exception):
    def __init__(self, plan: Plan) -> None:
        super().__init__("rows rejected")
        self.plan = plan


def _records(platform: Platform) -> Any:
    return platform.services["records"]


def require_create(platform: Platform, form: FormSpec, who: Principal) -> None:
    if not _records(platform).grant(form, who).create:
        raise Forbidden(f"you may not create {form.key} records, so you may not import them")


def describe_fields(app: LiveApp, form: FormSpec, locale: str) -> list[dict[str, Any]]:
    out = []
    for f in form.data_fields:
        item = {"key": f.key, "label": f.label.get(locale), "type": f.type, "required": f.required,
                "importable": importable(f), "unique": f.unique}
        if f.type == "relation":
            item["matched_by"] = relation_key(f, app.spec.forms[f.to])
        out.append(item)
    return out


def upload(platform: Platform, app: LiveApp, form: FormSpec, who: Principal, filename: str, data: bytes
           ) -> dict[str, Any]:
    require_create(platform, form, who)
    book = read_upload(filename, data)  # every check before anything is stored
    columns = propose(form, book.main)
    subs, notes = sub_sheets(form, book)
    now = platform.clock.now()
    with platform.db.begin() as conn:
        stored = file_store.save_upload(conn, Path(platform.settings.attachments_dir), filename, data,
                                        allowed=("xlsx", "csv"), max_bytes=LIMITS.max_bytes, user_id=who.id, now=now)
        job_id = conn.execute(insert(jobs.import_jobs).values(
            app=app.key, form=form.key, user_id=who.id or None, file_id=stored.id, filename=stored.name,
            kind=book.kind, status="uploaded", options={"headers": book.main.headers},
            total_rows=len(book.main.rows), processed_rows=0, created_count=0, updated_count=0, skipped_count=0,
            rejected_count=0, created_at=now, updated_at=now)).inserted_primary_key[0]
        row = jobs.load(conn, int(job_id))
    assert row is not None
    return jobs.to_json(row) | {
        "encoding": book.encoding, "columns": [c.to_json() for c in columns],
        "sample": [[_show(v) for v in cells] for _, cells in book.main.rows[:5]],
        "subtables": [s.to_json() for s in subs], "notes": notes,
        "fields": describe_fields(app, form, who.locale)}


def _show(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def job_row(platform: Platform, app: LiveApp, form: FormSpec, job_id: int, who: Principal) -> Mapping[str, Any]:
    with platform.db.connect() as conn:
        row = jobs.load(conn, job_id)
    if row is None or row["app"] != app.key or row["form"] != form.key or (row["user_id"] != (who.id or None)
                                                                            and not who.is_admin):
        raise NotFound(f"no import {job_id} of {form.key}")
    return row


def prepare_run(platform: Platform, app: LiveApp, form: FormSpec, job: Mapping[str, Any], who: Principal,
                body: Any, *, commit: bool) -> Options:
    """Check the options and the mapping against the file's headers before a run is started."""
    require_create(platform, form, who)
    options = Options.parse(body)
    if job["status"] not in RUNNABLE:
        raise Conflict(f"import {job['id']} is {job['status']}; it cannot be run again")
    if options.duplicates == "update" and _records(platform).grant(form, who).update == "none":
        raise Forbidden(f"updating existing records needs the right to update {form.key} records")
    headers = (job["options"] or {}).get("headers", [])
    apply_overrides(form, [Column(i, h, None) for i, h in enumerate(headers)], options.mapping)
    return options


def read_job_file(platform: Platform, job: Mapping[str, Any]) -> Workbook:
    with platform.db.connect() as conn:
        _row, path = file_store.open_file(conn, Path(platform.settings.attachments_dir), job["file_id"])
    return read_upload(job["filename"], path.read_bytes())


def claim(platform: Platform, job_id: int, options: Options, *, commit: bool) -> None:
    """Mark the job as running (checking or importing); a second start of the same job gets 409."""
    now = platform.clock.now()
    with platform.db.begin() as conn:
        if not jobs.claim(conn, job_id, RUNNABLE, "importing" if commit else "checking", now):
            raise Conflict(f"import {job_id} is already running or done")
        current = jobs.load(conn, job_id)
        assert current is not None
        conn.execute(update(jobs.import_jobs).where(jobs.import_jobs.c.id == job_id)
                     .values(options=dict(current["options"] or {}) | {"run": options.to_json()}))
    jobs.set_progress(job_id, "importing" if commit else "checking", 0, 0)


def run(platform: Platform, app: LiveApp, form: FormSpec, job_id: int, who: Principal, options: Options, *,
        commit: bool) -> None:
    """Dry run (``commit=False``) or import of a claimed job. The job row records the outcome."""
    postgres = platform.db.dialect.name == "postgresql"

    def progress(phase: str, done: int, total: int) -> None:
        jobs.set_progress(job_id, phase, done, total)
        if postgres:  # another worker may answer the poll; SQLite's write lock is held by the import itself
            with platform.db.begin() as side:
                side.execute(update(jobs.import_jobs).where(jobs.import_jobs.c.id == job_id)
                             .values(processed_rows=done, total_rows=total))

    try:
        job = job_row(platform, app, form, job_id, who)
        book = read_job_file(platform, job)
        importer = Importer(platform, app, form, who, book, options, progress)
        if not commit:
            with platform.db.connect() as conn:
                plan = importer.check(conn)
            _finish(platform, job_id, "checked", plan, None, message=_summary(plan, dry=True))
            _remember_versions(platform, job_id, plan)
            return
        try:
            with platform.db.begin() as conn:
                plan = importer.check(conn)
                _unchanged_since_dry_run(plan, (job["options"] or {}).get(CHECKED_VERSIONS))
                if options.mode == "all_or_nothing" and plan.count("reject"):
                    raise RowsRejected(plan)
                counts = importer.commit(conn, plan, job_id)
        except RowsRejected as rejected:
            _finish(platform, job_id, "failed", rejected.plan, None,
                    message=f"{rejected.plan.count('reject')} of {len(rejected.plan.rows)} rows have problems; "
                            "nothing was imported (all-or-nothing)")
            return
        _finish(platform, job_id, "done", plan, counts, message=_summary(plan, dry=False))
    except ValidationFailed as exc:
        _fail(platform, job_id, exc.message, [{"row": None, "field": d["field"], "message": d["message"],
                                               "code": d["code"]} for d in exc.details])
    except LoomworkError as exc:
        _fail(platform, job_id, exc.message, [])
    except Exception:
        log.exception("import %s failed", job_id)
        _fail(platform, job_id, "internal error; nothing was imported (the administrator can find it in the log)", [])
        raise
    finally:
        jobs.clear_progress(job_id)


#: job option: the version of every record a dry run planned to update, by record id
CHECKED_VERSIONS = "checked_versions"


def _remember_versions(platform: Platform, job_id: int, plan: Plan) -> None:
    """Keep the versions the dry run showed, so the commit can tell when a record changed in between."""
    seen = {str(r.before["id"]): r.before["row_version"] for r in plan.rows if r.action == "update" and r.before}
    with platform.db.begin() as conn:
        current = jobs.load(conn, job_id)
        assert current is not None
        conn.execute(update(jobs.import_jobs).where(jobs.import_jobs.c.id == job_id)
                     .values(options=dict(current["options"] or {}) | {CHECKED_VERSIONS: seen}))


def _unchanged_since_dry_run(plan: Plan, seen: Mapping[str, int] | None) -> None:
    """An update must not overwrite a change saved after the dry run the user looked at (the bulk path's
    ``If-Match``): such records fail the whole commit, naming their rows; a new dry run shows the current values."""
    if not seen:
        return
    changed = [r.row for r in plan.rows if r.action == "update" and r.before
               and str(r.before["id"]) in seen and seen[str(r.before["id"])] != r.before["row_version"]]
    if changed:
        rows = ", ".join(str(n) for n in changed[:20]) + (" …" if len(changed) > 20 else "")
        raise PreconditionFailed(f"{len(changed)} record(s) to update changed since the dry run (rows {rows}); "
                                 "nothing was imported — run the dry run again to see the current values")


def _summary(plan: Plan, *, dry: bool) -> str:
    verb = "would be" if dry else "were"
    return (f"{plan.count('create')} {verb} created, {plan.count('update')} updated, {plan.count('skip')} skipped as "
            f"duplicates, {plan.count('reject')} rejected")


def _finish(platform: Platform, job_id: int, status: str, plan: Plan, counts: Mapping[str, int] | None, *,
            message: str) -> None:
    problems = [p.to_json() | {"record": r.row} for r in plan.rows for p in r.problems]
    problems += [{"row": None, "record": None, "sheet": "", "column": "", "header": "", "field": "_mapping",
                  "message": note, "code": "note"} for note in plan.notes]
    counts = counts or {"created": plan.count("create"), "updated": plan.count("update"), "skipped": plan.count("skip"),
                        "rejected": plan.count("reject")}
    now = platform.clock.now()
    with platform.db.begin() as conn:
        conn.execute(update(jobs.import_jobs).where(jobs.import_jobs.c.id == job_id).values(
            status=status, processed_rows=len(plan.rows), total_rows=len(plan.rows), problems=problems,
            created_count=counts["created"], updated_count=counts["updated"], skipped_count=counts["skipped"],
            rejected_count=counts["rejected"], message=message, updated_at=now,
            finished_at=now if status in ("done", "failed") else None))


def _fail(platform: Platform, job_id: int, message: str, problems: list[dict[str, Any]]) -> None:
    now = platform.clock.now()
    with platform.db.begin() as conn:
        conn.execute(update(jobs.import_jobs).where(jobs.import_jobs.c.id == job_id).values(
            status="failed", message=message, problems=problems, created_count=0, updated_count=0, updated_at=now,
            finished_at=now))


def rejected_file(platform: Platform, job: Mapping[str, Any], fmt: str, locale: str) -> tuple[Any, str]:
    """The rejected rows of a checked or finished job, as they were in the file, with a column of reasons."""
    problems = [p for p in job["problems"] or [] if p.get("record")]
    if not problems:
        raise NotFound(f"import {job['id']} has no rejected rows")
    book = read_job_file(platform, job)
    reasons: dict[int, list[str]] = {}
    for p in problems:
        where = f"{p['sheet']}!{p['column']}{p['row']}" if p.get("column") else f"row {p['row']}"
        reasons.setdefault(p["record"], []).append(f"{where} {p['header']}: {p['message']}")
    title = "问题" if locale.startswith("zh") else "Problems"
    headers = book.main.headers + [title]
    rows = [cells + ["; ".join(reasons[number])] for number, cells in book.main.rows if number in reasons]
    stem = job["filename"].rsplit(".", 1)[0]
    if fmt == "csv":
        text = "\ufeff" + csv_line([neutralise(h) for h in headers]) + "".join(
            csv_line([neutralise(v) for v in r]) for r in rows)
        return iter([text.encode("utf-8")]), f"{stem}-rejected.csv"
    out = XlsxWriter()
    ws = out.sheet(book.main.name, headers)
    for r in rows:
        out.row(ws, [neutralise(v) for v in r])
    return out.finish(), f"{stem}-rejected.xlsx"
