"""What the report builder offers and runs: the datasets of an app with the names a report may use, and the preview
of a report definition that is not saved (through the report service's ``build_spec`` / ``run_spec``)."""
from __future__ import annotations

from typing import Any, Mapping

from engine.errors import DefinitionErrors, LoomworkError
from engine.metaschema import load_schema
from engine.permissions import Principal

from report_engine import flowdata
from report_engine.dataset import SYSTEM_COLUMNS, Dataset, NameError_, groupable

#: how deep the builder lists fields of related records (``supplier.city``); reports may go further by hand
RELATION_DEPTH = 1


def builder_meta() -> dict[str, Any]:
    """The report engine's closed lists: chart types, aggregates, date buckets, relative ranges, filter operators."""
    from report_engine import dates
    from report_engine.spec import AGGREGATES, BUCKETS, CHART_TYPES

    ops = load_schema("report")["$defs"]["filter"]["oneOf"][1]["properties"]["op"]["enum"]
    return {"charts": list(CHART_TYPES), "aggregates": list(AGGREGATES), "buckets": list(BUCKETS),
            "ranges": list(dates.RANGES), "ops": list(ops)}


def _field_json(dataset: Dataset, name: str, label: Any) -> dict[str, Any] | None:
    try:
        ref = dataset.resolve(name)
    except NameError_:
        return None
    return {"name": name, "label": label, "type": ref.type, "numeric": ref.numeric, "temporal": ref.temporal,
            "groupable": groupable(ref), "options": [v for v, _ in ref.options][:50]}


def _text(value: Any) -> Any:
    return value.to_json() if hasattr(value, "to_json") else str(value) if value is not None else None


def _names(form: Any, prefix: str, depth: int, forms: Mapping[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for f in form.fields:
        if not getattr(f, "stored", True):
            continue
        out.append((prefix + f.key, _text(f.label) or f.key))
        if f.type == "relation" and not f.many and f.to in forms and depth > 0:
            out += _names(forms[f.to], f"{prefix}{f.key}.", depth - 1, forms)
    if not prefix:
        out += [(name, name) for name in SYSTEM_COLUMNS if name not in form.by_key]
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
