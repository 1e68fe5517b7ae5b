"""The stories of issue 7 through the HTTP API with an injectable clock.

Second story: a rating-A customer's 100,000 application skips the initial review.
Main story: an 800,000 application goes through initial review, risk review, the risk directors' countersign and
the general managers' or-sign, is signed and paid out; its 12-instalment schedule is written (the principal sums
exactly), the account manager is reminded three days before the first due date, the first instalment is paid, the
second goes overdue — the customer becomes a warning customer, the tier change and the warning are notified — and
the dashboards' numbers match the records."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from engine.notifications import notifications
from engine.scheduler import run_jobs
from tests.loan import loan_book
from tests.loan.loan_data import bank_card


def todo(loan, user: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = loan.api.as_(user).get("/api/flows/inbox/todo")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def approve(loan, user: str, values: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    task = todo(loan, user)[0]
    response = loan.api.as_(user).post(f"/api/flows/tasks/{task['id']}/approve", json={"values": values or {}})
    assert response.status_code == 200, response.text
    return response.json()


def start(loan, app: dict) -> dict:  # type: ignore[no-untyped-def]
    response = loan.api.as_("yang_fan").post("/api/apps/loan/flows/loan_approval/instances",
                                             json={"record_id": app["id"]})
    assert response.status_code == 201, response.text
    return response.json()


def test_rating_a_skips_the_initial_review(loan) -> None:  # type: ignore[no-untyped-def]
    prod = loan_book.product(loan)
    app = loan_book.application(loan, loan_book.person(loan, rating="A"), prod, amount="100000")
    started = start(loan, app)
    assert started["status"]["position"] == ["risk_review"]
    assert todo(loan, "sun_li") == [] and todo(loan, "zhou_jie") == []            # no initial review
    assert [t["title"] for t in todo(loan, "zhao_min")] == [app["number"]]
    approve(loan, "zhao_min", {"risk_grade": "R1", "risk_opinion": "优质客户", "approved_amount": "100000",
                               "approved_rate": "0.085"})
    assert todo(loan, "wang_qiang") == []                                          # no countersign at 100,000
    assert len(todo(loan, "zhang_wei")) == 1 and len(todo(loan, "li_na")) == 1


def test_an_800000_application_goes_through_countersign_and_or_sign(loan) -> None:  # type: ignore[no-untyped-def]
    prod = loan_book.product(loan)
    app = loan_book.application(loan, loan_book.person(loan, rating="B"), prod, amount="800000")
    assert start(loan, app)["status"]["position"] == ["initial_review"]
    approve(loan, "sun_li", {"initial_review_opinion": "资料齐全，经营真实"})
    assert todo(loan, "zhou_jie") == []                                            # or-sign among credit officers
    approve(loan, "qian_lei", {"risk_grade": "R2", "risk_opinion": "抵押充足", "approved_amount": "800000",
                               "approved_rate": "0.085"})
    approve(loan, "wang_qiang", {"director_opinion": "同意"})
    assert todo(loan, "zhang_wei") == []                                           # countersign waits for both
    approve(loan, "lin_xue", {"director_opinion": "同意"})
    approve(loan, "li_na", {"gm_opinion": "同意放款"})
    assert todo(loan, "zhang_wei") == []                                           # or-sign: one general manager
    assert [t["node"] for t in todo(loan, "yang_fan")] == ["contract_signing"]
    record = loan.get("admin_lw", "loan_application", app["id"])
    assert (record["risk_grade"], record["approved_amount"], record["director_opinion"], record["gm_opinion"]) == (
        "R2", "800000.00", "同意", "同意放款")                                     # the nodes' editable fields saved
    continue_to_repayment(loan, app)


def at(text: str) -> datetime:
    """Kunming wall-clock time (UTC+8) as an aware UTC datetime."""
    return datetime.fromisoformat(text + "+08:00").astimezone(timezone.utc)


def jobs(loan) -> int:  # type: ignore[no-untyped-def]
    (result,) = run_jobs(loan.platform, "automations")
    assert result.error is None, result.error
    return result.handled


def notes(loan, username: str) -> list[str]:  # type: ignore[no-untyped-def]
    uid = loan.user_id(username)
    with loan.platform.db.connect() as conn:
        return [r[0] for r in conn.execute(select(notifications.c.title).where(
            notifications.c.user_id == uid, notifications.c.kind == "automation").order_by(notifications.c.id))]


def run(loan, key: str, user: str = "zhang_wei") -> list[dict]:  # type: ignore[no-untyped-def]
    response = loan.api.as_(user).get(f"/api/apps/loan/reports/{key}/run")
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def continue_to_repayment(loan, app: dict) -> None:  # type: ignore[no-untyped-def]
    clock = loan.platform.clock
    assert jobs(loan) == 0                                  # the date automations see the app from now on
    # the account manager signs the contract (the scan uploaded) and finance pays out
    scan = loan.upload("yang_fan", "loan_application", "signed_contract", "contract.pdf")
    approve(loan, "yang_fan", {"signed_on": "2026-03-02", "signed_contract": [scan]})
    approve(loan, "wu_fang", {"disbursed_on": "2026-03-02", "payee_account": bank_card(7), "payee_bank": "富滇银行"})
    assert loan.api.as_("yang_fan").get("/api/flows/inbox/todo").json()["items"] == []      # nothing left to do
    # the flow's automation nodes ran in the steps: the stage follows the flow and book_loan created the loan
    record = loan.get("admin_lw", "loan_application", app["id"])
    assert record["stage"] == "disbursed"
    booked = loan.api.as_("wu_fang").get(f"/api/apps/loan/forms/disbursement/records?application={app['id']}").json()
    assert booked["total"] == 1
    disb = booked["items"][0]
    assert disb["amount"] == "800000.00" and disb["account_manager"] == loan.user_id("yang_fan")
    schedule = loan.api.as_("wu_fang").get("/api/apps/loan/forms/repayment_instalment/records"
                                           f"?disbursement={disb['id']}&sort=instalment_no&size=50").json()["items"]
    assert [i["instalment_no"] for i in schedule] == list(range(1, 13))
    assert sum(Decimal(i["principal"]) for i in schedule) == Decimal("800000.00")   # exact to the cent
    assert schedule[0]["due_date"] == "2026-04-02" and schedule[-1]["due_date"] == "2027-03-02"
    # the account manager sees the loan and its schedule as their own
    mine = loan.api.as_("yang_fan").get(f"/api/apps/loan/forms/repayment_instalment/records?disbursement={disb['id']}")
    assert mine.json()["total"] == 12
    # three days before the first due date, 09:00: one reminder to the account manager
    clock.set(at("2026-03-30T08:59"))
    assert jobs(loan) == 0
    clock.set(at("2026-03-30T09:00"))
    assert jobs(loan) == 1 and jobs(loan) == 0
    assert [t for t in notes(loan, "yang_fan") if "将于 2026-04-02 到期" in t] != []
    assert loan.get("wu_fang", "repayment_instalment", schedule[0]["id"])["reminded_on"] == "2026-03-30"
    # the first instalment is paid on its due date
    clock.set(at("2026-04-02T10:00"))
    first = schedule[0]
    loan.create("wu_fang", "repayment", instalment=first["id"], amount=first["amount_due"],
                principal_part=first["principal"], interest_part=first["interest"], paid_on="2026-04-02",
                channel="transfer", transaction_ref="FD20260402001")
    assert loan.get("wu_fang", "repayment_instalment", first["id"])["status"] == "paid"
    customer = loan.get("admin_lw", "customer", app["customer"])
    assert customer["tier"] == "potential"                  # rating B, nothing overdue
    # the second is not paid: three days after it fell due, the nightly job marks it overdue
    jobs(loan)
    clock.set(at("2026-05-05T01:00"))
    jobs(loan)
    second = loan.get("wu_fang", "repayment_instalment", schedule[1]["id"])
    assert (second["days_past_due"], second["status"], second["classification"]) == (3, "overdue", "special_mention")
    customer = loan.get("admin_lw", "customer", app["customer"])
    assert customer["overdue_days_max"] == "3" or Decimal(str(customer["overdue_days_max"])) == 3
    assert customer["tier"] == "warning"                    # any overdue makes a warning customer
    assert any("变为 warning" in t or "warning" in t for t in notes(loan, "yang_fan"))   # the tier change
    assert any(customer["number"] in t for t in notes(loan, "zhao_min"))                # the warning to risk
    # the dashboards count the records
    disb = loan.get("wu_fang", "disbursement", disb["id"])
    outstanding = Decimal("800000.00") - Decimal(first["principal"])
    assert Decimal(disb["outstanding_principal"]) == outstanding and disb["loan_status"] == "overdue"
    [kpi] = run(loan, "loan_book_kpis")
    assert Decimal(kpi["sum_outstanding_principal"]) == outstanding
    [region] = run(loan, "overdue_by_region")
    assert Decimal(region["sum_overdue_principal"]) == outstanding and Decimal(region["sum_npl_principal"]) == 0
