"""Building report and dashboard specs from checked definitions; every name is checked, every problem located."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Mapping

from engine.errors import Problems
from engine.i18n import Text
from engine.metaschema import suggest
from engine.source import Document

from . import dates, exprsql, flowdata
from .dataset import Dataset, NameError_, coerce, groupable
from .spec import (CHART_TYPES, Chart, DashboardFilter, DashboardSpec, Dimension, FieldRef, Filter, Measure,
                   ReportSpec, SortKey, Widget, cross_filters)

_REAGGREGABLE = ("count", "sum", "min", "max")
_ONE_DIMENSION = ("pie", "donut", "funnel", "leaderboard", "map")
#: charts that plot chosen measures (``chart.y`` as a list), and those with a second value axis (``chart.y2``)
_PLOTS = ("bar", "line", "area", "leaderboard")
_RIGHT_AXIS = ("bar", "line", "area")


class _Builder:
    def __init__(self, doc: Document, ctx: Any) -> None:
        self.doc, self.ctx = doc, ctx
        self.problems: Problems = ctx.problems
        self.before = len(self.problems.errors)

    def error(self, path: tuple[Any, ...], message: str, hint: str | None = None) -> None:
        self.problems.add(self.doc.error(path, message, hint))

    @property
    def failed(self) -> bool:
        return len(self.problems.errors) > self.before

    def ref(self, dataset: Dataset, name: str, path: tuple[Any, ...]) -> FieldRef | None:
        try:
            return dataset.resolve(name)
        except NameError_ as exc:
            self.error(path, exc.message, exc.hint)
            return None


class _ReportBuilder(_Builder):
    def build(self) -> ReportSpec | None:
        data = self.doc.data
        source = data["dataset"]
        flow_data = None
        if source.startswith(flowdata.PREFIX):
            flow_data = self.flow_dataset(source)
            if flow_data is None:
                return None
            form_key, sub = source, ""
            forms: Mapping[str, Any] = {**self.ctx.specs.get("form", {}), source: flow_data.spec}
        else:
            form_key, _, sub = source.partition(".")
            forms = self.ctx.specs.get("form", {})
        try:
            dataset = Dataset(forms, form_key, sub or None)
        except NameError_ as exc:
            self.error(("dataset",), exc.message, exc.hint)
            return None
        filters = tuple(f for f in (self.filter(dataset, raw, ("filters", i))
                                    for i, raw in enumerate(data.get("filters", []))) if f is not None)
        period = next((f for f in filters if f.kind == "range"), None)
        dimensions = self.dimensions(dataset, data.get("dimensions", []))
        measures = self.measures(dataset, data["measures"], period, dimensions)
        chart = self.chart(data.get("chart", "table"), dimensions, measures)
        keys = [d.key for d in dimensions] + [m.key for m in measures]
        for key in [k for k in keys if keys.count(k) > 1][:1]:
            self.error(("measures",), f"two columns are called '{key}'", "give one of them another key")
        sort = []
        for i, raw in enumerate(data.get("sort", [])):
            key = raw.lstrip("+-")
            if key not in keys:
                self.error(("sort", i), f"unknown column '{key}' to sort by", suggest(key, keys) or
                           f"sort by one of: {', '.join(keys)}")
            sort.append(SortKey(key, raw.startswith("-")))
        others = bool(data.get("others", False))
        if others:
            self.check_others(data, dimensions, measures)
        filterable = tuple(r for r in (self.ref(dataset, n, ("filterable", i))
                                       for i, n in enumerate(data.get("filterable", []))) if r is not None)
        if self.failed:
            return None
        uses_user = any(f.kind == "current" or (f.kind == "expr" and f.node.uses_user)
                        for f in filters + tuple(m.filter for m in measures if m.filter is not None))
        return ReportSpec(
            key=data["key"], label=Text.of(data.get("label"), fallback=data["key"]), form=form_key,
            subtable=sub or None, dimensions=dimensions, measures=measures, filters=filters, sort=tuple(sort),
            limit=data.get("limit"), others=others, chart=chart, filterable=filterable,
            period=period.ref if period else None, period_range=period.value if period else None,
            cache=bool(data.get("cache", False)), file=self.doc.file, uses_current_user=uses_user,
            cache_ttl=float(data["cache"]) if isinstance(data.get("cache"), int) and data["cache"] is not True
            and data["cache"] is not False else None, flow=flow_data)

    def flow_dataset(self, source: str) -> flowdata.FlowDataset | None:
        """``flow_history:<flow>`` (node passes) or ``flow_history:<flow>.tasks`` (people's tasks) of a flow of
        this app."""
        flows = self.ctx.specs.get("flow", {})
        name = source[len(flowdata.PREFIX):].removesuffix(".tasks")
        flow = flows.get(name)
        if flow is None:
            self.error(("dataset",), f"unknown flow '{name}'", suggest(name, flows) or (
                f"flows of this app: {', '.join(flows)}" if flows else "this app has no flows (flows/*.yaml)"))
            return None
        return flowdata.dataset(source, flow)

    # -- parts ------------------------------------------------------------------------------------------------

    def dimensions(self, dataset: Dataset, raws: list[Any]) -> tuple[Dimension, ...]:
        out = []
        for i, raw in enumerate(raws):
            raw = {"field": raw} if isinstance(raw, str) else raw
            path = ("dimensions", i)
            ref = self.ref(dataset, raw["field"], path + ("field",) if isinstance(raws[i], dict) else path)
            if ref is None:
                continue
            if not groupable(ref):
                self.error(path, f"cannot group by '{ref.path}', a {ref.type} field (it holds several values)")
                continue
            bucket = raw.get("bucket")
            if bucket and not ref.temporal:
                self.error(path + ("bucket",), f"bucket needs a date field; '{ref.path}' is a {ref.type} field")
            bins = tuple(Decimal(str(b)) for b in raw.get("bins", []))
            if bins and not ref.numeric:
                self.error(path + ("bins",), f"bins need a number field; '{ref.path}' is a {ref.type} field")
            if list(bins) != sorted(set(bins)):
                self.error(path + ("bins",), "bin edges must be increasing")
            if bins and bucket:
                self.error(path, "use either bucket or bins")
            level = raw.get("level")
            if level and ref.type != "region":
                self.error(path + ("level",), f"level needs a region field; '{ref.path}' is a {ref.type} field")
            key = raw.get("key") or ref.path.replace(".", "_") + (f"_{bucket}" if bucket else "")
            out.append(Dimension(key, ref, Text.of(raw.get("label"), fallback=ref.path), bucket, bins,
                                 raw.get("level")))
        return tuple(out)

    def measures(self, dataset: Dataset, raws: list[Any], period: Filter | None,
                 dimensions: tuple[Dimension, ...]) -> tuple[Measure, ...]:
        out: list[Measure] = []
        for i, raw in enumerate(raws):
            path = ("measures", i)
            measure = self.measure(dataset, raw, path, out)
            if measure is None:
                continue
            if measure.compare:
                if period is None:
                    self.error(path + ("compare",), "a comparison needs a date range filter",
                               "add a filter such as {field: created_at, range: this_month}")
                if any(d.bucket for d in dimensions):
                    self.error(path + ("compare",), "a comparison cannot be combined with a date-bucketed dimension",
                               "show the trend with a line chart instead")
            if measure.running_total and not dimensions:
                self.error(path + ("running_total",), "a running total needs a dimension to run along")
            out.append(measure)
        return tuple(out)

    def measure(self, dataset: Dataset, raw: Mapping[str, Any], path: tuple[Any, ...],
                earlier: list[Measure]) -> Measure | None:
        label = raw.get("label")
        common = {"compare": raw.get("compare"), "running_total": bool(raw.get("running_total", False))}
        if "expr" in raw:
            if "agg" in raw or "field" in raw or "filter" in raw:
                self.error(path, "a formula measure has expr only (no agg, field or filter)")
                return None
            if "key" not in raw:
                self.error(path, "a formula measure needs a key")
                return None
            try:
                parsed = exprsql.parse(raw["expr"], formula=True)
            except exprsql.ExprError as exc:
                self.error(path + ("expr",), f"formula: {exc.message}", exc.hint)
                return None
            names = [m.key for m in earlier]
            for name in parsed.names:
                if name not in names:
                    self.error(path + ("expr",), f"formula: unknown measure '{name}'",
                               suggest(name, names) or "a formula reads measures defined above it")
            return Measure(raw["key"], None, Text.of(label, fallback=raw["key"]), expr=parsed,
                           scale=int(raw.get("scale", 4)), format=raw.get("format", "number"), **common)
        agg = raw.get("agg")
        if agg is None:
            self.error(path, "a measure needs agg (count, sum, …) or expr")
            return None
        ref = None
        if "field" in raw:
            ref = self.ref(dataset, raw["field"], path + ("field",))
            if ref is None:
                return None
        elif agg != "count":
            self.error(path, f"{agg} needs a field")
            return None
        if ref is not None and agg in ("sum", "avg", "percentile") and not ref.numeric:
            self.error(path + ("field",), f"cannot {agg} '{ref.path}', a {ref.type} field",
                       "sum, avg and percentile need a number, money, percent or integer field")
            return None
        if ref is not None and agg in ("min", "max") and not (ref.numeric or ref.temporal):
            self.error(path + ("field",), f"cannot take the {agg} of '{ref.path}', a {ref.type} field")
            return None
        if ref is not None and not groupable(ref):
            self.error(path + ("field",), f"cannot aggregate '{ref.path}', a field holding several values")
            return None
        only = None
        if "filter" in raw:
            if "key" not in raw:
                self.error(path, "a measure with a filter needs a key", "name it after what it counts: key: approved")
                return None
            only = self.filter(dataset, raw["filter"], path + ("filter",))
            if only is None:
                return None
        key = raw.get("key") or (f"{agg}_{ref.path.replace('.', '_')}" if ref else "count")
        fmt = raw.get("format") or ("money" if ref and ref.type == "money" and agg not in ("count", "count_distinct")
                                    else "percent" if ref and ref.type == "percent" and agg not in ("count", "count_distinct")
                                    else "integer" if agg in ("count", "count_distinct") else "number")
        scale = int(raw.get("scale", 0 if fmt == "integer" else ref.scale if ref and ref.scale else 2))
        return Measure(key, agg, Text.of(label, fallback=key), ref, Decimal(str(raw.get("p", 0.5))), None,
                       scale=scale, format=fmt, filter=only, **common)

    def filter(self, dataset: Dataset, raw: Any, path: tuple[Any, ...]) -> Filter | None:
        if isinstance(raw, str):
            try:
                parsed = exprsql.parse(raw)
            except exprsql.ExprError as exc:
                self.error(path, f"filter: {exc.message}", exc.hint)
                return None
            refs = {}
            for name in parsed.names:
                ref = self.ref(dataset, name, path)
                if ref is None:
                    return None
                refs[name] = ref
            problem = _rules_check(raw, refs)
            if problem is not None:
                self.error(path, f"filter: {problem[0]}", problem[1])
                return None
            return Filter("expr", node=parsed, source=raw)
        ref = self.ref(dataset, raw["field"], path + ("field",))
        if ref is None:
            return None
        given = [k for k in ("range", "current", "op") if k in raw]
        if len(given) > 1:
            self.error(path, f"use one of range, current or op (got {', '.join(given)})")
            return None
        if "range" in raw:
            if raw["range"] not in dates.RANGES:
                self.error(path + ("range",), f"unknown date range '{raw['range']}'",
                           suggest(raw["range"], dates.RANGES) or f"one of: {', '.join(dates.RANGES)}")
                return None
            if not ref.temporal:
                self.error(path + ("field",), f"a date range needs a date field; '{ref.path}' is a {ref.type} field")
                return None
            return Filter("range", ref, value=raw["range"])
        if "current" in raw:
            wanted = "user" if raw["current"] == "user" else "department"
            if ref.type != wanted:
                self.error(path + ("field",), f"current {raw['current']} needs a {wanted} field; "
                                              f"'{ref.path}' is a {ref.type} field")
                return None
            return Filter("current", ref, value=raw["current"])
        op = raw.get("op", "eq")
        if op in ("blank", "not_blank"):
            return Filter("op", ref, op)
        if "value" not in raw:
            self.error(path, f"operator {op} needs a value")
            return None
        value = raw["value"]
        try:
            if op in ("in", "not_in"):
                if not isinstance(value, list):
                    raise ValueError(f"{op} needs a list of values")
                value = tuple(coerce(ref, v) for v in value)
            else:
                value = coerce(ref, value)
        except ValueError as exc:
            self.error(path + ("value",), str(exc))
            return None
        return Filter("op", ref, op, value)

    def chart(self, raw: Any, dimensions: tuple[Dimension, ...], measures: tuple[Measure, ...]) -> Chart:
        data = {"type": raw} if isinstance(raw, str) else dict(raw)
        path = ("chart",) if isinstance(raw, str) else ("chart", "type")
        kind = data["type"]
        if kind not in CHART_TYPES:
            self.error(path, f"unknown chart type '{kind}'", suggest(kind, CHART_TYPES) or
                       f"one of: {', '.join(CHART_TYPES)}")
            return Chart("table")
        n = len(dimensions)
        if kind == "number" and n:
            self.error(path, "a number card has no dimensions")
        if kind == "funnel" and n == 0:
            if len(measures) < 2:
                self.error(path, "a funnel without a dimension has one stage per measure: give two or more measures",
                           "or group by one dimension (its values are the stages)")
        elif kind in _ONE_DIMENSION and n != 1:
            self.error(path, f"a {kind} chart needs exactly one dimension (got {n})"
                       + (" or none, with its stages as measures" if kind == "funnel" else ""))
        if kind == "pivot" and n != 2:
            self.error(path, f"a pivot table needs two dimensions (got {n})")
        if kind == "scatter" and len(measures) < 2:
            self.error(path, "a scatter chart needs two measures (x and y)")
        if kind == "map" and n == 1 and dimensions[0].level != "province":
            self.error(path, "a map groups region codes by province: give the dimension level: province")
        keys = [m.key for m in measures]
        picked: dict[str, tuple[str, ...]] = {}
        for axis in ("x", "y", "y2"):
            raw_keys = data.get(axis)
            if raw_keys is None:
                continue
            listed = tuple(raw_keys) if isinstance(raw_keys, list) else (raw_keys,)
            for i, key in enumerate(listed):
                if key not in keys:
                    where = ("chart", axis) if isinstance(raw_keys, str) else ("chart", axis, i)
                    self.error(where, f"unknown measure '{key}'", suggest(key, keys) or f"one of: {', '.join(keys)}")
            picked[axis] = listed
        scatter = kind == "scatter"
        if scatter and isinstance(data.get("y"), list):
            self.error(("chart", "y"), "a scatter chart plots one measure on y", "give one measure key")
        if "y2" in picked:
            if kind not in _RIGHT_AXIS or (kind == "bar" and data.get("horizontal")):
                self.error(("chart", "y2"), f"a second value axis is for vertical bar, line and area charts, not {kind}"
                           + (" (horizontal)" if kind == "bar" and data.get("horizontal") else ""))
            elif n != 1:
                self.error(("chart", "y2"), f"a second value axis needs exactly one dimension (got {n})")
            both = set(picked["y2"]) & set(picked.get("y", ()))
            if both:
                self.error(("chart", "y2"), f"on both axes: {', '.join(sorted(both))}", "put each measure on y or on y2")
        plot = () if scatter else picked.get("y", ())
        if plot and kind not in _PLOTS:
            self.error(("chart", "y"), f"choosing the plotted measures is for bar, line, area, leaderboard and "
                       f"scatter charts, not {kind}")
        return Chart(kind, bool(data.get("stacked")), bool(data.get("horizontal")),
                     float(data.get("hole", 0.5 if kind == "donut" else 0.0)), bool(data.get("totals")),
                     Text.of(data.get("title")), data.get("x"), data.get("y") if scatter else None, plot,
                     picked.get("y2", ()))

    def check_others(self, data: Mapping[str, Any], dimensions: tuple[Dimension, ...],
                     measures: tuple[Measure, ...]) -> None:
        if not data.get("limit"):
            self.error(("others",), "others needs a limit (the top N rows are kept, the rest gathered)")
        if len(dimensions) != 1:
            self.error(("others",), "others needs exactly one dimension")
        for i, m in enumerate(measures):
            if m.agg is not None and m.agg not in _REAGGREGABLE:
                self.error(("measures", i), f"an 'others' row cannot re-aggregate {m.agg}",
                           "use count, sum, min, max or a formula over them")
            if m.compare or m.running_total:
                self.error(("measures", i), "an 'others' row cannot be combined with compare or running_total")


_VALUE_TYPES = {"money": "money", "number": "number", "percent": "percent", "integer": "integer", "rating": "integer",
                "duration": "integer", "id": "integer", "user": "integer", "department": "integer",
                "relation": "integer", "date": "date", "datetime": "datetime", "boolean": "boolean",
                "multi_select": "list"}


def _rules_check(source: str, refs: Mapping[str, FieldRef]) -> tuple[str, str | None] | None:
    """Compile a filter with the rules engine too, so it is an expression of the one language (names, functions
    and types checked there); the report engine then translates its SQL subset. (message, hint) or None."""
    import rules_engine

    tree: dict[str, Any] = {}
    for name, ref in refs.items():
        node = tree
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return None  # a name used both as a value and as a record: the SQL check already ran
        node[parts[-1]] = _VALUE_TYPES.get(ref.type, "text")

    def scope(node: Mapping[str, Any]) -> Any:
        return rules_engine.Scope.from_fields({k: scope(v) if isinstance(v, dict) else v for k, v in node.items()})

    try:
        rules_engine.compile_expression(source, scope(tree))
    except rules_engine.ExpressionCompileError as exc:
        return str(getattr(exc, "message", exc)), getattr(exc, "hint", None)
    return None


def build_report(doc: Document, ctx: Any) -> ReportSpec | None:
    return _ReportBuilder(doc, ctx).build()


class _DashboardBuilder(_Builder):
    def build(self) -> DashboardSpec | None:
        data = self.doc.data
        reports = self.ctx.specs.get("report", {})
        raw_reports = self.ctx.raw.get("report", {})
        widgets = []
        for i, raw in enumerate(data["widgets"]):
            if raw["report"] not in raw_reports:
                self.error(("widgets", i, "report"), f"unknown report '{raw['report']}'",
                           suggest(raw["report"], raw_reports))
                continue
            widgets.append(Widget(raw["report"], raw.get("x", 0), raw.get("y", i * 4), raw.get("w", 6),
                                  raw.get("h", 4), Text.of(raw.get("title")), raw.get("click", "drill")))
        filters: list[DashboardFilter] = []
        for i, raw in enumerate(data.get("filters", [])):
            built = self.dashboard_filter(raw, ("filters", i), widgets, reports, filters)
            if built is not None:
                filters.append(built)
        self.check_clicks(data["widgets"], widgets, reports, tuple(filters))
        if self.failed:
            return None
        home = data.get("home", False)
        roles, departments = self.home_people(home) if isinstance(home, dict) else ((), ())
        if self.failed:
            return None
        return DashboardSpec(data["key"], Text.of(data.get("label"), fallback=data["key"]), tuple(widgets),
                             tuple(filters), data.get("refresh"), self.doc.file, bool(home), roles, departments)

    def home_people(self, home: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``home: {roles: [...], departments: [...]}``: keys of the app's org (``org.yaml``)."""
        out = []
        for name in ("roles", "departments"):
            known = getattr(self.ctx, name, None)  # (a designer's draft is built without the org: not checked)
            known = known | {"admin"} if known is not None and name == "roles" else known
            keys = tuple(home.get(name) or ())
            for i, key in enumerate(keys):
                if known is not None and key not in known:
                    what = name[:-1] if name == "roles" else "department"
                    self.error(("home", name, i), f"unknown {what} '{key}'",
                               suggest(key, known) or (f"one of: {', '.join(sorted(known))}" if known
                                                       else f"define {name} in org.yaml"))
            out.append(keys)
        return out[0], out[1]

    def check_clicks(self, raws: list[Any], widgets: list[Widget], reports: Mapping[str, ReportSpec],
                     filters: tuple[DashboardFilter, ...]) -> None:
        """``click: filter`` needs a dimension that a dashboard filter narrows; ``click: zoom`` a date bucket."""
        for i, raw in enumerate(raws):
            report = reports.get(raw["report"])
            if report is None or "click" not in raw:
                continue
            path = ("widgets", i, "click")
            if raw["click"] == "filter" and not cross_filters(filters, report):
                self.error(path, f"a click on report '{report.key}' cannot set a dashboard filter: no filter of this "
                                 "dashboard narrows one of its dimensions",
                           "add a filter on the field of its first dimension, or use click: drill")
            if raw["click"] == "zoom" and not any(zoomable(d) for d in report.dimensions):
                self.error(path, f"report '{report.key}' has no date or region dimension to zoom into",
                           "zoom needs a dimension with bucket: year, quarter, month or week, or a region "
                           "dimension with level: province or city")

    def dashboard_filter(self, raw: Mapping[str, Any], path: tuple[Any, ...], widgets: list[Widget],
                         reports: Mapping[str, ReportSpec], earlier: list[DashboardFilter]) -> DashboardFilter | None:
        forms = self.ctx.specs.get("form", {})
        source, _, name = raw["field"].partition(".")
        try:
            ref = Dataset(forms, source).resolve(name)
        except NameError_ as exc:
            self.error(path + ("field",), exc.message, exc.hint)
            return None
        mapping = dict(raw.get("fields", {}))
        fields: list[tuple[str, FieldRef]] = []
        for widget in widgets:
            report = reports.get(widget.report)
            if report is None:
                continue  # the report's own problems are reported
            report_forms = with_dataset(forms, report)
            target = mapping.get(report.key) or _default_target(report_forms, report, source, name)
            if target is None:
                self.error(path, f"filter '{raw['key']}' does not apply to report '{report.key}' "
                                 f"(dataset {report.form})", f"map it: fields: {{{report.key}: <field>}}")
                continue
            try:
                fields.append((report.key, Dataset(report_forms, report.form, report.subtable).resolve(target)))
            except NameError_ as exc:
                self.error(path + ("fields", report.key), exc.message, exc.hint)
        default = raw.get("default", ())
        dated = self.fixed_dates(default, ref, path + ("default",)) if isinstance(default, Mapping) else None
        default = () if isinstance(default, Mapping) else (default,) if isinstance(default, str) else tuple(default)
        parent_ref = None
        depends = raw.get("depends_on")
        if depends is not None:
            parent = next((f for f in earlier if f.key == depends), None)
            if parent is None:
                self.error(path + ("depends_on",), f"unknown filter '{depends}' (it must come earlier)",
                           suggest(depends, [f.key for f in earlier]))
            else:
                parent_name = raw.get("parent_field") or (parent.field.key if parent.source == source else None)
                if parent_name is None:
                    self.error(path, "give parent_field: the field of this filter's form the parent narrows")
                else:
                    parent_ref = self.ref(Dataset(forms, source), parent_name, path + ("parent_field",))
        if ref.temporal:
            for j, value in enumerate(default):
                if value not in dates.RANGES:
                    self.error(path + ("default", j), f"unknown date range '{value}'", suggest(value, dates.RANGES))
        else:
            for j, value in enumerate(default):
                try:
                    coerce(ref, value)
                except ValueError as exc:
                    self.error(path + ("default", j), str(exc))
        return DashboardFilter(raw["key"], Text.of(raw.get("label"), fallback=raw["key"]), source, ref,
                               tuple(fields), bool(raw.get("multi", not ref.temporal)), default, depends, parent_ref,
                               ref.temporal, dated)

    def fixed_dates(self, raw: Mapping[str, Any], ref: FieldRef, path: tuple[Any, ...]) -> tuple[str, str] | None:
        """A date filter's ``default: {from, to}`` (YYYY-MM-DD, both included, either left out) as (from, to)."""
        if not ref.temporal:
            self.error(path, f"a {{from, to}} default is for a date filter; '{ref.path}' is a {ref.type} field",
                       "give the value or values to preselect")
            return None
        days: dict[str, str] = {}
        for end in ("from", "to"):
            value = raw.get(end)
            if value in (None, ""):
                days[end] = ""
                continue
            try:
                days[end] = date.fromisoformat(str(value)).isoformat()
            except ValueError:
                self.error(path + (end,), f"not a date: {str(value)[:40]!r}", "write the date as YYYY-MM-DD")
                return None
        if days["from"] and days["to"] and days["from"] > days["to"]:
            self.error(path, f"the default range ends ({days['to']}) before it starts ({days['from']})")
            return None
        return (days["from"], days["to"]) if days["from"] or days["to"] else None


def zoomable(d: Dimension) -> bool:
    """A click can zoom into a date bucket coarser than a day, or a region by province or city."""
    return bool(d.bucket and d.bucket != "day") or d.level in ("province", "city")


def _default_target(forms: Mapping[str, Any], report: ReportSpec, source: str, name: str) -> str | None:
    """The field of ``report``'s dataset a filter on ``source.name`` narrows: the same field of the same form, or
    the one path of single relations (up to three hops) from the dataset form to ``source``."""
    prefix = "parent." if report.subtable else ""
    if report.form == source:
        return prefix + name
    paths: list[str] = []
    frontier = [(report.form, "")]
    for _hop in range(3):
        following = []
        for form_key, path in frontier:
            form = forms.get(form_key)
            for f in form.fields if form else ():
                if f.type == "relation" and not f.many and f.to in forms:
                    step = f"{path}{f.key}."
                    if f.to == source:
                        paths.append(step)
                    else:
                        following.append((f.to, step))
        if paths:
            break
        frontier = following
    return f"{prefix}{paths[0]}{name}" if len(paths) == 1 else None


def with_dataset(forms: Mapping[str, Any], report: ReportSpec) -> Mapping[str, Any]:
    """The forms a report's names resolve against: the app's, plus a flow dataset's own row spec."""
    return {**forms, report.form: report.flow.spec} if report.flow is not None else forms


def build_dashboard(doc: Document, ctx: Any) -> DashboardSpec | None:
    return _DashboardBuilder(doc, ctx).build()
