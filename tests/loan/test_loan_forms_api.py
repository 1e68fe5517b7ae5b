"""The loan app's forms through the records API on SQLite and PostgreSQL: every form takes and gives back its
records, formulas and lookups are computed on the server, conditional fields follow the customer type, bad input is
refused naming the field with the form's own message, and each role sees only its scope."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.loan import loan_book
from tests.loan.loan_data import credit_code, id_card, url

FORMS = ("lead", "follow_up", "customer", "due_diligence", "collateral", "guarantor", "loan_product",
         "loan_application", "contract", "disbursement", "repayment_instalment", "repayment", "collection_record",
         "blacklist_entry", "write_off", "rate_exception")


def excel_pmt(rate: Decimal, periods: int, principal: Decimal) -> Decimal:
    """The annuity payment, computed independently of the rules engine (Decimal, half-up to the cent)."""
    growth = (1 + rate) ** periods
    return (principal * rate * growth / (growth - 1)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


def test_the_app_defines_the_forms_of_the_issue(loan) -> None:  # type: ignore[no-untyped-def]
    assert set(loan.platform.apps["loan"].spec.forms) == set(FORMS)


def test_every_form_creates_and_reads_back(loan) -> None:  # type: ignore[no-untyped-def]
    book = loan_book.every_form(loan)
    assert set(book) == set(FORMS)
    spec = loan.platform.apps["loan"].spec
    for form, record in book.items():
        again = loan.get("admin_lw", form, record["id"])
        derived = {f.key for f in spec.forms[form].fields if f.type in ("rollup", "formula", "lookup")}
        kept = {k: v for k, v in record.items() if k not in derived | {"row_version", "updated_at"}}
        assert {k: again[k] for k in kept} == kept, form     # what was written is what is read
    # serial numbers from the templates, at the frozen clock's month (2026-03)
    assert book["loan_application"]["number"] == "LA-202603-0001"
    assert book["customer"]["number"] == "KH-2026-00001"
    assert book["lead"]["number"] == "XS-202603-0001"
    assert book["contract"]["number"] == "HT-2026-00001"
    assert book["disbursement"]["number"] == "FK-202603-0001"
    # lookups copy the related record's values on save
    app = book["loan_application"]
    assert app["customer_rating"] == "B" and app["customer_industry"] == "tea_coffee"
    assert app["customer_number"] == book["customer"]["number"]
    assert book["collateral"]["customer"] == book["customer"]["id"]
    assert book["repayment"]["customer"] == book["customer"]["id"]
    assert book["write_off"]["classification"] == "loss"
    # formulas
    assert book["collateral"]["loan_value"] == "900000.00"                 # 1,500,000 × 60 %
    assert book["due_diligence"]["monthly_net_income"] == "60000.00"
    assert Decimal(book["due_diligence"]["debt_ratio"]) == Decimal("0.35")
    assert book["contract"]["end_date"] == "2027-03-05"
    assert book["repayment_instalment"]["amount_due"] == "69775.83"
    assert book["repayment_instalment"]["title"] == "FK-202603-0001 第1期"
    assert book["rate_exception"]["interest_forgone"] == "8000.00"          # 800,000 × 1 %
    assert book["customer"]["age"] == 40 and book["customer"]["gender"] == "男"


def test_monthly_payment_and_interest_by_method(loan) -> None:  # type: ignore[no-untyped-def]
    prod, cust = loan_book.product(loan), loan_book.person(loan)
    apps = {m: loan_book.application(loan, cust, prod, repayment_method=m)
            for m in ("equal_instalment", "equal_principal", "interest_first")}
    payment = excel_pmt(Decimal("0.085") / 12, 12, Decimal(800000))
    annuity = apps["equal_instalment"]
    assert Decimal(annuity["monthly_payment"]) == payment == Decimal("69775.83")
    assert Decimal(annuity["total_repayment"]) - Decimal(annuity["total_interest"]) == Decimal("800000.00")
    # equal principal: 800,000/12 + 800,000 × 8.5 %/12 first; interest 800,000 × 8.5 %/12 × (12 + 1)/2 in all
    assert (apps["equal_principal"]["monthly_payment"], apps["equal_principal"]["total_interest"]) == ("72333.33", "36833.33")
    # interest first: 800,000 × 8.5 %/12 a month, twelve times
    assert (apps["interest_first"]["monthly_payment"], apps["interest_first"]["total_interest"]) == ("5666.67", "68000.00")


def test_customer_type_switches_between_id_card_and_credit_code(loan) -> None:  # type: ignore[no-untyped-def]
    am = loan.api.as_("yang_fan")
    base = {"name": "某某", "phone": "13700137000", "region": "530102", "industry": "services",
            "account_manager": loan.user_id("yang_fan")}
    missing = am.post(url("customer"), json=base | {"customer_type": "company"})
    assert missing.status_code == 422
    assert {d["field"] for d in missing.json()["error"]["details"]} == {"credit_code", "legal_representative"}
    missing = am.post(url("customer"), json=base | {"customer_type": "individual"})
    assert [d["field"] for d in missing.json()["error"]["details"]] == ["id_card"]
    # a field hidden by the customer type keeps no value
    made = am.post(url("customer"), json=base | {"customer_type": "company", "credit_code": credit_code(7),
                                                 "legal_representative": "张三",
                                                 "id_card": id_card(date(1990, 1, 1))})
    assert made.status_code == 201 and made.json()["id_card"] is None and made.json()["age"] is None
    bad = am.post(url("customer"), json=base | {"customer_type": "individual", "id_card": "530102198506011231"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "id_card"


AGES = [
    (date(2008, 3, 3), False),   # 17 on 2026-03-02
    (date(2008, 3, 2), True),    # 18 today
    (date(1960, 3, 3), True),    # 65
    (date(1960, 3, 2), False),   # 66 today
]


def test_individual_customers_are_18_to_65(loan) -> None:  # type: ignore[no-untyped-def]
    for seq, (born, accepted) in enumerate(AGES, start=1):
        response = loan.api.as_("yang_fan").post(url("customer"), json={
            "customer_type": "individual", "name": "测试", "id_card": id_card(born, seq), "phone": "13700137000",
            "region": "530102", "industry": "services", "account_manager": loan.user_id("yang_fan")})
        if accepted:
            assert response.status_code == 201, (born, response.text)
        else:
            assert response.status_code == 422, born
            assert response.json()["error"]["details"] == [
                {"field": "age", "message": "个人客户年龄须在18至65周岁之间（按身份证号计算）", "code": "rule"}]


OUT_OF_PRODUCT = [
    ({"amount": "5000"}, "amount", "申请金额超出所选产品的金额范围"),
    ({"annual_rate": "0.20"}, "annual_rate", "年利率超出所选产品的利率区间"),
    ({"term_months": 48}, "product", "期限超出所选产品的期限范围"),
    ({"guarantee_type": "pledge"}, "guarantee_type", "所选产品不支持该担保方式"),
    ({"amount": "6000000"}, "amount", "must be at most 5000000"),
    ({"purpose": "other"}, "purpose_detail", "is required"),
]


def test_applications_stay_within_their_product(loan) -> None:  # type: ignore[no-untyped-def]
    prod, cust = loan_book.product(loan), loan_book.person(loan)
    for change, field, message in OUT_OF_PRODUCT:
        body = {"customer": cust["id"], "product": prod["id"], "amount": "800000", "term_months": 12,
                "annual_rate": "0.085", "repayment_method": "equal_instalment", "guarantee_type": "mortgage",
                "purpose": "working_capital", "account_manager": loan.user_id("yang_fan")} | change
        response = loan.api.as_("yang_fan").post(url("loan_application"), json=body)
        assert response.status_code == 422, (change, response.text)
        details = response.json()["error"]["details"]
        assert any(d["field"] == field and d["message"] == message for d in details), (change, details)
    assert loan.api.as_("yang_fan").get(url("loan_application")).json()["total"] == 0   # nothing half-saved


def test_compliance_warnings_follow_the_customer(loan) -> None:  # type: ignore[no-untyped-def]
    prod = loan_book.product(loan)
    old = loan_book.person(loan, born=date(1962, 1, 10), seq=31)        # 64 now, 66 at maturity of 24 months
    app = loan_book.application(loan, old, prod, term_months=24)
    assert app["borrower_age"] == 64 and app["age_at_maturity"] == 66
    assert app["compliance_warnings"] == "贷款到期时借款人超过65周岁；" and app["has_compliance_warning"] is True
    fine = loan_book.person(loan, born=date(1990, 5, 5), seq=41)
    assert loan_book.application(loan, fine, prod)["has_compliance_warning"] is False
    # three loans paid out and a blacklist entry: the customer's rollups change, and so do new applications
    for serial in (1, 2, 3):
        loan_book.lend(loan, fine, prod, serial=serial)
    loan.create("zhao_min", "blacklist_entry", subject_type="individual", name="李建国", customer=fine["id"],
                id_card=id_card(date(1990, 5, 5), 41), reason="forged_documents", detail="提供伪造的银行流水。")
    fine = loan.get("zhao_min", "customer", fine["id"])
    assert (fine["active_loans"], fine["loans_total"], fine["blacklisted"]) == (3, 3, True)
    assert fine["outstanding_total"] == "300000.00"
    again = loan_book.application(loan, fine, prod)
    assert again["compliance_warnings"] == "客户在黑名单中；客户已有3笔及以上在贷贷款；"
    company = loan_book.company(loan)
    assert loan_book.application(loan, company, prod)["borrower_age"] is None


def test_repayments_roll_up_to_the_loan_and_the_customer(loan) -> None:  # type: ignore[no-untyped-def]
    prod, cust = loan_book.product(loan), loan_book.person(loan)
    disb = loan_book.lend(loan, cust, prod, amount="20000", schedule=False)
    first = loan.create("wu_fang", "repayment_instalment", disbursement=disb["id"], customer=cust["id"],
                        instalment_no=1, due_date="2026-04-02", principal="10000", interest="141.67")
    loan.create("wu_fang", "repayment_instalment", disbursement=disb["id"], customer=cust["id"], instalment_no=2,
                due_date="2026-05-02", principal="10000", interest="70.83")
    assert loan.fresh("wu_fang", "disbursement", disb)["scheduled_principal"] == "20000.00"
    loan.create("wu_fang", "repayment", instalment=first["id"], amount="5000", principal_part="4858.33",
                interest_part="141.67", channel="cash")
    first = loan.fresh("wu_fang", "repayment_instalment", first)
    assert (first["paid_amount"], first["outstanding"], first["status"]) == ("5000.00", "5141.67", "partial")
    loan.create("wu_fang", "repayment", instalment=first["id"], amount="5141.67", principal_part="5141.67",
                interest_part="0", channel="transfer", transaction_ref="T2")
    first = loan.fresh("wu_fang", "repayment_instalment", first)
    assert (first["outstanding"], first["status"]) == ("0.00", "paid")
    disb = loan.fresh("wu_fang", "disbursement", disb)
    assert (disb["principal_repaid"], disb["outstanding_principal"], disb["loan_status"]) == ("10000.00", "10000.00", "active")
    assert loan.get("zhao_min", "customer", cust["id"])["outstanding_total"] == "10000.00"
    # the borrower must be the loan's, and more than the instalment cannot be paid
    other = loan_book.person(loan, name="别人", seq=77)
    wrong = loan.api.as_("wu_fang").post(url("repayment_instalment"), json={
        "disbursement": disb["id"], "customer": other["id"], "instalment_no": 3, "due_date": "2026-06-02",
        "principal": "1", "interest": "0"})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["message"] == "借款人须与借据的借款人一致"
    too_much = loan.api.as_("wu_fang").post(url("repayment"), json={
        "instalment": first["id"], "amount": "20000", "principal_part": "20000", "interest_part": "0",
        "channel": "cash"})
    assert too_much.status_code == 422


def test_status_is_kept_by_the_process_not_typed_in(loan) -> None:  # type: ignore[no-untyped-def]
    prod, cust = loan_book.product(loan), loan_book.person(loan)
    app = loan_book.application(loan, cust, prod)
    assert app["stage"] == "draft"
    refused = loan.api.as_("yang_fan").patch(url("loan_application", app["id"]), json={"stage": "approved"},
                                             headers={"If-Match": '"1"'})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"field": "stage", "message": "is read-only now and cannot be changed", "code": "readonly"}]
    approved = loan.update("admin_lw", "loan_application", app, stage="approved")
    # once in approval the terms are frozen for everyone but a returned application
    frozen = loan.api.as_("admin_lw").patch(url("loan_application", app["id"]), json={"amount": "900000"},
                                            headers={"If-Match": f'"{approved["row_version"]}"'})
    assert frozen.status_code == 422 and frozen.json()["error"]["details"][0]["field"] == "amount"


def test_roles_see_their_scope(loan) -> None:  # type: ignore[no-untyped-def]
    mine = loan_book.person(loan, "yang_fan", name="杨的客户", seq=101)
    colleague = loan_book.person(loan, "xu_jing", name="徐的客户", seq=103)
    other_branch = loan_book.person(loan, "ma_chao", name="曲靖客户", seq=105)

    def names(user: str) -> set[str]:
        response = loan.api.as_(user).get(url("customer"))
        assert response.status_code == 200, response.text
        return {r["name"] for r in response.json()["items"]}

    assert names("yang_fan") == {"杨的客户"}                                 # account manager: own
    assert names("liu_yang") == {"杨的客户", "徐的客户"}                        # Kunming branch manager: branch
    assert names("he_ping") == {"曲靖客户"}                                   # Qujing branch manager
    assert names("zhao_min") == names("zhang_wei") == {"杨的客户", "徐的客户", "曲靖客户"}  # risk, GM: all
    assert loan.api.as_("yang_fan").get(url("customer", colleague["id"])).status_code == 404
    assert loan.api.as_("xu_jing").get(url("customer", mine["id"])).status_code == 404
    assert loan.api.as_("he_ping").get(url("customer", other_branch["id"])).status_code == 200
    # who may create what
    assert loan.api.as_("wu_fang").post(url("customer"), json={"name": "x"}).status_code == 403
    assert loan.api.as_("zhao_min").post(url("loan_application"), json={}).status_code == 403
    assert loan.api.as_("yang_fan").post(url("disbursement"), json={}).status_code == 403
    assert loan.api.as_("yang_fan").post(url("blacklist_entry"), json={}).status_code == 403
    assert loan.api.as_("yang_fan").get(url("blacklist_entry")).status_code == 403
    assert loan.api.as_("yang_fan").get(url("loan_product")).status_code == 200    # products are for everyone
    assert loan.api.as_("yang_fan").post(url("loan_product"), json={}).status_code == 403
