"""The generated pages in real headless Chromium, against a live server on SQLite (fieldlab test app)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest

from engine.clock import FrozenClock
from tests.browser import serve, watched_page

pytestmark = pytest.mark.browser
VALID_CARD = "6222021234567890128"  # passes the Luhn check
BAD_CARD = "6222021234567890120"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from conftest_helpers import make_platform_at  # type: ignore[import-not-found]

    tmp = tmp_path_factory.mktemp("live")
    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))
    platform = make_platform_at(tmp, clock)
    with serve(platform) as url:
        yield url
    platform.db.dispose()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    with watched_page(context, request, timeout_ms=8000) as pg:
        yield pg
    context.close()


def _login(page: Any, server: str, user: str = "ann", password: str = "lab-pass-2026") -> None:
    page.goto(server + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")


def test_fill_a_form_with_rows_formulas_conditions_and_validation(page: Any, server: str) -> None:
    _login(page, server)
    # a party whose name is markup: it must show as text everywhere
    page.goto(server + "/apps/fieldlab/forms/party/new")
    page.fill('[data-key="name"] input', "<script>window.pwned=1</script>Acme")
    page.select_option('[data-key="grade"] select', "A")
    page.click("[data-save-button]")
    page.wait_for_url(re.compile(r".*/apps/fieldlab/forms/party/\d+$"))
    assert page.locator("[data-record-title]").inner_text() == "<script>window.pwned=1</script>Acme"
    assert page.evaluate("window.pwned") is None

    page.goto(server + "/apps/fieldlab/forms/order/new")
    card = page.locator('[data-key="card_no"]')
    assert card.is_hidden()  # visible_if: payment_kind == 'card'
    # relation picker: search through the records API
    page.fill('[data-key="party"] [data-query]', "Acme")
    page.click('[data-key="party"] [data-results] li >> nth=0')
    page.select_option('[data-key="payment_kind"] select', "card")
    card.wait_for(state="visible")
    # a sub-table row; the formula updates while typing
    page.click('[data-key="lines"] [data-add-row]')
    row = page.locator('[data-key="lines"] tbody tr[data-row]').first
    row.locator('[data-key="item"] input').fill("Bolts")
    row.locator('[data-key="qty"] input').type("3")
    row.locator('[data-key="price"] input').type("2.5")
    page.wait_for_function("document.querySelector('[data-key=total] output').textContent.trim() === '7.50'")
    assert row.locator('[data-key="line_total"] output').inner_text() == "7.50"
    assert page.locator('[data-key="vip_discount"] output').inner_text() == "0.38"  # party grade A: 5 %
    # a second row, then removed again
    page.click('[data-key="lines"] [data-add-row]')
    page.locator('[data-key="lines"] tbody tr[data-row]').nth(1).locator("[data-remove-row]").click()
    # a Luhn-invalid card is refused with the message at the field, nothing saved
    page.fill('[data-key="card_no"] input', BAD_CARD)
    page.click("[data-save-button]")
    error = page.locator('[data-key="card_no"] [data-error]')
    error.wait_for(state="visible")
    assert error.inner_text().strip() != ""
    assert "/new" in page.url
    page.fill('[data-key="card_no"] input', VALID_CARD)
    page.click("[data-save-button]")
    page.wait_for_url(re.compile(r".*/apps/fieldlab/forms/order/\d+$"))
    number = page.locator('[data-key="number"] dd').inner_text()
    assert number.startswith("OR-202603-")
    assert page.locator('[data-key="total"] dd').inner_text() == "7.50"
    assert "Bolts" in page.locator('[data-key="lines"] dd').inner_text()
    # the list shows it; the party's record page lists it as a related record
    page.goto(server + "/apps/fieldlab/forms/order")
    assert page.locator(f"text={number}").count() == 1
    page.goto(server + "/apps/fieldlab/forms/party")
    page.click("text=<script>window.pwned=1</script>Acme")
    assert page.locator('[data-related="order"]').inner_text().count(number) == 1
    assert page.evaluate("window.pwned") is None


def test_phone_layout_is_one_column_with_a_drawer_menu(chromium: Any, server: str) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        _login(page, server)
        page.goto(server + "/apps/fieldlab/forms/order/new")
        assert page.locator("#lw-nav").is_hidden() or page.locator("#lw-nav").bounding_box()["x"] < 0
        boxes = [page.locator(f'[data-key="{k}"]').bounding_box() for k in ("rate", "months")]
        assert boxes[0]["x"] == boxes[1]["x"]  # stacked, not side by side
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        page.click(".lw-navtoggle")
        page.locator("#lw-nav").get_by_text("Order").wait_for(state="visible")
    finally:
        context.close()
