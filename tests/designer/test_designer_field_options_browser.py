"""Every option of every field type has a control in the form designer's property panel (headless Chromium).

The options are enumerated from the field-type registry and the form meta-schema (forms_engine/schemas/form.json),
not listed here: a field type or option added later without a control fails this test. Then the controls that were
missing do what they say: a pattern's message, masking, a computed default, option colours and the unmask right,
saved as the YAML the engine reads. Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from designer_support import folder, plat  # noqa: F401  (fixtures)
from forms_engine.fields import field_types
from test_designer_browser import browser, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

SCHEMA = Path(__file__).resolve().parents[2] / "forms_engine" / "schemas" / "form.json"
FORM = "forms/all_types.yaml"
#: what a field of these types cannot do without (the meta-schema's required options)
NEEDS = {"relation": {"to": "supplier"}, "lookup": {"relation": "f_relation", "field": "city"},
         "rollup": {"over": "f_subtable", "agg": "count"}, "formula": {"expr": "'a'", "result": "select"},
         "serial_number": {"template": "NO-{YYYY}-{0000}"}, "description": {"text": "hello"},
         "subtable": {"fields": [{"key": "s_name", "type": "text"}]}}


def _all_types_form() -> dict:
    fields = []
    for t in sorted(field_types.all(), key=lambda t: (t.name == "section", t.name)):  # a section takes what follows
        f = {"key": f"f_{t.name}", "type": t.name, **NEEDS.get(t.name, {})}
        if "options" in t.options:
            f["options"] = ["a", "b"]
        fields.append(f)
    return {"key": "all_types", "label": "All types", "fields": fields}


def _expected(t) -> set[str]:  # type: ignore[no-untyped-def]
    out = set(t.options) - {"fields"}  # a sub-table's fields are edited on the canvas
    if not t.layout_only and not t.computed and t.name != "subtable":
        out.add("mask")
    if "pattern" in t.options:
        out.add("pattern_message")
    return out


def test_every_field_option_has_a_control_and_the_new_ones_save(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    (folder / FORM).write_text(yaml.safe_dump(_all_types_form(), allow_unicode=True, sort_keys=False))
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/{FORM}")
    page.get_by_test_id("field-f_text").wait_for()
    # the generated form checks out: the controls below are tried on a valid form
    page.get_by_test_id("problems").filter(has_text="No problems").wait_for()

    offered_anywhere: set[str] = set()
    missing: dict[str, set[str]] = {}
    for t in field_types.all():
        page.get_by_test_id(f"field-f_{t.name}").locator(".card-head").first.click()
        page.locator(f"[data-testid=properties] [data-prop=key] input").first.wait_for()
        page.wait_for_function(f"document.querySelector('[data-testid=prop-key]').value === 'f_{t.name}'")
        offered = set(page.eval_on_selector_all("[data-testid=properties] label[data-prop]", "els => els.map(e => e.dataset.prop)"))
        offered_anywhere |= offered
        if _expected(t) - offered:
            missing[t.name] = _expected(t) - offered
    assert missing == {}
    schema_options = set(json.loads(SCHEMA.read_text())["$defs"]["field"]["properties"]) - {"fields"}
    assert schema_options - offered_anywhere == set()

    # the names a relation, lookup or rollup may take are offered
    def offered_names(field: str, prop: str) -> list[str]:
        page.get_by_test_id(f"field-{field}").locator(".card-head").first.click()
        page.wait_for_function(f"document.querySelector('[data-testid=prop-key]').value === '{field}'")
        assert page.get_by_test_id(f"prop-{prop}").get_attribute("list") == f"dl-{prop}"
        return page.eval_on_selector_all(f"#dl-{prop} option", "os => os.map(o => o.value)")
    assert {"name", "rating", "city"} <= set(offered_names("f_relation", "display"))
    assert offered_names("f_lookup", "relation") == ["f_relation"]
    assert {"name", "rating", "city"} <= set(offered_names("f_lookup", "field"))
    assert offered_names("f_rollup", "over") == ["f_subtable"]
    assert offered_names("f_rollup", "field") == ["s_name"]

    # a pattern with its message, and masking
    page.get_by_test_id("field-f_text").locator(".card-head").first.click()
    page.get_by_test_id("prop-pattern").fill("^[A-Z]+$")
    page.get_by_test_id("prop-pattern_message").fill("capitals only")
    page.get_by_test_id("prop-mask").check()
    # a default computed when a record is created, checked as you type
    page.get_by_test_id("field-f_date").locator(".card-head").first.click()
    page.get_by_test_id("prop-default-computed").check()
    expr = page.get_by_test_id("prop-default-expr")
    assert expr.input_value() == "TODAY()"
    expr.fill("TODAYY()")
    page.get_by_test_id("error-default-expr").filter(has_text="TODAYY").wait_for()
    expr.fill("TODAY() + 7")
    page.get_by_test_id("error-default-expr").filter(has_text="TODAYY").wait_for(state="detached")
    # option colours
    page.get_by_test_id("field-f_select").locator(".card-head").first.click()
    page.get_by_test_id("prop-options").fill("a = Alpha #1e8e3e\nb")
    # the right to see masked fields in full
    page.get_by_test_id("form-props").click()
    page.get_by_test_id("perm-buyer-unmask").check()
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / FORM).read_text())
    fields = {f["key"]: f for f in saved["fields"]}
    assert {k: fields["f_text"].get(k) for k in ("pattern", "pattern_message", "mask")} == {
        "pattern": "^[A-Z]+$", "pattern_message": "capitals only", "mask": True}
    assert fields["f_date"]["default"] == {"expr": "TODAY() + 7"}
    assert fields["f_select"]["options"] == [{"value": "a", "label": "Alpha", "color": "#1e8e3e"}, "b"]
    assert saved["permissions"]["buyer"] == {"unmask": True}


def test_form_level_options_are_edited_in_the_form_panel(server, browser, folder, plat) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/forms/purchase_request.yaml")
    page.get_by_test_id("form-props").click()
    # every form-level option of the meta-schema has a control (fields are the canvas)
    offered = set(page.eval_on_selector_all("[data-testid=properties] [data-prop]", "els => els.map(e => e.dataset.prop)"))
    offered |= {"permissions"} if page.get_by_test_id("form-permissions").count() else set()
    offered |= {"validations"} if page.get_by_test_id("validations").count() else set()
    offered |= {"related_lists"} if page.get_by_test_id("related-lists").count() else set()
    form_options = set(json.loads(SCHEMA.read_text())["properties"]) - {"fields", "kind"}
    assert form_options - offered == set()

    page.get_by_test_id("prop-icon").fill("cart")
    page.get_by_test_id("prop-audit_reads").check()
    page.get_by_test_id("prop-search_fields-category").check()
    page.get_by_test_id("prop-list_columns-title").check()
    page.get_by_test_id("prop-list_columns-amount").check()
    # a check across fields: its expression is completed and checked as you type
    page.get_by_test_id("validation-add").click()
    check = page.get_by_test_id("prop-validation-expr-0")
    check.fill("")
    check.press_sequentially("quantity > 0 and amout")
    page.get_by_test_id("error-validation-expr-0").filter(has_text="amout").wait_for()
    check.fill("")
    check.press_sequentially("quantity > 0 or amou")
    page.get_by_test_id("complete-validation-expr-0").locator("li", has_text="amount").first.wait_for()
    check.press("Enter")
    check.press_sequentially(" < 100")
    page.get_by_test_id("error-validation-expr-0").filter(has_text="amout").wait_for(state="detached")
    page.get_by_test_id("validation-message-0").fill("small requests need a quantity")
    page.get_by_test_id("validation-fields-0").fill("quantity")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "forms/purchase_request.yaml").read_text())
    assert saved["icon"] == "cart" and saved["audit_reads"] is True
    assert saved["search_fields"] == ["title", "category", "note"]
    assert saved["list_columns"] == ["title", "amount"]
    assert saved["validations"] == [{"expr": "quantity > 0 or amount < 100", "message": "small requests need a quantity",
                                     "fields": ["quantity"]}]

    # a related list on the supplier form: its purchase requests
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/forms/supplier.yaml")
    page.get_by_test_id("form-props").click()
    page.get_by_test_id("related-add").click()
    page.get_by_test_id("related-form-0").select_option("purchase_request")
    page.get_by_test_id("related-field-0").fill("supplier")
    page.get_by_test_id("related-columns-0").fill("title, amount")
    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / "forms/supplier.yaml").read_text())
    assert saved["related_lists"] == [{"form": "purchase_request", "field": "supplier", "columns": ["title", "amount"]}]
