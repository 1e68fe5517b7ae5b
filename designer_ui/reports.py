"""What the report builder offers and runs: the datasets of an app with the names a report may use, and the preview
of a report definition that is not saved (through the report service's ``build_spec`` / ``run_spec``)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Mapping

from engine.errors import DefinitionErrors, LoomworkError
from engine.metaschema import load_schema
from engine.permissions import Principal

from report_engine import flowdata
from report_engine.dataset import SYSTEM_COLUMNS, Dataset, NameError_, groupable

#: how many relations the builder follows when it lists fields of related records (``supplier.office.city``): as
#: many as a report may (``dataset.MAX_JOINS``); a dataset lists at most ``MAX_NAMES`` names
RELATION_DEPTH = 3
MAX_NAMES = 600


def builder_meta() -> dict[str, Any]:
    """The report engine's closed lists: chart types, aggregates, date buckets, relative ranges, filter operators,
    region levels, measure formats and comparisons."""
    from report_engine import dates
    from report_engine.spec import AGGREGATES, BUCKETS, CHART_TYPES

    schema = load_schema("report")["$defs"]
    ops = schema["filter"]["oneOf"][1]["properties"]["op"]["enum"]
    levels = schema["dimension"]["oneOf"][1]["properties"]["level"]["enum"]
    measure = schema["measure"]["properties"]
    return {"charts": list(CHART_TYPES), "aggregates": list(AGGREGATES), "buckets": list(BUCKETS),
            "ranges": list(dates.RANGES), "ops": list(ops), "levels": list(levels),
            "formats": list(measure["format"]["enum"]), "comparisons": list(measure["compare"]["enum"])}


def _field_json(dataset: Dataset, name: str, label: Any) -> dict[str, Any] | None:
    try:
        ref = dataset.resolve(name)
    except NameError_:
        return None
    return {"name": name, "label": label, "type": ref.type, "numeric": ref.numeric, "temporal": ref.temporal,
            "groupable": groupable(ref), "options": [v for v, _ in ref.options][:50], "form": ref.form,
            "key": ref.key, "target": ref.target}


def _text(value: Any) -> Any:
    return value.to_json() if hasattr(value, "to_json") else str(value) if value is not None else None


def _names(form: Any, prefix: str, depth: int, forms: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The names of ``form``'s stored fields, then (breadth first, so a cap keeps the nearest) those of the forms
    its single relations lead to, ``depth`` relations deep at most."""
    out: list[tuple[str, Any]] = []
    level = [(form, prefix)]
    for hop in range(depth + 1):
        following = []
        for current, pre in level:
            for f in current.fields:
                if not getattr(f, "stored", True):
                    continue
                out.append((pre + f.key, _text(f.label) or f.key))
                if f.type == "relation" and not f.many and f.to in forms and hop < depth:
                    following.append((forms[f.to], f"{pre}{f.key}."))
            if not pre:
                out += [(name, name) for name in SYSTEM_COLUMNS if name not in current.by_key]
        if len(out) >= MAX_NAMES:
            return out[:MAX_NAMES]
        level = following
    return out


def datasets(spec: Any) -> list[dict[str, Any]]:
    """Every dataset of an app spec (forms, their sub-tables, the flows' task history) with its usable names."""
    forms = dict(spec.of_kind("form"))
    out: list[dict[str, Any]] = []

    def add(name: str, label: Any, group: str, ds: Dataset, names: list[tuple[str, Any]]) -> None:
        fields = [x for x in (_field_json(ds, n, lab) for n, lab in names) if x is not None]
        out.append({"name": name, "label": label, "group": group, "fields": fields})

    for key, form in forms.items():
        add(key, _text(form.label) or key, "form", Dataset(forms, key), _names(form, "", RELATION_DEPTH, forms))
        for sub in form.subtables:
            ds = Dataset(forms, key, sub.key)
            names = [(s.key, _text(s.label) or s.key) for s in sub.fields if s.stored]
            names += [(f"parent.{f.key}", f"{_text(form.label) or key}: {_text(f.label) or f.key}")
                      for f in form.fields if f.stored and f.type != "subtable"]
            add(f"{key}.{sub.key}", f"{_text(form.label) or key} / {_text(sub.label) or sub.key}", "subtable", ds,
                names)
    for flow_key, flow in spec.of_kind("flow").items():
        if flow.form not in forms:
            continue
        for suffix in ("", ".tasks"):
            name = f"{flowdata.PREFIX}{flow_key}{suffix}"
            fd = flowdata.dataset(name, flow)
            all_forms = {**forms, name: fd.spec}
            names = [(f.key, _text(f.label)) for f in fd.spec.fields]
            names += [(f"record.{n}", f"record: {lab}") for n, lab in _names(forms[flow.form], "", 0, forms)]
            add(name, f"{_text(flow.label) or flow_key}{' (tasks)' if suffix else ''}", "flow_history",
                Dataset(all_forms, name), names)
    return out


def preview(platform: Any, app: str, path: str, data: Any, who: Principal,
            params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Run a report definition as it is in the builder over the app's published data.

    Answers ``{"result": …}`` or ``{"errors": [...]}`` (definition problems, located in ``path``) or
    ``{"message": …}`` (the app is not published, the caller may not read the data, a bad parameter)."""
    service = platform.services.get("reports")
    if service is None:
        return {"message": "no report engine is plugged in"}
    if app not in platform.apps:
        return {"message": "publish the app once to preview reports over its data"}
    try:
        spec = service.build_spec(app, data, file=path)
    except DefinitionErrors as exc:
        return {"errors": [e.to_dict() for e in exc.errors],
                "message": "the preview runs over the published forms: publish new fields before using them"}
    try:
        return {"result": service.run_spec(app, spec, who, params)}
    except LoomworkError as exc:
        return {"message": exc.message if hasattr(exc, "message") else str(exc)}


def preview_dashboard(platform: Any, app: str, path: str, data: Any, who: Principal) -> dict[str, Any]:
    """Run every widget of a dashboard as it is in the editor over the app's published data, narrowed by the
    draft's shared filters at their default values.

    Answers ``{"widgets": [{"index", "report", "result" | "message"}], "errors": [...], "filters": {key: value}}``
    (``errors``: the draft's definition problems, then the widgets run unfiltered), or ``{"message": …}``."""
    service = platform.services.get("reports")
    if service is None:
        return {"message": "no report engine is plugged in", "widgets": []}
    if app not in platform.apps:
        return {"message": "publish the app once to preview its dashboards over its data", "widgets": []}
    if not isinstance(data, Mapping):
        return {"message": "a dashboard definition is a mapping", "widgets": []}
    live = platform.app(app)
    errors: list[dict[str, Any]] = []
    board = None
    published = live.spec.of_kind("report")
    try:
        board = service.build_dashboard_spec(app, data, file=path)
    except DefinitionErrors as exc:
        errors = [e.to_dict() for e in exc.errors]
        # the widgets that can show data still get the shared filters when the rest of the draft checks
        shown = [w for w in data.get("widgets") or [] if isinstance(w, Mapping) and w.get("report") in published]
        if shown:
            try:
                board = service.build_dashboard_spec(app, {**data, "widgets": shown}, file=path)
            except DefinitionErrors:
                board = None
    chosen: dict[str, Any] = {}
    if board is not None:
        try:
            chosen = service.check_dashboard_filters(live, board, None)
        except LoomworkError as exc:
            errors.append({"file": path, "path": "filters", "message": str(getattr(exc, "message", exc))})
    out = []
    for i, raw in enumerate(data.get("widgets") or []):
        key = raw.get("report") if isinstance(raw, Mapping) else None
        entry: dict[str, Any] = {"index": i, "report": key}
        report = published.get(key) if isinstance(key, str) else None
        if report is None:
            entry["message"] = f"report '{key}' is not published: publish it to see its data here"
        else:
            conditions = service.widget_conditions(live, board, report, chosen) if board is not None else ()
            try:
                entry["result"] = service.run_spec(app, report, who, None, conditions=conditions)
            except LoomworkError as exc:
                entry["message"] = str(getattr(exc, "message", exc))
        out.append(entry)
    return {"widgets": out, "errors": errors,
            "filters": {k: (v if isinstance(v, (list, tuple)) else _applied(v)) for k, v in chosen.items()}}


def _applied(value: Any) -> str:
    """A filter value as the preview note shows it: a date window as its first and last day."""
    start, end = getattr(value, "start", None), getattr(value, "end", None)
    if isinstance(start, date) and isinstance(end, date):
        first, last = start.isoformat(), (end - timedelta(days=1)).isoformat()
        return "from " + first if end.year >= 9999 else "until " + last if start.year <= 1 else f"{first} – {last}"
    return str(value)
