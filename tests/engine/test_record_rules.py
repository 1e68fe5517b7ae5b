"""Record saving rules across forms: read-only fields refused to clients (create, update, import) but written by
flows and automations; an ``owner_field`` deciding the ``own`` scope; lookups filled before formulas and validation
rules read them; ``a.b.c`` paths through two relations; relations compared by id; ``DECIDE`` calling a decision
table. The app is tests/apps/servicedesk."""
from __future__ import annotations

import pytest

from engine.identity import sync_org
from engine.permissions import SYSTEM
from tests.conftest import APPS, Api, make_platform

BASE = "/api/apps/servicedesk/forms"


@pytest.fixture
def desk(database, tmp_path, clock) -> Api:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock)
    platform.publish_folder(APPS / "servicedesk", "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["servicedesk"].spec.org, clock.now(), with_users=True)
    return Api(platform)


def load(folder):  # type: ignore[no-untyped-def]
    from engine.loader import load_app_folder
    from engine.plugins import Hooks, load_builtin

    return load_app_folder(folder, load_builtin(Hooks()).kinds)


def user_id(api: Api, username: str) -> int:
    return api.as_(username).get("/api/me").json()["id"]


def post(api: Api, user: str, form: str, body: dict) -> dict:  # type: ignore[type-arg]
    response = api.as_(user).post(f"{BASE}/{form}/records", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def problems(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return {p["field"]: p["code"] for p in response.json()["error"]["details"]}


def count(api: Api, form: str) -> int:
    return api.as_("root").get(f"{BASE}/{form}/records").json()["total"]


# -- read-only fields ----------------------------------------------------------------------------------------------

def test_a_client_cannot_set_read_only_or_system_fields_on_create(desk) -> None:  # type: ignore[no-untyped-def]
    for extra, field in (({"state": "suspended"}, "state"), ({"credit": "50000"}, "credit"),
                         ({"owner_id": 1}, "owner_id"), ({"created_by": 1}, "created_by"), ({"id": 99}, "id"),
                         ({"status": "approved"}, "status"), ({"version": 3}, "version"), ({"owner": 1}, "owner")):
        response = desk.as_("lee").post(f"{BASE}/account/records", json={"name": "Acme", **extra})
        assert problems(response).get(field) in ("readonly", "protected"), (field, response.text)
    assert count(desk, "account") == 0  # nothing was saved
    created = post(desk, "lee", "account", {"name": "Acme"})
    assert created["state"] == "active" and created["credit"] is None  # the default, not the client's


def test_read_only_fields_may_be_sent_back_unchanged_but_not_changed(desk) -> None:  # type: ignore[no-untyped-def]
    created = post(desk, "lee", "account", {"name": "Acme"})
    url = f"{BASE}/account/records/{created['id']}"
    same = desk.as_("lee").patch(url, json={"name": "Acme Ltd", "state": "active", "credit": None})
    assert same.status_code == 200 and same.json()["name"] == "Acme Ltd"
    assert problems(desk.as_("lee").patch(url, json={"state": "suspended"})) == {"state": "readonly"}
    assert problems(desk.as_("root").patch(url, json={"credit": "1"})) == {"credit": "readonly"}  # admins too
    assert desk.as_("lee").get(url).json()["state"] == "active"


def test_flows_and_automations_still_set_read_only_fields(desk) -> None:  # type: ignore[no-untyped-def]
    platform = desk.platform
    records = platform.services["records"]
    live = platform.app("servicedesk")
    with platform.db.begin() as conn:
        record_id = records.create_as_system(conn, live, "account", {"name": "Beta", "state": "suspended"}, SYSTEM)
        updated = records.update(conn, live, "account", record_id, {"credit": "8000.00"}, SYSTEM, if_match=None,
                                 check_rights=False)
    assert updated["state"] == "suspended" and updated["credit"] == "8000.00"


def test_import_refuses_read_only_columns(desk) -> None:  # type: ignore[no-untyped-def]
    from tests.forms.io_helpers import run, upload, xlsx_bytes

    base = f"{BASE}/account"
    data = xlsx_bytes(("Sheet", [["名称", "状态"], ["Gamma", "暂停"], ["Delta", None]]))
    job = upload(desk, "lee", base, "accounts.xlsx", data)
    checked = run(desk, "lee", base, job["id"], "dry-run")
    assert [(p["row"], p["field"], p["code"]) for p in checked["problems"]] == [(2, "state", "readonly")]
    done = run(desk, "lee", base, job["id"], "commit", mode="valid_only")
    assert done["counts"]["created"] == 1 and done["counts"]["rejected"] == 1, done
    assert count(desk, "account") == 1


# -- owner field ---------------------------------------------------------------------------------------------------

def test_owner_field_decides_who_owns_the_record(desk) -> None:  # type: ignore[no-untyped-def]
    amy, ben = user_id(desk, "amy"), user_id(desk, "ben")
    mine = post(desk, "lee", "account", {"name": "For Amy", "account_owner": amy})
    post(desk, "lee", "account", {"name": "For Ben", "account_owner": ben})
    own = post(desk, "amy", "account", {"name": "Amy's own"})  # blank owner field: the creator owns it
    assert mine["owner_id"] == amy and own["owner_id"] == amy
    listed = desk.as_("amy").get(f"{BASE}/account/records").json()
    assert sorted(r["name"] for r in listed["items"]) == ["Amy's own", "For Amy"]
    assert desk.as_("ben").get(f"{BASE}/account/records/{mine['id']}").status_code == 404
    # handing the account over moves it out of Amy's scope and into Ben's
    moved = desk.as_("amy").patch(f"{BASE}/account/records/{mine['id']}", json={"account_owner": ben})
    assert moved.status_code == 200 and moved.json()["owner_id"] == ben
    assert desk.as_("amy").get(f"{BASE}/account/records/{mine['id']}").status_code == 404
    assert desk.as_("ben").get(f"{BASE}/account/records/{mine['id']}").status_code == 200


def test_owner_field_may_be_a_lookup_of_a_user_field(desk) -> None:  # type: ignore[no-untyped-def]
    ben = user_id(desk, "ben")
    bens = post(desk, "lee", "account", {"name": "Ben's", "account_owner": ben})
    ticket = post(desk, "amy", "ticket", {"subject": "for Ben's account", "account": bens["id"]})
    assert ticket["account_owner"] == ben and ticket["owner_id"] == ben  # Amy filed it; Ben looks after it
    assert desk.as_("amy").get(f"{BASE}/ticket/records/{ticket['id']}").status_code == 404
    assert desk.as_("ben").get(f"{BASE}/ticket/records/{ticket['id']}").status_code == 200


def test_owner_field_must_be_a_single_user_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engine.errors import DefinitionErrors
    import shutil

    folder = tmp_path / "servicedesk"
    shutil.copytree(APPS / "servicedesk", folder)
    path = folder / "forms" / "account.yaml"
    path.write_text(path.read_text().replace("owner_field: account_owner", "owner_field: team"))
    with pytest.raises(DefinitionErrors) as caught:
        load(folder)
    text = str(caught.value)
    assert "account.yaml" in text and "owner_field" in text and "single user field" in text


# -- lookups, paths, DECIDE ----------------------------------------------------------------------------------------

def setup_accounts(desk: Api) -> tuple[dict, dict, dict, dict]:  # type: ignore[type-arg]
    lee = user_id(desk, "lee")
    day = post(desk, "lee", "team", {"name": "Day", "lead": lee, "hours": 10})
    night = post(desk, "lee", "team", {"name": "Night", "hours": 6})
    gold = post(desk, "lee", "account", {"name": "Gold Co", "plan": "gold", "team": day["id"]})
    basic = post(desk, "lee", "account", {"name": "Basic Co", "plan": "basic", "team": night["id"]})
    return day, night, gold, basic


def test_formulas_and_rules_read_lookups_and_two_level_paths(desk) -> None:  # type: ignore[no-untyped-def]
    day, night, gold, basic = setup_accounts(desk)
    ticket = post(desk, "amy", "ticket", {"subject": "down", "account": gold["id"], "severity": 1,
                                          "handled_by": day["id"]})
    assert ticket["plan"] == "gold" and ticket["premium"] is True  # the formula read the looked-up plan
    assert ticket["team_hours"] == 10 and ticket["team_lead"] == user_id(desk, "lee")  # account.team.hours
    assert ticket["own_team"] is True  # handled_by == account.team compares the two relations by id
    other = post(desk, "amy", "ticket", {"subject": "slow", "account": gold["id"], "handled_by": night["id"]})
    assert other["own_team"] is False
    # the validation rule reads the lookup too: a basic account may not file severity 1
    refused = desk.as_("amy").post(f"{BASE}/ticket/records", json={"subject": "x", "account": basic["id"],
                                                                    "severity": 1})
    assert problems(refused) == {"plan": "rule"}
    # a change two relations away reaches the ticket when it is saved again
    desk.as_("lee").patch(f"{BASE}/team/records/{day['id']}", json={"hours": 12})
    again = desk.as_("amy").patch(f"{BASE}/ticket/records/{ticket['id']}", json={"note": "called"}).json()
    assert again["team_hours"] == 12


def test_decide_calls_a_decision_table(desk) -> None:  # type: ignore[no-untyped-def]
    _day, _night, gold, basic = setup_accounts(desk)
    urgent = post(desk, "amy", "ticket", {"subject": "a", "account": gold["id"], "severity": 1})
    calm = post(desk, "amy", "ticket", {"subject": "b", "account": gold["id"], "severity": 4})
    plain = post(desk, "amy", "ticket", {"subject": "c", "account": basic["id"], "severity": 4})
    assert (urgent["response_hours"], urgent["queue"]) == (2, "priority")
    assert (calm["response_hours"], calm["queue"]) == (8, "priority")
    assert (plain["response_hours"], plain["queue"]) == (72, "standard")  # no row matched: the defaults


@pytest.mark.parametrize("expr, message", [
    ('DECIDE("respons_time.hours", plan, severity)', "unknown decision table 'respons_time'"),
    ('DECIDE("response_time.hours", plan)', "takes 2 inputs (plan, severity), got 1"),
    ('DECIDE("response_time.hours", severity, plan)', "input 'plan' of decision table 'response_time' is text"),
    ('DECIDE("response_time", plan, severity)', "has outputs hours, queue; name one"),
    ('DECIDE("response_time.minutes", plan, severity)', "has no output 'minutes'"),
    ("account.team.lead.name", "has no field"),
    ("account.team > 3", "cannot compare"),
])
def test_expression_mistakes_are_located_definition_errors(tmp_path, expr: str, message: str) -> None:
    import shutil

    from engine.errors import DefinitionErrors

    folder = tmp_path / "servicedesk"
    shutil.copytree(APPS / "servicedesk", folder)
    path = folder / "forms" / "ticket.yaml"
    text = path.read_text()
    path.write_text(text.replace('expr: "account.team.hours"', "expr: '" + expr.replace("'", "''") + "'"))
    with pytest.raises(DefinitionErrors) as caught:
        load(folder)
    shown = str(caught.value)
    assert "ticket.yaml:" in shown and message in shown, shown
