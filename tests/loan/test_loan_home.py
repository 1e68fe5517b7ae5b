"""The portal's home page for an account manager: my tasks, my reminders and notifications, and my KPIs — the number
cards of the app's home dashboard (dashboards/my_desk in reports/), each counted over the signed-in manager's own
records only. Expected figures come from SQL on the same database."""
from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, select

from engine.notifications import notifications
from tests.loan import loan_book
from tests.web.webclient import Browser

PASSWORD = "Loomwork-2026"


def _cards(page: str) -> dict[str, str]:
    """report key → the card's value text."""
    found = re.findall(r'data-kpi="([a-z_]+)">.*?<strong class="rd-kpi-value">(.*?)</strong>', page, re.S)
    return {key: html.unescape(value).strip() for key, value in found}


def _number(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.\-]", "", text) or "0")


def test_an_account_managers_home_shows_my_tasks_reminders_and_kpis(loan) -> None:  # type: ignore[no-untyped-def]
    loan_book.every_form(loan)
    platform = loan.platform
    am = loan.user_id("yang_fan")
    with platform.db.begin() as conn:
        platform.services["notifications"].send(conn, users=[am], kind="reminder", app="loan",
                                                title="第1期将于3天后到期", body="李建国 · 69,775.83",
                                                link="/apps/loan/forms/repayment_instalment/1")
    t = platform.apps["loan"].tables
    loans, apps, plan = t["f_loan__disbursement"], t["f_loan__loan_application"], t["f_loan__repayment_instalment"]
    with platform.db.connect() as conn:
        outstanding = conn.execute(select(func.coalesce(func.sum(loans.c.outstanding_principal), 0))
                                   .where(loans.c.account_manager == am)).scalar_one()
        this_month = conn.execute(select(func.count()).select_from(apps).where(
            apps.c.account_manager == am, apps.c.applied_on >= date(2026, 3, 1))).scalar_one()
        overdue = conn.execute(select(func.count()).select_from(plan).where(and_(
            plan.c.account_manager == am, plan.c.days_past_due > 0, plan.c.outstanding > 0))).scalar_one()
        unread = conn.execute(select(func.count()).select_from(notifications).where(
            notifications.c.user_id == am, notifications.c.read_at.is_(None))).scalar_one()
    assert outstanding > 0 and overdue > 0  # the book lends on this manager's customer, one instalment overdue

    page = Browser(platform).login("yang_fan", PASSWORD).get("/")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "我的待办" in text
    assert f"提醒与通知 ({unread})" in text and "第1期将于3天后到期" in text  # the newest unread first
    assert 'href="/apps/loan/forms/repayment_instalment/1"' in page.text
    cards = _cards(page.text)
    assert set(cards) >= {"my_applications_this_month", "my_disbursed_this_month", "my_outstanding",
                          "my_overdue_instalments"}
    assert _number(cards["my_outstanding"]) == Decimal(outstanding).quantize(Decimal("0.01"))
    assert _number(cards["my_applications_this_month"]) == this_month
    assert _number(cards["my_overdue_instalments"]) == overdue

    # another account manager's cards count their own (empty) book, not this one
    other = _cards(Browser(platform).login("ma_chao", PASSWORD).get("/").text)
    assert _number(other["my_outstanding"]) == 0 and _number(other["my_overdue_instalments"]) == 0


def test_each_role_gets_its_own_home_dashboard(loan) -> None:  # type: ignore[no-untyped-def]
    """Dashboards say whose home page they are (``home: {roles: [...]}``); the first meant for the user wins."""
    loan_book.every_form(loan)
    platform = loan.platform
    boss = Browser(platform).login("zhang_wei", PASSWORD).get("/")  # the general manager: the cockpit's cards
    assert boss.status_code == 200
    cards = _cards(boss.text)
    assert set(cards) == {"loan_book_kpis", "disbursed_this_month"}
    assert "经营驾驶舱" in boss.text and 'href="/apps/loan/dashboards/management_cockpit"' in boss.text
    assert "我的业绩" not in boss.text and "my_applications_this_month" not in boss.text
    desk = _cards(Browser(platform).login("yang_fan", PASSWORD).get("/").text)  # an account manager: my desk
    assert "my_outstanding" in desk and "loan_book_kpis" not in desk
    officer = Browser(platform).login("sun_li", PASSWORD).get("/")  # a credit officer: no dashboard is theirs
    assert officer.status_code == 200 and "我的待办" in officer.text  # the page is there, with tasks
    assert _cards(officer.text) == {} and "data-kpis" not in officer.text
