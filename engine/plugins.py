"""Hooks through which the engines plug into the core, the way an extension would (datasette-style).

``BUILTIN`` lists the engine modules loaded at start-up; each has a ``register(hooks)`` function.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from .kinds import KindRegistry

BUILTIN = (
    "engine.web.portal",
    "engine.notifications",
    "engine.scheduler",
    "engine.apps_reload",
    "engine.outbox",
    "forms_engine.plugin",
    "rules_engine.plugin",
    "flow_engine.plugin",
    "report_engine.plugin",
    "designer_ui.plugin",
)


@dataclass
class Hooks:
    kinds: KindRegistry = field(default_factory=KindRegistry)
    #: app → the TableSpecs its runtime data needs
    table_specs: list[Callable[[Any], list[Any]]] = field(default_factory=list)
    #: platform → FastAPI routers to mount
    routers: list[Callable[[Any], list[Any]]] = field(default_factory=list)
    #: (fastapi_app, platform) adjusting the OpenAPI document (per-form schemas)
    openapi: list[Callable[[Any, Any], None]] = field(default_factory=list)
    #: (platform) called once the platform is built: engines create their services here
    on_start: list[Callable[[Any], None]] = field(default_factory=list)
    #: (platform, app) called after an app version becomes live
    on_activate: list[Callable[[Any, Any], None]] = field(default_factory=list)
    #: (conn, event) called inside the transaction of every record change; event is a RecordEvent. A handler may
    #: carry a batch form as its ``many`` attribute, ``many(conn, events)``, which bulk writers (the importer) call
    #: once per chunk of events instead (see ``emit_record_events``)
    record_events: list[Callable[[Any, Any], None]] = field(default_factory=list)
    #: (conn, event) called inside the transaction of every flow change (instance started, node entered/left,
    #: instance finished); event is an ``engine.events.FlowEvent``
    flow_events: list[Callable[[Any, Any], None]] = field(default_factory=list)
    #: (request, platform, principal) -> a panel for the portal's home page (my tasks, reminders, KPIs) or None
    home_panels: list[Callable[[Any, Any, Any], Any]] = field(default_factory=list)
    #: (subparsers) adding an engine's ``loomwork`` sub-commands; their handlers build the platform
    #: with ``engine.cli.platform_from_args(args)``
    cli: list[Callable[[Any], None]] = field(default_factory=list)
    #: (name, job(platform) -> int) periodic work the scheduler runs (due timers, scheduled automations);
    #: each job claims its own due items safely and returns how many it handled
    jobs: list[tuple[str, Callable[[Any], int]]] = field(default_factory=list)
    #: named services an engine offers to others through the platform (e.g. "records")
    services: dict[str, Any] = field(default_factory=dict)
    closed: bool = False

    def close(self) -> None:
        self.kinds.close()
        self.closed = True


def load_builtin(hooks: Hooks, modules: tuple[str, ...] = BUILTIN) -> Hooks:
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
                continue  # an engine not built yet
            raise
        module.register(hooks)
    hooks.close()
    return hooks


def emit_record_events(handlers: list[Callable[[Any, Any], None]], conn: Any, events: list[Any]) -> None:
    """Hand a batch of record events to every handler: its ``many`` form when it has one, else one call per event.
    Each handler sees the events in their order."""
    for handler in handlers:
        many = getattr(handler, "many", None)
        if many is not None:
            many(conn, events)
        else:
            for event in events:
                handler(conn, event)
