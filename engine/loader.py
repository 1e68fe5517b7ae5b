"""Loading an app: files → located documents → schema checks → immutable specs → cross-checks.

Every problem of the whole folder is collected and raised together as ``DefinitionErrors``.
The same code loads a folder on disk and a version snapshot stored in the database.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .appspec import (WEEKDAYS, AppSettings, AppSpec, DepartmentSpec, MenuItem, OrgSpec, RoleSpec, UserSpec)
from .errors import DefinitionError, DefinitionErrors, Problems
from .i18n import Text
from .kinds import KindRegistry
from .metaschema import check_document, suggest
from .source import MAX_FILE_BYTES, Document, DocumentError, parse_text

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")
APP_FILE = "app.yaml"
ORG_FILE = "org.yaml"


def read_app_folder(folder: Path) -> tuple[dict[str, str], list[DefinitionError]]:
    """The definition files of an app folder as ``{relative path: text}``, plus unreadable-file problems."""
    files: dict[str, str] = {}
    errors: list[DefinitionError] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in DEFINITION_SUFFIXES:
            continue
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts):
            continue
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            errors.append(DefinitionError(rel, 1, 1, "", f"file is larger than {MAX_FILE_BYTES // 1000} KB ({size} bytes)",
                                          "split the definition into several files"))
            continue
        raw = path.read_bytes()
        try:
            files[rel] = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            errors.append(DefinitionError(rel, raw[: exc.start].count(b"\n") + 1, 1, "", "file is not valid UTF-8 text"))
    return files, errors


def content_hash(files: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(files[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class _Context:
    problems: Problems
    app_key: str
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, dict[str, Document]] = field(default_factory=dict)
    roles: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    services: dict[str, Any] = field(default_factory=dict)
    settings: AppSettings = field(default_factory=AppSettings)


def load_app(files: Mapping[str, str], kinds: KindRegistry, *, pre_errors: list[DefinitionError] | None = None,
             services: Mapping[str, Any] | None = None) -> AppSpec:
    """Build an ``AppSpec`` from definition texts; raise ``DefinitionErrors`` listing every problem."""
    problems = Problems(list(pre_errors or []))
    docs: dict[str, Document] = {}
    for name, text in sorted(files.items()):
        try:
            docs[name] = parse_text(text, name)
        except DocumentError as exc:
            problems.add(exc.error)

    app_doc = docs.pop(APP_FILE, None)
    if app_doc is None and APP_FILE not in files:
        problems.add(DefinitionError(APP_FILE, 1, 1, "", "missing app.yaml", "every app folder needs an app.yaml with key and label"))
    org_doc = docs.pop(ORG_FILE, None)

    app_data: dict[str, Any] = {}
    if app_doc is not None:
        if _check_mapping(app_doc, problems):
            problems.errors.extend(check_document(app_doc, "app"))
            app_data = app_doc.data
    settings = _app_settings(app_data)
    if app_doc is not None and settings.work_start >= settings.work_end:
        problems.add(app_doc.error(("working_hours", "end"), "working hours must end after they start "
                                   f"({settings.work_start:%H:%M}–{settings.work_end:%H:%M})",
                                   "a working day within one calendar day, such as start: \"09:00\", end: \"18:00\""))
    org = OrgSpec()
    if org_doc is not None and _check_mapping(org_doc, problems):
        schema_errors = check_document(org_doc, "org")
        problems.errors.extend(schema_errors)
        if not schema_errors:
            org = _org_spec(org_doc, problems)

    ctx = _Context(problems=problems, app_key=str(app_data.get("key", "")), roles=org.role_keys,
                   departments=frozenset(d.key for d in org.departments), services=dict(services or {}),
                   settings=settings)
    folders = kinds.folders()
    by_kind: dict[str, list[Document]] = {k.name: [] for k in kinds.ordered()}
    for name, doc in docs.items():
        folder = name.split("/", 1)[0] if "/" in name else ""
        if folder not in folders:
            hint = suggest(folder, folders) if folder else f"put definitions in one of: {', '.join(sorted(folders))}"
            problems.add(DefinitionError(name, 1, 1, "", f"unknown definition folder '{folder or '.'}'", hint))
            continue
        if not _check_mapping(doc, problems):
            continue
        candidates = folders[folder]
        kind = candidates[0]
        if len(candidates) > 1 or "kind" in doc.data:
            names = [k.name for k in candidates]
            declared = doc.data.get("kind", candidates[0].name)
            if declared not in names:
                problems.add(doc.error(("kind",), f"unknown kind {declared!r} in {folder}/", suggest(declared, names) or
                                       f"one of: {', '.join(names)}"))
                continue
            kind = next(k for k in candidates if k.name == declared)
        by_kind[kind.name].append(doc)

    # first every document of every kind is schema-checked and registered, so builders can see each other's
    # raw definitions (a relation to a form defined in a later file); then specs are built kind by kind
    for kind in kinds.ordered():
        ctx.raw[kind.name] = {}
        for doc in by_kind[kind.name]:
            schema_errors = check_document(doc, kind.schema)
            if schema_errors:
                problems.errors.extend(schema_errors)
                continue
            key = doc.data.get("key")
            if key in ctx.raw[kind.name]:
                first = ctx.raw[kind.name][key].file
                problems.add(doc.error(("key",), f"duplicate {kind.name} key '{key}'", f"already defined in {first}"))
                continue
            ctx.raw[kind.name][key] = doc
    for kind in kinds.ordered():
        built: dict[str, Any] = {}
        for key, doc in ctx.raw[kind.name].items():
            spec = kind.build(doc, ctx)
            if spec is not None:
                built[key] = spec
        ctx.specs[kind.name] = built

    frozen_specs = MappingProxyType({k: MappingProxyType(v) for k, v in ctx.specs.items()})
    app = AppSpec(
        key=ctx.app_key,
        label=Text.of(app_data.get("label")),
        description=Text.of(app_data.get("description")),
        settings=settings,
        org=org,
        menu=tuple(_menu(m) for m in app_data.get("menu", [])),
        specs=frozen_specs,
        files=MappingProxyType(dict(files)),
        hash=content_hash(files),
    )
    if app_doc is not None and not problems:
        _check_menu(app, app_doc, problems)
    if not problems:
        for kind in kinds.ordered():
            if kind.cross_check is not None:
                kind.cross_check(app, problems)
    if problems:
        raise DefinitionErrors(problems.errors)
    return app


def load_app_folder(folder: Path, kinds: KindRegistry) -> AppSpec:
    files, errors = read_app_folder(folder)
    return load_app(files, kinds, pre_errors=errors)


def _check_mapping(doc: Document, problems: Problems) -> bool:
    if not isinstance(doc.data, dict):
        problems.add(doc.error((), "a definition file must hold a mapping (key: value pairs) at the top"))
        return False
    return True


def _parse_time(text: str | None, default: time) -> time:
    if not text:
        return default
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _app_settings(data: Mapping[str, Any]) -> AppSettings:
    hours = data.get("working_hours") or {}
    demo = data.get("demo") if isinstance(data.get("demo"), dict) else {}
    days = hours.get("days")
    try:
        holidays = frozenset(date.fromisoformat(d) for d in data.get("holidays", []) if isinstance(d, str))
        extra = frozenset(date.fromisoformat(d) for d in data.get("workdays", []) if isinstance(d, str))
    except ValueError:
        holidays, extra = frozenset(), frozenset()  # the schema check reports the bad date
    try:
        start, end = _parse_time(hours.get("start"), time(9)), _parse_time(hours.get("end"), time(18))
    except ValueError:
        start, end = time(9), time(18)
    return AppSettings(
        timezone=str(data.get("timezone", "Asia/Shanghai")),
        currency=str(data.get("currency", "CNY")),
        locale=str(data.get("locale", "zh-CN")),
        work_start=start,
        work_end=end,
        work_days=frozenset(WEEKDAYS.index(d) for d in days) if days else frozenset(range(5)),
        holidays=holidays,
        extra_workdays=extra,
        demo_rows=tuple((str(r.get("form")), int(r.get("count", 0))) for r in demo.get("rows", []) if isinstance(r, dict)),
        demo_options=tuple({k: r[k] for k in ("where", "values", "each") if isinstance(r.get(k), dict)}
                           for r in demo.get("rows", []) if isinstance(r, dict)),
        demo_days=int(demo.get("days", 365)),
        demo_seed=int(demo.get("seed", 0)),
        demo_flows=tuple(r for r in demo.get("flows", []) if isinstance(r, dict)),
        demo_regions={str(k): float(v) for k, v in (demo.get("regions") or {}).items()
                      if isinstance(v, (int, float))} if isinstance(demo.get("regions"), dict) else {},
    )


def _org_spec(doc: Document, problems: Problems) -> OrgSpec:
    data = doc.data
    roles = tuple(RoleSpec(r["key"], Text.of(r["label"])) for r in data.get("roles", []))
    role_keys = {r.key for r in roles}
    departments = tuple(DepartmentSpec(d["key"], Text.of(d["label"]), d.get("parent"), d.get("manager"))
                        for d in data.get("departments", []))
    dept_keys = [d.key for d in departments]
    users = tuple(UserSpec(u["username"], u["name"], u.get("email"), u.get("department"), tuple(u.get("roles", [])),
                           bool(u.get("admin", False))) for u in data.get("users", []))
    usernames = [u.username for u in users]
    for i, d in enumerate(departments):
        if dept_keys.count(d.key) > 1 and dept_keys.index(d.key) != i:
            problems.add(doc.error(("departments", i, "key"), f"duplicate department key '{d.key}'"))
        if d.parent and d.parent not in dept_keys:
            problems.add(doc.error(("departments", i, "parent"), f"unknown department '{d.parent}'", suggest(d.parent, dept_keys)))
        if d.manager and d.manager not in usernames:
            problems.add(doc.error(("departments", i, "manager"), f"unknown user '{d.manager}'", suggest(d.manager, usernames)))
    for i, u in enumerate(users):
        if usernames.count(u.username) > 1 and usernames.index(u.username) != i:
            problems.add(doc.error(("users", i, "username"), f"duplicate username '{u.username}'"))
        if u.department and u.department not in dept_keys:
            problems.add(doc.error(("users", i, "department"), f"unknown department '{u.department}'", suggest(u.department, dept_keys)))
        for j, role in enumerate(u.roles):
            if role not in role_keys:
                problems.add(doc.error(("users", i, "roles", j), f"unknown role '{role}'", suggest(role, role_keys)))
    _check_department_cycles(doc, departments, problems)
    return OrgSpec(roles=roles, departments=departments, users=users, demo_password=data.get("demo_password"))


def _check_department_cycles(doc: Document, departments: tuple[DepartmentSpec, ...], problems: Problems) -> None:
    parent = {d.key: d.parent for d in departments}
    for i, d in enumerate(departments):
        seen, cur = {d.key}, d.parent
        while cur:
            if cur in seen:
                problems.add(doc.error(("departments", i, "parent"), f"department '{d.key}' is its own ancestor"))
                break
            seen.add(cur)
            cur = parent.get(cur)


def _menu(raw: Mapping[str, Any]) -> MenuItem:
    return MenuItem(label=Text.of(raw.get("label")), icon=raw.get("icon"), form=raw.get("form"),
                    dashboard=raw.get("dashboard"), report=raw.get("report"), page=raw.get("page"),
                    roles=tuple(raw.get("roles", [])), items=tuple(_menu(m) for m in raw.get("items", [])))


def _check_menu(app: AppSpec, doc: Document, problems: Problems) -> None:
    def walk(items: tuple[MenuItem, ...], path: tuple[Any, ...]) -> None:
        for i, item in enumerate(items):
            for attr, kind in (("form", "form"), ("dashboard", "dashboard"), ("report", "report")):
                target = getattr(item, attr)
                known = app.of_kind(kind)
                if target and target not in known:
                    problems.add(doc.error(path + (i, attr), f"unknown {kind} '{target}'", suggest(target, known)))
            for j, role in enumerate(item.roles):
                if role not in app.org.role_keys:
                    problems.add(doc.error(path + (i, "roles", j), f"unknown role '{role}'", suggest(role, app.org.role_keys)))
            walk(item.items, path + (i, "items"))

    walk(app.menu, ("menu",))
    for i, (form, _count) in enumerate(app.settings.demo_rows):
        if form not in app.forms:
            problems.add(doc.error(("demo", "rows", i, "form"), f"unknown form '{form}'", suggest(form, app.forms)))
    flows = app.of_kind("flow")
    for i, run in enumerate(app.settings.demo_flows):
        if run.get("flow") not in flows:
            problems.add(doc.error(("demo", "flows", i, "flow"), f"unknown flow '{run.get('flow')}'",
                                   suggest(str(run.get("flow")), flows)))
