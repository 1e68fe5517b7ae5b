"""A report spec plus checked run parameters → one SQLAlchemy Core SELECT.

Shapes of the statement (one statement each time):

* plain: ``SELECT dims, aggregates FROM dataset [JOIN …] WHERE filters AND rls GROUP BY dims ORDER BY … LIMIT n``;
* ``compare``: the WHERE keeps both windows and each aggregate is conditional (``SUM(CASE WHEN in-window …)``),
  so current and previous values come from the same scan;
* ``running_total``: the grouped query as a subquery, ``SUM(m) OVER (ORDER BY dims)`` outside;
* ``others``: the grouped query ranked with ``ROW_NUMBER()``, regrouped outside so rows past the top N fold into
  one row (count/sum/min/max re-aggregate; formulas are computed after the fold);
* ``totals``: the grouped rows ``UNION ALL`` one grand-total row.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import (BigInteger, ColumnElement, Float, Numeric, Select, String, and_, case, cast, false, func, literal, literal_column,
                        or_, select, type_coerce, union_all)
from sqlalchemy.sql.elements import True_

from engine.errors import BadRequest
from engine.permissions import Principal, scope_filter

from . import dates, exprsql
from .dataset import Dataset
from .sources import Result, Sources
from .spec import Dimension, FieldRef, Filter, Measure, ReportSpec, SortKey

OTHER = "__others__"
#: decimal places of a comparison's relative change (a fraction: 0.1234 is +12.34 %)
CHANGE_SCALE = 4
#: Region levels, coarsest first, and how many leading digits of a GB/T 2260 code each keeps.
REGION_LEVELS = ("province", "city", "district")
_PREFIX = {"province": 2, "city": 4, "district": 6}


def region_level(code: str) -> str:
    """The level of a six-digit division code (``530000`` province, ``530100`` city, ``530102`` district)."""
    return "province" if code.endswith("0000") else "city" if code.endswith("00") else "district"


def zoomed(d: Dimension, label: str) -> Dimension:
    """A dimension seen after a zoom into one of its values: a date bucket in the next finer bucket; a region
    (province or city code) in the next finer level (a province's cities, a city's districts)."""
    if d.bucket:
        return replace(d, bucket=dates.FINER[d.bucket])
    finer = REGION_LEVELS.index(region_level(label)) + 1
    return replace(d, level=REGION_LEVELS[max(finer, REGION_LEVELS.index(d.level or "district"))])


def zoom_condition(d: Dimension, label: str) -> "Condition":
    """The narrowing of a zoom into ``label`` of ``d`` (a bucket's dates, a region's subdivisions)."""
    if d.bucket:
        return Condition(d.ref, window=dates.bucket_window(d.bucket, label))
    return Condition(d.ref, (label,), dimension=replace(d, level=region_level(label)))


@dataclass(frozen=True)
class Condition:
    """A client-chosen narrowing: ``ref`` in ``values`` (or within a window, for dates)."""

    ref: FieldRef
    values: tuple[Any, ...] = ()
    window: dates.Window | None = None
    dimension: Dimension | None = None  # values are labels of this dimension (bucket, bin, province)
    between: bool = False  # values are (low, high), either None for open


@dataclass(frozen=True)
class Params:
    """Checked run parameters (see ``params.py``)."""

    conditions: tuple[Condition, ...] = ()
    sort: tuple[SortKey, ...] | None = None
    limit: int | None = None
    zoom: tuple[str, str] | None = None  # (dimension key, bucket label): narrow and use the finer bucket


@dataclass
class RunContext:
    who: Principal
    read_scope: str
    dialect: str
    zone: ZoneInfo
    today: date
    offset: int


@dataclass
class Column:
    key: str
    role: str  # dimension | label | measure | previous | flag
    source: Dimension | Measure | None = None


@dataclass
class Compiled:
    statement: Select[Any]
    columns: list[Column] = field(default_factory=list)
    dimensions: tuple[Dimension, ...] = ()


class Compiler:
    """Compiles one report for one caller."""

    def __init__(self, report: ReportSpec, sources: Sources, ctx: RunContext) -> None:
        self.report, self.src, self.ctx = report, sources, ctx
        self.dataset = Dataset(sources.forms, report.form, report.subtable)

    # -- filters --------------------------------------------------------------------------------------------

    def where(self, params: Params, *, windowed: bool) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = [scope_filter(self.ctx.read_scope, self.src.owner, self.ctx.who)]
        for f in self.report.filters:
            if windowed and f.kind == "range" and f.ref == self.report.period:
                continue  # replaced by both comparison windows
            out.append(self.filter(f))
        for c in params.conditions:
            out.append(self.condition(c))
        return out

    def filter(self, f: Filter) -> ColumnElement[bool]:
        if f.kind == "expr":
            who = self.ctx.who
            sql = exprsql.SqlContext(
                column=lambda path: self.src.column(self.dataset.resolve(path)),
                temporal=lambda path: (lambda r: r.type if r.temporal else None)(self.dataset.resolve(path)),
                user={"id": who.id, "username": who.username, "department": who.department_id}, today=self.ctx.today)
            return exprsql.to_sql(f.node, sql)
        assert f.ref is not None
        column = self.src.column(f.ref)
        if f.kind == "range":
            return self.within(f.ref, column, dates.window(str(f.value), self.ctx.today))
        if f.kind == "current":
            who = self.ctx.who
            if f.value == "user":
                return column == who.id
            if f.value == "department":
                return column == who.department_id if who.department_id is not None else false()
            return column.in_(sorted(who.department_tree)) if who.department_tree else false()
        return _op(column, f.op, f.value)

    def within(self, ref: FieldRef, column: Any, window: dates.Window) -> ColumnElement[bool]:
        start, end = dates.bounds(window, ref.type, self.ctx.zone)
        return and_(column >= start, column < end)

    def condition(self, c: Condition) -> ColumnElement[bool]:
        column = self.src.column(c.ref)
        if c.window is not None:
            return self.within(c.ref, column, c.window)
        if c.between:
            low, high = c.values
            parts = [column >= low] if low is not None else []
            parts += [column <= high] if high is not None else []
            return and_(*parts) if parts else column.is_not(None)
        d = c.dimension
        if d is not None and d.bins:
            index = self.bin_index(d, column)
            return index.in_([int(v) for v in c.values])
        if d is not None and d.level in ("province", "city"):
            n = _PREFIX[d.level]
            prefixes = sorted({str(v)[:n] for v in c.values})
            return func.substr(column, 1, n).in_(prefixes)
        parts = []
        values = [v for v in c.values if v is not None]
        if values:
            parts.append(column.in_(values))
        if len(values) < len(c.values):
            parts.append(column.is_(None))
        return or_(*parts) if len(parts) > 1 else parts[0] if parts else false()

    # -- dimensions -----------------------------------------------------------------------------------------

    def bin_index(self, d: Dimension, column: Any) -> ColumnElement[int]:
        edges = [self._number_literal(d.ref, e) for e in d.bins]
        return case(*[(column < edge, literal_column(str(i))) for i, edge in enumerate(edges)],
                    else_=literal_column(str(len(edges))))

    def _number_literal(self, ref: FieldRef, value: Decimal) -> Any:
        if self.ctx.dialect == "sqlite" and ref.scale:
            return literal_column(str(int(value.scaleb(ref.scale))))
        return literal_column(str(value))

    def dimension(self, d: Dimension, bucket: str | None) -> tuple[Any, Any]:
        """(value expression, shown-name expression or None)."""
        column = self.src.column(d.ref)
        if bucket:
            return dates.bucket(column, bucket, d.ref.type, self.ctx.dialect, self.ctx.zone, self.ctx.offset), None
        if d.bins:
            return self.bin_index(d, column), None
        if d.level in ("province", "city"):
            n = _PREFIX[d.level]
            return func.substr(column, 1, n).concat(literal_column("'" + "0" * (6 - n) + "'")), None
        if d.level == "district":
            return column, None
        return column, self.src.name_of(d.ref)

    def group_key(self, d: Dimension, value: Any) -> Any:
        """What the query groups ``d`` by: its value, or for a date bucket on PostgreSQL the truncated time its
        label is formatted from (one ``to_char`` per group, not per row)."""
        if d.bucket and self.ctx.dialect == "postgresql":
            return dates.bucket_key(self.src.column(d.ref), d.bucket, d.ref.type, self.ctx.dialect, self.ctx.zone,
                                    self.ctx.offset)
        return value

    # -- measures -------------------------------------------------------------------------------------------

    def aggregate(self, m: Measure, when: ColumnElement[bool] | None = None) -> Any:
        assert m.agg is not None
        column: Any = self.src.column(m.ref) if m.ref is not None else None
        if m.filter is not None:
            only = self.filter(m.filter)
            when = only if when is None else and_(when, only)
        if when is not None:
            column = case((when, column if column is not None else literal_column("1")))
        if m.agg == "count":
            return func.count(column) if column is not None else func.count()
        if m.agg == "count_distinct":
            return func.count(column.distinct())
        stored = m.ref.scale if m.ref is not None and self.ctx.dialect == "sqlite" else 0
        if m.agg in ("sum", "min", "max"):
            value = getattr(func, m.agg)(column)
            return cast(value, BigInteger) if m.agg == "sum" and _whole(m) else value
        if m.agg == "avg":
            return func.avg(column, type_=Result(m.scale, stored))
        if self.ctx.dialect != "postgresql":
            raise BadRequest(f"measure '{m.key}': percentiles need PostgreSQL; this database is {self.ctx.dialect}")
        return _typed(func.percentile_cont(literal_column(str(m.percentile))).within_group(column), Result(m.scale))

    def numeric(self, m: Measure, value: Any) -> Any:
        """A measure's value as a plain number for formulas (scaled SQLite integers scaled back, no integer
        division)."""
        if self.ctx.dialect == "sqlite":
            stored = m.ref.scale if m.ref is not None and m.agg in ("sum", "min", "max", "avg") else 0
            real = cast(value, Float)
            return real / literal_column(str(10 ** stored)) if stored else real
        return cast(value, Numeric)

    def formula(self, m: Measure, values: dict[str, Any]) -> Any:
        expr = exprsql.formula_sql(m.expr, lambda key: self.numeric(self.report.measure(key), values[key]))
        return _typed(expr, Result(m.scale))

    # -- statement ------------------------------------------------------------------------------------------

    def compile(self, params: Params) -> Compiled:
        report = self.report
        shown = {d.key: d for d in report.dimensions}
        conditions = list(params.conditions)
        if params.zoom is not None:
            key, label = params.zoom
            d = report.dimension(key)
            assert d is not None and (d.bucket or d.level)
            conditions.append(zoom_condition(d, label))
            shown[key] = zoomed(d, label)
        params = Params(tuple(conditions), params.sort, params.limit, None)
        kinds = list(dict.fromkeys(m.compare for m in report.measures if m.compare))
        compare = kinds[0] if kinds else None
        current = None
        previous: dict[str, Any] = {}
        where = self.where(params, windowed=compare is not None)
        if compare is not None:
            assert report.period is not None and report.period_range is not None
            column = self.src.column(report.period)
            window = dates.window(report.period_range, self.ctx.today)
            current = self.within(report.period, column, window)
            windows = [window]
            for kind in kinds:
                previous[kind] = self.within(report.period, column, window.shift(kind))
                windows.append(window.shift(kind))
            # one range when the periods touch (previous_period): the scan reads each row once
            where.append(or_(*[self.within(report.period, column, w) for w in dates.merged(windows)]))

        columns: list[Column] = []
        selected: list[Any] = []
        group: list[Any] = []
        for d in report.dimensions:
            value, name = self.dimension(shown[d.key], shown[d.key].bucket)
            selected.append(value.label(d.key))
            columns.append(Column(d.key, "dimension", shown[d.key]))
            group.append(self.group_key(shown[d.key], value))
            if name is not None:
                selected.append(name.label(f"{d.key}__name"))
                columns.append(Column(f"{d.key}__name", "label", shown[d.key]))
                group.append(name)
        values: dict[str, Any] = {}
        if not kinds:
            for m in report.measures:
                values[m.key] = self.formula(m, values) if m.expr is not None else self.aggregate(m, current)
                selected.append(values[m.key].label(m.key))
                columns.append(Column(m.key, "measure", m))
            statement = select(*selected).select_from(self.src.from_).where(*_needed(where))
            if group:
                statement = statement.group_by(*group)
        else:
            statement, selected, values = self._compared(kinds, columns, selected, group, where, current, previous)
        sort = params.sort if params.sort is not None else report.sort
        limit = params.limit if params.limit is not None else report.limit
        if report.others and limit:
            return self._others(statement, columns, sort, limit)
        if any(m.running_total for m in report.measures):
            return self._running(statement, columns, sort, limit)
        order = self._order(sort, {c.key: _col(selected, c.key) for c in columns}, columns)
        statement = statement.order_by(*order)
        if limit:
            statement = statement.limit(limit)
        if report.chart.totals and report.dimensions:
            if kinds:
                total, _sel, _values = self._compared(kinds, [], [], [], where, current, previous)
                return self._totals(statement, columns, total)
            total = select(*[_null(c, values) for c in columns], literal_column("1").label("_total")
                           ).select_from(self.src.from_).where(*_needed(where))
            return self._totals(statement, columns, total)
        return Compiled(statement, columns, report.dimensions)

    def _compared(self, kinds: list[str], columns: list[Column], selected: list[Any], group: list[Any],
                  where: list[Any], current: Any, previous: dict[str, Any]) -> tuple[Select[Any], list[Any], dict[str, Any]]:
        """A comparison: one scan computes each aggregate once per period (conditional aggregates, grouped);
        formulas and changes are computed from those values by an outer SELECT over the grouped rows (so no
        aggregate is evaluated twice). ``columns`` gets the measure, previous and change columns appended."""
        report = self.report
        inner = list(selected)
        for m in report.measures:
            if m.expr is None:
                inner.append(self.aggregate(m, current).label(m.key))
        hidden: dict[tuple[str, str], str] = {}
        for i, kind in enumerate(kinds):
            for key in self._inputs([m for m in report.measures if m.compare == kind]):
                hidden[(kind, key)] = f"{key}__p{i}"
                inner.append(self.aggregate(report.measure(key), previous[kind]).label(hidden[(kind, key)]))
        scan = select(*inner).select_from(self.src.from_).where(*_needed(where))
        if group:
            scan = scan.group_by(*group)
        sub = scan.subquery("c")
        outer = [sub.c[item.key] for item in selected]
        values: dict[str, Any] = {}
        for m in report.measures:
            values[m.key] = self.formula(m, values) if m.expr is not None else sub.c[m.key]
            outer.append(values[m.key].label(m.key))
            columns.append(Column(m.key, "measure", m))
        for kind in kinds:
            before: dict[str, Any] = {}
            for m in report.measures:
                if (kind, m.key) in hidden:
                    before[m.key] = sub.c[hidden[(kind, m.key)]]
                elif m.expr is not None and all(n in before for n in m.expr.names):
                    before[m.key] = self.formula(m, before)
                if m.compare != kind:
                    continue
                outer.append(before[m.key].label(f"{m.key}__previous"))
                columns.append(Column(f"{m.key}__previous", "previous", m))
                values[f"{m.key}__previous"] = before[m.key]
                now_, then = self.numeric(m, values[m.key]), self.numeric(m, before[m.key])
                change = _typed((now_ - then) / func.nullif(then, 0), Result(CHANGE_SCALE))
                outer.append(change.label(f"{m.key}__change"))
                columns.append(Column(f"{m.key}__change", "change", m))
                values[f"{m.key}__change"] = change
        return select(*outer), outer, values

    def _inputs(self, measures: list[Measure]) -> list[str]:
        """The aggregate measures (keys, in definition order) that ``measures`` need, through their formulas."""
        needed: set[str] = set()
        stack = list(measures)
        while stack:
            m = stack.pop()
            if m.expr is None:
                needed.add(m.key)
            else:
                stack += [self.report.measure(n) for n in m.expr.names if n not in needed]
        return [m.key for m in self.report.measures if m.key in needed]

    def record_ids(self, params: Params, only: tuple[Filter, ...] = ()) -> Select[Any]:
        """The ids of the dataset records (for a sub-table dataset: the owning records; for a flow history
        dataset: the records the flow moved) that a run counts; ``only``: a measure's own filter (a funnel
        stage)."""
        where = self.where(params, windowed=False) + [self.filter(f) for f in only]
        return select(self.src.record_id).select_from(self.src.from_).where(*_needed(where)).distinct()

    def _order(self, sort: tuple[SortKey, ...], by_key: dict[str, Any], columns: list[Column]) -> list[Any]:
        order = []
        for s in sort:
            target = self._sortable(by_key.get(f"{s.key}__name", by_key[s.key]))
            order.append((target.desc() if s.desc else target.asc()).nulls_last())
        for c in columns:  # tie-breakers for the same order on both databases; a shown name follows its value
            if c.role == "dimension":  # (its shown name, a function of the value, would add a sort key for nothing)
                order.append(self._sortable(by_key[c.key]).asc().nulls_last())
        return order

    def _sortable(self, target: Any) -> Any:
        """Text sorts by code point on both databases (PostgreSQL's default collation depends on the server)."""
        if self.ctx.dialect == "postgresql" and isinstance(getattr(target, "type", None), String):
            return target.collate("C")
        return target

    def _running(self, inner: Select[Any], columns: list[Column], sort: tuple[SortKey, ...],
                 limit: int | None) -> Compiled:
        sub = inner.subquery("g")
        along = [sub.c[c.key].asc().nulls_last() for c in columns if c.role == "dimension"]
        outer = []
        for c in columns:
            m = c.source
            if c.role == "measure" and isinstance(m, Measure) and m.running_total:
                total = func.sum(sub.c[c.key]).over(order_by=along, rows=(None, 0))
                outer.append((cast(total, BigInteger) if _whole(m) else total).label(c.key))
            else:
                outer.append(sub.c[c.key])
        statement = select(*outer).order_by(*self._order(sort, {c.key: sub.c[c.key] for c in columns}, columns))
        return Compiled(statement.limit(limit) if limit else statement, columns, self.report.dimensions)

    def _others(self, inner: Select[Any], columns: list[Column], sort: tuple[SortKey, ...], limit: int) -> Compiled:
        base = [c for c in columns if c.role != "measure" or c.source.expr is None]  # type: ignore[union-attr]
        pre = inner.with_only_columns(*[col for col in inner.selected_columns if col.key in {c.key for c in base}])
        ranking = self._order(sort, {c.key: _col(list(pre.selected_columns), c.key) for c in base}, base)
        ranked = pre.add_columns(func.row_number().over(order_by=ranking).label("_rank")).subquery("r")
        top = ranked.c._rank <= limit
        selected, group, values = [], [], {}
        for c in columns:
            if c.role in ("dimension", "label"):
                value = case((top, ranked.c[c.key]))
                selected.append(value.label(c.key))
                group.append(value)
            elif c.source.expr is None:  # type: ignore[union-attr]
                m = c.source
                agg = "sum" if m.agg in ("count", "count_distinct", "sum") else m.agg  # type: ignore[union-attr]
                folded = getattr(func, agg)(ranked.c[c.key], type_=ranked.c[c.key].type)
                values[c.key] = cast(folded, BigInteger) if agg == "sum" and _whole(m) else folded  # type: ignore[arg-type]
                selected.append(values[c.key].label(c.key))
            else:
                values[c.key] = self.formula(c.source, values)  # type: ignore[arg-type]
                selected.append(values[c.key].label(c.key))
        flag = case((top, literal_column("0")), else_=literal_column("1"))
        selected.append(flag.label("_other"))
        group.append(flag)
        by_key = {c.key: _col(selected, c.key) for c in columns}
        order = [flag.asc()] + self._order(sort, by_key, columns)
        statement = select(*selected).group_by(*group).order_by(*order)
        return Compiled(statement, columns + [Column("_other", "flag")], self.report.dimensions)

    def _totals(self, detail: Select[Any], columns: list[Column], total: Select[Any]) -> Compiled:
        """The grouped rows ``UNION ALL`` the grand total (``total``: one row, the measures over every row)."""
        sub = detail.subquery("d")
        rows = select(*[sub.c[c.key] for c in columns], literal_column("0").label("_total"))
        if "_total" not in total.selected_columns:
            names = set(total.selected_columns.keys())
            total = select(*[total.selected_columns[c.key] if c.key in names else literal(None).label(c.key)
                             for c in columns], literal_column("1").label("_total"))
        both = union_all(rows, total).subquery("t")
        statement = select(*[both.c[c.key] for c in columns], both.c._total).order_by(both.c._total)
        return Compiled(statement, columns + [Column("_total", "flag")], self.report.dimensions)


def _needed(where: list[Any]) -> list[Any]:
    """The conditions that narrow anything (a reader who may read every record adds no ``WHERE true``)."""
    return [w for w in where if not isinstance(w, True_)]


def _whole(m: Measure) -> bool:
    """Whether a measure's values are whole numbers (PostgreSQL's SUM of integers is NUMERIC: cast back)."""
    if m.agg in ("count", "count_distinct"):
        return True
    return m.agg in ("sum", "min", "max") and m.ref is not None and m.ref.type in ("integer", "rating", "duration", "id")


def _null(c: Column, values: dict[str, Any]) -> Any:
    if c.role in ("dimension", "label"):
        return literal(None).label(c.key)
    return values[c.key].label(c.key)


def _typed(expr: Any, type_: Any) -> Any:
    return type_coerce(expr, type_)


def _col(selected: list[Any], key: str) -> Any:
    for item in selected:
        if getattr(item, "key", None) == key or getattr(item, "name", None) == key:
            return item
    raise KeyError(key)


def _op(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "blank":
        return column.is_(None)
    if op == "not_blank":
        return column.is_not(None)
    if op == "in":
        return column.in_(list(value))
    if op == "not_in":
        return or_(column.not_in(list(value)), column.is_(None))
    if op == "contains":
        return column.contains(str(value), autoescape=True)
    if op == "ne":
        return column.is_distinct_from(value)
    table: dict[str, Callable[[Any, Any], Any]] = {
        "eq": lambda a, b: a == b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
    return table[op](column, value)  # type: ignore[no-any-return]

