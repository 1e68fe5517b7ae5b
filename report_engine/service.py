"""The report service, ``platform.services["reports"]``: run reports and dashboards for a caller, drill down to
the records behind a value, list a dashboard filter's options, export a widget's data.

Rights: a caller needs read rights on the dataset's form and on every form the report reaches through relations
(403 otherwise). Rows are limited in SQL to the caller's read scope on the dataset form (for a sub-table dataset,
on the form owning the rows), so a chart never counts a record its reader could not open.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field as dc_field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Mapping

from sqlalchemy import Connection, and_, func, select

from engine.errors import BadRequest, FieldProblem, Forbidden, LoomworkError, NotFound, ValidationFailed
from engine.permissions import Principal, effective
from engine.platform import LiveApp, Platform

from . import cache as cache_mod
from . import charts, dates, params as params_mod
from .compiler import CHANGE_SCALE, REGION_LEVELS, Column, Compiled, Compiler, Condition, Params, RunContext, zoomed
from .dataset import Dataset, NameError_, coerce, label_of
from .sources import Sources
from .loader import with_dataset
from .spec import DashboardFilter, DashboardSpec, Dimension, FieldRef, Measure, ReportSpec, cross_filters

DEFAULT_TTL = 300.0
MAX_OPTIONS = 500
BLANK = {"zh": "（空）", "en": "(blank)"}
OTHERS = {"zh": "其他", "en": "Others"}
YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}


class Unsupported(LoomworkError):
    """A report that this database cannot run (percentiles on SQLite)."""

    status, code = 422, "unsupported_on_database"


def _lang(locale: str) -> str:
    return "zh" if locale.lower().startswith("zh") else "en"


@dataclass
class _DraftContext:
    """What the report builder reads while building one draft report: the app's specs and a problem list."""

    problems: Any
    specs: dict[str, dict[str, Any]]
    raw: dict[str, dict[str, Any]] = dc_field(default_factory=dict)


#: names GB/T 2260 gives a city level that only groups a municipality's or province's districts and counties
_GROUPING = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


def region_name(code: str) -> str:
    """A division's name as a report shows it: a province or city by its name (a municipality's grouping level by
    the municipality's name: 北京市), a district with its city (昆明市五华区, 北京市东城区)."""
    from forms_engine.validators import regions

    region = regions.lookup(code)
    if region is None:
        return code
    if region.level == "city" and region.name in _GROUPING and region.parent:
        return region_name(region.parent)
    if region.level == "district" and region.parent:
        return region_name(region.parent) + region.name
    return region.name


def _shown(report: ReportSpec, checked: Params) -> dict[str, Dimension]:
    """Each dimension as a run shows it (a zoomed one in its finer bucket or region level)."""
    shown = {d.key: d for d in report.dimensions}
    if checked.zoom is not None:
        shown[checked.zoom[0]] = zoomed(shown[checked.zoom[0]], checked.zoom[1])
    return shown


@dataclass
class _Run:
    compiled: Compiled
    rows: list[dict[str, Any]]
    buckets: dict[str, Dimension]  # dimension key → the dimension as shown (zoomed: finer bucket or level)


class _Statements:
    """Compiled report statements, built once per report, caller scope and parameters (an LRU of ``size``).

    A run with the same report version, reader scope, parameters and day reuses the SELECT built before, so
    SQLAlchemy's own compiled cache is hit too and a repeated dashboard pays for its queries only."""

    def __init__(self, size: int = 256) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[Any, tuple[ReportSpec, Compiled]] = OrderedDict()
        self.size = size

    def get(self, report: ReportSpec, key: Any, build: Any) -> Compiled:
        """The statement of ``report`` (the very spec object: a republished or replaced spec builds anew)."""
        key = (id(report), key)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is report:
                self._items.move_to_end(key)
                return hit[1]
        compiled = build()
        with self._lock:
            self._items[key] = (report, compiled)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return compiled  # type: ignore[no-any-return]


class Reports:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.cache = cache_mod.ResultCache()
        cache_mod.watch(platform.db, self.cache)
        self.statements = _Statements()
        self._forms_read: dict[tuple[str, int, int], tuple[ReportSpec, tuple[str, ...]]] = {}

    # -- lookup and rights ---------------------------------------------------------------------------------------

    def report(self, app: str, key: str) -> tuple[LiveApp, ReportSpec]:
        live = self.platform.app(app)
        spec = live.spec.of_kind("report").get(key)
        if spec is None:
            raise NotFound(f"app '{app}' has no report '{key}'")
        return live, spec

    def dashboard_spec(self, app: str, key: str) -> tuple[LiveApp, DashboardSpec]:
        live = self.platform.app(app)
        spec = live.spec.of_kind("dashboard").get(key)
        if spec is None:
            raise NotFound(f"app '{app}' has no dashboard '{key}'")
        return live, spec

    def forms_read(self, live: LiveApp, report: ReportSpec) -> tuple[str, ...]:
        """Every form whose rows the report reads: its dataset and each form reached through a relation."""
        key = (live.key, live.version, id(report))
        found = self._forms_read.get(key)
        if found is None or found[0] is not report:
            found = self._forms_read[key] = (report, self._find_forms_read(live, report))
        return found[1]

    def _find_forms_read(self, live: LiveApp, report: ReportSpec) -> tuple[str, ...]:
        # a flow dataset's rows belong to the records its flow moves: the rights on that form apply
        forms = [report.flow.form if report.flow is not None else report.form]
        refs = [d.ref for d in report.dimensions] + [m.ref for m in report.measures if m.ref is not None]
        refs += [f.ref for f in report.filters if f.ref is not None] + list(report.filterable)
        dataset = Dataset(with_dataset(live.spec.forms, report), report.form, report.subtable)
        for f in report.filters:
            if f.node is not None:
                refs += [dataset.resolve(n) for n in f.node.names]
        for ref in refs:
            forms += _forms_along(live, report, ref)
        return tuple(dict.fromkeys(forms))

    def read_scope(self, live: LiveApp, report: ReportSpec, who: Principal,
                   forms: tuple[str, ...] | None = None) -> str:
        scope = "none"
        for i, form_key in enumerate(self.forms_read(live, report) if forms is None else forms):
            grant = effective(live.spec.forms[form_key].permissions, who)
            if grant.read == "none":
                raise Forbidden(f"you may not read {form_key} records, which report '{report.key}' uses")
            if i == 0:
                scope = grant.read
        return scope

    def context(self, live: LiveApp, who: Principal, scope: str) -> RunContext:
        zone = dates.check_zone(live.spec.settings.timezone)
        now = self.platform.clock.now()
        return RunContext(who=who, read_scope=scope, dialect=self.platform.db.dialect.name, zone=zone,
                          today=now.astimezone(zone).date(), offset=dates.offset_minutes(zone, now))

    # -- running -------------------------------------------------------------------------------------------------

    def _prepare(self, live: LiveApp, report: ReportSpec, who: Principal, raw: Mapping[str, Any] | None,
                 extra: tuple[Condition, ...] = (), forms: tuple[str, ...] | None = None
                 ) -> tuple[Compiler, Params, RunContext]:
        scope = self.read_scope(live, report, who, forms)
        ctx = self.context(live, who, scope)
        compiler = Compiler(report, Sources(live, report.form, report.subtable, report.flow), ctx)
        checked = params_mod.check(report, compiler.dataset, raw, ctx.today)
        checked = replace(checked, conditions=checked.conditions + extra)
        if ctx.dialect != "postgresql":
            for m in report.measures:
                if m.agg == "percentile":
                    raise Unsupported(f"report '{report.key}' ({report.file}): measure '{m.key}' is a percentile, "
                                      f"which needs PostgreSQL; this platform runs on {ctx.dialect}",
                                      details=[{"field": f"measures.{m.key}", "message": "percentiles need PostgreSQL"}])
        return compiler, checked, ctx

    def _execute(self, live: LiveApp, report: ReportSpec, compiler: Compiler, checked: Params, ctx: RunContext,
                 conn: Connection | None = None) -> _Run:
        statement_key = (live.key, live.version, report.key, _scope_identity(ctx, report), checked, ctx.today,
                         ctx.offset, ctx.dialect)
        compiled = self.statements.get(report, statement_key, lambda: compiler.compile(checked))
        buckets = _shown(report, checked)
        key = generations = None
        if report.cache:
            forms = self.forms_read(live, report) + ((flow_generation(report.flow.flow),) if report.flow else ())
            generations = self.cache.generations(live.key, forms)
            key = (live.key, live.version, report.key, _scope_identity(ctx, report), checked, ctx.today)
            hit = self.cache.get(key, generations)
            if hit is not None:
                return _Run(compiled, hit, buckets)
        if conn is None:
            with self.platform.db.connect() as own:
                rows = [dict(r) for r in own.execute(compiled.statement).mappings()]
        else:
            rows = [dict(r) for r in conn.execute(compiled.statement).mappings()]
        if key is not None and generations is not None:
            self.cache.put(key, generations, report.cache_ttl or DEFAULT_TTL, rows)
        return _Run(compiled, rows, buckets)

    def sql(self, app: str, key: str, who: Principal, raw: Mapping[str, Any] | None = None) -> str:
        """The SQL a run would execute, with bound values shown as parameters (for review and the benchmark)."""
        live, report = self.report(app, key)
        compiler, checked, _ctx = self._prepare(live, report, who, raw)
        return str(compiler.compile(checked).statement.compile(dialect=self.platform.db.dialect))

    def run(self, app: str, key: str, who: Principal, raw: Mapping[str, Any] | None = None, *,
            figure: bool = True, conn: Connection | None = None) -> dict[str, Any]:
        """Run one report; ``raw`` are the client's parameters (see ``params``), plus optionally ``dashboard`` and
        ``dashboard_filters`` to apply a dashboard's shared filters to one of its widgets."""
        live, report = self.report(app, key)
        raw, extra = self._dashboard_conditions(live, report, raw)
        compiler, checked, ctx = self._prepare(live, report, who, raw, extra)
        result = self._execute(live, report, compiler, checked, ctx, conn)
        return self.present(live, report, result, who, figure=figure)

    def build_spec(self, app: str, data: Any, file: str = "reports/(unsaved).yaml") -> ReportSpec:
        """A report spec from a definition that is not part of the published app (a designer's draft), built
        against the app's published forms and flows with every check a published report gets.

        Raises ``DefinitionErrors`` (located at ``file``) when the definition does not check."""
        from .loader import build_report

        return self._build_draft(app, data, file, "report", "key, dataset, measures …", build_report)

    def build_dashboard_spec(self, app: str, data: Any, file: str = "reports/(unsaved).yaml") -> DashboardSpec:
        """A dashboard spec from a definition that is not part of the published app (a designer's draft), built
        against the app's published forms and reports with every check a published dashboard gets.

        Raises ``DefinitionErrors`` (located at ``file``) when the definition does not check."""
        from .loader import build_dashboard

        return self._build_draft(app, data, file, "dashboard", "key, widgets, filters …", build_dashboard)

    def _build_draft(self, app: str, data: Any, file: str, kind: str, keys: str, build: Callable[..., Any]) -> Any:
        from engine.errors import DefinitionErrors, Problems
        from engine.metaschema import check_document
        from engine.source import Document

        live = self.platform.app(app)
        doc = Document(file=file, data=data)
        if not isinstance(data, Mapping):
            raise DefinitionErrors([doc.error((), f"a {kind} definition is a mapping ({keys})")])
        if data.get("kind", "report") != kind:
            raise DefinitionErrors([doc.error(("kind",), f"'{data.get('kind')}' is not a {kind}")])
        errors = check_document(doc, kind)
        if errors:
            raise DefinitionErrors(errors)
        specs = {k: dict(v) for k, v in live.spec.specs.items()}
        ctx = _DraftContext(Problems(), specs, {"report": specs.get("report", {})}) if kind == "dashboard" \
            else _DraftContext(Problems(), specs)
        built = build(doc, ctx)
        if ctx.problems or built is None:
            raise DefinitionErrors(ctx.problems.errors or [doc.error((), f"the {kind} could not be built")])
        return built

    def run_spec(self, app: str, report: ReportSpec, who: Principal, raw: Mapping[str, Any] | None = None, *,
                 figure: bool = True, conditions: tuple[Condition, ...] = ()) -> dict[str, Any]:
        """Run a report spec that is not (or not yet) part of the published app — a preview of an unsaved
        definition (``build_spec``) — over the app's published data, with the caller's rights and read scope as
        for a published report. Nothing is cached: neither the statement nor the result. ``conditions`` narrow
        the rows further (a draft dashboard's shared filters: ``widget_conditions``)."""
        live = self.platform.app(app)
        report = replace(report, cache=False)
        forms = self._find_forms_read(live, report)
        compiler, checked, ctx = self._prepare(live, report, who, dict(raw or {}), tuple(conditions), forms)
        compiled = compiler.compile(checked)
        buckets = _shown(report, checked)
        with self.platform.db.connect() as conn:
            rows = [dict(r) for r in conn.execute(compiled.statement).mappings()]
        return self.present(live, report, _Run(compiled, rows, buckets), who, figure=figure)

    # -- presenting ----------------------------------------------------------------------------------------------

    def present(self, live: LiveApp, report: ReportSpec, run: _Run, who: Principal, *, figure: bool = True
                ) -> dict[str, Any]:
        lang = _lang(who.locale)
        columns = run.compiled.columns
        out_columns = []
        for c in columns:
            if c.role == "dimension":
                d = c.source
                assert isinstance(d, Dimension)
                out_columns.append({"key": c.key, "label": d.label.get(who.locale), "role": "dimension",
                                    "type": d.ref.type, "bucket": d.bucket, "level": d.level,
                                    "bins": [str(b) for b in d.bins] or None})
            elif c.role in ("measure", "previous", "change"):
                m = c.source
                assert isinstance(m, Measure)
                label = m.label.get(who.locale)
                if c.role == "previous":
                    label += " (" + _compare_label(m.compare, lang) + ")"
                elif c.role == "change":
                    label += " %"
                out_columns.append({"key": c.key, "label": label, "role": c.role,
                                    "format": "percent" if c.role == "change" else m.format,
                                    "scale": CHANGE_SCALE if c.role == "change" else m.scale,
                                    "compare": m.compare if c.role != "measure" else None})
        rows: list[dict[str, Any]] = []
        totals = None
        for raw_row in run.rows:
            row: dict[str, Any] = {}
            is_total = bool(raw_row.get("_total"))
            is_other = bool(raw_row.get("_other"))
            for c in columns:
                if c.role == "dimension":
                    d = c.source
                    assert isinstance(d, Dimension)
                    value = raw_row[c.key]
                    row[c.key] = _json(value)
                    if is_other:
                        row[c.key + "__label"] = OTHERS[lang]
                    else:
                        row[c.key + "__label"] = self._label(d, value, raw_row.get(c.key + "__name"), who.locale,
                                                             d.bucket)
                elif c.role in ("measure", "previous", "change"):
                    row[c.key] = _json(raw_row[c.key])
            if is_other:
                row["_other"] = True
            if is_total:
                totals = {k: v for k, v in row.items() if not k.startswith(tuple(d.key for d in report.dimensions))}
            else:
                rows.append(row)
        result: dict[str, Any] = {
            "report": report.key, "label": report.label.get(who.locale), "chart": _chart_json(report),
            "columns": out_columns, "rows": rows, "totals": totals,
            "dimensions": [d.key for d in report.dimensions], "measures": [m.key for m in report.measures],
            "drill": bool(report.dimensions) or report.chart.type in ("number", "funnel"),
            "zoom": {k: dates.FINER[d.bucket] if d.bucket else REGION_LEVELS[REGION_LEVELS.index(d.level) + 1]
                     for k, d in run.buckets.items()
                     if (d.bucket and d.bucket != "day") or d.level in ("province", "city")},
        }
        if figure:
            result["figure"] = charts.figure(report, result, lang)
        return result

    def _label(self, d: Dimension, value: Any, name: Any, locale: str, bucket: str | None) -> Any:
        lang = _lang(locale)
        if value is None:
            return BLANK[lang]
        if bucket:
            return value
        if d.bins:
            edges = [_plain(b) for b in d.bins]
            i = int(value)
            if i == 0:
                return f"< {edges[0]}"
            if i == len(edges):
                return f"≥ {edges[-1]}"
            return f"{edges[i - 1]} – {edges[i]}"
        if d.level in ("province", "city", "district"):
            from forms_engine.validators import regions

            return region_name(str(value))
        if name is not None:
            return name
        if d.ref.type == "boolean":
            return YES_NO[lang][0 if value else 1]
        if d.ref.type == "region":
            from forms_engine.validators import regions

            return "".join(r.name for r in regions.path(str(value))) or str(value)
        if d.ref.options:
            return label_of(d.ref, value, locale)
        return _json(value)

    # -- dashboards ----------------------------------------------------------------------------------------------

    def _dashboard_conditions(self, live: LiveApp, report: ReportSpec, raw: Mapping[str, Any] | None
                              ) -> tuple[dict[str, Any], tuple[Condition, ...]]:
        raw = dict(raw or {})
        board_key = raw.pop("dashboard", None)
        values = raw.pop("dashboard_filters", None)
        if board_key is None:
            if values is not None:
                raise ValidationFailed([FieldProblem("dashboard_filters", "give the dashboard they belong to")])
            return raw, ()
        if not isinstance(board_key, str):
            raise ValidationFailed([FieldProblem("dashboard", "expected a dashboard key")])
        _live, board = self.dashboard_spec(live.key, board_key)
        if not any(w.report == report.key for w in board.widgets):
            raise ValidationFailed([FieldProblem("dashboard", f"report '{report.key}' is not on dashboard "
                                                              f"'{board.key}'", "unknown")])
        chosen = self.check_dashboard_filters(live, board, values)
        return raw, self.widget_conditions(live, board, report, chosen)

    def check_dashboard_filters(self, live: LiveApp, board: DashboardSpec, raw: Any) -> dict[str, Any]:
        """Chosen values per dashboard filter (defaults where the client sent nothing), coerced and checked."""
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise ValidationFailed([FieldProblem("dashboard_filters", "expected {filter: value(s)}")])
        for name in raw:
            if board.filter(str(name)) is None:
                raise ValidationFailed([FieldProblem(f"dashboard_filters.{str(name)[:60]}",
                                                     "not a filter of this dashboard", "unknown")])
        zone = dates.check_zone(live.spec.settings.timezone)
        today = self.platform.clock.now().astimezone(zone).date()
        chosen: dict[str, Any] = {}
        for f in board.filters:
            value = raw.get(f.key, None)
            if f.key not in raw:
                value = (f.default_value() if f.default_dates else list(f.default) if f.multi or not f.range
                         else (f.default[0] if f.default else None))
            if value in (None, [], ""):
                continue
            name = f"dashboard_filters.{f.key}"
            try:
                if f.range:
                    spec = value[0] if isinstance(value, list) and len(value) == 1 else value
                    spec = {"range": spec} if isinstance(spec, str) else spec
                    if not isinstance(spec, Mapping):
                        raise ValueError("a date filter is a range name or {from, to}")
                    chosen[f.key] = params_mod.window_of(spec, today)
                else:
                    values = params_mod.as_values(value)
                    if not f.multi and len(values) > 1:
                        raise ValueError("this filter takes one value")
                    chosen[f.key] = tuple(coerce(f.field, v) for v in values)
            except ValueError as exc:
                raise ValidationFailed([FieldProblem(name, str(exc))]) from None
        return chosen

    def widget_conditions(self, live: LiveApp, board: DashboardSpec, report: ReportSpec,
                          chosen: Mapping[str, Any]) -> tuple[Condition, ...]:
        out = []
        for f in board.filters:
            if f.key not in chosen:
                continue
            target = dict(f.fields).get(report.key)
            if target is None:
                continue
            value = chosen[f.key]
            if isinstance(value, dates.Window):
                out.append(Condition(target, window=value))
            else:
                out.append(Condition(target, tuple(value)))
        return tuple(out)

    def dashboard(self, app: str, key: str, who: Principal, raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every widget of a dashboard run with the shared filters; a widget the caller may not read shows its
        403 instead of failing the whole dashboard."""
        live, board = self.dashboard_spec(app, key)
        raw = dict(raw or {})
        unknown = set(raw) - {"filters"}
        if unknown:
            raise ValidationFailed([FieldProblem(sorted(unknown)[0], "unknown parameter", "unknown")])
        chosen = self.check_dashboard_filters(live, board, raw.get("filters"))
        widgets = []
        for i, w in enumerate(board.widgets):
            report = live.spec.of_kind("report")[w.report]
            entry: dict[str, Any] = {"index": i, "report": w.report, "x": w.x, "y": w.y, "w": w.w, "h": w.h,
                                     "title": w.title.get(who.locale) or report.label.get(who.locale),
                                     "cross_filter": self.cross_filters(board, report), "click": w.click}
            try:
                compiler, checked, ctx = self._prepare(live, report, who, None,
                                                       self.widget_conditions(live, board, report, chosen))
                entry["result"] = self.present(live, report, self._execute(live, report, compiler, checked, ctx), who)
            except (Forbidden, Unsupported) as exc:
                entry["error"] = exc.to_dict()["error"]
            widgets.append(entry)
        sent = (raw.get("filters") or {})
        return {
            "dashboard": board.key, "label": board.label.get(who.locale), "refresh": board.refresh, "home": board.home,
            "filters": [self._filter_json(f, sent, who) for f in board.filters],
            "widgets": widgets,
        }

    def cross_filters(self, board: DashboardSpec, report: ReportSpec) -> dict[str, str]:
        """dimension key → the dashboard filter a click on that dimension's value sets (cross-filtering)."""
        return cross_filters(board.filters, report)

    def _filter_json(self, f: DashboardFilter, sent: Mapping[str, Any], who: Principal) -> dict[str, Any]:
        value = sent.get(f.key, f.default_value())
        return {"key": f.key, "label": f.label.get(who.locale), "multi": f.multi, "range": f.range,
                "default": f.default_value(), "value": value, "depends_on": f.depends_on,
                "type": f.field.type, "ranges": list(dates.RANGES) if f.range else None}

    def filter_options(self, app: str, key: str, filter_key: str, who: Principal, parent: Any = None,
                       search: str | None = None) -> dict[str, Any]:
        """The values a dashboard filter offers (only those the caller may see); for a linked filter, only those
        matching the parent filter's chosen values."""
        live, board = self.dashboard_spec(app, key)
        f = board.filter(filter_key)
        if f is None:
            raise NotFound(f"dashboard '{key}' has no filter '{filter_key}'")
        lang = _lang(who.locale)
        if f.range:
            return {"options": [{"value": r, "label": r.replace("_", " ")} for r in dates.RANGES]}
        grant = effective(live.spec.forms[f.source].permissions, who)
        if grant.read == "none":
            raise Forbidden(f"you may not read {f.source} records")
        for form_key in _path_forms(live, f.source, f.field.joins) + (
                _path_forms(live, f.source, f.parent_field.joins) if f.parent_field else ()):
            if effective(live.spec.forms[form_key].permissions, who).read == "none":
                raise Forbidden(f"you may not read {form_key} records")
        if f.field.type in ("select", "radio") and f.depends_on is None and search is None:
            return {"options": [{"value": v, "label": t.get(who.locale)} for v, t in f.field.options]}
        if f.field.type == "boolean":
            return {"options": [{"value": True, "label": YES_NO[lang][0]}, {"value": False, "label": YES_NO[lang][1]}]}
        zone = dates.check_zone(live.spec.settings.timezone)
        now = self.platform.clock.now()
        ctx = RunContext(who, grant.read, self.platform.db.dialect.name, zone, now.astimezone(zone).date(),
                         dates.offset_minutes(zone, now))
        src = Sources(live, f.source, None)
        from engine.permissions import scope_filter

        column = src.column(f.field)
        name = src.name_of(f.field)
        where = [scope_filter(ctx.read_scope, src.owner, who), column.is_not(None)]
        if f.depends_on is not None and f.parent_field is not None and parent not in (None, [], ""):
            try:
                values = tuple(coerce(f.parent_field, v) for v in params_mod.as_values(parent))
            except ValueError as exc:
                raise ValidationFailed([FieldProblem("parent", str(exc))]) from None
            where.append(src.column(f.parent_field).in_(values))
        if search:
            target = name if name is not None else column
            where.append(target.contains(str(search)[:100], autoescape=True))
        cols = [column] + ([name] if name is not None else [])
        query = select(*cols).select_from(src.from_).where(and_(*where)).group_by(*cols).order_by(column).limit(
            MAX_OPTIONS)
        with self.platform.db.connect() as conn:
            found = conn.execute(query).all()
        dim = Dimension(f.key, f.field, f.label)
        return {"options": [{"value": _json(r[0]), "label": self._label(dim, r[0], r[1] if len(r) > 1 else None,
                                                                         who.locale, None)} for r in found]}

    # -- drill-down ----------------------------------------------------------------------------------------------

    def drill(self, app: str, key: str, who: Principal, raw: Mapping[str, Any] | None = None, *,
              page: int = 1, size: int = 50) -> dict[str, Any]:
        """The records behind one value of a report: ``raw["point"]`` gives a value per dimension (as the run
        returned it); the report's filters, the client's filters and the dashboard's filters all apply, and so
        does the caller's read scope. For a sub-table dataset the records owning the rows are listed."""
        live, report = self.report(app, key)
        raw = dict(raw or {})
        point = raw.pop("point", None) or {}
        stage = raw.pop("measure", None)  # a funnel's stage: only the rows that measure counts
        only = ()
        if stage is not None:
            m = report.measure(stage) if isinstance(stage, str) else None
            if m is None or m.expr is not None:
                raise ValidationFailed([FieldProblem("measure", "not an aggregate measure of this report", "unknown")])
            only = (m.filter,) if m.filter is not None else ()
        raw, extra = self._dashboard_conditions(live, report, raw)
        if not isinstance(point, Mapping):
            raise ValidationFailed([FieldProblem("point", "expected {dimension: value}")])
        if not 1 <= page <= 10_000 or not 1 <= size <= self.platform.settings.page_size_max:
            raise BadRequest(f"page starts at 1; size is 1..{self.platform.settings.page_size_max}")
        compiler, checked, ctx = self._prepare(live, report, who, raw, extra)
        conditions = []
        for name, value in point.items():
            d = report.dimension(str(name))
            if d is None:
                raise ValidationFailed([FieldProblem(f"point.{str(name)[:60]}", "not a dimension of this report",
                                                     "unknown")])
            if checked.zoom is not None and checked.zoom[0] == d.key:
                d = zoomed(d, checked.zoom[1])
            try:
                conditions.append(params_mod.dimension_condition(d, f"point.{d.key}", value))
            except ValueError as exc:
                raise ValidationFailed([FieldProblem(f"point.{d.key}", str(exc))]) from None
        checked = replace(checked, conditions=checked.conditions + tuple(conditions))
        ids = compiler.record_ids(checked, only)
        form = live.spec.forms[report.flow.form if report.flow is not None else report.form]
        records = self.platform.services["records"]
        table = records.table(live, form)
        where = table.c.id.in_(ids)
        with self.platform.db.connect() as conn:
            total = conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
            rows = conn.execute(select(table).where(where).order_by(table.c.id.desc())
                                .limit(size).offset((page - 1) * size)).mappings().all()
        from forms_engine.records import SYSTEM_FIELDS

        items = [records.to_json(form, {k: r[k] for k in SYSTEM_FIELDS} | {f.key: r[f.key] for f in form.stored_fields})
                 for r in rows]
        return {"form": form.key, "items": items, "total": total, "page": page, "size": size}

    # -- export --------------------------------------------------------------------------------------------------

    def export(self, app: str, key: str, who: Principal, raw: Mapping[str, Any] | None = None,
               fmt: str = "xlsx") -> tuple[bytes, str, str]:
        """A report's rows (and totals) as .xlsx or .csv: (content, media type, file name)."""
        from .export import to_csv, to_xlsx

        if fmt not in ("xlsx", "csv"):
            raise BadRequest("export format is xlsx or csv")
        result = self.run(app, key, who, raw, figure=False)
        header, body = table_of(result)
        name = f"{result['report']}.{fmt}"
        if fmt == "csv":
            return to_csv(header, body), "text/csv; charset=utf-8", name
        return (to_xlsx(result["label"][:31] or result["report"], header, body, formats_of(result)),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name)


def formats_of(result: Mapping[str, Any]) -> list[str | None]:
    """The spreadsheet number format of each column of ``table_of``: percentages at their measure's precision
    (0.1234 at scale 4 → ``0.00%``), money and counts grouped; None for text."""
    from .charts import percent_places

    out: list[str | None] = []
    for c in result["columns"]:
        if c["role"] == "dimension":
            out.append(None)
        elif c.get("format") == "percent":
            places = percent_places(c.get("scale"))
            out.append("0" + ("." + "0" * places if places else "") + "%")
        elif c.get("format") == "money":
            out.append("#,##0.00")
        elif c.get("format") == "integer":
            out.append("#,##0")
        else:
            out.append(None)
    return out


def table_of(result: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a run result as shown: dimension labels, measure numbers (Decimal)."""
    header, getters = [], []
    for c in result["columns"]:
        header.append(c["label"])
        if c["role"] == "dimension":
            getters.append(lambda row, k=c["key"]: row.get(k + "__label"))
        else:
            getters.append(lambda row, k=c["key"]: _number(row.get(k)))
    body = [[g(row) for g in getters] for row in result["rows"]]
    if result.get("totals"):
        totals = result["totals"]
        body.append(["合计" if i == 0 else _number(totals.get(c["key"])) if c["role"] != "dimension" else None
                     for i, c in enumerate(result["columns"])])
    return header, body


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _compare_label(kind: str | None, lang: str) -> str:
    if kind == "same_period_last_year":
        return "去年同期" if lang == "zh" else "same period last year"
    return "上期" if lang == "zh" else "previous period"


def _chart_json(report: ReportSpec) -> dict[str, Any]:
    c = report.chart
    return {"type": c.type, "stacked": c.stacked, "horizontal": c.horizontal, "hole": c.hole, "totals": c.totals,
            "x": c.x, "y": c.y}


def _scope_identity(ctx: RunContext, report: ReportSpec) -> tuple[Any, ...]:
    who = ctx.who
    base: tuple[Any, ...]
    if ctx.read_scope == "all":
        base = ("all",)
    elif ctx.read_scope == "own":
        base = ("own", who.id)
    elif ctx.read_scope == "department":
        base = ("department", who.department_id)
    else:
        base = ("tree", tuple(sorted(who.department_tree)))
    if report.uses_current_user:
        base += (who.id, who.username, who.department_id, tuple(sorted(who.department_tree)))
    return base


def _path_forms(live: LiveApp, form: str, joins: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for part in joins:
        if part == "parent":
            continue
        form = live.spec.forms[form].by_key[part].to
        out.append(form)
    return tuple(out)


def flow_generation(flow: str) -> str:
    """The cache generation key bumped when a flow's history grows."""
    return "flow:" + flow


def _forms_along(live: LiveApp, report: ReportSpec, ref: FieldRef) -> tuple[str, ...]:
    joins = ref.joins
    if report.flow is not None and joins:  # record.…: the flow's form, then on
        return (report.flow.form,) + _path_forms(live, report.flow.form, joins[1:])
    if report.subtable is not None and joins and joins[0] != "parent":
        # relations of the sub-table rows themselves
        first = live.spec.forms[report.form].by_key[report.subtable].sub(joins[0])
        target = first.to
        return (target,) + _path_forms(live, target, joins[1:])
    return _path_forms(live, report.form, joins)
