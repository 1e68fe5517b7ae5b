"""The stories of issue 7 through the HTTP API, as far as the platform runs them today (flows run; automations —
the status updates, the repayment schedule, reminders — are not on main yet, see the report of issue 7).

Second story: a rating-A customer's 100,000 application skips the initial review.
Main story, approval part: an 800,000 application goes through initial review, risk review, the risk directors'
countersign and the general managers' or-sign to contract signing."""
from __future__ import annotations

from tests.loan import loan_book


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
