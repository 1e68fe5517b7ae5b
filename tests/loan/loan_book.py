"""One record of every loan form, created through the API by the role that files it in real life."""
from __future__ import annotations

from datetime import date
from typing import Any

from tests.loan.loan_data import Loan, bank_card, credit_code, id_card


def product(loan: Loan, code: str = "JYD-01", **values: Any) -> dict[str, Any]:
    body = dict(code=code, name="小微经营贷", category="business", min_amount="10000", max_amount="3000000",
                min_rate="0.06", max_rate="0.18", min_term=3, max_term=36,
                repayment_methods=["equal_instalment", "equal_principal", "interest_first"],
                guarantee_types=["credit", "guarantee", "mortgage"]) | values
    return loan.create("wang_qiang", "loan_product", **body)


def person(loan: Loan, user: str = "yang_fan", *, name: str = "李建国", born: date = date(1985, 6, 1), seq: int = 123,
           **values: Any) -> dict[str, Any]:
    body = dict(customer_type="individual", name=name, id_card=id_card(born, seq), phone="13800138000",
                region="530102", industry="tea_coffee", annual_income="600000", credit_score=720,
                debt_ratio="0.35", rating="B", account_manager=loan.user_id(user)) | values
    return loan.create(user, "customer", **body)


def company(loan: Loan, user: str = "yang_fan", serial: int = 1, **values: Any) -> dict[str, Any]:
    body = dict(customer_type="company", name="云南普洱茶业有限公司", credit_code=credit_code(serial),
                legal_representative="王茶", phone="0871-65123456", region="530102", industry="manufacturing",
                annual_income="5000000", account_manager=loan.user_id(user)) | values
    return loan.create(user, "customer", **body)


def application(loan: Loan, customer: dict[str, Any], prod: dict[str, Any], user: str = "yang_fan",
                **values: Any) -> dict[str, Any]:
    body = dict(customer=customer["id"], product=prod["id"], amount="800000", term_months=12, annual_rate="0.085",
                repayment_method="equal_instalment", guarantee_type="mortgage", purpose="working_capital",
                account_manager=loan.user_id(user)) | values
    return loan.create(user, "loan_application", **body)


def every_form(loan: Loan) -> dict[str, dict[str, Any]]:
    """Create one record of each of the app's forms, in the order the business files them."""
    am = "yang_fan"
    book: dict[str, dict[str, Any]] = {}
    book["loan_product"] = prod = product(loan)
    book["lead"] = lead = loan.create(am, "lead", name="李建国", phone="13800138000", company_name="建国茶庄",
                                      source_channel="referral", referrer="老客户王五", owner_user=loan.user_id(am),
                                        stage="contacted", intended_amount="800000", loan_purpose="working_capital",
                                      region="530102", first_contact_on="2026-02-27")
    book["follow_up"] = loan.create(am, "follow_up", lead=lead["id"], channel="visit", contacted_on="2026-03-02",
                                    notes="上门拜访茶庄，了解春茶收购资金需求。", result="documents_requested",
                                    next_follow_up_on="2026-03-09")
    book["customer"] = cust = person(loan, source_lead=lead["id"])
    loan.create(am, "follow_up", customer=cust["id"], channel="phone", contacted_on="2026-03-02",
                notes="电话确认申请资料清单，客户本周内补齐。", result="documents_requested", next_follow_up_on="2026-03-06")
    book["blacklist_entry"] = loan.create("zhao_min", "blacklist_entry", subject_type="individual", name="赵黑",
                                          id_card=id_card(date(1979, 1, 9), 55), reason="fraud", source="court",
                                          detail="伪造购销合同骗取贷款，已被法院判决。")
    book["loan_application"] = app = application(loan, cust, prod)
    book["due_diligence"] = loan.create(am, "due_diligence", customer=cust["id"], application=app["id"],
                                        investigator=loan.user_id(am), co_investigator=loan.user_id("xu_jing"),
                                        visit_type="on_site", business_years=8, employees=12,
                                        monthly_revenue="150000", monthly_expense="90000", total_assets="3200000",
                                        total_liabilities="1120000", credit_score=720, past_overdue_count=0,
                                        findings="茶庄经营稳定，春茶季资金需求真实，流水与申报一致。", conclusion="recommend",
                                        bureau_report=[loan.upload(am, "due_diligence", "bureau_report", "bureau.pdf")],
                                        site_photos=[loan.upload(am, "due_diligence", "site_photos", "shop.png")])
    book["collateral"] = loan.create(am, "collateral", application=app["id"], customer=cust["id"], kind="house", description="昆明市五华区住宅",
                                     owner_name="李建国", certificate_no="云(2020)昆明市不动产权第0012345号",
                                     location={"region": "530102", "detail": "翠湖北路1号"}, area="120.50",
                                     valuation="1500000", valuer="云南诚信房地产评估有限公司",
                                     valuation_date="2026-02-20", pledge_rate="0.6",
                                     documents=[loan.upload(am, "collateral", "documents", "certificate.pdf")])
    book["guarantor"] = loan.create(am, "guarantor", application=app["id"], guarantor_type="individual",
                                    name="李建军", id_card=id_card(date(1980, 3, 3), 17), phone="13900139000",
                                    relationship="relative", annual_income="300000", guarantee_amount="800000")
    # approvals are the flow's work; here the administrator marks the application approved directly
    app = loan.update("admin_lw", "loan_application", loan.fresh("admin_lw", "loan_application", app), stage="approved", approved_amount="800000",
                      approved_rate="0.085")
    book["loan_application"] = app
    book["contract"] = loan.create(am, "contract", application=app["id"], customer=cust["id"], contract_amount="800000",
                                   annual_rate="0.085", term_months=12, repayment_method="equal_instalment",
                                   start_date="2026-03-05", signed_on="2026-03-04", sign_place="昆明分公司",
                                   status="signed")
    book["disbursement"] = loan_ = loan.create("wu_fang", "disbursement", application=app["id"], customer=cust["id"],
                                               contract=book["contract"]["id"], amount="800000",
                                               disbursed_on="2026-03-02", first_due_date="2026-04-02",
                                               payee_account=bank_card(1), payee_bank="富滇银行五华支行",
                                               transaction_ref="FD20260302000123", operator=loan.user_id("wu_fang"))
    book["repayment_instalment"] = inst = loan.create("wu_fang", "repayment_instalment", disbursement=loan_["id"],
                                                      customer=cust["id"], instalment_no=1, due_date="2026-04-02",
                                                      principal="64109.16", interest="5666.67")
    book["repayment"] = loan.create("wu_fang", "repayment", instalment=inst["id"], amount="69775.83",
                                    principal_part="64109.16", interest_part="5666.67", paid_on="2026-03-02",
                                    channel="transfer", transaction_ref="WX0001")
    book["collection_record"] = loan.create("feng_jun", "collection_record", instalment=inst["id"], method="phone",
                                            collector=loan.user_id("feng_jun"), contacted_at="2026-03-02T10:00:00+08:00",
                                            result="promise_to_pay", promised_date="2026-03-10",
                                            promised_amount="69775.83", notes="借款人承诺下周一还款。")
    # a long-overdue instalment makes the loan a loss (the daily overdue job sets days past due)
    loan.create("wu_fang", "repayment_instalment", disbursement=loan_["id"], customer=cust["id"], instalment_no=2,
                due_date="2025-01-26", principal="64563.27", interest="5212.56", days_past_due=400)
    book["disbursement"] = loan_ = loan.fresh("wu_fang", "disbursement", loan_)
    book["write_off"] = loan.create("feng_jun", "write_off", disbursement=loan_["id"], outstanding_interest="12000",
                                    write_off_amount="700000", reason="court_terminated",
                                    recovery_efforts="电话催收、上门催收、诉讼并申请强制执行，法院裁定终结本次执行。",
                                    evidence=[loan.upload("feng_jun", "write_off", "evidence", "ruling.pdf")])
    book["rate_exception"] = loan.create(am, "rate_exception", application=app["id"], requested_rate="0.075",
                                         reason="优质老客户，同业报价更低，申请利率优惠。", competitor_offer="0.072")
    return book


def approve(loan: Loan, app: dict[str, Any], amount: str | None = None) -> dict[str, Any]:
    """Mark an application approved as the administrator (the flow's job once flows run on the platform)."""
    app = loan.fresh("admin_lw", "loan_application", app)
    return loan.update("admin_lw", "loan_application", app, stage="approved",
                       approved_amount=amount or app["amount"], approved_rate=app["annual_rate"])


def lend(loan: Loan, customer: dict[str, Any], prod: dict[str, Any], amount: str = "100000", serial: int = 1,
         user: str = "yang_fan", schedule: bool = True, **values: Any) -> dict[str, Any]:
    """An application approved and paid out: the disbursement record (``schedule=False``: no generated repayment
    schedule, for tests writing their own instalments)."""
    app = approve(loan, application(loan, customer, prod, user=user, amount=amount, **values))
    return loan.create("wu_fang", "disbursement", application=app["id"], customer=customer["id"], amount=amount,
                       disbursed_on="2026-03-02", payee_account=bank_card(serial), payee_bank="富滇银行",
                       generate_schedule=schedule)
