"""Plugs the flow engine into the platform: the ``flow`` definition kind, the flow service, its routes, the
flow-timer job, starting flows when records are submitted, and ``loomwork export-bpmn``."""
from __future__ import annotations

import dataclasses

from pathlib import Path
from typing import Any, Mapping

from engine.kinds import DefinitionKind
from engine.metaschema import register_schema_file
from engine.plugins import Hooks

from .checks import suggest

#: Form field types a flow sees as people (user names) or departments (department keys).
PEOPLE_TYPES = frozenset({"user", "department"})


def flow_fields(form: Any, forms: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """For a form spec: (field key → form field type, for the loader's checks) and the expression scope types
    (key → rules-engine type, or a nested mapping for a single relation) for conditions."""
    kinds: dict[str, str] = {}
    scope: dict[str, Any] = {}
    for f in form.fields:
        if f.ftype.layout_only:
            continue
        kinds[f.key] = f.type
        if f.type in PEOPLE_TYPES:
            scope[f.key] = "list" if f.many else "text"
        elif f.type == "relation" and not f.many and f.to in forms:
            target = forms[f.to]
            scope[f.key] = {t.key: _expr_type(t) for t in target.fields
                            if not t.ftype.layout_only and t.type not in ("relation", "subtable")}
        else:
            scope[f.key] = _expr_type(f)
    return kinds, scope


def _expr_type(f: Any) -> str:
    if f.type in PEOPLE_TYPES:
        return "list" if f.many else "text"
    kind = f.ftype.expr_type
    if f.type == "formula":
        kind = str(f.extra.get("result", "number"))
        kind = "text" if kind == "select" else kind  # a select result is a text naming one of its options
    return kind if kind in ("text", "number", "integer", "money", "percent", "date", "datetime", "boolean",
                            "list") else "any"


def build_flow(doc: Any, ctx: Any) -> Any:
    """Build one flow of an app, checked against the app's forms, roles, decision tables and other flows."""
    from .conditions import default_compiler
    from .loader import load_flow

    data = doc.data
    forms = ctx.specs.get("form", {})
    form_key = data.get("form")
    fields: dict[str, str] | None = None
    compiler = None
    if form_key not in forms:
        known = set(ctx.raw.get("form", {}))
        if form_key in known or any(e.file.startswith("forms/") for e in ctx.problems.errors):
            return None  # the form itself is broken: its own errors are reported
        ctx.problems.add(doc.error(("form",), f"unknown form '{form_key}'",
                                   suggest(str(form_key), known) or (f"one of: {', '.join(sorted(known))}" if known
                                                                     else "add the form under forms/")))
    else:
        fields, scope = flow_fields(forms[form_key], forms)
        tables = {k: v for k, v in (ctx.specs.get("decision_table") or {}).items() if v is not None}
        compiler = default_compiler(scope, tables)
    before = len(ctx.problems.errors)
    flow = load_flow(doc, roles=ctx.roles | {"admin"}, fields=fields, compile_condition=compiler,
                     problems=ctx.problems, locale=ctx.settings.locale)
    _check_references(doc, ctx)
    if len(ctx.problems.errors) != before:
        return None
    return _compile_actions(doc, ctx, flow)


def _compile_actions(doc: Any, ctx: Any, flow: Any) -> Any:
    """Automation nodes' actions compiled by the automation engine (``compile_flow_actions``), when it is there."""
    make = ctx.services.get("compile_flow_actions")
    raw_nodes = doc.data.get("nodes")
    if make is None or flow is None or not isinstance(raw_nodes, list):
        return flow
    before = len(ctx.problems.errors)
    nodes = []
    for node in flow.nodes:
        if node.type == "automation":
            index = next(i for i, n in enumerate(raw_nodes) if isinstance(n, dict) and n.get("id") == node.id)
            compiled = make(doc, ctx, flow=flow.key, node=node.id, form_key=flow.form,
                            path=("nodes", index, "actions"))
            node = dataclasses.replace(node, compiled_actions=compiled)
        nodes.append(node)
    if len(ctx.problems.errors) != before:
        return None
    return dataclasses.replace(flow, nodes=tuple(nodes))


def _check_references(doc: Any, ctx: Any) -> None:
    """Decision tables named by assignee rules and flows named by subflow nodes exist in the app."""
    tables = set(ctx.raw.get("decision_table", {}))
    flows = set(ctx.raw.get("flow", {}))
    nodes = doc.data.get("nodes")
    if not isinstance(nodes, list):
        return
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        rules = node.get("assignees")
        for j, rule in enumerate(rules if isinstance(rules, list) else [rules]):
            if isinstance(rule, dict) and isinstance(rule.get("decision"), str) and rule["decision"] not in tables:
                path = ("nodes", i, "assignees") + ((j,) if isinstance(rules, list) else ()) + ("decision",)
                ctx.problems.add(doc.error(path, f"unknown decision table '{rule['decision']}'",
                                           suggest(rule["decision"], tables)))
        if node.get("type") == "subflow" and isinstance(node.get("flow"), str):
            if node["flow"] not in flows:
                ctx.problems.add(doc.error(("nodes", i, "flow"), f"unknown flow '{node['flow']}'",
                                           suggest(node["flow"], flows)))
            elif node["flow"] == doc.data.get("key"):
                ctx.problems.add(doc.error(("nodes", i, "flow"), "a flow cannot start itself as a subflow"))
            elif ctx.raw["flow"][node["flow"]].data.get("form") != doc.data.get("form"):
                other = ctx.raw["flow"][node["flow"]].data.get("form")
                ctx.problems.add(doc.error(("nodes", i, "flow"), f"subflow '{node['flow']}' belongs to form "
                                           f"'{other}', not '{doc.data.get('form')}'", "a subflow runs on the same record"))


def _portal() -> bool:
    """Whether the server-rendered portal (``engine.web.templating``) is there to add pages to."""
    import importlib.util

    return importlib.util.find_spec("engine.web.templating") is not None


def register(hooks: Hooks) -> None:
    register_schema_file("flow", Path(__file__).parent / "schemas" / "flow.json")
    hooks.kinds.register(DefinitionKind(name="flow", folder="flows", schema="flow", build=build_flow, order=40,
                                        description="An approval flow of a form: nodes, edges, people, time limits."))

    def start(platform: Any) -> None:
        from .service import FlowService

        platform.services["flows"] = FlowService(platform)

        def demo_flows(platform: Any, live: Any, limit: int | None) -> Any:
            from .demo import run_demo_flows

            return run_demo_flows(platform, live, limit)

        platform.services["demo_flows"] = demo_flows
        if _portal():
            from .pages import on_start

            on_start(platform)

    def routers(platform: Any) -> list[Any]:
        from .api import build_router

        out = [build_router()]
        if _portal():
            from .pages import build_router as pages

            out.append(pages())
        return out

    def home_panel(request: Any, platform: Any, who: Any) -> Any:
        from .pages import home_panel as panel

        return panel(request, platform, who)

    def notifications_panel(request: Any, platform: Any, who: Any) -> Any:
        from .pages import notifications_panel as panel

        return panel(request, platform, who)

    def on_record(conn: Any, event: Any) -> None:
        service = event.platform.services.get("flows")
        if service is not None and event.action == "created":
            service.on_record_created(conn, event)

    def on_records(conn: Any, events: list[Any]) -> None:  # the batch form: the flows looked at once per form
        wanted: dict[tuple[int, str], bool] = {}
        for event in events:
            service = event.platform.services.get("flows")
            if service is None or event.action != "created":
                continue
            key = (id(event.app), event.form.key)
            hit = wanted.get(key)
            if hit is None:
                hit = wanted[key] = any(flow.form == event.form.key and flow.start_on == "submit"
                                        for flow in event.app.spec.of_kind("flow").values())
            if hit:
                service.on_record_created(conn, event)

    on_record.many = on_records  # type: ignore[attr-defined]

    def job(platform: Any) -> int:
        service = platform.services.get("flows")
        return service.fire_due_timers() if service is not None else 0

    from .cli import add_commands

    hooks.on_start.append(start)
    hooks.routers.append(routers)
    if _portal():
        hooks.home_panels.append(home_panel)
        hooks.home_panels.append(notifications_panel)
    hooks.record_events.append(on_record)
    hooks.jobs.append(("flow_timers", job))
    hooks.cli.append(add_commands)
