"""The decision-table editor edits every part of a table (headless Chromium): a column's label, an input's
expression and domain, an output's allowed values and default, a rule's note, the table's description and version,
and test cases expecting no match or an error, with notes. The editor shows what the file says; the saved YAML holds
what was chosen; the test cases run from the editor. Screenshots of a failing test go to test-artifacts/."""
from __future__ import annotations

import pytest
import yaml

from designer_support import folder, plat  # noqa: F401  (fixtures)
from test_designer_browser import browser, server, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

TABLE = "rules/approval_level.yaml"


def test_decision_table_columns_notes_and_test_outcomes(server, browser, folder) -> None:  # type: ignore[no-untyped-def]
    page = browser()
    sign_in(page, server, "admin")
    page.goto(f"{server.url}/designer/#/app/purchasing/edit/{TABLE}")
    page.get_by_test_id("dt-grid").wait_for()
    page.get_by_test_id("inputs-more-0").locator("summary").click()
    page.get_by_test_id("inputs-more-1").locator("summary").click()
    page.get_by_test_id("outputs-more-0").locator("summary").click()
    # what the file says
    assert page.get_by_test_id("inputs-domain-0").input_value() == "[0..10000000]"
    assert page.get_by_test_id("inputs-domain-1").input_value() == "it, office, travel"

    page.get_by_test_id("inputs-label-0").fill("Amount")
    page.get_by_test_id("inputs-expr-0").fill("amount")
    # a wider domain leaves inputs no rule covers: the engine's completeness check names them as you type
    page.get_by_test_id("inputs-domain-1").fill("it, office, travel, food")
    page.get_by_test_id("problems").filter(has_text='category = "food"').wait_for()
    page.get_by_test_id("inputs-domain-1").fill("it, office, travel")
    page.get_by_test_id("problems").filter(has_text="No problems").wait_for()
    page.get_by_test_id("outputs-values-0").fill("board, it_board, department, team")
    page.get_by_test_id("note-0").fill("small purchases")
    page.get_by_test_id("dt-description").fill("who approves a purchase")
    page.get_by_test_id("dt-version").fill("2")
    # a test case expecting an error: a text where the amount is a number
    page.get_by_test_id("add-test").click()
    page.get_by_test_id("given-4-amount").fill("much")
    page.get_by_test_id("given-4-category").fill("it")
    page.get_by_test_id("expect-outcome-4").select_option("type_error")
    page.get_by_test_id("test-note-4").fill("the amount must be a number")
    page.get_by_test_id("run-tests").click()
    page.get_by_test_id("test-summary").filter(has_text="5 passed, 0 failed").wait_for()
    # expecting no match where a rule matches fails, and says so on its row
    page.get_by_test_id("given-4-amount").fill("500")
    page.get_by_test_id("expect-outcome-4").select_option("no_match")
    page.get_by_test_id("run-tests").click()
    page.get_by_test_id("test-summary").filter(has_text="4 passed, 1 failed").wait_for()
    assert page.get_by_test_id("test-result-4").inner_text().startswith("✗")
    page.get_by_test_id("given-4-amount").fill("much")
    page.get_by_test_id("expect-outcome-4").select_option("type_error")

    page.get_by_test_id("save").click()
    page.get_by_test_id("status").filter(has_text="Saved — the app checks out").wait_for()
    saved = yaml.safe_load((folder / TABLE).read_text())
    assert saved["inputs"][0] == {"key": "amount", "label": "Amount", "type": "number", "expr": "amount",
                                  "domain": "[0..10000000]"}
    assert saved["inputs"][1]["domain"] == ["it", "office", "travel"]
    assert saved["outputs"][0]["values"] == ["board", "it_board", "department", "team"]
    assert saved["rules"][0] == {"when": ["< 1000", "-"], "then": ["team"], "note": "small purchases"}
    assert (saved["description"], saved["version"]) == ("who approves a purchase", 2)
    assert saved["tests"][4] == {"given": {"amount": "much", "category": "it"}, "expect_error": "type_error",
                                 "note": "the amount must be a number"}
