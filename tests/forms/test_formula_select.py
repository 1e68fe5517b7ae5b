"""A formula with ``result: select`` computes an option's value and is shown by that option's label."""
from __future__ import annotations

import pytest

from engine.errors import DefinitionErrors
from engine.loader import load_app
from engine.plugins import Hooks, load_builtin
from forms_engine.page_model import Refs, display

APP = "key: t\nlabel: T\n"
FORM = """key: bill
label: Bill
fields:
  - {key: due, type: money}
  - {key: paid, type: money}
  - key: state
    type: formula
    result: select
    expr: "IF(COALESCE(paid, 0) >= due, 'paid', 'open')"
    options:
      - {value: open, label: {zh-CN: 待付, en: Open}}
      - {value: paid, label: {zh-CN: 已付, en: Paid}}
"""


@pytest.fixture(scope="module")
def hooks() -> Hooks:
    return load_builtin(Hooks())


def test_a_select_formula_loads_and_shows_its_labels(hooks: Hooks) -> None:
    spec = load_app({"app.yaml": APP, "forms/bill.yaml": FORM}, hooks.kinds)
    state = spec.forms["bill"].by_key["state"]
    assert [o.value for o in state.options] == ["open", "paid"]
    refs = Refs()
    assert display(state, "paid", "zh-CN", refs) == "已付" and display(state, "open", "en", refs) == "Open"
    assert display(state, "unknown", "en", refs) == "unknown"  # a value the options do not name shows as it is


@pytest.mark.parametrize("change, expected", [
    (lambda t: t.replace("    result: select\n", "    result: text\n"), "options on a formula need result: select"),
    (lambda t: t.split("    options:")[0], "result: select needs the options the formula gives"),
])
def test_select_formulas_and_options_go_together(hooks: Hooks, change, expected) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DefinitionErrors) as info:
        load_app({"app.yaml": APP, "forms/bill.yaml": change(FORM)}, hooks.kinds)
    found = [str(e) for e in info.value.errors]
    assert any(expected in p and p.startswith("forms/bill.yaml:") for p in found), found


def test_a_select_formula_exports_its_label(hooks: Hooks) -> None:
    spec = load_app({"app.yaml": APP, "forms/bill.yaml": FORM}, hooks.kinds)
    state = spec.forms["bill"].by_key["state"]
    assert state.ftype.to_cell("paid", state, "zh-CN") == "已付" and state.ftype.to_cell("open", state, "en") == "Open"
    assert state.ftype.to_json("paid", state) == "paid"  # the API keeps the value


def test_the_list_page_filters_by_choices_first_select_formulas_included(hooks: Hooks) -> None:
    from forms_engine.page_model import filterable

    amounts = "".join(f"  - {{key: m{i}, type: money}}\n" for i in range(9))
    form = FORM.replace("fields:\n", "fields:\n" + amounts) + "  - {key: kind, type: select, options: [a, b]}\n"
    spec = load_app({"app.yaml": APP, "forms/bill.yaml": form}, hooks.kinds)
    keys = [f.key for f in filterable(spec.forms["bill"])]
    assert len(keys) == 8 and keys[:2] == ["state", "kind"] and keys[2:] == ["m0", "m1", "m2", "m3", "m4", "m5"]
