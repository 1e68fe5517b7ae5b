"""A customer handed to another account manager takes its loans and repayment schedule along: the loan's and the
instalments' account manager (``follow`` lookups of the customer's) and so their owner change with the customer,
so the new manager sees them (read: own) and the old one no longer does — on SQLite and PostgreSQL."""
from __future__ import annotations

from tests.loan import loan_book


def test_loans_and_instalments_follow_the_customer_to_its_new_account_manager(loan) -> None:  # type: ignore[no-untyped-def]
    prod = loan_book.product(loan)
    customer = loan_book.person(loan, "yang_fan", name="交接客户", seq=21)
    paid_out = loan_book.lend(loan, customer, prod, amount="120000", serial=4)
    api = loan.api
    instalments = api.as_("yang_fan").get("/api/apps/loan/forms/repayment_instalment/records",
                                          params={"disbursement": paid_out["id"]}).json()["items"]
    assert len(instalments) == 12
    assert api.as_("ma_chao").get(f"/api/apps/loan/forms/disbursement/records/{paid_out['id']}").status_code == 404

    customer = loan.fresh("admin_lw", "customer", customer)
    loan.update("admin_lw", "customer", customer, account_manager=loan.user_id("ma_chao"))

    ma_chao = loan.user_id("ma_chao")
    moved = loan.get("ma_chao", "disbursement", paid_out["id"])
    assert moved["account_manager"] == ma_chao
    assert api.as_("yang_fan").get(f"/api/apps/loan/forms/disbursement/records/{paid_out['id']}").status_code == 404
    theirs = api.as_("ma_chao").get("/api/apps/loan/forms/repayment_instalment/records",
                                    params={"disbursement": paid_out["id"]}).json()["items"]
    assert sorted(i["id"] for i in theirs) == sorted(i["id"] for i in instalments)
    assert all(i["account_manager"] == ma_chao for i in theirs)
    assert api.as_("yang_fan").get("/api/apps/loan/forms/repayment_instalment/records",
                                   params={"disbursement": paid_out["id"]}).json()["items"] == []
    # the application stays with the manager who submitted it (the leaderboard counts their work)
    application = loan.get("admin_lw", "loan_application", paid_out["application"])
    assert application["account_manager"] == loan.user_id("yang_fan")
    # the change is in the loan's history, as a recalculation by the person who handed the customer over
    history = api.as_("admin_lw").get(f"/api/apps/loan/forms/disbursement/records/{paid_out['id']}/history").json()
    assert any(e["action"] == "recalculate" and "account_manager" in e["changes"] for e in history["entries"]), history
