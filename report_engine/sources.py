"""The tables one report query reads: the dataset table, joined related forms, users and departments.

Joins are added as names need them; every join is a LEFT OUTER JOIN, so a record with a blank relation still
counts. Row-level security applies to the dataset form (for a sub-table dataset: to the record owning the rows).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric
from sqlalchemy.sql import FromClause
from sqlalchemy.types import TypeDecorator

from engine.platform import LiveApp
from engine.tables import departments, users
from forms_engine.storage import child_table_name, table_name

from .spec import FieldRef


class Result(TypeDecorator):
    """A computed number (average, percentile, formula) as an exact ``Decimal`` at ``scale`` places.

    On SQLite such values come back as REAL; a stored ``ExactDecimal`` is a scaled integer there, so its average is
    scaled back by ``stored_scale`` places first. Rounding is half away from zero.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 2, stored_scale: int = 0) -> None:
        super().__init__()
        self.scale, self.stored_scale = scale, stored_scale

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if dialect.name == "sqlite" and self.stored_scale:
            number = number.scaleb(-self.stored_scale)
        return number.quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)


class Sources:
    """Builds the FROM clause of one query and hands out columns."""

    def __init__(self, live: LiveApp, form: str, subtable: str | None, flow: Any = None) -> None:
        self.live = live
        self.forms = live.spec.forms
        self.form = form
        self.subtable = subtable
        if flow is not None:  # a flow_history dataset: its rows, limited through the record they belong to
            from .flowdata import rows

            self.forms = {**live.spec.forms, form: flow.spec}
            self.base = rows(live.key, flow, live.tables[table_name(live.key, flow.form)])
            self.owner = self.base
            self.record_id: Any = self.base.c.record
        elif subtable is None:
            self.base = live.tables[table_name(live.key, form)]
            self.owner = self.base
        else:
            self.base = live.tables[child_table_name(live.key, form, subtable)]
            self.owner = live.tables[table_name(live.key, form)].alias("p")
        if flow is None:
            self.record_id = self.owner.c.id  # the records a drill-down lists
        self.from_: FromClause = self.base
        if subtable is not None:
            self.from_ = self.from_.join(self.owner, self.base.c.parent_id == self.owner.c.id)
        self._aliases: dict[tuple[str, ...], Any] = {(): self.base}
        if subtable is not None:
            self._aliases[("parent",)] = self.owner
        self._names: dict[tuple[str, str], Any] = {}

    def table(self, joins: tuple[str, ...], form: str) -> Any:
        """The (aliased) table reached by following ``joins``."""
        if joins in self._aliases:
            return self._aliases[joins]
        parent = self.table(joins[:-1], "")
        target = self._field_at(joins[:-1], joins[-1]).to
        alias = self.live.tables[table_name(self.live.key, target)].alias(f"j{len(self._aliases)}")
        self.from_ = self.from_.outerjoin(alias, parent.c[joins[-1]] == alias.c.id)
        self._aliases[joins] = alias
        return alias

    def _field_at(self, joins: tuple[str, ...], key: str) -> Any:
        if not joins and self.subtable is not None:
            return self.forms[self.form].by_key[self.subtable].sub(key)
        form = self.form
        for part in joins:
            if part != "parent":
                form = self.forms[form].by_key[part].to
        return self.forms[form].by_key[key]

    def column(self, ref: FieldRef) -> ColumnElement[Any]:
        return self.table(ref.joins, ref.form).c[ref.key]  # type: ignore[no-any-return]

    def name_of(self, ref: FieldRef) -> ColumnElement[Any] | None:
        """The shown name of a user, department or related record (its title field), or None."""
        column = self.column(ref)
        key = (ref.path, ref.type)
        if key in self._names:
            return self._names[key]  # type: ignore[no-any-return]
        name: Any = None
        if ref.type == "user":
            alias = users.alias(f"u{len(self._names)}")
            self.from_ = self.from_.outerjoin(alias, column == alias.c.id)
            name = alias.c.display_name
        elif ref.type == "department":
            alias = departments.alias(f"d{len(self._names)}")
            self.from_ = self.from_.outerjoin(alias, column == alias.c.id)
            name = alias.c.name
        elif ref.type == "relation" and ref.target and self.forms[ref.target].title_field:
            alias = self.table(ref.joins + (ref.key,), ref.target)
            name = alias.c[self.forms[ref.target].title_field]
        self._names[key] = name
        return name  # type: ignore[no-any-return]
