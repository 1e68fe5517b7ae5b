"""`make run` on a fresh machine: `loomwork demo load` publishes the loan app from app_definitions/, creates its
demo organisation (every user signs in with the one demo password) and fills the forms its `demo` setting names —
linked records that agree with each other (the generic generator's `where` and `values`), rollups brought up to
date, so the dashboards have something to show."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.demo import load_demo
from tests.conftest import make_platform
from tests.loan.conftest import share_loaded_specs
from tests.loan.loan_data import APPS_DIR

FORMS = ["customer", "lead", "follow_up", "loan_product", "due_diligence", "loan_application", "disbursement",
         "repayment_instalment", "repayment"]


def test_demo_load_publishes_the_app_with_users_and_linked_data(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock, apps_dir=APPS_DIR)
    share_loaded_specs(platform)
    lines = list(load_demo(platform, rows=100))          # at most 100 records per form keeps the test quick
    assert "loan: version 1 (published now)" in lines
    assert "loan: 20 demo users (password: Loomwork-2026)" in lines
    made = {line.split()[2]: int(line.split()[1]) for line in lines if line.endswith(" records")
            and line.split()[1].isdigit()}
    assert list(made) == FORMS and all(n > 0 for n in made.values()), lines
    assert made["loan_product"] == 6                      # six product codes to choose from: one record each
    live = platform.apps["loan"]

    def rows(form: str) -> list:  # type: ignore[type-arg]
        with platform.db.connect() as conn:
            return list(conn.execute(select(live.tables[f"f_loan__{form}"])).mappings())

    # customers and leads are looked after by account managers; converted leads name their customer
    from engine.tables import user_roles
    with platform.db.connect() as conn:
        managers = set(conn.execute(select(user_roles.c.user_id).where(user_roles.c.role_key == "account_manager"))
                       .scalars())
    customers = rows("customer")
    assert customers and all(c["account_manager"] in managers and c["owner_id"] == c["account_manager"]
                             for c in customers)
    leads = rows("lead")
    assert all(lead["owner_user"] in managers for lead in leads)
    assert all(lead["customer"] is not None for lead in leads if lead["stage"] == "converted")
    products = {p["id"]: p for p in rows("loan_product")}
    applications = {a["id"]: a for a in rows("loan_application")}
    for a in applications.values():                     # within the chosen product's ranges
        p = products[a["product"]]
        assert p["min_amount"] <= a["amount"] <= p["max_amount"] and p["min_rate"] <= a["annual_rate"] <= p["max_rate"]
        assert a["repayment_method"] in p["repayment_methods"]
    loans = rows("disbursement")
    assert len({d["application"] for d in loans}) == len(loans)       # one loan per application
    for d in loans:                                                   # only disbursed applications, same borrower
        assert applications[d["application"]]["stage"] in ("disbursed", "settled")
        assert d["customer"] == applications[d["application"]]["customer"]
    instalments = rows("repayment_instalment")
    by_id = {d["id"]: d for d in loans}
    assert all(i["customer"] == by_id[i["disbursement"]]["customer"] for i in instalments)
    # rollups counted the generated instalments: the loans' instalment counts match the records
    counted = {d["id"]: d["instalments"] or 0 for d in loans}
    actual: dict[int, int] = {}
    for i in instalments:
        actual[i["disbursement"]] = actual.get(i["disbursement"], 0) + 1
    assert all(counted[k] == actual.get(k, 0) for k in counted)
    runs = [line for line in lines if "loan_approval flow runs" in line]
    assert len(runs) == 2 and not any("failed" in r for r in runs), lines   # the reviews; signed and paid out
    client = platform_client(platform)
    response = client.post("/login", data={"username": "zhao_min", "password": "Loomwork-2026", "next": "/"})
    assert response.status_code == 303
    # the demo's flow runs are real instances with history, acted on by each task's own assignee at backdated times
    from flow_engine.tables import history, instances
    with platform.db.connect() as conn:
        runs_made = list(conn.execute(select(instances)).mappings())
        passes = list(conn.execute(select(history).where(history.c.kind == "node",
                                                         history.c.left_at.is_not(None))).mappings())
    assert runs_made and all(i["started_at"] < clock.now() for i in runs_made)
    by_id = {a["id"]: a for a in rows("loan_application")}
    for inst in runs_made:                                  # the flow keeps the stage the generator gave
        stage = by_id[inst["record_id"]]["stage"]
        if inst["status"] == "finished":
            assert (inst["outcome"], stage) in (("rejected", "rejected"), ("approved", "disbursed"),
                                                ("approved", "settled")), (inst, stage)
        else:
            assert inst["status"] == "running", inst
            assert stage in ("submitted", "returned", "approved", "signed"), (inst, stage)
    reviewed = [p for p in passes if p["node"] in ("initial_review", "risk_review", "gm_approval")]
    assert reviewed and all(p["duration_s"] > 0 for p in reviewed)
    # every application signed or paid out since the demo lender went live (four weeks) has its whole approval trail:
    # the reviews, the contract signed with its scan uploaded (a placeholder PDF stored as an attachment), and for a
    # paid-out one the payout recorded on the day of its loan, which is not booked twice
    from engine.tables import files
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    live_since = today - timedelta(days=28)
    signed = [a for a in by_id.values() if a["stage"] in ("signed", "disbursed", "settled")
              and a["applied_on"] >= live_since]
    assert len(signed) >= 3, signed
    run_of = {i["record_id"]: i for i in runs_made}
    loan_of = {d["application"]: d for d in rows("disbursement")}
    with platform.db.connect() as conn:
        scans = {f["record_id"]: f for f in conn.execute(select(files).where(
            files.c.app == "loan", files.c.form == "loan_application")).mappings()}
    for a in signed:
        inst = run_of[a["id"]]
        trail = [p["node"] for p in passes if p["instance_id"] == inst["id"]]
        assert {"risk_review", "gm_approval", "contract_signing"} <= set(trail), (a, trail)
        assert a["signed_on"] is not None and a["approved_amount"] is not None
        scan = scans[a["id"]]
        assert [x["id"] for x in a["signed_contract"]] == [scan["id"]] and scan["kind"] == "pdf" and scan["size"] > 100
        assert (tmp_path / "var" / "files" / scan["storage_name"]).read_bytes().startswith(b"%PDF-")
        if a["stage"] == "signed":
            assert inst["status"] == "running" and inst["position"] == ["disbursement"]
        else:
            assert inst["status"] == "finished" and "disbursement" in trail and "mark_disbursed" in trail
            assert a["disbursed_on"] == loan_of[a["id"]]["disbursed_on"] >= a["signed_on"]
    # right after the load nothing is overdue: the time limits that fell due in the backdated history fired then
    # (reminders and escalations recorded with their notifications at that moment); the rest fire when due
    from flow_engine.tables import timers
    from engine.notifications import notifications
    with platform.db.connect() as conn:
        fired = list(conn.execute(select(history).where(history.c.action.in_(("remind", "escalate")))).mappings())
        pending = sorted(conn.execute(select(timers.c.due_at)).scalars())
        sent = list(conn.execute(select(notifications).where(notifications.c.kind.in_(("reminder", "escalation"))))
                    .mappings())
    assert fired and all(h["at"] < clock.now() for h in fired)
    assert sent and all(n["created_at"] < clock.now() for n in sent)
    flows = platform.services["flows"]
    assert flows.fire_due_timers() == 0
    assert all(due > clock.now() for due in pending)
    # a task created now still gets its reminders when their time comes (one per assignee of the first review)
    draft = next(a for a in by_id.values() if a["stage"] == "draft" and a["id"] not in run_of)
    from engine.identity import load_principal
    with platform.db.begin() as conn:
        manager = load_principal(conn, draft["account_manager"])
        started = flows.start(conn, "loan", "loan_approval", draft["id"], manager, check_rights=False)
    assert started["status"]["position"] in (["initial_review"], ["risk_review"])
    with platform.db.connect() as conn:
        due = sorted(conn.execute(select(timers.c.due_at).where(timers.c.instance_id == started["id"])).scalars())
    assert flows.fire_due_timers() == 0
    saved = clock.now()
    clock.set(due[0])
    assert flows.fire_due_timers() == due.count(due[0]) + sum(1 for d in pending if d <= due[0])
    clock.set(saved)
    # every widget of the management cockpit shows something (to a general manager): rows with at least one figure
    client = platform_client(platform)
    assert client.post("/login", data={"username": "zhang_wei", "password": "Loomwork-2026",
                                       "next": "/"}).status_code == 303
    cockpit = client.get("/api/apps/loan/dashboards/management_cockpit")
    assert cockpit.status_code == 200
    widgets = [w["report"] for w in cockpit.json()["widgets"]]
    assert "approval_node_time" in widgets
    for key in widgets:
        run = client.get(f"/api/apps/loan/reports/{key}/run")
        assert run.status_code == 200, run.text
        figures = [v for r in run.json()["rows"] for k, v in r.items() if v not in (None, 0, "0", "0.00")]
        assert figures, (key, run.json()["rows"])
    times = {r["node"]: r for r in client.get("/api/apps/loan/reports/approval_node_time/run").json()["rows"]}
    for node in ("initial_review", "risk_review", "contract_signing", "disbursement"):
        own = [p["duration_s"] for p in passes if p["node"] == node]
        assert times[node]["count"] == len(own)
        assert abs(float(times[node]["avg_duration_s"]) - sum(own) / len(own)) <= 1
    assert list(load_demo(platform, rows=5))[-1] == "loan: demo data already there"


def platform_client(platform):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from engine.web.app import create_app

    return TestClient(create_app(platform), follow_redirects=False)
