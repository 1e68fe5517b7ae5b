"""Plugs the report engine into the platform: the ``report`` and ``dashboard`` kinds (folder ``reports/``), the
report service, cache invalidation on record changes, and the HTTP routes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.kinds import DefinitionKind
from engine.metaschema import register_schema_file
from engine.plugins import Hooks

from .loader import build_dashboard, build_report

SCHEMAS = Path(__file__).parent / "schemas"


def register(hooks: Hooks) -> None:
    register_schema_file("report", SCHEMAS / "report.json")
    register_schema_file("dashboard", SCHEMAS / "dashboard.json")
    hooks.kinds.register(DefinitionKind(
        name="report", folder="reports", schema="report", build=build_report, order=60,
        description="A report: dataset, dimensions, measures and filters compiled to SQL, and a chart."))
    hooks.kinds.register(DefinitionKind(
        name="dashboard", folder="reports", schema="dashboard", build=build_dashboard, order=61,
        description="A dashboard: a grid of report widgets with shared filters (kind: dashboard)."))

    def start(platform: Any) -> None:
        from .service import Reports

        service = platform.services["reports"] = Reports(platform)

        def flow_changed(conn: Any, event: Any) -> None:  # a flow's history grew: its datasets' cache is stale
            from .cache import mark
            from .service import flow_generation

            mark(conn, service.cache, str(event.app), flow_generation(str(event.flow)))

        platform.hooks.flow_events.append(flow_changed)

    def changed(conn: Any, event: Any) -> None:
        from .cache import mark

        service = event.platform.services.get("reports")
        if service is not None:
            mark(conn, service.cache, event.app.key, event.form.key)

    def changed_many(conn: Any, events: list[Any]) -> None:  # the batch form: each form marked once
        from .cache import mark

        seen: set[tuple[int, str, str]] = set()
        for event in events:
            key = (id(event.platform), event.app.key, event.form.key)
            if key in seen:
                continue
            seen.add(key)
            service = event.platform.services.get("reports")
            if service is not None:
                mark(conn, service.cache, event.app.key, event.form.key)

    changed.many = changed_many  # type: ignore[attr-defined]

    def routers(platform: Any) -> list[Any]:
        from .api import build_router
        from .pages import build_router as build_pages

        return [build_router(), build_pages()]

    def home_panel(request: Any, platform: Any, who: Any) -> Any:
        from .pages import home_panel as panel

        return panel(request, platform, who)

    def cli(sub: Any) -> None:
        from forms_engine.fake import add_command  # the generic data generator: demos and the report benchmarks

        add_command(sub)

    hooks.cli.append(cli)
    hooks.on_start.append(start)
    hooks.record_events.append(changed)
    hooks.routers.append(routers)
    hooks.home_panels.append(home_panel)
