"""Plugs the rules engine into the platform: the ``decision_table`` and ``automation`` definition kinds, the
rule-test runner, the automation service (record and flow events), its jobs and routes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.kinds import DefinitionKind
from engine.metaschema import register_schema_file
from engine.plugins import Hooks


def _build_table(doc: Any, ctx: Any) -> Any:
    from . import build_decision_table

    return build_decision_table(doc, ctx.problems)


def _rule_tests(app: Any) -> tuple[int, int, list[str]]:
    """Run every decision table's examples: (passed, failed, one line per failure)."""
    from . import run_tests

    passed, failed, results = run_tests(list(app.of_kind("decision_table").values()))
    return passed, failed, [str(r) for r in results if not r.passed]


def register(hooks: Hooks) -> None:
    register_schema_file("decision_table", Path(__file__).parent / "schemas" / "decision_table.json")
    hooks.kinds.register(DefinitionKind(name="decision_table", folder="rules", schema="decision_table",
                                        build=_build_table, order=5,  # before forms: their formulas may DECIDE
                                        description="A decision table with hit policy, rules and test cases."))
    hooks.services["rule_tests"] = _rule_tests
    hooks.services["compile_flow_actions"] = _build_flow_actions
    _register_automations(hooks)


def _build_flow_actions(doc: Any, ctx: Any, **where: Any) -> Any:
    from .automations.loader import build_flow_actions

    return build_flow_actions(doc, ctx, **where)


def _build_automation(doc: Any, ctx: Any) -> Any:
    from .automations import build_automation

    return build_automation(doc, ctx)


def _register_automations(hooks: Hooks) -> None:
    register_schema_file("automation", Path(__file__).parent / "schemas" / "automation.json")
    hooks.kinds.register(DefinitionKind(name="automation", folder="automations", schema="automation",
                                        build=_build_automation, order=70,
                                        description="An automation: when (trigger) -> if (condition) -> then (actions)."))

    #: the platform these hooks belong to (flow events carry no platform; each platform has its own hooks)
    owner: dict[str, Any] = {}

    def start(platform: Any) -> None:
        from engine.outbox import parse_hosts

        from .automations import Automations

        platform.services["automations"] = Automations(platform)
        owner["platform"] = platform
        # definitions loaded by this platform check webhook URLs against its allow-list
        platform.hooks.services["webhook_allow_hosts"] = parse_hosts(platform.settings.webhook_allow_hosts)

    def on_record(conn: Any, event: Any) -> None:
        service = event.platform.services.get("automations")
        if service is not None:
            service.on_record(conn, event)

    def on_records(conn: Any, events: list[Any]) -> None:  # the batch form: the index looked at once per form
        wanted: dict[tuple[int, str], bool] = {}
        for event in events:
            service = event.platform.services.get("automations")
            if service is None:
                continue
            key = (id(event.app), event.form.key)
            hit = wanted.get(key)
            if hit is None:
                hit = wanted[key] = bool(service.index(event.app).get(("record", event.form.key)))
            if hit:
                service.on_record(conn, event)

    on_record.many = on_records  # type: ignore[attr-defined]

    def on_flow(conn: Any, event: Any) -> None:
        platform = owner.get("platform")
        if platform is not None:
            platform.services["automations"].on_flow(conn, event)

    def routers(platform: Any) -> list[Any]:
        from .automations.api import build_router

        return [build_router()]

    def job_schedules(platform: Any) -> int:
        from .automations.jobs import run_due

        return run_due(platform)

    hooks.on_start.append(start)
    hooks.record_events.append(on_record)
    hooks.flow_events.append(on_flow)
    hooks.routers.append(routers)
    hooks.jobs.append(("automations", job_schedules))
