"""The generic data generator: records for any form, valid for the form's own checks, spread and skewed like real
data, linked to existing records, inserted in bulk; and the ``loomwork fake`` command."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.identity import sync_org
from engine.permissions import SYSTEM
from forms_engine import validate
from forms_engine.fake import generate
from forms_engine.records import make_env
from tests.conftest import APPS, make_platform


def resubmit(platform: Any, app: str, form_key: str, item: dict[str, Any]) -> list[Any]:
    """Run a stored record's writable values through the form's checks again, as a new submission."""
    live = platform.apps[app]
    form = live.spec.forms[form_key]
    body = {}
    for f in form.data_fields:
        if f.ftype.computed or f.ftype.group == "files" or item.get(f.key) is None:
            continue
        value = item[f.key]
        if f.type == "subtable":
            value = [{k: v for k, v in row.items() if k != "id" and v is not None and not f.sub(k).ftype.computed}
                     for row in value]
        body[f.key] = value
    values, problems = validate.coerce_submission(form, body, creating=True)
    related = {}
    with platform.db.connect() as conn:
        # resubmitted by a real user: defaults such as current_user.id need one (the system principal has no id)
        from engine.identity import load_principal
        from engine.tables import users

        who = load_principal(conn, conn.execute(select(users.c.id).where(users.c.username == "ann")).scalar_one())
        for f in form.fields:
            if f.type == "relation" and not f.many and values.get(f.key):
                related[f.key] = platform.services["records"].get_unchecked(conn, live, live.spec.forms[f.to],
                                                                            values[f.key])
    return problems + validate.complete(form, values, make_env(platform, live, who), creating=True, before=None,
                                        related=related)


@pytest.fixture
def fieldlab(database: tuple[str, object], tmp_path: Path, clock: Any) -> Any:
    platform = make_platform(database, tmp_path, clock)
    platform.publish_folder(APPS / "fieldlab", "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["fieldlab"].spec.org, clock.now(), with_users=True)
    return platform


def test_generated_records_of_every_field_type_pass_the_forms_checks(fieldlab: Any) -> None:
    platform = fieldlab
    assert generate(platform, "fieldlab", "party", 120, seed=1, batch=50) == 120
    assert generate(platform, "fieldlab", "order", 80, seed=2) == 80
    records = platform.services["records"]
    live = platform.apps["fieldlab"]
    with platform.db.connect() as conn:
        parties = records.list(conn, live, "party", SYSTEM, size=500)["items"]
        orders = records.list(conn, live, "order", SYSTEM, size=500)["items"]
    assert len(parties) == 120 and len(orders) == 80
    for item in parties[:60] + orders[:40]:
        form = "party" if "grade" in item else "order"
        assert resubmit(platform, "fieldlab", form, item) == [], item
    filled = {k for item in parties for k, v in item.items() if v not in (None, [], "")}
    assert {"id_number", "company_code", "card", "mobile", "mail", "site", "region", "address", "spot", "bio",
            "stars", "open_at", "meeting", "spent", "tags", "channels", "kind", "share", "helper", "team"} <= filled
    assert len({p["id_number"] for p in parties if p["id_number"]}) == sum(1 for p in parties if p["id_number"])
    party_ids = {p["id"] for p in parties}
    assert all(o["party"] in party_ids for o in orders)
    assert all(o["lines"] or o["line_count"] == 0 for o in orders)
    assert any(o["lines"] for o in orders)
    for o in orders:  # computed on generation exactly as a save computes them
        assert o["party_grade"] == next(p["grade"] for p in parties if p["id"] == o["party"])
        if o["lines"]:
            assert o["line_count"] == len(o["lines"])
    numbers = [o["number"] for o in orders]
    assert len(set(numbers)) == 80 and all(n.startswith("OR-202603-") for n in numbers)
    ann = _user(platform, "ann")
    with platform.db.begin() as conn:  # a later save continues the serial counter after the generated numbers
        made = records.create(conn, live, "order", {"party": parties[0]["id"], "payment_kind": "cash",
                                                   "lines": [{"item": "x", "qty": 1, "price": "1"}]}, ann)
    assert made["number"] == "OR-202603-0081" and made["id"] == max(o["id"] for o in orders) + 1


def _user(platform: Any, name: str) -> Any:
    from engine.identity import load_principal
    from engine.tables import users

    with platform.db.connect() as conn:
        return load_principal(conn, conn.execute(select(users.c.id).where(users.c.username == name)).scalar_one())


def test_values_are_spread_and_skewed(platform: Any) -> None:
    generate(platform, "purchasing", "supplier", 30, seed=3)
    generate(platform, "purchasing", "purchase_request", 600, seed=4, days=180)
    live = platform.apps["purchasing"]
    table = live.tables["f_purchasing__purchase_request"]
    with platform.db.connect() as conn:
        rows = conn.execute(select(table)).mappings().all()
    today = platform.clock.now().date()
    created = [r["created_at"].date() for r in rows]
    assert min(created) >= today - timedelta(days=181) and max(created) <= today + timedelta(days=1)
    recent = sum(1 for d in created if d >= today - timedelta(days=90))
    assert recent > len(rows) * 0.55  # denser towards the end of the period
    categories = Counter(r["category"] for r in rows if r["category"])
    assert categories.most_common()[0][1] > 1.5 * categories.most_common()[-1][1]  # a long tail, not uniform
    amounts = sorted(r["amount"] for r in rows)
    assert amounts[0] >= 1 and amounts[-1] <= 10_000_000
    assert amounts[len(amounts) // 2] * 3 < amounts[int(len(amounts) * 0.97)]  # skewed: a long upper tail
    suppliers = Counter(r["supplier"] for r in rows if r["supplier"])
    assert len(suppliers) > 10 and suppliers.most_common(1)[0][1] > 3 * (len(rows) / 30)
    owners = {r["owner_id"] for r in rows}
    assert len(owners) > 3 and all(r["department_id"] is not None or r["owner_id"] is not None for r in rows)


def test_fake_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    monkeypatch.setenv("LOOMWORK_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LOOMWORK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LOOMWORK_APPS_DIR", str(APPS))
    assert main(["demo", "load"]) == 0
    assert main(["fake", "purchasing", "supplier", "--rows", "12"]) == 0
    assert main(["fake", "purchasing", "purchase_request", "--rows", "40", "--seed", "7"]) == 0
    assert "purchasing.purchase_request: 40 generated records inserted" in capsys.readouterr().out
    assert main(["fake", "purchasing", "nope", "--rows", "1"]) == 1
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        # the app's demo setting made 40 at `demo load`; `fake` added 40 more
        assert conn.exec_driver_sql("select count(*) from f_purchasing__purchase_request").scalar() == 80
    engine.dispose()


def test_a_record_lives_in_one_place_of_the_region_data(fieldlab: Any) -> None:
    """Region, address, identity-card and credit-code areas of one record are one district, its city and its
    province, all from the region data (no city outside the record's province)."""
    from forms_engine.validators import regions

    generate(fieldlab, "fieldlab", "party", 150, seed=5)
    with fieldlab.db.connect() as conn:
        rows = conn.execute(select(fieldlab.apps["fieldlab"].tables["f_fieldlab__party"])).mappings().all()
    checked = 0
    for r in rows:
        if r["region"] is None:
            continue
        district = regions.lookup(r["region"])
        city = regions.lookup(district.parent) if district is not None and district.parent else None
        assert district is not None and district.level == "district" and city is not None and city.level == "city"
        assert city.parent == district.code[:2] + "0000" and regions.lookup(city.parent) is not None
        for other in ((r["address"] or {}).get("region"), (r["id_number"] or "")[:6] or None,
                      (r["company_code"] or "")[2:8] or None):
            assert other in (None, district.code), (r["region"], other)
        checked += 1
    assert checked > 100


def test_records_live_in_the_regions_asked_for(fieldlab: Any) -> None:
    """``regions``: code → weight; every record's region path lies in one of them, about as often as weighted."""
    generate(fieldlab, "fieldlab", "party", 200, seed=9, regions={"530000": 3, "5101": 1})
    with fieldlab.db.connect() as conn:
        rows = conn.execute(select(fieldlab.apps["fieldlab"].tables["f_fieldlab__party"])).mappings().all()
    codes = [r["region"] for r in rows if r["region"]] + [(r["id_number"] or "")[:6] for r in rows if r["id_number"]]
    assert codes and all(c.startswith(("53", "5101")) for c in codes), codes
    yunnan = sum(1 for r in rows if (r["region"] or "").startswith("53"))
    chengdu = sum(1 for r in rows if (r["region"] or "").startswith("5101"))
    assert yunnan > 2 * chengdu > 0
    with pytest.raises(Exception, match="no district"):
        generate(fieldlab, "fieldlab", "party", 5, seed=9, regions={"990000": 1})


def test_each_parent_gets_its_children_numbered_one_by_one(fieldlab: Any) -> None:
    """``each``: every target record gets the count its expression gives, linked to it, numbered by ``nth``."""
    generate(fieldlab, "fieldlab", "party", 20, seed=6)
    live = fieldlab.apps["fieldlab"]
    with fieldlab.db.connect() as conn:
        parties = {r["id"]: r for r in conn.execute(select(live.tables["f_fieldlab__party"])).mappings()}
    made = generate(fieldlab, "fieldlab", "order", 1000, seed=7,
                    options={"each": {"party": "IF(MOD(id, 3) == 0, 0, MOD(id, 4) + 1)"},
                             "values": {"months": "nth"}})
    expected = {i: (0 if i % 3 == 0 else i % 4 + 1) for i in parties}
    assert made == sum(expected.values())
    with fieldlab.db.connect() as conn:
        orders = conn.execute(select(live.tables["f_fieldlab__order"])).mappings().all()
    by_party: dict[int, list[int]] = {}
    for o in orders:
        by_party.setdefault(o["party"], []).append(o["months"])
    assert {k: sorted(v) for k, v in by_party.items()} == {
        i: list(range(1, c + 1)) for i, c in expected.items() if c}
    capped = generate(fieldlab, "fieldlab", "order", 5, seed=8, options={"each": {"party": "2"}})
    assert capped == 5                                           # count caps the total
