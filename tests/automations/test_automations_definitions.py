"""Automation definitions: every mistake is reported at load with file, line, path and a hint."""
from __future__ import annotations

import pytest

from engine.errors import DefinitionErrors
from engine.loader import load_app, read_app_folder
from engine.plugins import Hooks, load_builtin
from tests.conftest import APPS

HOOKS = load_builtin(Hooks())
BASE, _ = read_app_folder(APPS / "ordering")


def load(text: str):  # type: ignore[no-untyped-def]
    return load_app({**BASE, "automations/a.yaml": text.lstrip()}, HOOKS.kinds, services=HOOKS.services)


def errors(text: str) -> list[str]:
    with pytest.raises(DefinitionErrors) as caught:
        load(text)
    return [str(e) for e in caught.value.errors]


CASES = [
    ("unknown form", """
key: a
when: {record: created, form: ordr}
then: [{set: {note: "'x'"}}]
""", "automations/a.yaml:2:31: when.form: unknown form 'ordr' (did you mean 'order'?)"),
    ("unknown field in set", """
key: a
when: {record: created, form: order}
then:
  - set: {notes: "'x'"}
""", "automations/a.yaml:4:18: then[0].set.notes: form 'order' has no field 'notes' (did you mean 'note'?)"),
    ("computed field", """
key: a
when: {record: created, form: order}
then:
  - set: {total: 1}
""", "automations/a.yaml:4:18: then[0].set.total: field 'total' of form 'order' is computed (formula) and cannot be set"),
    ("unknown field in changed", """
key: a
when: {record: updated, form: order, changed: stauts}
then: [{set: {note: "'x'"}}]
""", "automations/a.yaml:2:47: when.changed: form 'order' has no field 'stauts' (did you mean 'status'?)"),
    ("unknown target field", """
key: a
when: {record: created, form: order}
then:
  - create: {form: order_line, values: {order: id, nam: title}}
""", "automations/a.yaml:4:57: then[0].create.values.nam: form 'order_line' has no field 'nam' (did you mean 'name'?)"),
    ("bad expression", """
key: a
when: {record: created, form: order}
if: "amount > > 3"
then: [{set: {note: "'x'"}}]
""", "automations/a.yaml:3:"),
    ("unknown name in an expression", """
key: a
when: {record: created, form: order}
if: "amont > 3"
then: [{set: {note: "'x'"}}]
""", "unknown name 'amont' (did you mean 'amount'?)"),
    ("unknown flow", """
key: a
when: {flow: order_aproval, event: finished}
then: [{set: {note: "'x'"}}]
""", "automations/a.yaml:2:14: when.flow: unknown flow 'order_aproval' (did you mean 'order_approval'?)"),
    ("unknown node", """
key: a
when: {flow: order_approval, event: entered, node: finance}
then: [{set: {note: "'x'"}}]
""", "automations/a.yaml:2:52: when.node: flow 'order_approval' has no node 'finance' (did you mean 'finance_check'?)"),
    ("start a flow of another form", """
key: a
when: {record: created, form: order_line}
then: [{start_flow: order_approval}]
""", "then[0].start_flow: flow 'order_approval' runs on form 'order', not on 'order_line'"),
    ("bad schedule time", """
key: a
when: {schedule: {every: day, at: "25:00"}}
then: [{notify: {to: {users: [boss]}, title: x}}]
""", "automations/a.yaml:2:35: when.schedule.at: '25:00' does not have the required form"),
    ("bad schedule period", """
key: a
when: {schedule: {every: fortnight}}
then: [{notify: {to: {users: [boss]}, title: x}}]
""", "when.schedule.every: unknown schedule period 'fortnight'"),
    ("bad weekday", """
key: a
when: {schedule: {every: week, on: someday, at: "08:00"}}
then: [{notify: {to: {users: [boss]}, title: x}}]
""", "when.schedule.on: unknown weekday 'someday'"),
    ("date trigger on a text field", """
key: a
when: {date: title, form: order, days_before: 3}
then: [{notify: {to: {fields: [buyer]}, title: x}}]
""", "when.date: field 'title' is a text field, not a stored date field"),
    ("two triggers", """
key: a
when: {record: created, form: order, schedule: {every: day}}
then: [{set: {note: "'x'"}}]
""", "when: one trigger per automation, not record and schedule"),
    ("set without a record", """
key: a
when: {schedule: {every: day, at: "08:00"}}
then: [{set: {note: "'x'"}}]
""", "then[0].set: 'set' changes the record that triggered the automation; this trigger has none"),
    ("unknown role", """
key: a
when: {record: created, form: order}
then: [{notify: {to: {roles: [finanse]}, title: x}}]
""", "then[0].notify.to.roles[0]: unknown role 'finanse' (did you mean 'finance'?)"),
    ("notify a non-user field", """
key: a
when: {record: created, form: order}
then: [{notify: {to: {fields: [title]}, title: x}}]
""", "then[0].notify.to.fields[0]: field 'title' is a text field, not a user field"),
    ("bad template expression", """
key: a
when: {record: created, form: order}
then: [{notify: {to: {users: [boss]}, title: "{{tittle}} is new"}}]
""", "unknown name 'tittle' (did you mean 'title'?)"),
    ("unknown action", """
key: a
when: {record: created, form: order}
then: [{send_mail: {to: x}}]
""", "automations/a.yaml:3:9: then[0].send_mail: unknown key 'send_mail'"),
    ("rows of a non-sub-table", """
key: a
when: {record: created, form: order}
then:
  - create: {form: order_line, for_each: {rows: title}, values: {order: id, name: item}}
""", "then[0].create.for_each.rows: field 'title' is not a sub-table"),
    ("item fields are checked", """
key: a
when: {record: created, form: order}
then:
  - create:
      form: instalment
      for_each: {schedule: {principal: amount, annual_rate: annual_rate, months: months}}
      values: {order: id, period: item.periodd, due_date: ordered_on}
""", "item has no field 'periodd' (did you mean 'period'?)"),
    ("changed with created", """
key: a
when: {record: created, form: order, changed: status}
then: [{set: {note: "'x'"}}]
""", "when.changed: 'changed' applies to updated or saved records, not created"),
]


@pytest.mark.parametrize("name, text, expected", CASES, ids=[c[0] for c in CASES])
def test_a_bad_automation_is_refused_with_a_located_error(name: str, text: str, expected: str) -> None:
    found = errors(text)
    assert any(expected in line for line in found), found


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    found = errors("""
key: a
when: {record: created, form: order}
if: "amont > 1"
then:
  - set: {notes: 1}
  - notify: {to: {roles: [nobody]}, title: x}
""")
    assert len(found) == 3 and all(line.startswith("automations/a.yaml:") for line in found)


def test_a_good_automation_loads_into_a_frozen_spec() -> None:
    app = load("""
key: a
label: 大额
when: {record: updated, form: order, changed: status, from: submitted, to: approved}
if: "amount > 100"
then:
  - set: {note: "'ok'"}
  - create: {form: order_line, for_each: {rows: items}, values: {order: id, name: item.name}}
""")
    spec = app.of_kind("automation")["a"]
    assert spec.trigger.changed == ("status",) and spec.trigger.change_to == (True, "approved")
    assert [a.kind for a in spec.actions] == ["set", "create"] and spec.label == "大额"
    with pytest.raises(AttributeError):
        spec.key = "b"  # type: ignore[misc]
