"""What the generated pages show, computed on the server: layout groups, display texts, and draft evaluation.

``evaluate_draft`` is the one implementation of conditions and formulas the browser uses: the page posts the values
being typed and gets back what the server's compiled expressions say (computed values, visible/required/readonly
flags, problems), so the browser and the server cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from engine.errors import FieldProblem, ValidationFailed
from engine.i18n import Text
from engine.permissions import Principal, effective
from engine.platform import LiveApp
from engine.tables import departments, users

from . import validate
from .records import Records, make_env
from .spec import FieldSpec, FormSpec

# -- layout -----------------------------------------------------------------------------------------------------


@dataclass
class Group:
    """The fields under one section (or before the first one)."""

    key: str
    label: Text
    help: Text = Text(())
    columns: int = 1
    tab: bool = False
    step: bool = False
    collapsed: bool = False
    visible_if: bool = False
    fields: list[FieldSpec] = field(default_factory=list)


@dataclass
class Layout:
    head: list[Group]
    groups: list[Group]
    mode: str  # plain | tabs | steps


def layout(form: FormSpec) -> Layout:
    groups: list[Group] = [Group(key="_top", label=Text(()))]
    for f in form.fields:
        if f.type == "section":
            groups.append(Group(key=f.key, label=f.label, help=f.help, columns=int(f.extra.get("columns", 1) or 1),
                                tab=bool(f.extra.get("tab")), step=bool(f.extra.get("step")),
                                collapsed=bool(f.extra.get("collapsed")), visible_if=f.visible_if is not None))
        else:
            groups[-1].fields.append(f)
    mode = "steps" if any(g.step for g in groups) else "tabs" if any(g.tab for g in groups) else "plain"
    top = groups[0]
    rest = [g for g in groups[1:]]
    if mode == "plain":
        return Layout(head=[], groups=([top] if top.fields else []) + rest, mode=mode)
    return Layout(head=[top] if top.fields else [], groups=rest, mode=mode)


def list_columns(form: FormSpec) -> list[FieldSpec]:
    if form.list_columns:
        return [form.by_key[k] for k in form.list_columns]
    shown = [f for f in form.fields if f.stored and f.type not in ("subtable", "rich_text", "textarea", "signature",
                                                                   "image", "attachment", "location", "address")]
    if form.title_field:
        shown.sort(key=lambda f: f.key != form.title_field)
    return shown[:6]


#: what the list page filters by, most telling first: choices and switches (a select formula counts as a choice),
#: people, relations and places, dates, then amounts and numbers
_FILTER_ORDER = {kind: rank for rank, kinds in enumerate((
    ("select", "radio", "boolean", "formula_select"), ("user", "department", "relation", "region", "serial_number"),
    ("date", "datetime"), ("money", "percent", "number", "integer", "rating"))) for kind in kinds}


def filter_kind(f: FieldSpec) -> str:
    """The kind of filter a field gets: its type, or ``formula_select`` for a formula giving one of its options."""
    return "formula_select" if f.type == "formula" and f.extra.get("result") == "select" else f.type


def filterable(form: FormSpec) -> list[FieldSpec]:
    """Fields the list page offers filters for (at most eight, most telling first, in form order within a kind):
    choices, switches, people, relations, places, dates and amounts."""
    found = [f for f in form.fields if f.stored and filter_kind(f) in _FILTER_ORDER
             and not (f.many and f.type != "relation")]
    return sorted(found, key=lambda f: _FILTER_ORDER[filter_kind(f)])[:8]


# -- display ----------------------------------------------------------------------------------------------------


@dataclass
class Refs:
    """Names of everything records point at (users, departments, related records), loaded in a few queries."""

    users: dict[int, str] = field(default_factory=dict)
    departments: dict[int, str] = field(default_factory=dict)
    records: dict[tuple[str, int], str] = field(default_factory=dict)
    #: related records the viewer may read (their titles link to them; the others show as ``#id``, unlinked)
    readable: set[tuple[str, int]] = field(default_factory=set)


def title_of(form: FormSpec, record: Mapping[str, Any]) -> str:
    if form.title_field and record.get(form.title_field) not in (None, ""):
        return str(record[form.title_field])
    return f"#{record.get('id')}"


def load_refs(conn: Connection, records: Records, app: LiveApp, form: FormSpec, items: list[Mapping[str, Any]],
              who: Principal) -> Refs:
    refs = Refs()
    user_ids: set[int] = set()
    dept_ids: set[int] = set()
    wanted: dict[str, set[int]] = {}

    def collect(fields: tuple[FieldSpec, ...], rows: list[Mapping[str, Any]]) -> None:
        for f in fields:
            for r in rows:
                value = r.get(f.key)
                if f.type == "subtable":
                    collect(f.fields, list(value or []))
                    continue
                if value is None:
                    continue
                ids = value if isinstance(value, list) else [value]
                g = f.extra.get("target_field") if f.type == "lookup" else f  # a lookup names what it looks up
                kind = getattr(g, "type", None)
                if kind == "user":
                    user_ids.update(ids)
                elif kind == "department":
                    dept_ids.update(ids)
                elif kind == "relation" and g.to:
                    wanted.setdefault(g.to, set()).update(ids)

    collect(form.fields, list(items))
    for r in items:
        for key in ("owner_id", "created_by"):
            if r.get(key):
                user_ids.add(r[key])
    if user_ids:
        refs.users = {row.id: row.display_name for row in conn.execute(
            select(users.c.id, users.c.display_name).where(users.c.id.in_(sorted(user_ids))))}
    if dept_ids:
        refs.departments = {row.id: row.name for row in conn.execute(
            select(departments.c.id, departments.c.name).where(departments.c.id.in_(sorted(dept_ids))))}
    for target_key, ids in wanted.items():
        target = app.spec.forms.get(target_key)
        if target is None:
            continue
        table = records.table(app, target)
        grant = effective(target.permissions, who)
        from engine.permissions import in_scope

        cols = [table.c.id, table.c.owner_id, table.c.department_id]
        if target.title_field and target.by_key[target.title_field].stored:
            cols.append(table.c[target.title_field])
        for row in conn.execute(select(*cols).where(table.c.id.in_(sorted(ids)))).mappings():
            readable = in_scope(grant.read, row, who)
            refs.records[(target_key, row["id"])] = title_of(target, row) if readable else f"#{row['id']}"
            if readable:
                refs.readable.add((target_key, row["id"]))
    return refs


def region_names(code: str | None) -> str:
    if not code:
        return ""
    from .validators import regions

    try:
        return " / ".join(r.name for r in regions.path(code))
    except Exception:  # noqa: BLE001 - an unknown code shows as itself
        return str(code)


def display(f: FieldSpec, value: Any, lang: str, refs: Refs, tz: str = "Asia/Shanghai") -> str:
    """A field's JSON value as the text a person reads (files, rich text and sub-tables are shown by templates)."""
    if value is None or value == "" or value == []:
        return ""
    kind = f.type
    if kind == "formula":
        kind = str(f.extra.get("result", "number"))
    if kind == "lookup" and f.extra.get("target_field") is not None:
        return display(f.extra["target_field"], value, lang, refs, tz)
    if kind in ("select", "radio"):
        return next((o.label.get(lang) for o in f.options if o.value == str(value)), str(value))
    if kind in ("multi_select", "checkboxes"):
        labels = {o.value: o.label.get(lang) for o in f.options}
        return "、".join(labels.get(str(v), str(v)) for v in value)
    if kind == "boolean":
        return ("是" if value else "否") if lang.startswith("zh") else ("Yes" if value else "No")
    if kind == "percent":
        return _percent(value)
    if kind == "money":
        return _money(value, f.currency)
    if kind == "datetime":
        return _local(value, tz)
    if kind == "user":
        return "、".join(refs.users.get(v, f"#{v}") for v in (value if isinstance(value, list) else [value]))
    if kind == "department":
        return "、".join(refs.departments.get(v, f"#{v}") for v in (value if isinstance(value, list) else [value]))
    if kind == "relation":
        return "、".join(refs.records.get((f.to or "", v), f"#{v}") for v in (value if isinstance(value, list) else [value]))
    if kind == "region":
        return region_names(value)
    if kind == "address":
        return (region_names(value.get("region")) + " " + str(value.get("detail") or "")).strip()
    if kind == "location":
        return f"{value.get('lat')}, {value.get('lng')}"
    if kind == "rating":
        return "★" * int(value) + "☆" * max(int(f.max or 5) - int(value), 0)
    if kind == "duration":
        return _duration(int(value))
    if isinstance(value, (list, dict)):
        return str(value)
    return str(value)


def _percent(value: Any) -> str:
    return format((Decimal(str(value)) * 100).normalize(), "f") + "%"


def _money(value: Any, currency: str | None) -> str:
    number = Decimal(str(value))
    return f"{number:,.2f}" + (f" {currency}" if currency else "")


def _local(value: str, tz: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def display_when(value: str, tz: str) -> str:
    """An ISO date or datetime for a timeline: dates as they are, moments in the app's time zone."""
    return _local(value, tz) if "T" in str(value) else str(value)


def local_input(value: str | None, tz: str) -> str:
    """An ISO datetime as the value of an ``<input type=datetime-local>`` in the app's time zone."""
    return _local(value, tz).replace(" ", "T") if value else ""


def tz_offset(tz: str, now: datetime) -> str:
    """The app time zone's UTC offset now, as ``+08:00`` (the pages add it to the local times typed in)."""
    offset = now.astimezone(ZoneInfo(tz)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _duration(seconds: int) -> str:
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0s"


def duration_input(value: Any) -> str:
    return "" if value in (None, "") else _duration(int(value))


# -- people and departments for pickers -------------------------------------------------------------------------


def people(conn: Connection) -> list[dict[str, Any]]:
    return [{"id": r.id, "name": r.display_name} for r in conn.execute(
        select(users.c.id, users.c.display_name).where(users.c.is_active.is_(True)).order_by(users.c.display_name))]


def department_list(conn: Connection) -> list[dict[str, Any]]:
    return [{"id": r.id, "name": r.name} for r in conn.execute(select(departments.c.id, departments.c.name)
                                                               .order_by(departments.c.name))]


# -- draft evaluation -------------------------------------------------------------------------------------------

#: messages in Chinese for the codes the record service gives without a Chinese text
ZH_CODES = {
    "required": "必填", "readonly": "此字段现在为只读，不能修改", "unique": "该值已被其他记录使用",
    "unknown": "未知字段", "type": "格式不正确", "format": "格式不正确", "min": "小于允许的最小值", "max": "超过允许的最大值",
    "min_length": "长度不足", "max_length": "内容过长", "pattern": "格式不符合要求", "enum": "请选择列表中的选项",
    "reference": "引用的记录不存在", "min_rows": "行数不足", "max_rows": "行数过多", "file_type": "文件类型不允许",
    "max_files": "文件数量过多", "protected": "由系统设置，不能填写", "scale": "小数位数过多", "conflict": "与其他记录冲突",
}


def localize(problem: FieldProblem, lang: str, form: FormSpec, draft: Mapping[str, Any]) -> dict[str, str]:
    """A problem in the user's language: Chinese checks carry their own text; generic codes use ``ZH_CODES``."""
    out = problem.to_dict()
    if not lang.startswith("zh"):
        return out
    zh = _coerce_message_zh(problem, form, draft)
    if zh:
        out["message"] = zh
    elif problem.code in ZH_CODES:
        plain = problem.code in ("required", "unique", "readonly", "protected")
        out["message"] = ZH_CODES[problem.code] + ("" if plain else f"（{problem.message}）")
    return out


def _coerce_message_zh(problem: FieldProblem, form: FormSpec, draft: Mapping[str, Any]) -> str | None:
    from .fields import InvalidField

    path = problem.field
    if "[" in path:
        sub_key, rest = path.split("[", 1)
        index, _, key = rest.partition("].")
        sub = form.by_key.get(sub_key)
        rows = draft.get(sub_key) or []
        if sub is None or not index.isdigit() or int(index) >= len(rows) or not isinstance(rows[int(index)], Mapping):
            return None
        f, raw = sub.sub(key), rows[int(index)].get(key)
    else:
        f, raw = form.by_key.get(path), draft.get(path)
    if f is None or raw is None or f.ftype.is_blank(raw):
        return None
    try:
        f.ftype.coerce(raw, f)
    except InvalidField as exc:
        if exc.message_zh != exc.message:
            return str(exc.message_zh)
    except Exception:  # noqa: BLE001
        return None
    return None


def _writable(form: FormSpec, draft: Mapping[str, Any]) -> dict[str, Any]:
    """The draft without computed, layout and unknown keys (the page sends what its widgets hold)."""
    out: dict[str, Any] = {}
    for key, value in draft.items():
        f = form.by_key.get(key)
        if f is None or f.ftype.layout_only or f.ftype.computed or f.readonly:
            continue
        if f.type == "subtable" and isinstance(value, list):
            value = [{k: v for k, v in row.items() if (s := f.sub(k)) is not None and not s.ftype.computed
                      and not s.ftype.layout_only} if isinstance(row, Mapping) else row for row in value]
        out[key] = value
    return out


def evaluate_draft(conn: Connection, records: Records, app: LiveApp, form: FormSpec, draft: Any, who: Principal,
                   *, record_id: int | None, lang: str, full: bool = False, check_read: bool = True
                   ) -> dict[str, Any]:
    """Run the server's own save pipeline on a draft without saving: computed values, flags and problems.

    ``check_read=False`` is for callers that checked access to the record themselves (a flow task's assignee
    works on the record under the node's field rights, whatever their rights on the form)."""
    if not isinstance(draft, Mapping):
        raise ValidationFailed([FieldProblem("values", "expected an object of field values", "type")])
    before = None
    if record_id is not None:
        row = (records._visible_row(conn, app, form, record_id, who, "read") if check_read
               else records._row(conn, app, form, record_id))
        if row is None:
            from engine.errors import NotFound

            raise NotFound(f"no {form.key} record {record_id}")
        before = records.values_of(conn, app, form, row)
    writable = _writable(form, draft)
    try:
        submitted, problems = validate.coerce_submission(form, writable, creating=before is None)
    except ValidationFailed as exc:
        submitted, problems = {}, list(exc.problems)
    values: dict[str, Any] = {}
    if before is not None:
        values = {k: v for k, v in before.items() if k not in ("id", "row_version", "def_version", "created_at",
                                                              "updated_at", "created_by", "owner_id", "department_id")}
    values.update(submitted)
    env = make_env(records.platform, app, who)
    related = records._related(conn, app, form, values)
    records._lookups(form, values, related)
    problems += validate.complete(form, values, env, creating=before is None, before=before, related=related)
    scope = validate._ExprValues(values, related)
    before_scope = validate._ExprValues(dict(before), {}) if before is not None else None
    flags: dict[str, dict[str, bool]] = {}
    rows: dict[str, list[dict[str, dict[str, bool]]]] = {}
    for f in form.fields:
        flags[f.key] = _flags(f, scope, before_scope, env)
        if f.type == "subtable":
            rows[f.key] = [{s.key: _flags(s, validate._ExprValues(r, {}, parent=scope), None, env) for s in f.fields}
                           for r in values.get(f.key) or []]
    computed = records.to_json(form, values)
    extra = {"record": computed} if full else {}
    tz = app.spec.settings.timezone
    shown: dict[str, Any] = {}
    for f in form.fields:
        if f.ftype.computed:
            shown[f.key] = display(f, computed.get(f.key), lang, Refs(), tz)
        elif f.type == "subtable" and any(s.ftype.computed for s in f.fields):
            shown[f.key] = [{s.key: display(s, r.get(s.key), lang, Refs(), tz) for s in f.fields if s.ftype.computed}
                            for r in computed.get(f.key) or []]
    return extra | {
        "display": shown,
        "values": {k: v for k, v in computed.items() if k in form.by_key and (form.by_key[k].ftype.computed
                                                                             or form.by_key[k].type == "subtable")},
        "fields": flags,
        "rows": rows,
        "errors": [localize(p, lang, form, writable) for p in problems],
    }


def _flags(f: FieldSpec, scope: Any, before_scope: Any, env: Any) -> dict[str, bool]:
    visible = True
    if f.visible_if is not None:
        shown, error = validate._eval(f.visible_if, scope, env)
        visible = error is None and bool(shown)
    required = f.required
    if f.required_if is not None:
        needed, error = validate._eval(f.required_if, scope, env)
        required = required or (error is None and bool(needed))
    readonly = f.readonly or f.ftype.computed
    if f.readonly_if is not None and before_scope is not None:
        locked, error = validate._eval(f.readonly_if, before_scope, env)
        readonly = readonly or (error is None and bool(locked))
    return {"visible": visible, "required": required and visible, "readonly": readonly}


def safe_html(value: Any) -> Any:
    """Rich text as markup: stored values were sanitised on save; they are sanitised again here before display."""
    from markupsafe import Markup

    from .validators import richtext

    return Markup(richtext.sanitise_html(str(value))) if value else ""


def relation_items(f: FieldSpec, value: Any, refs: Refs) -> list[dict[str, Any]]:
    """The chosen records of a relation picker, with their titles."""
    if value in (None, "", []):
        return []
    ids = value if isinstance(value, list) else [value]
    return [{"id": i, "title": refs.records.get((f.to or "", i), f"#{i}")} for i in ids]
