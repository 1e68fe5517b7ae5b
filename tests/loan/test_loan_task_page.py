"""The account manager's contract-signing task page reads as the application's record page does: the customer by
name (linking to the customer), the tier and industry by their labels, the region by its names, the account manager
by name, money and percent formatted, 是/否 for the compliance flag, the status in Chinese; the node's two fields
are the edit page's widgets (a date and a file upload), both required — left empty, the signing answers 4xx naming
them and nothing changes; filled, they are saved."""
from __future__ import annotations

import re

from tests.loan import loan_book
from tests.web.webclient import Browser

PASSWORD = "Loomwork-2026"  # app_definitions/loan/org.yaml


def todo(loan, user: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = loan.api.as_(user).get("/api/flows/inbox/todo")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def approve(loan, user: str, values: dict) -> None:  # type: ignore[no-untyped-def]
    task = todo(loan, user)[0]
    response = loan.api.as_(user).post(f"/api/flows/tasks/{task['id']}/approve", json={"values": values})
    assert response.status_code == 200, response.text


def field(page: str, key: str) -> str:
    m = re.search(r'<div class="lw-field[^"]*"\s+data-key="' + key + r'"(.*?)(?=<div class="lw-field[^"]*"\s+data-key=|</section>|</form>)',
                  page, re.S)
    assert m, f"no field {key} on the page"
    return m.group(1)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_contract_signing_task_reads_as_the_record_page(loan) -> None:  # type: ignore[no-untyped-def]
    prod = loan_book.product(loan)
    customer = loan_book.person(loan, rating="A")  # rating A: straight to the risk review
    app = loan_book.application(loan, customer, prod, amount="40000")
    started = loan.api.as_("yang_fan").post("/api/apps/loan/flows/loan_approval/instances", json={"record_id": app["id"]})
    assert started.status_code == 201, started.text
    approve(loan, "zhao_min", {"risk_grade": "R1", "risk_opinion": "优质客户", "approved_amount": "40000",
                               "approved_rate": "0.085"})
    approve(loan, "zhang_wei", {"gm_opinion": "同意"})
    task = todo(loan, "yang_fan")[0]
    assert task["node"] == "contract_signing"
    browser = Browser(loan.platform).login("yang_fan", PASSWORD)
    page = browser.get(f"/flows/tasks/{task['id']}")
    assert page.status_code == 200, page.text
    html = page.text
    borrower = field(html, "customer")
    assert "李建国" in borrower and f'href="/apps/loan/forms/customer/{customer["id"]}"' in borrower
    assert text(field(html, "customer_industry")).endswith("茶叶咖啡种植加工")
    assert "tea_coffee" not in text(html)
    assert text(field(html, "customer_region")).endswith("云南省 / 昆明市 / 五华区")
    assert text(field(html, "account_manager")).endswith("杨帆")
    assert "40,000.00" in text(field(html, "amount"))
    assert text(field(html, "annual_rate")).endswith("8.5%")
    assert text(field(html, "has_compliance_warning")).endswith("否")
    tier = text(field(html, "customer_tier"))
    assert tier.endswith("优质"), tier  # rating A: quality, by its label
    assert "待处理" in html and ">open<" not in html
    # the node's fields: the edit page's date input and file upload, required
    signed_on = field(html, "signed_on")
    assert 'data-type="date"' in signed_on and 'type="date"' in signed_on and "lw-required" in signed_on
    contract = field(html, "signed_contract")
    assert 'data-type="attachment"' in contract and 'type="file"' in contract and "lw-required" in contract
    # signing without them: 4xx naming the fields, nothing changes
    act = f"/api/flows/tasks/{task['id']}/submit"
    refused = loan.api.as_("yang_fan").post(act, json={"values": {}})
    assert 400 <= refused.status_code < 500 and "signed_on" in refused.text and "signed_contract" in refused.text
    assert [t["node"] for t in todo(loan, "yang_fan")] == ["contract_signing"]
    scan = loan.upload("yang_fan", "loan_application", "signed_contract", "contract.pdf")
    done = loan.api.as_("yang_fan").post(act, json={"values": {"signed_on": "2026-03-02", "signed_contract": [scan]}})
    assert done.status_code == 200, done.text
    record = loan.get("admin_lw", "loan_application", app["id"])
    assert record["signed_on"] == "2026-03-02" and record["signed_contract"][0]["name"] == "contract.pdf"
