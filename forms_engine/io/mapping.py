"""Matching spreadsheet columns to form fields: by label in any language or by key, then the user's overrides.

Headers and names are compared after Unicode NFKC folding, case folding and removal of spaces, a trailing ``*`` and
a trailing ``(必填)`` / ``(required)`` marker, so ``" 金额 *"`` matches the label ``金额`` and ``AMOUNT`` the key
``amount``. Sub-tables come from further sheets named after the sub-table (label or key); the first column of such a
sheet refers to the parent row by the value of a main-sheet column with the same header (see docs/import-export.md).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

from engine.errors import FieldProblem, ValidationFailed

from ..spec import FieldSpec, FormSpec
from .reading import Sheet, Workbook, column_letter

_MARKERS = re.compile(r"[(（](必填|required|选填|optional)[)）]$")


def normalise(text: Any) -> str:
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    folded = re.sub(r"\s+", "", folded).rstrip("*＊")
    return _MARKERS.sub("", folded)


def names_of(f: FieldSpec) -> set[str]:
    return {normalise(f.key)} | {normalise(v) for _, v in f.label.values if v}


def importable(f: FieldSpec) -> bool:
    """Whether a column may fill this field (computed, layout, file and sub-table fields may not)."""
    return not (f.ftype.layout_only or f.ftype.computed or f.type == "subtable" or f.ftype.group == "files")


@dataclass
class Column:
    index: int
    header: str
    field: str | None

    @property
    def letter(self) -> str:
        return column_letter(self.index)

    def to_json(self) -> dict[str, Any]:
        return {"column": self.letter, "header": self.header, "field": self.field}


def _match(fields: tuple[FieldSpec, ...], headers: list[str]) -> list[Column]:
    lookup: dict[str, str] = {}
    for f in fields:
        if importable(f):
            for name in names_of(f):
                lookup.setdefault(name, f.key)
    used: set[str] = set()
    out = []
    for i, header in enumerate(headers):
        key = lookup.get(normalise(header)) if header else None
        if key in used:
            key = None  # a second column with the same name is left for the user to map
        if key:
            used.add(key)
        out.append(Column(i, header, key))
    return out


def propose(form: FormSpec, sheet: Sheet) -> list[Column]:
    return _match(form.fields, sheet.headers)


def apply_overrides(form: FormSpec, columns: list[Column], overrides: Mapping[str, Any] | None) -> list[Column]:
    """``{"B": "amount", "备注": null}``: keys are column letters or header texts, values field keys or null."""
    if not overrides:
        return columns
    if not isinstance(overrides, Mapping):
        raise ValidationFailed([FieldProblem("mapping", "expected an object of column → field key", "type")])
    problems: list[FieldProblem] = []
    out = [Column(c.index, c.header, c.field) for c in columns]
    by_letter = {c.letter: c for c in out}
    by_header: dict[str, Column] = {}
    for c in out:
        by_header.setdefault(c.header, c)
    for name, key in overrides.items():
        column = by_letter.get(str(name).upper()) if re.fullmatch(r"[A-Za-z]{1,3}", str(name)) else None
        column = column or by_header.get(str(name))
        if column is None:
            problems.append(FieldProblem(f"mapping.{name}", "no such column in the file", "unknown"))
            continue
        if key in (None, ""):
            column.field = None
            continue
        f = form.by_key.get(str(key))
        if f is None:
            problems.append(FieldProblem(f"mapping.{name}", f"unknown field '{key}'", "unknown"))
        elif not importable(f):
            problems.append(FieldProblem(f"mapping.{name}", f"field '{key}' cannot be imported ({f.type})", "readonly"))
        else:
            column.field = f.key
    seen: dict[str, str] = {}
    for c in out:
        if c.field is None:
            continue
        if c.field in seen:
            problems.append(FieldProblem(f"mapping.{c.letter}", f"field '{c.field}' is already filled from column "
                                                               f"{seen[c.field]}", "duplicate"))
        seen[c.field] = c.letter
    if problems:
        raise ValidationFailed(problems)
    return out


@dataclass
class SubSheet:
    """A sheet holding the rows of one sub-table."""

    sub: FieldSpec
    sheet: Sheet
    parent_column: int  # index in this sheet of the column referring to the parent
    main_column: int  # index in the main sheet of the column it refers to
    columns: list[Column]

    def to_json(self) -> dict[str, Any]:
        return {"sheet": self.sheet.name, "subtable": self.sub.key, "rows": len(self.sheet.rows),
                "parent_column": column_letter(self.parent_column), "parent_header": self.sheet.headers[self.parent_column],
                "columns": [c.to_json() for c in self.columns]}


def sub_sheets(form: FormSpec, book: Workbook) -> tuple[list[SubSheet], list[str]]:
    """The sub-table sheets of a workbook, and notes about sheets that could not be used."""
    found: list[SubSheet] = []
    notes: list[str] = []
    main = book.main
    main_headers = {normalise(h): i for i, h in reversed(list(enumerate(main.headers))) if h}
    for sheet in book.sheets[1:]:
        sub = next((s for s in form.subtables if normalise(sheet.name) in names_of(s)), None)
        if sub is None:
            notes.append(f"sheet '{sheet.name}' is not a sub-table of this form and is ignored")
            continue
        parent = next(((i, main_headers[normalise(h)]) for i, h in enumerate(sheet.headers[:1])
                       if normalise(h) in main_headers), None)
        if parent is None:
            notes.append(f"sheet '{sheet.name}': its first column must repeat a column of the main sheet "
                         f"(e.g. '{main.headers[0]}') to say which row each line belongs to; ignored")
            continue
        columns = _match(sub.fields, sheet.headers)
        columns[parent[0]].field = None
        found.append(SubSheet(sub, sheet, parent[0], parent[1], columns))
    return found, notes
