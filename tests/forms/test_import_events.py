"""A bulk import reaches the other engines as single saves do: every imported record gets its audit entry (created
by this import, by whom, with its values), record automations run for each record, flows marked ``start_on: submit``
start for each record — on both databases; and a failing automation rolls the whole import back."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from engine.audit import history
from engine.identity import load_principal, sync_org
from engine.tables import audit_log, users
from flow_engine.tables import instances
from forms_engine.io import Importer, Options, read_upload
from rules_engine.automations import AutomationFailed
from rules_engine.automations.tables import runs
from tests.conftest import APPS, make_platform
from tests.forms.io_helpers import csv_bytes

BIG = """key: flag_big_orders
label: big orders
when: {record: created, form: order}
if: "amount >= 10000"
then:
  - set: {priority: "'high'"}
"""

ON_SUBMIT = """key: order_on_submit
form: order
label: on submit
start_on: submit
nodes:
  - {id: start, type: start}
  - {id: buyer_check, type: approval, assignees: {role: buyer}, mode: any}
  - {id: done, type: end}
edges:
  - {from: start, to: buyer_check}
  - {from: buyer_check, to: done}
"""


def _platform(database, tmp_path, clock, automation: str):  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock, apps_dir=tmp_path / "apps")
    folder = tmp_path / "apps" / "ordering"
    shutil.copytree(APPS / "ordering", folder)
    (folder / "automations").mkdir()
    (folder / "automations" / "big.yaml").write_text(automation)
    (folder / "flows" / "on_submit.yaml").write_text(ON_SUBMIT)
    platform.publish_folder(folder, "tester", "events")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["ordering"].spec.org, clock.now(), with_users=True)
        carol = load_principal(conn, conn.execute(select(users.c.id).where(users.c.username == "carol")).scalar_one())
    return platform, carol


def _import(platform, who, rows):  # type: ignore[no-untyped-def]
    app = platform.apps["ordering"]
    book = read_upload("orders.csv", csv_bytes([["title", "amount"], *rows]))
    importer = Importer(platform, app, app.spec.forms["order"], who, book, Options())
    with platform.db.begin() as conn:
        plan = importer.check(conn)
        assert not plan.count("reject"), plan.problems
        return importer.commit(conn, plan, job_id=77)


def test_imported_records_are_audited_run_automations_and_start_flows(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    platform, carol = _platform(database, tmp_path, clock, BIG)
    counts = _import(platform, carol, [["pens", "99"], ["servers", "25000"], ["desks", "12000.50"]])
    assert counts["created"] == 3
    records = platform.services["records"]
    app = platform.apps["ordering"]
    with platform.db.connect() as conn:
        rows = {r["title"]: r for r in conn.execute(select(records.table(app, app.spec.forms["order"]))).mappings()}
        assert {t: r["priority"] for t, r in rows.items()} == {"pens": "normal", "servers": "high", "desks": "high"}
        for title, row in rows.items():
            trail = history(conn, "ordering", "order", row["id"])
            assert trail[0]["action"] == "create" and trail[0]["user"] == carol.id
            assert trail[0]["extra"] == {"import": 77}
            assert trail[0]["changes"]["title"] == [None, title]
            assert trail[0]["changes"]["amount"][1] == str(row["amount"])
        started = conn.execute(select(instances.c.record_id).where(instances.c.flow == "order_on_submit")).scalars()
        assert sorted(started) == sorted(r["id"] for r in rows.values())
        assert conn.execute(select(func.count()).select_from(runs)).scalar() == 2
        summary = conn.execute(select(audit_log.c.extra).where(audit_log.c.action == "import")).scalar_one()
        assert summary["created"] == 3 and summary["job"] == 77


def test_an_automation_failing_on_one_imported_record_rolls_the_import_back(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    failing = BIG.replace("'high'", "'no such option'")
    platform, carol = _platform(database, tmp_path, clock, failing)
    with pytest.raises(AutomationFailed) as failed:
        _import(platform, carol, [["pens", "99"], ["servers", "25000"]])
    assert "automation 'flag_big_orders'" in str(failed.value) and 'priority' in str(failed.value)
    records = platform.services["records"]
    app = platform.apps["ordering"]
    with platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(records.table(app, app.spec.forms["order"]))).scalar() == 0
        assert conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.form == "order")).scalar() == 0
        assert conn.execute(select(func.count()).select_from(instances)).scalar() == 0


UNIQUE_APP = {
    "app.yaml": "format: 1\nkey: uniq\nlabel: Uniq\n",
    "org.yaml": "roles:\n  - {key: staff, label: Staff}\n",
    "forms/item.yaml": ("key: item\nlabel: Item\nfields:\n"
                        "  - {key: code, type: text, unique: true}\n"
                        "  - {key: number, type: integer, unique: true}\n"
                        "  - {key: price, type: money, unique: true}\n"
                        "  - {key: day, type: date, unique: true}\n"
                        "  - {key: mail, type: email, unique: true}\n"
                        "permissions:\n  staff: {create: true, read: all}\n"),
}


def test_values_of_unique_fields_of_every_type_are_found_among_stored_records(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from engine.permissions import SYSTEM

    platform = make_platform(database, tmp_path, clock)
    platform.publish_files(UNIQUE_APP, "tester", "unique")
    app = platform.apps["uniq"]
    form = app.spec.forms["item"]
    header = ["code", "number", "price", "day", "mail"]

    def plan(rows):  # type: ignore[no-untyped-def]
        book = read_upload("items.csv", csv_bytes([header, *rows]))
        importer = Importer(platform, app, form, SYSTEM, book, Options())
        with platform.db.begin() as conn:
            found = importer.check(conn)
            if not found.count("reject"):
                importer.commit(conn, found)
        return found

    stored = plan([["a", "1", "10.50", "2026-03-01", "a@example.com"], ["b", "2", "20", "2026-03-02", "b@example.com"]])
    assert stored.count("create") == 2 and not stored.problems
    again = plan([["c", "3", "30", "2026-03-03", "c@example.com"],   # all new
                  ["b", "4", "40", "2026-03-04", "d@example.com"],   # code taken
                  ["e", "1", "50", "2026-03-05", "e@example.com"],   # number taken
                  ["f", "5", "10.5", "2026-03-06", "f@example.com"],  # price taken (10.50)
                  ["g", "6", "60", "2026-03-01", "g@example.com"],   # day taken
                  ["h", "7", "70", "2026-03-07", "a@EXAMPLE.com"],   # mail taken (domains are stored lower-case)
                  ["i", "8", "80", "2026-03-08", "A@example.com"]])  # a different mailbox
    taken = {(p.row, p.field) for p in again.problems}
    assert taken == {(3, "code"), (4, "number"), (5, "price"), (6, "day"), (7, "mail")}, again.problems
    assert {p.code for p in again.problems} == {"unique"}
