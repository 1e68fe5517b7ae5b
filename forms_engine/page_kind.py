"""The ``page`` definition kind (folder ``pages/``): the layout of a form's record page.

A page gives sections of the record's fields, lists of related records (records of other forms whose relation
points to this record) and a timeline merging the record's audit trail, its flow events and records of other forms
(follow-ups, say). Every name is checked at load against the forms, with file, line and a "did you mean".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from engine.i18n import Text
from engine.metaschema import suggest
from engine.source import Document

DATE_TYPES = ("date", "datetime")


@dataclass(frozen=True)
class PageSection:
    label: Text
    fields: tuple[str, ...]
    columns: int = 2


@dataclass(frozen=True)
class RelatedList:
    form: str
    field: str
    label: Text
    columns: tuple[str, ...] = ()
    sort: str = "-id"
    limit: int = 20


@dataclass(frozen=True)
class TimelineSource:
    form: str
    field: str
    label: Text
    date: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Timeline:
    audit: bool = True
    flows: bool = True
    limit: int = 100
    events: tuple[TimelineSource, ...] = ()


@dataclass(frozen=True)
class PageSpec:
    key: str
    form: str
    label: Text
    sections: tuple[PageSection, ...]
    related: tuple[RelatedList, ...]
    timeline: Timeline
    file: str = ""


def _fields(doc: Document | None) -> dict[str, Mapping[str, Any]]:
    if doc is None:
        return {}
    return {f["key"]: f for f in doc.data.get("fields", []) if isinstance(f, Mapping) and "key" in f}


SYSTEM = ("id", "created_at", "updated_at", "created_by", "owner_id", "department_id")


def build_page(doc: Document, ctx: Any) -> PageSpec | None:
    data = doc.data
    forms: Mapping[str, Document] = ctx.raw.get("form", {})
    before = len(ctx.problems.errors)

    def error(path: tuple[Any, ...], message: str, hint: str | None = None) -> None:
        ctx.problems.add(doc.error(path, message, hint))

    form_key = data["form"]
    if form_key not in forms:
        error(("form",), f"unknown form '{form_key}'", suggest(form_key, forms))
        return None
    own = _fields(forms[form_key])

    def check_field(fields: Mapping[str, Any], key: str, path: tuple[Any, ...], form: str) -> bool:
        if key in fields or key in SYSTEM:
            return True
        error(path, f"form '{form}' has no field '{key}'", suggest(key, fields))
        return False

    sections = []
    for i, raw in enumerate(data.get("sections", [])):
        for j, key in enumerate(raw["fields"]):
            check_field(own, key, ("sections", i, "fields", j), form_key)
        sections.append(PageSection(Text.of(raw.get("label")), tuple(raw["fields"]), int(raw.get("columns", 2))))

    def check_pointer(raw: Mapping[str, Any], path: tuple[Any, ...]) -> dict[str, Mapping[str, Any]] | None:
        other = raw["form"]
        if other not in forms:
            error(path + ("form",), f"unknown form '{other}'", suggest(other, forms))
            return None
        fields = _fields(forms[other])
        pointer = fields.get(raw["field"])
        if pointer is None:
            relations = [k for k, f in fields.items() if f.get("type") == "relation"]
            error(path + ("field",), f"form '{other}' has no field '{raw['field']}'", suggest(raw["field"], relations))
            return None
        if pointer.get("type") != "relation" or pointer.get("to") != form_key:
            error(path + ("field",), f"'{other}.{raw['field']}' is not a relation to '{form_key}'",
                  "name a relation field of that form whose 'to' is this page's form")
            return None
        return dict(fields)

    related = []
    for i, raw in enumerate(data.get("related", [])):
        fields = check_pointer(raw, ("related", i))
        if fields is None:
            continue
        for j, key in enumerate(raw.get("columns", [])):
            check_field(fields, key, ("related", i, "columns", j), raw["form"])
        sort = raw.get("sort", "-id")
        check_field(fields, sort.lstrip("-"), ("related", i, "sort"), raw["form"])
        label = Text.of(raw.get("label")) if raw.get("label") else Text.of(forms[raw["form"]].data.get("label"))
        related.append(RelatedList(raw["form"], raw["field"], label, tuple(raw.get("columns", [])), sort,
                                   int(raw.get("limit", 20))))

    raw_timeline = data.get("timeline", {})
    events = []
    for i, raw in enumerate(raw_timeline.get("events", [])):
        fields = check_pointer(raw, ("timeline", "events", i))
        if fields is None:
            continue
        date = raw.get("date")
        if date and check_field(fields, date, ("timeline", "events", i, "date"), raw["form"]) and date not in SYSTEM:
            if fields[date].get("type") not in DATE_TYPES:
                error(("timeline", "events", i, "date"), f"'{raw['form']}.{date}' is not a date or datetime field")
        if raw.get("text"):
            check_field(fields, raw["text"], ("timeline", "events", i, "text"), raw["form"])
        label = Text.of(raw.get("label")) if raw.get("label") else Text.of(forms[raw["form"]].data.get("label"))
        events.append(TimelineSource(raw["form"], raw["field"], label, date, raw.get("text")))
    timeline = Timeline(audit=bool(raw_timeline.get("audit", True)), flows=bool(raw_timeline.get("flows", True)),
                        limit=int(raw_timeline.get("limit", 100)), events=tuple(events))
    if len(ctx.problems.errors) > before:
        return None
    return PageSpec(key=data["key"], form=form_key, label=Text.of(data.get("label")), sections=tuple(sections),
                    related=tuple(related), timeline=timeline, file=doc.file)
