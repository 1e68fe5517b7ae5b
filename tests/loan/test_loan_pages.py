"""The customer's 360° page (pages/customer_360.yaml) through the portal, signed in like a person: the profile,
the loan figures, every related list and the timeline on one page, each list cut to what the reader may see."""
from __future__ import annotations

import html
import re

from tests.loan import loan_book
from tests.web.webclient import Browser

PASSWORD = "Loomwork-2026"  # app_definitions/loan/org.yaml, the demo password of every loan user


def page_text(browser: Browser, url: str) -> str:
    response = browser.get(url)
    assert response.status_code == 200, response.text[:500]
    return html.unescape(re.sub(r"\s+", " ", response.text))


def test_customer_360_shows_everything_about_the_customer(loan) -> None:  # type: ignore[no-untyped-def]
    book = loan_book.every_form(loan)
    customer = book["customer"]
    manager = Browser(loan.platform).login("zhang_wei", PASSWORD)       # a general manager reads every form
    text = page_text(manager, f"/apps/loan/forms/customer/{customer['id']}")
    assert "客户360°视图" in text or "李建国" in text
    for label in ("基本信息", "信用与分层", "借贷概况", "贷款申请", "借据", "还款计划与还款", "抵押物", "尽职调查", "合同", "跟进记录"):
        assert label in text, label
    assert book["loan_application"]["number"] in text           # applications
    assert book["disbursement"]["number"] in text               # loans
    assert book["repayment_instalment"]["title"] in text        # schedule
    assert "昆明市五华区住宅" in text                            # collateral
    assert book["due_diligence"]["number"] in text              # due diligence
    assert book["contract"]["number"] in text                   # contract
    assert "电话确认申请资料清单" in text                          # follow-up, also in the timeline
    # a credit officer sees the customer and the applications, but not the loans, which are not theirs to read
    credit = page_text(Browser(loan.platform).login("sun_li", PASSWORD), f"/apps/loan/forms/customer/{customer['id']}")
    assert book["loan_application"]["number"] in credit and book["disbursement"]["number"] not in credit
    # the account manager of another branch cannot open it at all
    other = Browser(loan.platform).login("ma_chao", PASSWORD)
    assert other.get(f"/apps/loan/forms/customer/{customer['id']}").status_code == 404
