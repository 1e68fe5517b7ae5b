"""Flows running inside the platform, on SQLite and PostgreSQL: paths, countersign, field rights, records changed
in the same transaction, history, notifications, flow events, and every kind of bad input."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.tables import audit_log
from flow_engine.tables import history, instances, tasks, timers
from platform_kit import act, instance, record, start, task_of, todo, user_id


def test_branches_countersign_and_cc_end_to_end(api) -> None:  # type: ignore[no-untyped-def]
    rid = record(api, amount="80000")
    iid = start(api, rid)
    assert [t["node"] for t in todo(api, "east_lead")] == ["lead_review"]  # manager of alice's department tree
    assert act(api, "east_lead", iid).status_code == 200
    # or-sign: both buyers get it, the first approval decides and cancels the other
    assert [t["node"] for t in todo(api, "carol")] == [t["node"] for t in todo(api, "east_lead")] == ["buyer_check"]
    assert act(api, "carol", iid).status_code == 200
    assert todo(api, "east_lead") == []
    # amount > 50,000: finance countersign (boss and fin_wang); both must approve, each setting the required category
    assert act(api, "boss", iid, values={"category": "it"}).status_code == 200
    assert instance(api, iid)["status"] == "running"
    assert act(api, "fin_wang", iid, values={"category": "it"}).status_code == 200
    view = instance(api, iid)
    assert (view["status"], view["outcome"]) == ("finished", "approved")
    passed = [h["node"] for h in view["history"] if h["kind"] == "node"]
    assert passed == ["start", "lead_review", "buyer_check", "finance_countersign", "cc_buyers", "approved"]
    people = {(h["node"], h["user"]["name"], h["action"]) for h in view["history"] if h["kind"] == "task"}
    assert ("buyer_check", "Carol", "approved") in people and ("buyer_check", "华东主管", "cancelled") in people
    assert all(h["duration_s"] is not None for h in view["history"] if h["kind"] in ("node", "task"))
    branch = next(h for h in view["history"] if h["kind"] == "node" and h["node"] == "buyer_check")
    assert {"to": "finance_countersign", "if": "amount > 50000", "result": True} in branch["detail"]["branches"]
    assert sorted(c["assignee"]["name"] for c in view["cc"]) == ["Carol", "华东主管"]
    cc = api.as_("carol").get("/api/flows/inbox/cc").json()
    assert [i["instance"] for i in cc["items"]] == [iid]
    done = api.as_("carol").get("/api/flows/inbox/done").json()
    assert [(i["node"], i["status"]) for i in done["items"]] == [("buyer_check", "approved")]
    mine = api.as_("alice").get("/api/flows/inbox/initiated").json()
    assert [(i["id"], i["outcome"]) for i in mine["items"]] == [(iid, "approved")]
    # the record kept the category set at the countersign, by the record service (audited as an update)
    assert api.as_("alice").get(f"/api/apps/purchasing/forms/purchase_request/records/{rid}").json()["category"] == "it"


def test_small_urgent_request_skips_lead_and_finance(api) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api, amount="300", urgent=True))
    assert todo(api, "east_lead")[0]["node"] == "buyer_check"  # urgent: no lead review
    act(api, "east_lead", iid)
    view = instance(api, iid)
    assert view["outcome"] == "approved"
    assert [h["node"] for h in view["history"] if h["kind"] == "node"] == ["start", "buyer_check", "cc_buyers",
                                                                            "approved"]


def test_field_rights_apply_on_the_api(api) -> None:  # type: ignore[no-untyped-def]
    rid = record(api, needed_by="2026-04-01", category="office")
    iid = start(api, rid)
    act(api, "east_lead", iid)
    tid = task_of(api, "carol", iid)
    view = api.as_("carol").get(f"/api/flows/tasks/{tid}").json()
    assert "needed_by" not in view["record"] and view["fields"]["needed_by"] == "hidden"  # hidden at buyer_check
    assert view["fields"]["quantity"] == "editable" and view["fields"]["amount"] == "readonly"
    refused = api.as_("carol").post(f"/api/flows/tasks/{tid}/approve", json={"values": {"amount": "1", "quantity": 3}})
    assert refused.status_code == 403
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["amount"]
    invalid = api.as_("carol").post(f"/api/flows/tasks/{tid}/approve", json={"values": {"quantity": 0}})
    assert invalid.status_code == 422 and invalid.json()["error"]["details"][0]["field"] == "quantity"
    assert api.as_("alice").get(f"{'/api/apps/purchasing/forms/purchase_request/records'}/{rid}").json()[
        "quantity"] is None  # nothing of the refused actions stayed
    assert instance(api, iid)["position"][0]["node"] == "buyer_check"
    assert api.as_("carol").post(f"/api/flows/tasks/{tid}/approve", json={"values": {"quantity": 3}}).status_code == 200
    # the countersign requires the category: clearing it names the field, and changes nothing
    missing = act(api, "boss", iid, values={"category": None})
    assert missing.status_code == 400 and missing.json()["error"]["details"][0]["field"] == "category"
    assert api.as_("alice").get(f"/api/apps/purchasing/forms/purchase_request/records/{rid}").json()["category"] == \
        "office"


def test_bad_actions_are_refused_and_change_nothing(api) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))
    tid = task_of(api, "east_lead", iid)
    assert api.as_("carol").post(f"/api/flows/tasks/{tid}/approve", json={}).status_code == 403  # not hers
    assert api.as_("east_lead").post(f"/api/flows/tasks/{tid}/reject", json={}).status_code == 400  # reason needed
    assert api.as_("east_lead").post(f"/api/flows/tasks/{tid}/dance", json={}).status_code == 400
    assert api.as_("east_lead").post("/api/flows/tasks/999999/approve", json={}).status_code == 404
    assert instance(api, iid)["row_version"] == 1  # nothing moved
    assert api.as_("east_lead").post(f"/api/flows/tasks/{tid}/approve", json={}).status_code == 200
    twice = api.as_("east_lead").post(f"/api/flows/tasks/{tid}/approve", json={})
    assert twice.status_code == 409 and "approved" in twice.json()["error"]["message"]
    # withdrawing after someone acted
    late = api.as_("alice").post(f"/api/flows/instances/{iid}/withdraw", json={})
    assert late.status_code == 409
    # rejecting with a reason finishes the flow; acting on the finished instance is refused
    buyer_task = task_of(api, "carol", iid)
    other = task_of(api, "east_lead", iid)
    assert api.as_("carol").post(f"/api/flows/tasks/{buyer_task}/reject", json={"reason": "wrong supplier"}
                                 ).status_code == 200
    assert instance(api, iid)["outcome"] == "rejected"
    finished = api.as_("east_lead").post(f"/api/flows/tasks/{other}/approve", json={})
    assert finished.status_code == 409
    assert api.as_("alice").post(f"/api/flows/instances/{iid}/withdraw", json={}).status_code == 409
    # someone unrelated cannot even see the instance
    assert api.as_("bob").get(f"/api/flows/instances/{iid}").status_code == 404


def test_withdraw_before_anyone_acted(api, platform) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))
    assert api.as_("bob").post(f"/api/flows/instances/{iid}/withdraw", json={}).status_code == 404
    response = api.as_("alice").post(f"/api/flows/instances/{iid}/withdraw", json={"reason": "typo"})
    assert response.status_code == 200 and response.json()["status"]["status"] == "withdrawn"
    assert todo(api, "east_lead") == []
    with platform.db.connect() as conn:  # no timers left behind for a withdrawn instance
        assert conn.execute(select(func.count()).select_from(timers)).scalar_one() == 0


def test_return_to_initiator_and_resubmit(api) -> None:  # type: ignore[no-untyped-def]
    rid = record(api, amount="900")
    iid = start(api, rid)
    assert act(api, "east_lead", iid, "return", to="initiator", reason="add a quantity").status_code == 200
    mine = todo(api, "alice")
    assert [t["kind"] for t in mine] == ["resubmit"]
    assert act(api, "alice", iid, values={"quantity": 2}).status_code == 200  # the initiator may fix any field
    # back at the lead review: assignees resolved afresh
    assert todo(api, "east_lead")[0]["node"] == "lead_review"
    assert api.as_("alice").get(f"/api/apps/purchasing/forms/purchase_request/records/{rid}").json()["quantity"] == 2


def test_transfer_add_signer_and_batch(api) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))
    assert act(api, "east_lead", iid, "transfer", to="carol").status_code == 200
    assert todo(api, "east_lead") == [] and todo(api, "carol")[0]["node"] == "lead_review"
    unknown = act(api, "carol", iid, "transfer", to="nobody")
    assert unknown.status_code == 400 and unknown.json()["error"]["details"][0]["field"] == "to"
    act(api, "carol", iid)
    act(api, "carol", iid)  # buyer check (or-sign)
    # add a signer into the running countersign: now three must approve
    assert act(api, "boss", iid, "add_signer", users=["dir_zhao"], position="after").status_code == 200
    act(api, "boss", iid, values={"category": "it"})
    act(api, "fin_wang", iid, values={"category": "it"})
    assert instance(api, iid)["status"] == "running"
    ids = [t["id"] for t in todo(api, "dir_zhao")]
    batch = api.as_("dir_zhao").post("/api/flows/tasks/batch", json={"tasks": ids + [999999], "action": "approve",
                                                                      "values": {"category": "it"}})
    assert batch.status_code == 200 and (batch.json()["ok"], batch.json()["failed"]) == (1, 1)
    assert instance(api, iid)["outcome"] == "approved"


def test_one_transaction_each_with_audit_history_and_notifications(api, platform) -> None:  # type: ignore[no-untyped-def]
    rid = record(api)
    iid = start(api, rid)
    act(api, "east_lead", iid, values={"quantity": 5})
    with platform.db.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action).where(
            audit_log.c.record_id == rid).order_by(audit_log.c.id))]
        assert actions == ["create", "flow_start", "update", "flow_approve"]
        kinds = {r.kind for r in conn.execute(select(history.c.kind).where(history.c.instance_id == iid))}
        assert kinds == {"node", "task", "action"}
    unread = api.as_("carol").get("/api/notifications/count").json()["unread"]
    assert unread == 1
    listed = api.as_("carol").get("/api/notifications").json()
    assert listed["items"][0]["kind"] == "task" and listed["items"][0]["link"] == f"/api/flows/instances/{iid}"
    marked = api.as_("carol").post("/api/notifications/read", json={"ids": [listed["items"][0]["id"]]}).json()
    assert marked == {"marked": 1, "unread": 0}
    assert api.as_("carol").post("/api/notifications/read", json={"ids": "all"}).status_code == 400


def test_flow_events_are_called_inside_the_transaction(platform, api) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, str | None, str | None]] = []

    def handler(conn, event) -> None:  # type: ignore[no-untyped-def]
        assert conn.in_transaction()
        seen.append((event.kind, event.node, event.outcome))

    platform.hooks.flow_events.append(handler)
    try:
        iid = start(api, record(api, amount="10", urgent=True))
        act(api, "carol", iid)
    finally:
        platform.hooks.flow_events.remove(handler)
    assert seen[0] == ("started", "start", None)
    assert ("node_left", "buyer_check", "approved") in seen and seen[-1] == ("finished", None, "approved")


def test_a_second_instance_of_the_same_flow_is_refused(api) -> None:  # type: ignore[no-untyped-def]
    rid = record(api)
    start(api, rid)
    again = api.as_("alice").post("/api/apps/purchasing/flows/purchase_approval/instances", json={"record_id": rid})
    assert again.status_code == 409
    assert api.as_("bob").post("/api/apps/purchasing/flows/purchase_approval/instances",
                               json={"record_id": rid}).status_code == 404  # bob cannot read alice's record
    assert api.as_("alice").post("/api/apps/purchasing/flows/nope/instances", json={"record_id": rid}
                                 ).status_code == 404
    assert api.as_("alice").post("/api/apps/purchasing/flows/purchase_approval/instances", json={}
                                 ).status_code == 400


def test_tasks_are_stored_for_the_inbox_index(api, platform) -> None:  # type: ignore[no-untyped-def]
    iid = start(api, record(api))
    with platform.db.connect() as conn:
        row = conn.execute(select(tasks).where(tasks.c.instance_id == iid)).mappings().one()
        inst = conn.execute(select(instances).where(instances.c.id == iid)).mappings().one()
    assert row["assignee_id"] == user_id(platform, "east_lead") and row["status"] == "open"
    assert inst["app_version"] == 1 and inst["flow_hash"] == platform.apps["purchasing"].spec.of_kind("flow")[
        "purchase_approval"].version
