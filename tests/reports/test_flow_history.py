"""Flow task-history datasets on SQLite and PostgreSQL: time per node and per person, the approval funnel by
outcome, joins to the record, rights through the record, drill-down. Expected figures come from the flow API's own
history of each instance, never from a report run."""
from __future__ import annotations

import sys
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionErrors
from tests.conftest import APPS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flow"))
from platform_kit import act, instance, record, start  # type: ignore[import-not-found]  # noqa: E402

REPORTS = {
    "reports/node_time.yaml": (
        "key: node_time\nlabel: 节点耗时\ndataset: flow_history:purchase_approval\ndimensions: [node]\n"
        "measures: [{agg: count}, {agg: avg, field: duration_s, scale: 1}, {key: hours, expr: 'avg_duration_s / 3600', scale: 3}]\n"
        "chart: bar\n"),
    "reports/person_time.yaml": (
        "key: person_time\ndataset: flow_history:purchase_approval.tasks\ndimensions: [user, node]\n"
        "filters: [{field: action, op: ne, value: cancelled}]\n"
        "measures: [{agg: count}, {agg: sum, field: duration_s, scale: 0}]\nchart: table\n"),
    "reports/funnel.yaml": (
        "key: funnel\ndataset: flow_history:purchase_approval\ndimensions: [node]\n"
        "measures: [{agg: count_distinct, field: instance}]\nsort: [-count_distinct_instance]\nchart: funnel\n"),
    "reports/by_outcome.yaml": (
        "key: by_outcome\ndataset: flow_history:purchase_approval\ndimensions: [outcome]\nfilters: [\"node == 'start'\"]\n"
        "measures: [{agg: count}, {agg: sum, field: record.amount}]\nchart: pie\n"),
    "reports/category_time.yaml": (
        "key: category_time\ndataset: flow_history:purchase_approval\ndimensions: [record.category]\n"
        "filters: [{field: node, op: eq, value: lead_review}]\nmeasures: [{agg: max, field: duration_s}]\nchart: bar\n"),
    "reports/flow_board.yaml": (
        "kind: dashboard\nkey: flow_board\nfilters:\n  - {key: category, field: purchase_request.category}\n"
        "widgets:\n  - {report: node_time}\n  - {report: funnel}\n"),
}


def _files(extra: dict[str, str]) -> dict[str, str]:
    from engine.loader import read_app_folder

    files, _ = read_app_folder(APPS / "purchasing")
    return dict(files) | extra


@pytest.fixture
def walked(api: Any) -> dict[str, Any]:
    """Three requests through the approval flow, with time passing between steps: approved after finance's
    countersign, approved at once (urgent), rejected by the lead."""
    platform = api.platform
    platform.publish_files(_files(REPORTS), "tester", "flow reports")
    clock = platform.clock
    big = record(api, amount="80000", category="it")
    small = record(api, amount="300", urgent=True, category="office")
    refused = record(api, amount="1000", category="it")
    bob_own = record(api, user="bob", amount="500", category="travel")
    ids = [start(api, r) for r in (big, small, refused)] + [start(api, bob_own, user="bob")]
    clock.advance(hours=2)
    act(api, "east_lead", ids[0])
    clock.advance(minutes=30)
    act(api, "east_lead", ids[1])
    clock.advance(hours=1)
    assert act(api, "east_lead", ids[2], action="reject", reason="not needed").status_code == 200
    clock.advance(hours=5)
    act(api, "carol", ids[0])
    clock.advance(hours=3)
    act(api, "boss", ids[0], values={"category": "it"})
    clock.advance(minutes=45)
    act(api, "fin_wang", ids[0], values={"category": "it"})
    views = [instance(api, i) for i in ids[:3]] + [instance(api, ids[3], user="bob")]
    return {"ids": ids, "records": [big, small, refused, bob_own], "views": views}


def q(value: float, places: int) -> str:
    return format(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def test_time_per_node_and_per_person_from_the_flow_history(api: Any, walked: dict[str, Any]) -> None:
    rows = api.as_("boss").get("/api/apps/purchasing/reports/node_time/run").json()["rows"]
    passes: dict[str, list[float]] = defaultdict(list)
    for view in walked["views"]:
        for h in view["history"]:
            if h["kind"] == "node":
                passes[h["node"]].append(h["duration_s"])
    got = {r["node"]: r for r in rows}
    assert set(got) == set(passes)
    for node, durations in passes.items():
        assert got[node]["count"] == len(durations)
        avg = sum(durations) / len(durations)
        assert got[node]["avg_duration_s"] == q(avg, 1)
        assert got[node]["hours"] == q(avg / 3600, 3)
    assert got["lead_review"]["node__label"] == "主管审批"  # the node's name from the flow definition
    from sqlalchemy import update

    from engine.tables import users

    with api.platform.db.begin() as conn:  # a reader of English: the node's English name
        conn.execute(update(users).where(users.c.username == "boss").values(locale="en"))
    english = api.as_("boss").get("/api/apps/purchasing/reports/node_time/run").json()["rows"]
    assert {r["node"]: r["node__label"] for r in english}["lead_review"] == "Lead review"
    with api.platform.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "boss").values(locale="zh-CN"))
    assert float(got["finance_countersign"]["avg_duration_s"]) == 3 * 3600 + 45 * 60  # entered 8h in, left 11h45
    people = api.as_("boss").get("/api/apps/purchasing/reports/person_time/run").json()["rows"]
    expected: dict[tuple[str, str], list[float]] = defaultdict(list)
    for view in walked["views"]:
        for h in view["history"]:
            if h["kind"] == "task" and h["action"] != "cancelled":
                expected[(h["user"]["name"], h["node"])].append(h["duration_s"])
    assert {(r["user__label"], r["node"]): (r["count"], float(r["sum_duration_s"])) for r in people} == {
        k: (len(v), pytest.approx(sum(v), abs=0.5)) for k, v in expected.items()}


def test_funnel_and_outcomes_join_the_record(api: Any, walked: dict[str, Any]) -> None:
    funnel = api.as_("boss").get("/api/apps/purchasing/reports/funnel/run").json()
    reached: dict[str, set[int]] = defaultdict(set)
    for i, view in zip(walked["ids"], walked["views"]):
        for h in view["history"]:
            if h["kind"] == "node":
                reached[h["node"]].add(i)
    counts = [r["count_distinct_instance"] for r in funnel["rows"]]
    assert {r["node"]: r["count_distinct_instance"] for r in funnel["rows"]} == {k: len(v) for k, v in reached.items()}
    assert counts == sorted(counts, reverse=True) and funnel["figure"]["data"][0]["type"] == "funnel"
    outcomes = {r["outcome"]: r for r in api.as_("boss").get("/api/apps/purchasing/reports/by_outcome/run").json()["rows"]}
    assert outcomes["approved"]["count"] == 2 and outcomes["approved"]["sum_record_amount"] == "80300.00"
    assert outcomes["rejected"]["count"] == 1 and outcomes["rejected"]["sum_record_amount"] == "1000.00"
    assert outcomes[None]["count"] == 1  # bob's request is still running
    by_category = {r["record_category"]: r["max_duration_s"]
                   for r in api.as_("boss").get("/api/apps/purchasing/reports/category_time/run").json()["rows"]}
    assert float(by_category["it"]) == 3 * 3600 + 30 * 60  # the rejected one waited 3h30 at the lead
    # a dashboard filter on the record's form narrows the history through the relation
    board = api.as_("boss").post("/api/apps/purchasing/dashboards/flow_board",
                                 json={"filters": {"category": ["office"]}}).json()
    starts = {r["node"]: r["count"] for r in board["widgets"][0]["result"]["rows"]}
    assert starts["start"] == 1 and "lead_review" not in starts  # the urgent office request skipped the lead


def test_readers_count_only_history_of_records_they_may_read(api: Any, walked: dict[str, Any]) -> None:
    mine = api.as_("alice").get("/api/apps/purchasing/reports/funnel/run").json()["rows"]
    assert {r["node"]: r["count_distinct_instance"] for r in mine}["start"] == 3  # not bob's
    bobs = api.as_("bob").get("/api/apps/purchasing/reports/funnel/run").json()["rows"]
    bob_nodes = {h["node"] for h in walked["views"][3]["history"] if h["kind"] == "node"}
    assert bob_nodes and {r["node"]: r["count_distinct_instance"] for r in bobs} == {n: 1 for n in bob_nodes}
    assert api.as_("dan").get("/api/apps/purchasing/reports/funnel/run").status_code == 403
    # drill-down lists the records the flow moved through that node, within the reader's scope
    drill = api.as_("boss").post("/api/apps/purchasing/reports/node_time/drill",
                                 json={"point": {"node": "finance_countersign"}}).json()
    assert drill["form"] == "purchase_request" and [i["id"] for i in drill["items"]] == [walked["records"][0]]
    assert api.as_("bob").post("/api/apps/purchasing/reports/node_time/drill",
                               json={"point": {"node": "finance_countersign"}}).json()["total"] == 0


def test_flow_datasets_are_checked_with_file_and_line(api: Any) -> None:
    bad = {"reports/x.yaml": "key: x\ndataset: flow_history:purchase_aproval\nmeasures: [{agg: count}]\n",
           "reports/y.yaml": ("key: y\ndataset: flow_history:purchase_approval.tasks\ndimensions: [nod]\n"
                              "measures: [{agg: sum, field: actor}]\n")}
    with pytest.raises(DefinitionErrors) as caught:
        api.platform.load_files(_files(bad))
    texts = [str(e) for e in caught.value.errors]
    assert any(t.startswith("reports/x.yaml:2:") and "unknown flow 'purchase_aproval'" in t
               and "purchase_approval" in t for t in texts), texts
    assert any(t.startswith("reports/y.yaml:3:") and "'nod'" in t and "node" in t for t in texts), texts
    assert any(t.startswith("reports/y.yaml:4:") and "cannot sum 'actor'" in t for t in texts), texts
