"""The main story of issue 7 once in headless Chromium, through the pages as people click it: the account manager
signs in, creates a customer and files an 800,000 application, submits it for approval from its record page; the
credit officer, a risk officer, both risk directors (countersign) and one general manager (or-sign) act in their
inboxes; the account manager signs the contract with its scan and finance pays out from their inboxes; the loan's
record page shows its 12-instalment schedule; finance records the first instalment paid from the instalment's page;
the management cockpit shows the balance, this month's lending and the approval times."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any, Iterator

import pytest

from engine.clock import FrozenClock
from engine.db import make_engine
from engine.identity import sync_org
from engine.permissions import SYSTEM
from engine.platform import Platform
from engine.settings import Settings
from tests.browser import serve, watched_page
from tests.loan.loan_data import APPS_DIR, LOAN_DIR, bank_card, id_card

pytestmark = pytest.mark.browser
PASSWORD = "Loomwork-2026"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Platform]]:
    tmp = tmp_path_factory.mktemp("loan-live")
    url = f"sqlite:///{tmp / 'live.db'}"
    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))  # Monday 09:30 in Kunming
    settings = Settings.from_env({"database_url": url, "var_dir": str(tmp / "var"), "attachments_dir": str(tmp / "f"),
                                  "apps_dir": str(APPS_DIR), "secret_key": "loan-browser-key"})
    platform = Platform(settings, clock=clock, engine=make_engine(url))
    platform.upgrade_db()
    platform.publish_folder(LOAN_DIR, "tester", "loan app")
    live_app = platform.apps["loan"]
    with platform.db.begin() as conn:
        sync_org(conn, live_app.spec.org, clock.now(), with_users=True)
        # the product catalogue exists before the story (the risk director keeps it)
        platform.services["records"].create_as_system(conn, live_app, "loan_product", {
            "code": "JYD-01", "name": "小微经营贷", "category": "business", "min_amount": "10000",
            "max_amount": "3000000", "min_rate": "0.06", "max_rate": "0.18", "min_term": 3, "max_term": 36,
            "repayment_methods": ["equal_instalment", "equal_principal", "interest_first"],
            "guarantee_types": ["credit", "guarantee", "mortgage"]}, SYSTEM)
    with serve(platform) as server:
        yield server, platform
    platform.db.dispose()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    with watched_page(context, request, timeout_ms=10000) as pg:
        yield pg
    context.close()


def login(page: Any, server: str, user: str) -> None:
    page.context.clear_cookies()
    page.goto(server + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")


def act_in_inbox(page: Any, server: str, user: str, title: str, values: dict[str, Any]) -> None:
    """Sign in as ``user``, open the task named ``title`` from the inbox, fill the node's fields and approve."""
    login(page, server, user)
    page.goto(server + "/inbox")
    page.locator("[data-inbox=todo]").get_by_text(title).first.click()
    page.wait_for_url(re.compile(r".*/flows/tasks/\d+$"))
    for key, value in values.items():  # the node's fields are the edit page's widgets
        field = page.locator(f'[data-task-record] [data-key="{key}"][data-type]')
        if isinstance(value, dict):  # a file: {name, mimeType, buffer} into the field's upload, stored as chosen
            field.locator("input[type=file]").set_input_files(value)
            field.locator("[data-list] li").first.wait_for()
            continue
        control = field.locator("select, textarea, input:not([type=file])").first
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    page.locator("[data-action=approve], [data-action=submit]").first.click()  # approval or fill node
    page.wait_for_url(server + "/inbox")


def test_main_story_through_the_pages(page: Any, live: tuple[str, Platform]) -> None:
    server, platform = live
    login(page, server, "yang_fan")
    # a new individual customer
    page.goto(server + "/apps/loan/forms/customer/new")
    page.fill('[data-key="name"] input', "李建国")
    page.fill('[data-key="id_card"] input', id_card(date(1985, 6, 1)))
    page.fill('[data-key="phone"] input', "13800138000")
    region = page.locator('[data-key="region"]')
    region.locator("select[data-level='0']").select_option("530000")
    region.locator("select[data-level='1'] option[value='530100']").wait_for(state="attached")
    region.locator("select[data-level='1']").select_option("530100")
    region.locator("select[data-level='2'] option[value='530102']").wait_for(state="attached")
    region.locator("select[data-level='2']").select_option("530102")
    page.select_option('[data-key="industry"] select', "tea_coffee")
    page.fill('[data-key="annual_income"] input', "600000")
    page.fill('[data-key="credit_score"] input', "720")
    page.fill('[data-key="debt_ratio"] input', "35")
    page.select_option('[data-key="rating"] select', "B")
    page.select_option('[data-key="account_manager"] select', label="杨帆")
    page.click("[data-save-button]")
    page.wait_for_url(re.compile(r".*/apps/loan/forms/customer/\d+$"))
    customer_number = page.locator('[data-key="number"] dd').inner_text().strip()
    assert customer_number.startswith("KH-2026-")
    # the 800,000 application, picking the customer and the product by searching
    page.goto(server + "/apps/loan/forms/loan_application/new")
    page.fill('[data-key="customer"] [data-query]', "李建国")
    page.click('[data-key="customer"] [data-results] li >> nth=0')
    page.fill('[data-key="product"] [data-query]', "小微")
    page.click('[data-key="product"] [data-results] li >> nth=0')
    page.fill('[data-key="amount"] input', "800000")
    page.fill('[data-key="term_months"] input', "12")
    page.fill('[data-key="annual_rate"] input', "8.5")
    page.select_option('[data-key="repayment_method"] select', "equal_instalment")
    page.select_option('[data-key="guarantee_type"] select', "mortgage")
    page.select_option('[data-key="purpose"] select', "working_capital")
    page.select_option('[data-key="account_manager"] select', label="杨帆")
    page.click("[data-save-button]")
    page.wait_for_url(re.compile(r".*/apps/loan/forms/loan_application/\d+$"))
    number = page.locator('[data-key="number"] dd').inner_text().strip()
    assert number.startswith("LA-202603-")
    # submitted for approval from the record page
    page.click("[data-start-flow]")
    page.wait_for_url(re.compile(r".*/flows/instances/\d+$"))
    # the approvers act in their inboxes
    platform.clock.advance(hours=2)                        # people take a while
    act_in_inbox(page, server, "sun_li", number, {"initial_review_opinion": "资料齐全，经营真实"})
    platform.clock.advance(hours=2)                        # people take a while
    act_in_inbox(page, server, "qian_lei", number, {"risk_grade": "R2", "risk_opinion": "抵押充足",
                                                    "approved_amount": "800000", "approved_rate": "8.5"})  # a percent
    platform.clock.advance(hours=2)                        # people take a while
    act_in_inbox(page, server, "wang_qiang", number, {"director_opinion": "同意"})
    login(page, server, "zhang_wei")                       # the countersign waits for the second director
    page.goto(server + "/inbox")
    assert page.locator("[data-inbox=todo]").get_by_text(number).count() == 0
    platform.clock.advance(hours=2)                        # people take a while
    act_in_inbox(page, server, "lin_xue", number, {"director_opinion": "同意"})
    platform.clock.advance(hours=2)                        # people take a while
    act_in_inbox(page, server, "li_na", number, {"gm_opinion": "同意放款"})
    login(page, server, "zhang_wei")                       # or-sign: one general manager was enough
    page.goto(server + "/inbox")
    assert page.locator("[data-inbox=todo]").get_by_text(number).count() == 0
    # contract signing is the account manager's next task; the application reads approved
    login(page, server, "yang_fan")
    page.goto(server + "/apps/loan/forms/loan_application")
    page.get_by_text(number).first.click()
    page.wait_for_url(re.compile(r".*/apps/loan/forms/loan_application/\d+$"))
    body = page.locator(".lw-record-main").inner_text()
    assert "已批准" in body and "800,000.00" in body.replace("800000.00", "800,000.00")
    # the account manager signs with the contract's scan uploaded from the task page; finance pays out
    scan = {"name": "contract.pdf", "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}
    platform.clock.advance(hours=2)                        # people take a while
    act_in_inbox(page, server, "yang_fan", number, {"signed_on": "2026-03-02", "signed_contract": scan})
    platform.clock.advance(hours=2)                        # people take a while
    act_in_inbox(page, server, "wu_fang", number, {"disbursed_on": "2026-03-02", "payee_account": bank_card(7),
                                                   "payee_bank": "富滇银行"})
    # the flow booked the loan: the application reads disbursed, with its signed scan
    page.goto(server + "/apps/loan/forms/loan_application")
    page.get_by_text(number).first.click()
    page.wait_for_url(re.compile(r".*/apps/loan/forms/loan_application/\d+$"))
    body = page.locator(".lw-record-main").inner_text()
    assert "已放款" in body and "contract.pdf" in body
    # the loan's record page lists its schedule: 12 instalments, the principal adding up to the amount lent
    login(page, server, "wu_fang")
    page.goto(server + "/apps/loan/forms/disbursement")
    page.locator("table.lw-table tbody tr a").first.click()
    page.wait_for_url(re.compile(r".*/apps/loan/forms/disbursement/\d+$"))
    schedule = page.locator('[data-related="repayment_instalment"]')
    assert "(12)" in schedule.locator("h2").inner_text()
    rows = schedule.locator("tbody tr")
    assert rows.count() == 12
    first = rows.first.inner_text()
    assert "第1期" in first and "2026-04-02" in first, first
    # finance records the first instalment paid, from the instalment's page ("new" in its repayments list)
    rows.first.locator("a").first.click()
    page.wait_for_url(re.compile(r".*/apps/loan/forms/repayment_instalment/\d+$"))
    due = page.locator('[data-key="amount_due"] dd').inner_text().strip()
    principal = page.locator('[data-key="principal"] dd').inner_text().strip()
    interest = page.locator('[data-key="interest"] dd').inner_text().strip()
    plain = {k: v.replace(",", "").replace("¥", "").strip() for k, v in
             {"due": due, "principal": principal, "interest": interest}.items()}
    page.locator('[data-related="repayment"] a.lw-btn').first.click()
    page.wait_for_url(re.compile(r".*/apps/loan/forms/repayment/new\?instalment=\d+$"))
    page.fill('[data-key="amount"] input', plain["due"])
    page.fill('[data-key="principal_part"] input', plain["principal"])
    page.fill('[data-key="interest_part"] input', plain["interest"])
    page.fill('[data-key="paid_on"] input', "2026-03-02")
    page.select_option('[data-key="channel"] select', "transfer")
    page.fill('[data-key="transaction_ref"] input', "FD20260302001")
    page.click("[data-save-button]")
    page.wait_for_url(re.compile(r".*/apps/loan/forms/repayment/\d+$"))
    page.locator('[data-key="instalment"] dd a').first.click()
    page.wait_for_url(re.compile(r".*/apps/loan/forms/repayment_instalment/\d+$"))
    assert "已还清" in page.locator('[data-key="status"] dd').inner_text() or \
        "paid" in page.locator('[data-key="status"] dd').inner_text()
    # the general manager's cockpit: the balance is the amount lent less the principal paid, all lent this month,
    # and the approval nodes the story went through have their times
    login(page, server, "zhang_wei")
    page.goto(server + "/apps/loan/dashboards/management_cockpit")
    page.wait_for_function("[...document.querySelectorAll('[data-widget]')].every("
                           "w => ['ready', 'refused'].includes(w.dataset.state))")
    balance = 800000 - float(plain["principal"])
    card = page.locator('[data-report="loan_book_kpis"] .rd-number-value').inner_text()
    assert card.replace("¥", "").replace(",", "") == f"{balance:.2f}", card
    month = page.locator('[data-report="disbursed_this_month"] .rd-number-value').inner_text()
    assert month.replace("¥", "").replace(",", "") == "800000.00", month
    funnel = page.locator('[data-report="approval_funnel"]').inner_text()
    assert funnel.strip(), funnel
    times = page.locator('[data-report="approval_node_time"]')
    assert times.locator(".js-plotly-plot").count() == 1
    rows = page.request.get(server + "/api/apps/loan/reports/approval_node_time/run").json()["rows"]
    assert {r["node"]: (r["count"], r["avg_hours"]) for r in rows if r["node"] in ("initial_review", "gm_approval")} == {
        "initial_review": (1, "2.0"), "gm_approval": (1, "2.0")}
