"""Flow runtime with persistence: instances driven start→end through the flow service (each step one database
transaction: state, tasks, timers, history, notifications, audit) on SQLite and PostgreSQL, against SpiffWorkflow
running the exported BPMN in memory in the same run; and the task inbox of a user with many open tasks among a
million, paged by keyset (page 500 against page 1, with the query plan).

    python bench/bench_flow_persist.py [--quick] [--explain]
    python bench/bench_flow_persist.py --statements     # SQL statements per step on SQLite, by statement
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests" / "flow", ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

PG_URL = os.environ.get("LOOMWORK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET = 1.0  # with SQLite persistence at least as fast as SpiffWorkflow in memory
PAGE_TARGET = 1.5  # page 500 costs at most 1.5x page 1

APP = {
    "app.yaml": "key: benchapp\nlabel: Bench\n",
    "org.yaml": """roles:
  - {key: finance_officer, label: Finance}
  - {key: board, label: Board}
  - {key: cfo, label: CFO}
departments:
  - {key: sales, label: Sales, manager: bob}
  - {key: finance, label: Finance}
  - {key: boardroom, label: Board}
users:
  - {username: alice, name: Alice, department: sales}
  - {username: bob, name: Bob, department: sales}
  - {username: fin1, name: Fin, department: finance, roles: [finance_officer]}
  - {username: b1, name: B1, department: boardroom, roles: [board]}
  - {username: b2, name: B2, department: boardroom, roles: [board]}
  - {username: b3, name: B3, department: boardroom, roles: [board]}
  - {username: cfo1, name: CFO, department: boardroom, roles: [cfo]}
""",
    "forms/purchase.yaml": """key: purchase
label: Purchase
title_field: title
fields:
  - {key: title, type: text}
  - {key: amount, type: money}
permissions:
  "*": {create: true, read: all}
""",
}


def _app_folder(root: Path) -> Path:
    from bench_flow import FLOW

    folder = root / "benchapp"
    for name, content in APP.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    (folder / "flows").mkdir(exist_ok=True)
    (folder / "flows" / "four_levels.yaml").write_text(FLOW, encoding="utf-8")
    return folder


def _platform(url: str, engine: Any, root: Path) -> Any:
    from engine.identity import sync_org
    from engine.platform import Platform
    from engine.settings import Settings

    settings = Settings.from_env({"database_url": url, "var_dir": str(root / "var"), "secret_key": "bench",
                                  "attachments_dir": str(root / "var" / "files")})
    platform = Platform(settings, engine=engine)
    platform.upgrade_db()
    platform.publish_folder(_app_folder(root), "bench", "bench")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["benchapp"].spec.org, platform.clock.now(), with_users=True)
    return platform


def _drive(platform: Any, count: int) -> float:
    """Seconds to drive ``count`` instances start→end, one transaction per step (records made beforehand)."""
    ids, people, alice = _prepare(platform, count)
    began = time.perf_counter()
    _steps(platform, ids, people, alice)
    return time.perf_counter() - began


def _prepare(platform: Any, count: int) -> tuple[list[int], dict[int, Any], Any]:
    """``count`` records to drive, the people by id, the initiator."""
    from bench_flow import records
    from engine.identity import load_principal
    from engine.permissions import SYSTEM
    from engine.tables import users

    live = platform.apps["benchapp"]
    store = platform.services["records"]
    with platform.db.begin() as conn:
        ids = [store.create_as_system(conn, live, "purchase", {"title": f"r{i}", "amount": values["amount"]}, SYSTEM)
               for i, values in enumerate(records(count))]
        people = {row.id: load_principal(conn, row.id) for row in conn.execute(select(users.c.id))}
    alice = next(p for p in people.values() if p.username == "alice")
    return ids, people, alice


def _steps(platform: Any, ids: list[int], people: dict[int, Any], alice: Any) -> None:
    service = platform.services["flows"]
    for record_id in ids:
        with platform.db.begin() as conn:
            status = service.start(conn, "benchapp", "four_levels", record_id, alice, check_rights=False)["status"]
        while status["status"] == "running":
            task = status["open_tasks"][0]
            with platform.db.begin() as conn:
                status = service.act(conn, task["id"], people[task["assignee_id"]], "approve")["status"]
        assert status["outcome"] == "approved", status


def _spiff(count: int) -> float:
    from bench_flow import directory, records, run_spiff
    from flow_engine import load_flow_text
    from bench_flow import FLOW

    flow = load_flow_text(FLOW, "bench/four_levels.yaml")
    rows = records(count)
    run_spiff(flow, rows[:10], directory())
    return run_spiff(flow, rows, directory())


def _spiff_persisted(count: int, path: Path) -> float:
    """Seconds for SpiffWorkflow to run ``count`` instances of the exported BPMN as ``_spiff`` does, persisting each
    step as SpiffWorkflow's own applications do: the workflow serialised with its ``BpmnWorkflowSerializer`` and
    written to an SQLite table (same pragmas as the platform's), one transaction per step (start, each task) —
    a peer with persistence, given the least a peer must write (one row; no task rows, history, audit or
    notifications)."""
    import sqlite3

    from bench_flow import FLOW, directory, records
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState
    from spiff_harness import LoomScriptEngine, spiff_spec

    from flow_engine import load_flow_text, resolve

    flow = load_flow_text(FLOW, "bench/four_levels.yaml")
    spec, engine, org, serializer = spiff_spec(flow), LoomScriptEngine(), directory(), BpmnWorkflowSerializer()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS workflow (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")
    began = time.perf_counter()
    for values in records(count):
        data = dict(values)
        for node in flow.nodes:
            if node.is_user_node:
                data[f"assignees_{node.id}"] = resolve(node.assignees, values, "alice", org) or ["alice"]
        workflow = BpmnWorkflow(spec, script_engine=engine)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
        workflow.do_engine_steps()
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("INSERT INTO workflow (state) VALUES (?)", (serializer.serialize_json(workflow),)).lastrowid
        db.execute("COMMIT")
        while not workflow.is_completed():
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data[f"{task.task_spec.bpmn_id}_vote"] = "approve"
            task.run()
            workflow.do_engine_steps()
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE workflow SET state = ? WHERE id = ?", (serializer.serialize_json(workflow), row))
            db.execute("COMMIT")
    spent = time.perf_counter() - began
    db.close()
    return spent


def _alternating(platform: Any, count: int, root: Path, rounds: int = 6) -> tuple[float, float, float]:
    """(ours, SpiffWorkflow in memory, SpiffWorkflow persisting to SQLite) µs per instance, measured in alternating
    slices so that a machine whose load changes during the run weighs on all sides alike."""
    per = max(1, count // rounds)
    ours = spiff = persisted = 0.0
    _spiff_persisted(5, root / "spiff.db")
    for _ in range(rounds):
        spiff += _spiff(per)
        persisted += _spiff_persisted(per, root / "spiff.db")
        ours += _drive(platform, per)
    return ours / (per * rounds) * 1e6, spiff / (per * rounds) * 1e6, persisted / (per * rounds) * 1e6


class _Recording:
    """A driver cursor that notes each statement and its parameters (the floor measurement below replays them)."""

    def __init__(self, cursor: Any, log: list[tuple[str, Any, bool]]) -> None:
        self._cursor, self._log = cursor, log

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._log.append((sql, params, False))
        return self._cursor.execute(sql, params)

    def executemany(self, sql: str, params: Any) -> Any:
        params = list(params)
        self._log.append((sql, params, True))
        return self._cursor.executemany(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def _recorded_steps(platform: Any, count: int, path: Path) -> list[list[tuple[str, Any, bool]]]:
    """Drive ``count`` instances (records made beforehand) after copying the database to ``path``; return the
    statements each step's transaction sent to the driver, in order, with their parameters."""
    import sqlite3

    from sqlalchemy import event

    import engine.direct as direct

    prepared = _prepare(platform, count)
    source = sqlite3.connect(platform.db.url.database)
    target = sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    txns: list[list[tuple[str, Any, bool]]] = [[]]
    log = txns[-1]
    dialect = platform.db.dialect
    plain_cursor = direct._cursor

    def on_commit(_conn: Any) -> None:
        nonlocal log
        txns.append([])
        log = txns[-1]

    def do_execute(cursor: Any, sql: str, params: Any, context: Any = None) -> None:
        log.append((sql, params, False))
        cursor.execute(sql, params)

    def do_executemany(cursor: Any, sql: str, params: Any, context: Any = None) -> None:
        params = list(params)
        log.append((sql, params, True))
        cursor.executemany(sql, params)

    event.listen(platform.db, "commit", on_commit)
    direct._cursor = lambda conn: _Recording(plain_cursor(conn), log)  # type: ignore[assignment]
    dialect.do_execute, dialect.do_executemany = do_execute, do_executemany  # type: ignore[method-assign]
    try:
        _steps(platform, *prepared)
    finally:
        event.remove(platform.db, "commit", on_commit)
        direct._cursor = plain_cursor
        del dialect.do_execute, dialect.do_executemany
    return [t for t in txns if t]


def _replay(path: Path, txns: list[list[tuple[str, Any, bool]]]) -> float:
    """Seconds to run the recorded steps on the bare driver, each in its own ``BEGIN IMMEDIATE … COMMIT`` as the
    platform runs them, on the copy made before they first ran (so they insert the same rows with the same ids):
    what the database alone costs for exactly these writes and reads, with no Python but this loop."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    cursor = conn.cursor()
    began = time.perf_counter()
    for txn in txns:
        cursor.execute("BEGIN IMMEDIATE")
        for sql, params, many in txn:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
                if cursor.description is not None:
                    cursor.fetchall()
        cursor.execute("COMMIT")
    spent = time.perf_counter() - began
    conn.close()
    return spent


def floor(platform: Any, count: int, root: Path) -> float:
    """µs per instance that SQLite alone spends on the statements of ``count`` instances' steps (see ``_replay``)."""
    import sqlite3

    copy = root / "floor.db"
    for stale in root.glob("floor.db*"):
        stale.unlink()
    txns = _recorded_steps(platform, count, copy)
    spent = _replay(copy, txns)
    # the replay wrote exactly what the platform wrote: same rows, same ids, same values
    live, replayed = sqlite3.connect(platform.db.url.database), sqlite3.connect(copy)
    for table in ("lw_flow_instances", "lw_flow_tasks", "lw_flow_history", "lw_flow_timers", "lw_audit_log",
                  "lw_notifications"):
        query = f"SELECT * FROM {table} ORDER BY id"
        assert live.execute(query).fetchall() == replayed.execute(query).fetchall(), f"replay differs in {table}"
    live.close()
    replayed.close()
    return spent / count * 1e6


def statements_per_step(count: int = 100) -> tuple[float, list[tuple[float, str]]]:
    """SQL statements per step (start or approval, BEGIN included, COMMIT not; the records are made beforehand) on
    SQLite, as SQLite itself runs them (its trace callback, so statements run on the driver's cursor count too;
    each row of an executemany counts as one): the total and per statement (values blanked)."""
    import re
    from collections import Counter

    from sqlalchemy import event

    from engine.db import make_engine

    blank = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'bench.db'}"
        engine = make_engine(url)
        platform = _platform(url, engine, root / "sqlite")
        _drive(platform, 2)
        seen: Counter[str] = Counter()
        counting = [False]

        def on_statement(statement: str) -> None:
            if counting[0] and statement.strip().upper() != "COMMIT":
                seen[blank.sub("?", " ".join(statement.split()))[:100]] += 1

        def on_checkout(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.set_trace_callback(on_statement)

        event.listen(engine, "checkout", on_checkout)
        prepared = _prepare(platform, count)
        counting[0] = True
        _steps(platform, *prepared)
        counting[0] = False
        event.remove(engine, "checkout", on_checkout)
        platform.db.dispose()
    from bench_flow import records

    steps = sum(1 + (6 if values["amount"] > 10000 else 3) for values in records(count))  # start, the approvals
    total = sum(seen.values())
    return total / steps, [(n / steps, s) for s, n in seen.most_common()]


def _pg_engine() -> tuple[Any, Any, str] | None:
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        schema = "bench_" + uuid.uuid4().hex[:10]
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:  # noqa: BLE001 - no PostgreSQL here: its rows are left out
        return None
    from engine.db import make_engine

    return admin, make_engine(PG_URL, schema=schema), schema


def _drop(admin: Any, schema: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


# -- the inbox ------------------------------------------------------------------------------------------------------------
def _fill_tasks(platform: Any, total: int, mine: int, user_id: int) -> None:
    """``total`` task rows (every ``total // mine``-th one open for ``user_id``), generated inside the database."""
    from flow_engine.tables import instances

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with platform.db.begin() as conn:
        instance_id = conn.execute(instances.insert().values(
            app="benchapp", flow="four_levels", form="purchase", record_id=1, title="bench", app_version=1,
            flow_hash="x", status="running", position=[], state={}, row_version=1, started_at=now,
            updated_at=now)).inserted_primary_key[0]
        step = total // mine
        if conn.dialect.name == "postgresql":
            conn.execute(text(
                "INSERT INTO lw_flow_tasks (instance_id, task_key, app, flow, node, node_name, title, kind, visit, "
                "assignee_id, status, created_at) SELECT :inst, 't' || g, 'benchapp', 'four_levels', 'level1', "
                "'Level 1', 'request ' || g, 'approval', 1, CASE WHEN g % :step = 0 THEN :me ELSE 1000 + g % 5000 END, "
                "CASE WHEN g % 3 = 0 AND g % :step <> 0 THEN 'approved' ELSE 'open' END, "
                ":t0 + g * interval '1 second' FROM generate_series(1, :n) AS g"),
                {"inst": instance_id, "step": step, "me": user_id, "n": total, "t0": now})
            conn.execute(text("ANALYZE lw_flow_tasks"))
        else:
            conn.execute(text(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :n) "
                "INSERT INTO lw_flow_tasks (instance_id, task_key, app, flow, node, node_name, title, kind, visit, "
                "assignee_id, status, created_at) SELECT :inst, 't' || n, 'benchapp', 'four_levels', 'level1', "
                "'Level 1', 'request ' || n, 'approval', 1, CASE WHEN n % :step = 0 THEN :me ELSE 1000 + n % 5000 END, "
                "CASE WHEN n % 3 = 0 AND n % :step <> 0 THEN 'approved' ELSE 'open' END, "
                "datetime(:t0, '+' || n || ' seconds') || '.000000' FROM g"),  # SQLAlchemy's text for a datetime
                {"inst": instance_id, "step": step, "me": user_id, "n": total, "t0": now.strftime("%Y-%m-%d %H:%M:%S")})
            conn.execute(text("ANALYZE"))


def _inbox(platform: Any, total: int, mine: int, page: int, size: int = 20) -> tuple[float, float, list[str]]:
    """(page 1 µs, page ``page`` µs, query plan lines) of the todo inbox of a user with ``mine`` open tasks."""
    from engine.permissions import Principal
    from flow_engine import views

    who = Principal(id=999_999, username="busy")
    _fill_tasks(platform, total, mine, who.id)
    with platform.db.connect() as conn:
        cursor, after, walked = None, None, []
        for _ in range(page - 1):  # walk to the page once, as a user clicking "next" would
            found = views.inbox(conn, who, "todo", {}, after=cursor, size=size)
            cursor = found["next"]
            walked.extend(item["id"] for item in found["items"])
        assert len(walked) == len(set(walked)) == (page - 1) * size, "keyset pages overlap or skip rows"
        after = cursor
        assert views.counts(conn, who, {})["todo"] == mine

        def timed(after_: str | None) -> float:
            best = float("inf")
            for _ in range(7):
                began = time.perf_counter()
                for _ in range(20):
                    views.inbox(conn, who, "todo", {}, after=after_, size=size)
                best = min(best, (time.perf_counter() - began) / 20)
            return best * 1e6

        first, last = timed(None), timed(after)
        plan = _plan(conn, who, after)
    return first, last, plan


def _plan(conn: Any, who: Any, after: str | None) -> list[str]:
    from flow_engine import views
    from flow_engine.store import page_filter
    from sqlalchemy import and_

    table, when, ident, cond = views.inbox_query("todo", who, {})
    cond.append(page_filter(when, ident, views.parse_cursor(after)))
    query = select(table).where(and_(*cond)).order_by(when.desc(), ident.desc()).limit(21)
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    rows = conn.exec_driver_sql(prefix + str(compiled)).all()
    return [str(r[-1]) for r in rows]


def run(quick: bool = False, explain: bool = False) -> list[dict[str, Any]]:
    count = 300 if quick else 10_000
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        from engine.db import make_engine

        url = f"sqlite:///{root / 'bench.db'}"
        platform = _platform(url, make_engine(url), root / "sqlite")
        _drive(platform, 20)
        ours, spiff, persisted = _alternating(platform, count, root)
        rows.append({"name": f"flow start→end with SQLite persistence ({count} instances, 4 levels, countersign of 3, "
                             "one transaction per step)", "ours_us": round(ours, 1),
                     "baseline_name": "SpiffWorkflow 3, exported BPMN, in memory (measured in slices alternating with ours)", "baseline_us": round(spiff, 1),
                     "ratio": round(spiff / ours, 2), "target": f"≥{TARGET:g}×", "met": spiff / ours >= TARGET})
        rows.append({"name": "the same, against a peer with persistence", "ours_us": round(ours, 1),
                     "baseline_name": "SpiffWorkflow 3 writing its serialised workflow to SQLite at every step (one "
                                      "row, one transaction per step; alternating with ours)",
                     "baseline_us": round(persisted, 1), "ratio": round(persisted / ours, 2), "target": "reference",
                     "met": None})
        floor_count = 300 if quick else 2_000
        bare = floor(platform, floor_count, root)
        rows.append({"name": f"our steps' SQL alone: the statements of {floor_count} instances' steps recorded, then "
                             "replayed on the bare sqlite3 driver (each step its own BEGIN IMMEDIATE … COMMIT)",
                     "ours_us": round(bare, 1), "baseline_name": "SpiffWorkflow 3, in memory (above)",
                     "baseline_us": round(spiff, 1), "ratio": round(spiff / bare, 2), "target": "reference",
                     "met": None})
        total, mine, page = (100_000, 2_000, 100) if quick else (1_000_000, 10_000, 500)
        first, last, plan = _inbox(platform, total, mine, page)
        rows.append({"name": f"SQLite todo inbox: page {page} vs page 1 (20 rows; {mine:,} open of {total:,} tasks; "
                             "keyset on the (assignee, status, created_at, id) index)", "ours_us": round(last, 1),
                     "baseline_name": "page 1", "baseline_us": round(first, 1), "ratio": round(last / first, 2),
                     "target": f"≤{PAGE_TARGET:g}×", "met": last / first <= PAGE_TARGET})
        if explain:
            print("SQLite plan:", *plan, sep="\n  ")
        platform.db.dispose()
        pg = _pg_engine()
        if pg is not None:
            admin, engine, schema = pg
            try:
                platform = _platform(PG_URL, engine, root / "pg")
                pg_count = 300 if quick else 2_000
                _drive(platform, 20)
                ours = _drive(platform, pg_count) / pg_count * 1e6
                rows.append({"name": f"flow start→end with PostgreSQL persistence ({pg_count} instances, same flow)",
                             "ours_us": round(ours, 1), "baseline_name": "SpiffWorkflow 3, in memory",
                             "baseline_us": round(spiff, 1), "ratio": round(spiff / ours, 2), "target": "reference",
                             "met": None})
                first, last, plan = _inbox(platform, total, mine, page)
                rows.append({"name": f"PostgreSQL todo inbox: page {page} vs page 1 ({mine:,} open of {total:,})",
                             "ours_us": round(last, 1), "baseline_name": "page 1", "baseline_us": round(first, 1),
                             "ratio": round(last / first, 2), "target": f"≤{PAGE_TARGET:g}×",
                             "met": last / first <= PAGE_TARGET})
                if explain:
                    print("PostgreSQL plan:", *plan, sep="\n  ")
            finally:
                engine.dispose()
                _drop(admin, schema)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 instances and 100,000 tasks")
    parser.add_argument("--explain", action="store_true", help="print the inbox query plans")
    parser.add_argument("--statements", action="store_true", help="count SQL statements per step (SQLite)")
    args = parser.parse_args()
    if args.statements:
        total, each = statements_per_step()
        print(f"{total:.2f} statements per step")
        for per, statement in each:
            print(f"  {per:5.2f}  {statement}")
        return
    for row in run(args.quick, args.explain):
        print(f"| {row['name']} | {row['ours_us']} µs | {row['baseline_name']} | {row['baseline_us']} µs | "
              f"{row['ratio']}× | {row['target']} | {row['met']} |")


if __name__ == "__main__":
    main()
