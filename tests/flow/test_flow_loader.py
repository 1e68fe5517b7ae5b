"""Loading flow definitions: valid fixtures load, invalid ones give exactly their expected located errors."""
from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import CONTEXT, DATA, load, load_text

from engine.errors import DefinitionErrors
from flow_engine import parse_duration
from flow_engine.checks import complementary
from flow_engine.conditions import simple_compiler
from flow_engine.dump import to_definition
from flow_engine.spec import QuorumSpec, format_duration

VALID = sorted(p.stem for p in (DATA / "valid").glob("*.yaml"))
INVALID = sorted(p.stem for p in (DATA / "invalid").glob("*.yaml"))
SCHEMA = json.loads((Path(__file__).parents[2] / "flow_engine" / "schemas" / "flow.json").read_text())


@pytest.mark.parametrize("name", VALID)
def test_valid_fixture_loads(name: str) -> None:
    flow = load(f"valid/{name}")
    assert flow.key == name
    assert flow.start.type == "start"


@pytest.mark.parametrize("name", INVALID)
def test_invalid_fixture_reports_expected_lines(name: str) -> None:
    expected = (DATA / "invalid" / f"{name}.expected").read_text().splitlines()
    with pytest.raises(DefinitionErrors) as caught:
        load(f"invalid/{name}")
    assert [str(e) for e in caught.value.errors] == expected


@pytest.mark.parametrize("name", VALID)
def test_valid_fixture_matches_json_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(yaml.safe_load((DATA / "valid" / f"{name}.yaml").read_text()))


@pytest.mark.parametrize("name", ["unknown_names", "bad_settings", "not_a_flow", "bad_names"])
def test_json_schema_refuses_invalid_shapes(name: str) -> None:
    data = yaml.safe_load((DATA / "invalid" / f"{name}.yaml").read_text())
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))


def test_specs_are_frozen() -> None:
    flow = load("valid/purchase_request")
    with pytest.raises(dataclasses.FrozenInstanceError):
        flow.nodes[1].mode = "all"  # type: ignore[misc]
    with pytest.raises(TypeError):
        flow.nodes[1].rights.rights["amount"] = "hidden"  # type: ignore[index]


def test_loaded_spec_carries_the_definition() -> None:
    flow = load("valid/purchase_request")
    lead = flow.node("lead_review")
    assert lead.rights.right("opinion") == "required" and lead.rights.right("category") == "readonly"
    assert lead.sla is not None and lead.sla.remind_after == timedelta(hours=8) and lead.sla.business_time
    assert lead.sla.escalate is not None and lead.sla.escalate.action == "notify_manager"
    assert lead.require_reason == {"reject", "return"}
    assert flow.node("director_review").quorum == QuorumSpec(percent=60.0)
    assert [e.target for e in flow.out("start")] == ["finance_review", "lead_review"]
    assert flow.node("finance_review").reject_policy == "after_all"


def test_labels_and_names_are_translatable_like_form_labels() -> None:
    flow = load("valid/leave_request")
    assert (flow.label, flow.label_in("en"), flow.label_in("zh-CN")) == ("请假审批", "Leave request", "请假审批")
    lead = flow.node("lead")
    assert (lead.name, lead.label_in("en"), lead.label_in("zh-CN")) == ("主管审批", "Lead's approval", "主管审批")
    assert flow.node("start").label_in("en") == "提交"  # one text is the same in every language
    assert flow.node("granted").name == "Granted"  # only in English: shown in English everywhere
    assert flow.node("hr").label_in("en") == "hr"  # no name: the id
    # the stored name (tasks, history) is the text in the app's language
    english = load("valid/leave_request", locale="en")
    assert (english.label, english.node("lead").name) == ("Leave request", "Lead's approval")
    assert to_definition(flow)["label"] == {"zh-CN": "请假审批", "en": "Leave request"}
    assert to_definition(flow)["nodes"][0]["name"] == "提交"


def test_joins_are_matched_to_their_split() -> None:
    assert dict(load("valid/expense_claim").joins) == {"merge": "split"}


def test_escalate_to_shorthand_reassigns() -> None:
    flow = load_text("""
key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: a, type: approval, assignees: {role: cfo}, sla: {escalate_after: 1d, escalate_to: {manager_of: assignee}}}
  - {id: done, type: end}
edges: [{from: start, to: a}, {from: a, to: done}]
""")
    sla = flow.node("a").sla
    assert sla is not None and sla.escalate is not None
    assert sla.escalate.action == "reassign" and sla.escalate.to[0].value == "assignee"


def test_condition_errors_point_into_the_expression() -> None:
    text = """key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: a, type: approval, assignees: {role: cfo}}
  - {id: done, type: end}
edges:
  - {from: start, to: a, if: "amout > 5"}
  - {from: start, to: done, default: true}
  - {from: a, to: done}
"""
    with pytest.raises(DefinitionErrors) as caught:
        load_text(text, compile_condition=simple_compiler(CONTEXT["fields"]))
    assert [str(e) for e in caught.value.errors] == [
        "inline.yaml:8:31: edges[0].if: unknown field 'amout' (did you mean 'amount'?)"]


def test_roles_and_fields_are_not_checked_when_unknown() -> None:
    flow = load("valid/leave_request", roles=None, fields=None)
    assert flow.node("hr").mode == "sequential"


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)), ("8h", timedelta(hours=8)), ("2d", timedelta(days=2)),
    ("1w", timedelta(weeks=1)), (" 1.5h ", timedelta(minutes=90)), (45, timedelta(minutes=45)),
])
def test_parse_duration(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "8", "2 days", "-1h", True])
def test_parse_duration_refuses(text: str | bool) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(minutes=30), "30m"), (timedelta(hours=8), "8h"), (timedelta(days=2), "2d"), (timedelta(weeks=2), "2w"),
])
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@pytest.mark.parametrize(("quorum", "total", "needed"), [
    (QuorumSpec(count=2), 3, 2), (QuorumSpec(count=5), 3, 3), (QuorumSpec(percent=60), 5, 3),
    (QuorumSpec(percent=60), 3, 2), (QuorumSpec(percent=50), 4, 2), (QuorumSpec(percent=100), 4, 4),
    (QuorumSpec(percent=1), 4, 1),
])
def test_quorum_needed(quorum: QuorumSpec, total: int, needed: int) -> None:
    assert quorum.needed(total) == needed


@pytest.mark.parametrize(("a", "b", "covers"), [
    ("amount > 5", "amount <= 5", True), ("amount <= 5", "amount > 5", True), ("x == 'A'", "x != 'A'", True),
    ("urgent", "not urgent", True), ("amount > 5", "amount < 5", False), ("amount > 5", "amount <= 6", False),
    ("a > (", "a <= 1", False),
])
def test_complementary_conditions(a: str, b: str, covers: bool) -> None:
    assert complementary(a, b) is covers


def test_default_compiler_is_the_rules_engine() -> None:
    text = """key: f
form: purchase
nodes:
  - {id: start, type: start}
  - {id: done, type: end}
edges:
  - {from: start, to: done, if: "amount > 5 and amout < 9"}
  - {from: start, to: done, default: true}
"""
    with pytest.raises(DefinitionErrors) as caught:
        load_text(text)
    assert [str(e) for e in caught.value.errors] == [
        "inline.yaml:7:49: edges[0].if: unknown name 'amout' (did you mean 'amount'?)"]
