"""`loomwork demo load` (what `make run` calls): demo users and generated demo records, once."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.demo import load_demo
from tests.conftest import APPS, make_platform
from tests.engine.test_loader import errors_of, kinds  # noqa: F401 - fixture


def test_demo_load_fills_an_empty_app_once(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock, apps_dir=APPS)
    lines = list(load_demo(platform))
    assert "purchasing: 40 purchase_request records" in lines and "purchasing: 12 supplier records" in lines
    records = platform.services["records"]
    live = platform.apps["purchasing"]
    table = records.table(live, records.form(live, "purchase_request"))
    with platform.db.connect() as conn:
        count = conn.execute(select(func.count()).select_from(table)).scalar_one()
        suppliers = conn.execute(select(func.count(func.distinct(table.c.supplier)))).scalar_one()
    assert count == 40 and suppliers > 1  # relations point at the generated suppliers
    again = list(load_demo(platform))
    assert "purchasing: demo data already there" in again
    with platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 40


def test_demo_rows_name_real_forms(kinds) -> None:  # type: ignore[no-untyped-def]
    app = "key: demo\nlabel: Demo\ndemo:\n  rows:\n    - {form: nope, count: 3}\n"
    form = "key: thing\nlabel: Thing\nfields:\n  - {key: name, type: text}\n"
    assert errors_of(kinds, {"app.yaml": app, "forms/thing.yaml": form}) == [
        "app.yaml:5:14: demo.rows[0].form: unknown form 'nope'"]


def test_generator_links_records_by_where_and_fills_values(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    """The demo ``where`` limits which records a relation points at; ``values`` fill fields from the record being
    made and its related records (an expression, ``between`` two bounds, ``one_of`` a list); unique values stay
    unique; asking for more records than a unique link has targets makes as many as there are."""
    from decimal import Decimal

    from sqlalchemy import select

    from engine.identity import sync_org
    from forms_engine.fake import generate
    from tests.conftest import APPS, make_platform

    platform = make_platform(database, tmp_path, clock)
    platform.publish_folder(APPS / "servicedesk", "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["servicedesk"].spec.org, clock.now(), with_users=True)
    assert generate(platform, "servicedesk", "team", 3, options={"values": {"hours": {"between": [6, 10], "step": 2}}}) == 3
    assert generate(platform, "servicedesk", "account", 30, options={"values": {
        "plan": {"one_of": "['basic', 'gold', 'gold']"}, "name": "'Account of team ' & team.name"}}) == 30
    made = generate(platform, "servicedesk", "ticket", 40, options={
        "where": {"account": "plan == 'gold'"},
        "values": {"severity": {"between": [1, 2]}, "subject": "account.name", "note": "'hours: ' & account.team"}})
    assert made == 40
    live = platform.apps["servicedesk"]
    with platform.db.connect() as conn:
        teams = {r["id"]: r for r in conn.execute(select(live.tables["f_servicedesk__team"])).mappings()}
        accounts = {r["id"]: r for r in conn.execute(select(live.tables["f_servicedesk__account"])).mappings()}
        tickets = list(conn.execute(select(live.tables["f_servicedesk__ticket"])).mappings())
    assert {t["hours"] for t in teams.values()} <= {6, 8, 10}
    assert all(a["name"] == f"Account of team {teams[a['team']]['name']}" for a in accounts.values() if a["team"])
    assert all(accounts[t["account"]]["plan"] == "gold" for t in tickets)        # where
    assert all(t["severity"] in (1, 2) and t["subject"] == accounts[t["account"]]["name"] for t in tickets)
    assert all(t["plan"] == "gold" and t["response_hours"] == 2 for t in tickets)  # lookups and DECIDE ran too
    assert Decimal(tickets[0]["severity"]) in (1, 2)


def _purchasing_with_requests(database, tmp_path, clock):  # type: ignore[no-untyped-def]
    from engine.identity import sync_org
    from forms_engine.fake import generate

    platform = make_platform(database, tmp_path, clock, apps_dir=APPS)
    platform.publish_folder(APPS / "purchasing", "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["purchasing"].spec.org, clock.now(), with_users=True)
    generate(platform, "purchasing", "supplier", 5, seed=1, days=60)
    generate(platform, "purchasing", "purchase_request", 12, seed=2, days=60,
             options={"values": {"urgent": "false", "amount": {"between": [60000, 400000], "step": 1000}}})
    return platform


def test_backdated_demo_runs_meet_their_time_limits_in_the_past(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    """Demo flow runs are backdated: a task left waiting passes its time limits in that past. They fire at their due
    moment during the load, as the running system would have (an auto-approving escalation approves and the run goes
    on, a reassigning one hands the task over), so right after the load no timer is due and none fires; timers of
    tasks made later fire when their time comes."""
    from flow_engine.demo import drive
    from flow_engine.tables import history, instances, timers

    platform = _purchasing_with_requests(database, tmp_path, clock)
    live = platform.apps["purchasing"]
    run = {"flow": "purchase_approval", "hours": [1, 4],
           "steps": {"lead_review": [{"action": "approve"}], "buyer_check": [{"action": "wait"}]}}
    made, waiting, failed, first = drive(platform, live, run, 12, seed=3)
    assert (made, failed) == (12, 0), first
    with platform.db.connect() as conn:
        events = list(conn.execute(select(history).where(history.c.action.in_(("remind", "escalate"))))
                      .mappings())
        passes = list(conn.execute(select(history).where(history.c.kind == "node", history.c.node == "buyer_check"))
                      .mappings())
        left = list(conn.execute(select(timers.c.due_at)).scalars())
        runs = list(conn.execute(select(instances)).mappings())
    # nobody acted at the buyers' check: its two-day escalation approved it, in the past, and the run went on to
    # finance (above 50,000), whose own limits then passed too: reminded, then reassigned to the director
    assert {e["node"] for e in events if e["action"] == "escalate"} >= {"buyer_check", "finance_countersign"}
    assert all(e["at"] < clock.now() for e in events)
    assert passes and all(p["left_at"] is not None and p["left_at"] < clock.now() for p in passes)
    waiting = [r["position"] for r in runs if r["status"] == "running"]
    assert all(p in (["finance_countersign"], ["director_review"]) for p in waiting), waiting
    assert all(due > clock.now() for due in left)
    assert platform.services["flows"].fire_due_timers() == 0


def test_demo_files_name_a_file_field_and_kind(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    """A step's ``files`` must name a file field of the flow's form and a .pdf or .png name; otherwise the load stops
    with an error naming the step."""
    import pytest

    from engine.errors import BadRequest
    from flow_engine.demo import drive, placeholder_pdf, placeholder_png
    from forms_engine.validators.files import check_upload

    platform = _purchasing_with_requests(database, tmp_path, clock)
    live = platform.apps["purchasing"]
    run = {"flow": "purchase_approval", "steps": {"lead_review": [{"action": "approve", "files": {"note": "a.pdf"}}]}}
    problem = r"steps.lead_review\[0\].files: 'note' is not a file field of purchase_request"
    with pytest.raises(BadRequest, match=problem):
        drive(platform, live, run, 1)
    # what a placeholder is: files the upload checks take for what their names say
    assert check_upload("合同.pdf", placeholder_pdf("合同.pdf"), ["pdf"], 10_000).kind == "pdf"
    assert check_upload("scan.png", placeholder_png(), ["png"], 10_000).kind == "png"
