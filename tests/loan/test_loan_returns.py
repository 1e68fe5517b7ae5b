"""Returns and rejections keep the application's status in step with the flow (HTTP API, SQLite and PostgreSQL):
a credit officer returns the application to its account manager — it reads returned and its terms may be corrected
— the account manager resubmits — it reads submitted again — and a risk officer rejects it: the flow ends rejected
and so does the application. The status is readonly for people: the platform sets it (automations with
run_as: platform)."""
from __future__ import annotations

from tests.loan import loan_book
from tests.loan.test_loan_story import start, todo


def act(loan, user: str, action: str, body: dict) -> dict:  # type: ignore[no-untyped-def]
    task = todo(loan, user)[0]
    response = loan.api.as_(user).post(f"/api/flows/tasks/{task['id']}/{action}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_return_resubmit_and_reject_move_the_status(loan) -> None:  # type: ignore[no-untyped-def]
    prod = loan_book.product(loan)
    app = loan_book.application(loan, loan_book.person(loan, rating="B", seq=41), prod, amount="300000")
    assert loan.get("yang_fan", "loan_application", app["id"])["stage"] == "draft"
    started = start(loan, app)
    assert loan.get("yang_fan", "loan_application", app["id"])["stage"] == "submitted"
    act(loan, "sun_li", "return", {"to": "initiator", "reason": "请补充近六个月银行流水"})
    returned = loan.get("yang_fan", "loan_application", app["id"])
    assert returned["stage"] == "returned"
    # returned: the account manager may correct the terms, then resubmits from the inbox
    corrected = loan.update("yang_fan", "loan_application", returned, amount="250000")
    assert corrected["amount"] == "250000.00"
    assert [t["title"] for t in todo(loan, "yang_fan")] == [app["number"]]
    act(loan, "yang_fan", "approve", {"values": {}})
    assert loan.get("yang_fan", "loan_application", app["id"])["stage"] == "submitted"
    # people cannot set the status themselves
    again = loan.get("yang_fan", "loan_application", app["id"])
    refused = loan.api.as_("yang_fan").patch(f"/api/apps/loan/forms/loan_application/records/{app['id']}",
                                             json={"stage": "approved"},
                                             headers={"If-Match": f'"{again["row_version"]}"'})
    assert refused.status_code == 422 and "stage" in refused.text
    act(loan, "sun_li", "approve", {"values": {"initial_review_opinion": "已补充，同意"}})
    act(loan, "zhao_min", "reject", {"reason": "负债率偏高"})
    instance = loan.api.as_("yang_fan").get(f"/api/flows/instances/{started['id']}").json()
    assert (instance["status"], instance["outcome"]) == ("finished", "rejected")
    assert loan.get("yang_fan", "loan_application", app["id"])["stage"] == "rejected"
