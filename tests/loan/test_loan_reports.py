"""The loan dashboards' numbers match the records they count: leaderboard, monthly trend, regions, approval
funnel, overdue and bad-debt rates, lead conversion — run through the reports API on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.loan import loan_book


def run(loan, key: str, user: str = "zhang_wei") -> list[dict]:  # type: ignore[no-untyped-def]
    response = loan.api.as_(user).get(f"/api/apps/loan/reports/{key}/run")
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_dashboards_count_the_records(loan) -> None:  # type: ignore[no-untyped-def]
    prod = loan_book.product(loan)
    kunming = loan_book.person(loan, "yang_fan", name="昆明客户", seq=11)
    qujing = loan_book.person(loan, "ma_chao", name="曲靖客户", seq=13, region="530302", industry="transport")
    # yang_fan: two loans paid out (one overdue for 100 days), one application rejected; ma_chao: one loan
    good = loan_book.lend(loan, kunming, prod, amount="200000", serial=1)
    late = loan_book.lend(loan, kunming, prod, amount="100000", serial=2)
    loan.create("wu_fang", "repayment_instalment", disbursement=late["id"], customer=kunming["id"], instalment_no=1,
                due_date="2025-11-22", principal="10000", interest="708.33", days_past_due=100)
    rejected = loan_book.application(loan, kunming, prod, amount="50000")
    loan.update("admin_lw", "loan_application", rejected, stage="rejected")
    loan_book.lend(loan, qujing, prod, amount="300000", serial=3, user="ma_chao")
    for app_id in {good["application"], late["application"]}:   # the flow marks paid-out applications disbursed
        app = loan.get("admin_lw", "loan_application", app_id)
        loan.update("admin_lw", "loan_application", app, stage="disbursed")
    loan.create("yang_fan", "lead", name="张三", phone="13600136000", source_channel="wechat",
                owner_user=loan.user_id("yang_fan"), stage="converted", customer=kunming["id"])
    loan.create("yang_fan", "lead", name="李四", phone="13600136001", source_channel="wechat",
                owner_user=loan.user_id("yang_fan"), stage="new")

    board = {r["account_manager__label"]: r for r in run(loan, "account_manager_leaderboard")}
    assert board["杨帆"]["sum_amount_lent"] == "300000.00" and board["杨帆"]["sum_reached_submitted"] == 3
    assert board["杨帆"]["approval_rate"] == "0.667"                # 2 approved of 3 decided
    assert board["马超"]["sum_amount_lent"] == "0.00"            # approved and paid out, not yet marked disbursed
    assert [r["account_manager__label"] for r in run(loan, "account_manager_leaderboard")][0] == "杨帆"

    assert run(loan, "monthly_disbursement_trend") == [{"disbursed_on_month": "2026-03",
                                                        "disbursed_on_month__label": "2026-03",
                                                        "sum_amount": "600000.00", "count": 3}]
    districts = {r["region__label"]: r["count"] for r in run(loan, "customers_by_district")}
    assert districts == {"云南省昆明市五华区": 1, "云南省曲靖市麒麟区": 1}
    regions = loan.api.as_("zhang_wei").post("/api/apps/loan/reports/customers_by_region/run",
                                             json={"zoom": {"region": "530000"}}).json()   # Yunnan's cities
    assert {r["region__label"]: r["count"] for r in regions["rows"]} == {"昆明市": 1, "曲靖市": 1}
    funnel_run = loan.api.as_("zhang_wei").get("/api/apps/loan/reports/approval_funnel/run").json()
    assert funnel_run["figure"]["data"][0]["x"] == [4, 3, 2, 2]    # submitted → approved → signed → disbursed
    funnel = run(loan, "approval_funnel")[0]
    assert (funnel["sum_reached_submitted"], funnel["sum_reached_approved"], funnel["sum_reached_disbursed"]) == (4, 3, 2)

    by_industry = {r["customer_industry"]: r for r in run(loan, "overdue_by_industry")}
    tea = by_industry["tea_coffee"]                                 # 300,000 outstanding, 100,000 of it overdue
    assert (tea["sum_outstanding_principal"], tea["sum_overdue_principal"]) == ("300000.00", "100000.00")
    assert Decimal(tea["overdue_rate"]).quantize(Decimal("0.0001")) == Decimal("0.3333")
    assert tea["npl_rate"] == tea["overdue_rate"]                  # 100 days past due is substandard: bad debt
    assert Decimal(by_industry["transport"]["overdue_rate"]) == 0
    assert loan.get("zhao_min", "customer", kunming["id"])["tier"] == "warning"     # overdue customer

    leads = {r["source_channel"]: r for r in run(loan, "lead_conversion_by_channel")}
    assert (leads["wechat"]["count"], leads["wechat"]["sum_converted"]) == (2, 1)
    # an account manager's own KPI counts only their applications
    mine = {r["stage"]: r["count"] for r in run(loan, "my_pipeline", "ma_chao")}
    assert mine == {"approved": 1}
    dashboard = loan.api.as_("zhang_wei").get("/api/apps/loan/dashboards/management_cockpit")
    assert dashboard.status_code == 200 and len(dashboard.json()["widgets"]) == 10
