"""Plugs the rules engine into the platform: the ``decision_table`` definition kind and the rule-test runner."""
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
                                        build=_build_table, order=20,
                                        description="A decision table with hit policy, rules and test cases."))
    hooks.services["rule_tests"] = _rule_tests
