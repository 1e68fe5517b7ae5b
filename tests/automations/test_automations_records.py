"""Record-triggered automations: each trigger and action, in the triggering change's transaction, on both databases."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from automation_support import APP, create, publish, records, update, user_id, who
from engine.audit import history
from engine.errors import LoomworkError
from engine.notifications import notifications
from rules_engine.automations import AutomationFailed, AutomationLoop
from rules_engine.automations.tables import runs
from tests.conftest import make_platform


@pytest.fixture
def plat(database, tmp_path, clock):  # type: ignore[no-untyped-def]
    return make_platform(database, tmp_path, clock, apps_dir=tmp_path / "apps")


def notes_of(platform, username):  # type: ignore[no-untyped-def]
    uid = user_id(platform, username)
    with platform.db.connect() as conn:
        return [dict(r) for r in conn.execute(select(notifications).where(notifications.c.user_id == uid)
                                              .order_by(notifications.c.id)).mappings()]


def run_log(platform):  # type: ignore[no-untyped-def]
    with platform.db.connect() as conn:
        return [dict(r) for r in conn.execute(select(runs).order_by(runs.c.id)).mappings()]


def test_created_sets_fields_through_the_record_service_with_audit_and_run_log(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/big.yaml": """
key: flag_big_orders
label: 大额订单标记
when: {record: created, form: order}
if: "amount >= 10000"
then:
  - set: {priority: "'high'", note: "'big: ' & TEXT(amount, '0.00')"}
"""})
    small = create(plat, "order", {"title": "pens", "amount": "99"})
    big = create(plat, "order", {"title": "servers", "amount": "25000"})
    rows = {r["id"]: r for r in records(plat, "order")}
    assert rows[small["id"]]["priority"] == "normal"
    assert rows[big["id"]]["priority"] == "high" and rows[big["id"]]["note"] == "big: 25000.00"
    with plat.db.connect() as conn:
        trail = history(conn, APP, "order", big["id"])
    assert [e["action"] for e in trail] == ["create", "update"]
    assert trail[1]["extra"]["automation"] == "flag_big_orders" and "priority" in trail[1]["changes"]
    log = run_log(plat)
    assert len(log) == 1 and log[0]["record_id"] == big["id"] and log[0]["status"] == "done"
    assert log[0]["actions"][0]["fields"]["priority"] == "high"


def test_field_changed_from_to_creates_one_record_per_sub_table_row_and_notifies_a_role(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/lines.yaml": """
key: lines_on_approval
when: {record: updated, form: order, changed: status, from: submitted, to: approved}
then:
  - create:
      form: order_line
      for_each: {rows: items}
      values: {order: "id", name: "item.name", qty: "item.qty", line_total: "item.qty * item.price"}
  - notify:
      to: {roles: [finance], fields: [buyer]}
      title: "{{title}} approved: {{COUNT(items.name)}} lines"
"""})
    order = create(plat, "order", {"title": "desks", "status": "draft", "buyer": user_id(plat, "carol"),
                                   "items": [{"name": "desk", "qty": 2, "price": "300"},
                                             {"name": "chair", "qty": 4, "price": "80.5"}]})
    update(plat, "order", order["id"], {"status": "submitted"})
    assert records(plat, "order_line") == []  # draft → submitted: not the change asked for
    update(plat, "order", order["id"], {"status": "approved"})
    lines = records(plat, "order_line")
    assert [(x["name"], x["qty"], x["line_total"]) for x in lines] == [("desk", 2, "600.00"), ("chair", 4, "322.00")]
    assert all(x["order"] == order["id"] for x in lines)
    assert [n["title"] for n in notes_of(plat, "fin_wang")] == ["desks approved: 2 lines"]
    assert [n["title"] for n in notes_of(plat, "carol")] == ["desks approved: 2 lines"]
    assert notes_of(plat, "alice") == []
    update(plat, "order", order["id"], {"note": "again"})  # status unchanged: nothing more
    assert len(records(plat, "order_line")) == 2


@pytest.mark.parametrize("method", ["equal_payment", "equal_principal", "interest_first"])
def test_for_each_schedule_writes_an_instalment_table_exact_to_the_cent(plat, tmp_path, method) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/plan.yaml": """
key: instalment_plan
when: {record: updated, form: order, changed: status, to: approved}
then:
  - create:
      form: instalment
      for_each: {schedule: {principal: amount, annual_rate: annual_rate, months: months, method: method}}
      values:
        order: id
        period: item.period
        due_date: EDATE(ordered_on, item.period)
        payment: item.payment
        principal: item.principal
        interest: item.interest
        balance: item.balance
"""})
    order = create(plat, "order", {"title": "plan", "amount": "100000", "annual_rate": "0.06", "months": 36,
                                   "method": method, "ordered_on": "2026-01-31", "status": "submitted"})
    update(plat, "order", order["id"], {"status": "approved"})
    rows = records(plat, "instalment")
    assert [r["period"] for r in rows] == list(range(1, 37))
    assert sum(Decimal(r["principal"]) for r in rows) == Decimal("100000.00")
    assert rows[-1]["balance"] == "0.00"
    assert rows[0]["due_date"] == "2026-02-28" and rows[2]["due_date"] == "2026-04-30"
    if method == "equal_payment":
        assert {r["payment"] for r in rows[:-1]} == {"3042.19"}  # Excel: PMT(0.5%, 36, -100000) = 3042.19
    elif method == "interest_first":
        assert all(r["principal"] == "0.00" for r in rows[:-1]) and rows[-1]["principal"] == "100000.00"
    else:
        assert {r["principal"] for r in rows[:-1]} == {"2777.78"} and rows[-1]["principal"] == "2777.70"


def test_count_and_deleted_trigger_and_update_matching_records(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {
        "automations/count.yaml": """
key: placeholders
when: {record: created, form: order}
if: "not ISBLANK(months)"
then:
  - create:
      form: instalment
      for_each: {count: months}
      values: {order: id, period: index, due_date: "DATEADD(ordered_on, item, 'month')"}
""",
        "automations/close.yaml": """
key: close_settles_instalments
when: {record: updated, form: order, changed: status, to: closed}
then:
  - update:
      form: instalment
      match: {order: id}
      where: "status == 'open' and period <= record.months - 1"
      set: {status: "'paid'"}
""",
        "automations/gone.yaml": """
key: tell_on_delete
when: {record: deleted, form: order}
then:
  - notify: {to: {users: [boss]}, title: "order {{title}} was deleted"}
""",
    })
    order = create(plat, "order", {"title": "three", "months": 3, "ordered_on": "2026-03-01"})
    other = create(plat, "order", {"title": "two", "months": 2, "ordered_on": "2026-03-01"})
    rows = records(plat, "instalment")
    assert [(r["order"], r["period"], r["due_date"]) for r in rows] == [
        (order["id"], 1, "2026-04-01"), (order["id"], 2, "2026-05-01"), (order["id"], 3, "2026-06-01"),
        (other["id"], 1, "2026-04-01"), (other["id"], 2, "2026-05-01")]
    update(plat, "order", order["id"], {"status": "closed"})
    assert [r["status"] for r in records(plat, "instalment")] == ["paid", "paid", "open", "open", "open"]
    lone = create(plat, "order", {"title": "lonely"}, username="alice")
    alice = who(plat, "alice")
    with plat.db.begin() as conn:
        plat.services["records"].delete(conn, plat.apps[APP], "order", lone["id"], alice, if_match=None)
    assert [n["title"] for n in notes_of(plat, "boss")] == ["order lonely was deleted"]


def test_a_failing_action_rolls_the_whole_change_back_with_a_clear_error(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/bad.yaml": """
key: lines_need_qty
when: {record: created, form: order}
then:
  - notify: {to: {roles: [finance]}, title: "new order {{title}}"}
  - create:
      form: order_line
      for_each: {rows: items}
      values: {order: id, name: item.name, qty: "item.qty - 1"}
"""})
    with pytest.raises(AutomationFailed) as caught:
        create(plat, "order", {"title": "bad", "items": [{"name": "x", "qty": 1}]})
    assert "lines_need_qty" in caught.value.message and "action 2 (create)" in caught.value.message
    assert caught.value.details and caught.value.details[0]["field"] == "qty"
    assert records(plat, "order") == [] and records(plat, "order_line") == []
    assert notes_of(plat, "fin_wang") == [] and run_log(plat) == []
    create(plat, "order", {"title": "good", "items": [{"name": "x", "qty": 2}]})
    assert len(records(plat, "order_line")) == 1 and len(notes_of(plat, "fin_wang")) == 1


def test_the_api_answers_a_failed_automation_with_422_and_keeps_nothing(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import Api

    publish(plat, tmp_path, {"automations/bad.yaml": """
key: divide
when: {record: created, form: order}
then:
  - set: {months: "amount / 0"}
"""})
    answer = Api(plat).as_("carol").post(f"/api/apps/{APP}/forms/order/records", json={"title": "t", "amount": "5"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "automation_failed" and "divide" in error["message"] and "division" in error["message"]
    assert records(plat, "order") == []


def test_an_automation_triggering_itself_stops_at_the_depth_limit_naming_the_chain(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/loop.yaml": """
key: touch_again
when: {record: updated, form: order}
then:
  - set: {touched: "touched + 1"}
"""})
    order = create(plat, "order", {"title": "loop"})
    with pytest.raises(AutomationLoop) as caught:
        update(plat, "order", order["id"], {"note": "go"})
    message = caught.value.message
    assert "more than 5" in message and message.count("touch_again(order") == 6
    assert caught.value.status == 422
    assert records(plat, "order")[0]["touched"] == 0 and records(plat, "order")[0]["note"] is None


def test_a_cycle_between_two_automations_is_stopped_and_named(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {
        "automations/a.yaml": """
key: order_pokes_lines
when: {record: updated, form: order}
then:
  - update: {form: order_line, match: {order: id}, set: {qty: "qty + 1"}}
""",
        "automations/b.yaml": """
key: line_pokes_order
when: {record: updated, form: order_line}
then:
  - update: {form: order, match: {id: order.id}, set: {touched: "touched + 1"}}
"""})
    order = create(plat, "order", {"title": "cycle"})
    create(plat, "order_line", {"order": order["id"], "name": "n", "qty": 1})
    with pytest.raises(AutomationLoop) as caught:
        update(plat, "order", order["id"], {"note": "go"})
    assert "order_pokes_lines(order" in caught.value.message and "line_pokes_order(order_line" in caught.value.message
    assert records(plat, "order_line")[0]["qty"] == 1


def test_relations_read_through_dots_and_before_values(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/rel.yaml": """
key: supplier_rating_note
when: {record: saved, form: order}
if: "supplier.rating == 'C' and (ISBLANK(before.supplier) or before.supplier != supplier.id)"
then:
  - set: {note: "'check supplier ' & supplier.name"}
"""})
    bad = create(plat, "supplier", {"name": "Shaky", "rating": "C"}, username="carol")
    good = create(plat, "supplier", {"name": "Solid", "rating": "A"}, username="carol")
    first = create(plat, "order", {"title": "a", "supplier": good["id"]})
    assert records(plat, "order")[0]["note"] is None
    update(plat, "order", first["id"], {"supplier": bad["id"]})
    assert records(plat, "order")[0]["note"] == "check supplier Shaky"


def test_failures_inside_nested_runs_keep_the_first_message(plat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish(plat, tmp_path, {"automations/a.yaml": """
key: outer
when: {record: created, form: order}
then:
  - create: {form: order_line, values: {order: id, name: "'n'", qty: 1}}
""", "automations/b.yaml": """
key: inner
when: {record: created, form: order_line}
then:
  - set: {qty: 0}
"""})
    with pytest.raises(LoomworkError) as caught:
        create(plat, "order", {"title": "nested"})
    assert "outer" in caught.value.message and "inner" in caught.value.message and "qty" in str(caught.value.details)
    assert records(plat, "order") == []
