"""The loan app's automations (app_definitions/loan/automations/): the repayment schedule written when a loan is paid
out, the nightly overdue marking, reminders before due dates, lead follow-up reminders and customer tier alerts."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.notifications import notifications
from engine.scheduler import run_jobs
from tests.loan import loan_book
from tests.loan.loan_data import Loan, bank_card


def at(text: str) -> datetime:
    """Kunming wall-clock time (UTC+8) as an aware UTC datetime."""
    return datetime.fromisoformat(text + "+08:00").astimezone(timezone.utc)


def instalments(loan: Loan, disbursement_id: int) -> list[dict]:  # type: ignore[type-arg]
    response = loan.api.as_("admin_lw").get(f"/api/apps/loan/forms/repayment_instalment/records"
                                            f"?disbursement={disbursement_id}&sort=instalment_no&size=500")
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def titles(loan: Loan, username: str) -> list[str]:
    uid = loan.user_id(username)
    with loan.api.platform.db.connect() as conn:
        return [r[0] for r in conn.execute(select(notifications.c.title).where(
            notifications.c.user_id == uid, notifications.c.kind == "automation").order_by(notifications.c.id))]


def jobs(loan: Loan) -> int:
    (result,) = run_jobs(loan.api.platform, "automations")
    assert result.error is None, result.error
    return result.handled


@pytest.mark.parametrize("method, first, last", [
    ("equal_instalment", ("8013.65", "708.33"), ("8660.61", "61.35")),
    ("equal_principal", ("8333.33", "708.33"), ("8333.37", "59.03")),
    ("interest_first", ("0.00", "708.33"), ("100000.00", "708.33")),
])
def test_a_disbursement_writes_its_repayment_schedule(loan: Loan, method: str, first: tuple[str, str],
                                                      last: tuple[str, str]) -> None:
    prod = loan_book.product(loan)
    cust = loan_book.person(loan)
    disb = loan_book.lend(loan, cust, prod, amount="100000", repayment_method=method, term_months=12)
    rows = instalments(loan, disb["id"])
    assert [r["instalment_no"] for r in rows] == list(range(1, 13))
    assert sum(Decimal(r["principal"]) for r in rows) == Decimal("100000.00")  # exact: the last absorbs rounding
    assert (rows[0]["principal"], rows[0]["interest"]) == first and (rows[-1]["principal"], rows[-1]["interest"]) == last
    assert rows[0]["due_date"] == "2026-04-02" and rows[-1]["due_date"] == "2027-03-02"
    assert rows[-1]["remaining_principal"] == "0.00" and all(r["customer"] == cust["id"] for r in rows)
    if method == "equal_instalment":
        assert {r["amount_due"] for r in rows[:-1]} == {"8721.98"}  # Excel: PMT(8.5%/12, 12, -100000) = 8721.98
    disb = loan.fresh("wu_fang", "disbursement", disb)
    assert disb["instalments"] == 12 and disb["scheduled_principal"] == "100000.00"


def test_the_first_due_date_moves_the_schedule(loan: Loan) -> None:
    prod = loan_book.product(loan)
    cust = loan_book.person(loan)
    app = loan_book.approve(loan, loan_book.application(loan, cust, prod, amount="50000", term_months=3))
    disb = loan.create("wu_fang", "disbursement", application=app["id"], customer=cust["id"], amount="50000",
                       disbursed_on="2026-03-02", first_due_date="2026-03-20", payee_account=bank_card(2),
                       payee_bank="富滇银行")
    assert [r["due_date"] for r in instalments(loan, disb["id"])] == ["2026-03-20", "2026-04-20", "2026-05-20"]


def test_a_historical_loan_with_its_own_schedule_generates_none(loan: Loan) -> None:
    prod = loan_book.product(loan)
    cust = loan_book.person(loan)
    disb = loan_book.lend(loan, cust, prod, amount="50000", schedule=False)
    assert instalments(loan, disb["id"]) == []


def test_overdue_marking_reminders_and_tier_alerts(loan: Loan) -> None:
    platform = loan.api.platform
    clock = platform.clock
    clock.set(at("2026-03-02T10:00"))
    prod = loan_book.product(loan)
    cust = loan_book.person(loan, rating="A")
    assert loan.fresh("yang_fan", "customer", cust)["tier"] == "quality"
    disb = loan_book.lend(loan, cust, prod, amount="100000", term_months=3)
    assert jobs(loan) == 0  # nothing due yet; the automations are first seen now
    # three days before the first due date (2026-04-02) the account manager is reminded, once
    clock.set(at("2026-03-30T08:59"))
    assert jobs(loan) == 0
    clock.set(at("2026-03-30T09:00"))
    assert jobs(loan) == 1 and jobs(loan) == 0
    first = instalments(loan, disb["id"])[0]
    assert titles(loan, "yang_fan") == [f"{first['title']} 将于 2026-04-02 到期，应还 {first['amount_due']} 元"]
    assert first["reminded_on"] == "2026-03-30"
    # unpaid after its due date: the nightly job sets days past due; status, classification and tiers follow
    clock.set(at("2026-04-05T01:00"))
    assert jobs(loan) == 1 and jobs(loan) == 0
    first = instalments(loan, disb["id"])[0]
    assert (first["days_past_due"], first["status"], first["classification"]) == (3, "overdue", "special_mention")
    assert loan.fresh("wu_fang", "disbursement", disb)["loan_status"] == "overdue"
    customer = loan.fresh("yang_fan", "customer", cust)
    assert customer["tier"] == "warning" and customer["overdue_days_max"] == "3"
    assert f"客户 {customer['name']} 分层由 quality 变为 warning" in titles(loan, "yang_fan")
    assert titles(loan, "zhao_min") == [f"预警客户：{customer['name']}（{customer['number']}）"]
    clock.set(at("2026-04-06T01:00"))
    assert jobs(loan) == 1
    assert instalments(loan, disb["id"])[0]["days_past_due"] == 4
    assert titles(loan, "zhao_min") == [f"预警客户：{customer['name']}（{customer['number']}）"]  # still warning: once


def test_a_lead_not_contacted_for_seven_days_reminds_its_owner(loan: Loan) -> None:
    platform = loan.api.platform
    clock = platform.clock
    clock.set(at("2026-03-02T10:00"))
    owner = loan.user_id("yang_fan")
    lead = loan.create("yang_fan", "lead", name="周大福", phone="13700137000", source_channel="walk_in",
                       owner_user=owner, first_contact_on="2026-03-02")
    assert jobs(loan) == 0
    clock.set(at("2026-03-09T09:00"))
    assert jobs(loan) == 1 and jobs(loan) == 0
    assert titles(loan, "yang_fan") == [f"线索 周大福（{lead['number']}）已7天未跟进"]
    # a new contact moves the last contact date: the next reminder comes seven days after it
    loan.update("yang_fan", "lead", loan.fresh("yang_fan", "lead", lead), last_contact_on="2026-03-10",
                stage="contacted")
    clock.set(at("2026-03-16T09:00"))
    assert jobs(loan) == 0
    clock.set(at("2026-03-17T09:00"))
    assert jobs(loan) == 1
    assert len(titles(loan, "yang_fan")) == 2
    loan.update("yang_fan", "lead", loan.fresh("yang_fan", "lead", lead), stage="lost", lost_reason="选择了别家银行")
    clock.set(at("2026-04-30T09:00"))
    assert jobs(loan) == 0  # a lost lead is no longer chased
