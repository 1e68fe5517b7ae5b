"""Report and dashboard specs: frozen dataclasses built once when an app is loaded.

A ``FieldRef`` is a resolved name: a field of the dataset form (``amount``), a system column (``created_at``,
``owner_id``) or a field of a related form reached through relation fields (``supplier.city``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.i18n import Text

#: Date buckets, coarsest last; ``zoom`` moves to the previous (finer) one.
BUCKETS = ("day", "week", "month", "quarter", "year")
#: Aggregates a measure may use.
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max", "percentile")
#: Chart types (a closed registry: ``charts.CHARTS`` renders each).
CHART_TYPES = ("bar", "line", "area", "pie", "donut", "funnel", "number", "table", "pivot", "leaderboard",
               "scatter", "map")


@dataclass(frozen=True)
class FieldRef:
    """A column reachable from the dataset.

    Attributes:
        path: the name as written (``supplier.city``).
        joins: relation field keys followed from the dataset form, in order (``("supplier",)``).
        form: the key of the form holding the column (the dataset form, or the last related form).
        key: the field key (or system column name) in that form's table.
        type: the field type (``money``, ``date``, ``select`` …; system columns: ``id``, ``datetime``, ``user``,
            ``department``).
        scale: decimal places of a stored number (``ExactDecimal``), 0 otherwise.
        options: select option values → labels (for display).
        target: for relation fields, the related form.
        subtable: the sub-table key when the column belongs to the dataset's sub-table rows.
    """

    path: str
    joins: tuple[str, ...]
    form: str
    key: str
    type: str
    scale: int = 0
    options: tuple[tuple[str, Text], ...] = ()
    target: str | None = None
    subtable: str | None = None

    @property
    def numeric(self) -> bool:
        return self.type in ("money", "number", "percent", "integer", "rating", "duration")

    @property
    def temporal(self) -> bool:
        return self.type in ("date", "datetime")


@dataclass(frozen=True)
class Dimension:
    key: str
    ref: FieldRef
    label: Text
    bucket: str | None = None
    bins: tuple[Decimal, ...] = ()
    level: str | None = None  # "province" groups region codes by their first two digits


@dataclass(frozen=True)
class Measure:
    key: str
    agg: str | None
    label: Text
    ref: FieldRef | None = None
    percentile: Decimal | None = None
    expr: Any = None  # a parsed formula over other measures (``formula.Node``)
    compare: str | None = None
    running_total: bool = False
    scale: int = 2
    format: str = "number"  # number | money | percent | integer
    filter: "Filter | None" = None  # only the rows it matches count (a conditional aggregate)


@dataclass(frozen=True)
class Filter:
    """A filter fixed by the definition.

    ``kind`` is ``expr`` (``node`` is a parsed expression), ``op`` (``ref``, ``op``, ``value``), ``range``
    (``ref``, ``value`` = the range name) or ``current`` (``ref``, ``value`` = user | department |
    department_tree).
    """

    kind: str
    ref: FieldRef | None = None
    op: str = "eq"
    value: Any = None
    node: Any = None
    source: str = ""


@dataclass(frozen=True)
class SortKey:
    key: str
    desc: bool = False


@dataclass(frozen=True)
class Chart:
    type: str
    stacked: bool = False
    horizontal: bool = False
    hole: float = 0.0
    totals: bool = False
    title: Text = Text(())
    x: str | None = None
    y: str | None = None
    #: the measures a bar, line, area or leaderboard chart plots, in order (empty: every measure not on ``y2``)
    plot: tuple[str, ...] = ()
    #: measures plotted against a second value axis on the right (bar charts draw them as lines)
    y2: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportSpec:
    key: str
    label: Text
    form: str
    subtable: str | None
    dimensions: tuple[Dimension, ...]
    measures: tuple[Measure, ...]
    filters: tuple[Filter, ...]
    sort: tuple[SortKey, ...]
    limit: int | None
    others: bool
    chart: Chart
    filterable: tuple[FieldRef, ...] = ()
    period: FieldRef | None = None  # the date field a comparison shifts (the first range filter's field)
    period_range: str | None = None
    cache: bool = False
    cache_ttl: float | None = None
    file: str = ""
    uses_current_user: bool = False
    flow: Any = None  # a ``flowdata.FlowDataset`` for flow_history datasets (``form`` is then the dataset's name)

    def dimension(self, key: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.key == key), None)

    def measure(self, key: str) -> Measure | None:
        return next((m for m in self.measures if m.key == key), None)

    def column_keys(self) -> tuple[str, ...]:
        return tuple(d.key for d in self.dimensions) + tuple(m.key for m in self.measures)


#: What a click on a widget's bar, slice, row or number does (``click:`` of a dashboard widget).
CLICK_ACTIONS = ("drill", "filter", "zoom")


@dataclass(frozen=True)
class Widget:
    report: str
    x: int
    y: int
    w: int
    h: int
    title: Text = Text(())
    click: str = "drill"  # drill: the records behind it; filter: set the dashboard filter; zoom: finer date bucket


@dataclass(frozen=True)
class DashboardFilter:
    """A filter shared by the widgets of a dashboard.

    Attributes:
        fields: report key → the ``FieldRef`` this filter narrows in that report's dataset.
        depends_on: the key of a parent filter whose chosen values limit this filter's options.
        parent_field: the field of this filter's option source that the parent's values apply to.
    """

    key: str
    label: Text
    source: str  # the form whose values are offered as options
    field: FieldRef
    fields: tuple[tuple[str, FieldRef], ...]
    multi: bool = True
    default: tuple[str, ...] = ()
    depends_on: str | None = None
    parent_field: FieldRef | None = None
    range: bool = False  # a date filter: values are range names (this_month …)
    #: a date filter's fixed default dates (from, to), YYYY-MM-DD, both included, "" for an open end
    default_dates: tuple[str, str] | None = None

    def default_value(self) -> Any:
        """The default as a client sends a value: ``{from, to}`` for fixed dates, else the list of names/values."""
        if self.default_dates:
            return {end: day for end, day in zip(("from", "to"), self.default_dates) if day}
        return list(self.default)


@dataclass(frozen=True)
class DashboardSpec:
    key: str
    label: Text
    widgets: tuple[Widget, ...]
    filters: tuple[DashboardFilter, ...] = ()
    refresh: int | None = None
    file: str = ""
    home: bool = False  # its number cards are the KPIs on the portal's home page
    #: whose home page: people with one of these roles or in one of these departments (or under one); both empty
    #: with ``home``: everyone's
    home_roles: tuple[str, ...] = ()
    home_departments: tuple[str, ...] = ()

    def home_of(self, roles: frozenset[str], departments: frozenset[str]) -> bool:
        """Whether this is a home dashboard for someone with ``roles`` in ``departments`` (their own department
        and the ones above it, by key)."""
        if not self.home:
            return False
        if not self.home_roles and not self.home_departments:
            return True
        return bool(roles & set(self.home_roles)) or bool(departments & set(self.home_departments))

    def filter(self, key: str) -> DashboardFilter | None:
        return next((f for f in self.filters if f.key == key), None)


def cross_filters(filters: tuple[DashboardFilter, ...], report: ReportSpec) -> dict[str, str]:
    """dimension key → the dashboard filter a click on that dimension's value sets (same field, not a date
    bucket, bin or province grouping)."""
    out = {}
    for d in report.dimensions:
        if d.bucket or d.bins or d.level:
            continue
        for f in filters:
            target = dict(f.fields).get(report.key)
            if target is not None and target.path == d.ref.path and not f.range:
                out[d.key] = f.key
                break
    return out
