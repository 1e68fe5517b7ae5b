"""Load harness: a real ``loomwork serve`` on loopback, simulated staff over HTTP, then a reconciliation in SQL.

The purchasing test app (``tests/apps/purchasing``) is served with a generated organisation: requesters in
departments, each department's lead (who approves the lead review) and a few buyers (who approve the buyer check,
each taking a fixed share of the instances so no two act on one). A request is a record plus its approval flow:
``lead_review`` (skipped for urgent ones) → ``buyer_check`` → approved. Amounts stay at or below 50,000, so no
finance countersign.

Everything is bounded: the server listens on 127.0.0.1 only, the staff stop after ``duration`` seconds, every
request has a timeout, and the server's whole process group is stopped at the end (SIGTERM, then SIGKILL).
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PG_URL = os.environ.get("LOOMWORK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
APP_SOURCE = ROOT / "tests" / "apps" / "purchasing"
LOOMWORK = Path(sys.executable).with_name("loomwork")
RECORDS = "/api/apps/purchasing/forms/purchase_request/records"
START = "/api/apps/purchasing/flows/purchase_approval/instances"
DASHBOARD = "/api/apps/purchasing/dashboards/purchasing_board"
REQUEST_TIMEOUT = 30.0
SECRET = "load-harness-" + "k" * 40


# -- the organisation ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Staff:
    requesters: list[str]
    leads: list[str]
    buyers: list[str]

    @property
    def everyone(self) -> list[str]:
        return self.requesters + self.leads + self.buyers


def staff_for(users: int) -> Staff:
    """Roughly 80 % requesters, 10 % department leads, the rest buyers (at least two of each kind)."""
    leads = max(2, users // 10)
    buyers = max(2, users // 12)
    requesters = max(2, users - leads - buyers)
    return Staff([f"req{i:03d}" for i in range(requesters)], [f"lead{i:02d}" for i in range(leads)],
                 [f"buyer{i:02d}" for i in range(buyers)])


def write_app(folder: Path, staff: Staff) -> Path:
    """A copy of the purchasing app whose org.yaml holds the simulated staff."""
    target = folder / "purchasing"
    shutil.copytree(APP_SOURCE, target)
    org = yaml.safe_load((APP_SOURCE / "org.yaml").read_text(encoding="utf-8"))
    departments = [{"key": "hq", "label": "HQ", "manager": staff.buyers[0]}]
    people = [{"username": b, "name": b, "department": "hq", "roles": ["buyer"]} for b in staff.buyers]
    for i, lead in enumerate(staff.leads):
        departments.append({"key": f"d{i:02d}", "label": f"Dept {i}", "parent": "hq", "manager": lead})
        people.append({"username": lead, "name": lead, "department": f"d{i:02d}", "roles": ["finance"]})
    for i, req in enumerate(staff.requesters):
        people.append({"username": req, "name": req, "department": f"d{i % len(staff.leads):02d}",
                       "roles": ["requester"]})
    org["departments"], org["users"] = departments, people
    (target / "org.yaml").write_text(yaml.safe_dump(org, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


# -- databases -------------------------------------------------------------------------------------------------------

@contextmanager
def fresh_database(backend: str, workdir: Path, pg_url: str = PG_URL) -> Iterator[str]:
    """A new empty database (PostgreSQL: CREATE DATABASE lw_load_<random>, dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'load.db'}"
        return
    name = "lw_load_" + uuid.uuid4().hex[:10]
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str, apps_dir: Path, var_dir: Path, staff: Staff) -> dict[str, str]:
    """Migrate, publish the app, create the staff and one API token each; returns username → token."""
    from datetime import datetime, timezone

    from engine.identity import create_token, sync_org
    from engine.platform import Platform
    from engine.settings import Settings
    from engine.tables import users

    settings = Settings.from_env({"database_url": url, "apps_dir": str(apps_dir), "var_dir": str(var_dir),
                                  "attachments_dir": str(var_dir / "files"), "secret_key": SECRET}, environ={})
    platform = Platform(settings)
    try:
        platform.upgrade_db()
        platform.publish_folder(apps_dir / "purchasing", "load", "load harness")
        now = datetime.now(timezone.utc)
        tokens = {}
        with platform.db.begin() as conn:
            sync_org(conn, platform.apps["purchasing"].spec.org, now, with_users=True)
            ids = dict(conn.execute(select(users.c.username, users.c.id)).all())
            for username in staff.everyone:
                tokens[username] = create_token(conn, ids[username], "load", now)[1]
        return tokens
    finally:
        platform.db.dispose()


# -- the server ------------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        pids = [int(p) for p in out.stdout.split()]
        return [p for p in pids if _cmdline(p).find("multiprocessing") >= 0 or "spawn_main" in _cmdline(p)] or pids

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def server_env(url: str, apps_dir: Path, var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMWORK_")}
    env.update({"LOOMWORK_DATABASE_URL": url, "LOOMWORK_APPS_DIR": str(apps_dir), "LOOMWORK_VAR_DIR": str(var_dir),
                "LOOMWORK_ATTACHMENTS_DIR": str(var_dir / "files"), "LOOMWORK_SECRET_KEY": SECRET,
                "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def start_server(env: dict[str, str], workers: int, log: Path, token: str, wait: float = 90.0) -> Server:
    port = free_port()
    handle = log.open("wb")
    process = subprocess.Popen([str(LOOMWORK), "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--workers", str(workers)], env=env, cwd=str(ROOT), stdout=handle,
                               stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, port, log)
    import httpx

    deadline = time.monotonic() + wait
    answered: set[int] = set()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            r = httpx.get(server.base + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=2)
            if r.status_code == 200:
                answered.add(1)
                if len(server.worker_pids()) >= workers or workers == 1:
                    time.sleep(1.0)  # let the other workers finish importing
                    return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"server did not answer within {wait:.0f}s; see {log}")


# -- simulated staff -------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    created: set[int] = field(default_factory=set)
    started: dict[int, int] = field(default_factory=dict)     # instance id → record id
    approvals: list[int] = field(default_factory=list)        # task ids approved (200)
    attempted: set[int] = field(default_factory=set)          # task ids an approval was sent for
    failures: list[tuple[float, str, int, str, str]] = field(default_factory=list)  # (time, op, status, type, body)
    successes: list[float] = field(default_factory=list)      # times of answered requests

    def time(self, op: str, seconds: float) -> None:
        self.latencies.setdefault(op, []).append(seconds)

    def error(self, op: str, what: str) -> None:
        key = f"{op} {what}"
        self.errors[key] = self.errors.get(key, 0) + 1
        if len(self.error_samples) < 20:
            self.error_samples.append(key)


class Client:
    def __init__(self, http: Any, token: str, tally: Tally) -> None:
        self.http, self.headers, self.tally = http, {"Authorization": f"Bearer {token}"}, tally

    async def call(self, op: str, method: str, url: str, ok: int = 200, **kw: Any) -> Any:
        began = time.perf_counter()
        try:
            response = await self.http.request(method, url, headers=self.headers, **kw)
        except Exception as exc:  # noqa: BLE001 - a transport failure is an error of this operation
            self.tally.error(op, type(exc).__name__)
            return None
        self.tally.time(op, time.perf_counter() - began)
        if response.status_code != ok:
            self.tally.error(op, str(response.status_code))
            if len(self.tally.failures) < 5000:
                self.tally.failures.append((time.time(), op, response.status_code,
                                            response.headers.get("content-type", ""), response.text[:2000]))
            return None
        self.tally.successes.append(time.time())
        return response.json()


async def requester(client: Client, rng: random.Random, until: float, think: float) -> None:
    while time.monotonic() < until:
        roll = rng.random()
        if roll < 0.45:
            body = {"title": f"load {rng.randrange(10**6)}", "amount": str(rng.randrange(100, 50_000)),
                    "quantity": rng.randrange(1, 20), "urgent": rng.random() < 0.3,
                    "category": rng.choice(["it", "office", "travel"])}
            made = await client.call("submit: create record", "POST", RECORDS, ok=201, json=body)
            if made is not None:
                client.tally.created.add(int(made["id"]))
                inst = await client.call("submit: start flow", "POST", START, ok=201, json={"record_id": made["id"]})
                if inst is not None:
                    client.tally.started[int(inst["id"])] = int(made["id"])
        elif roll < 0.85:
            await client.call("list records", "GET", RECORDS, params={"sort": "-id", "size": 20})
        else:
            await client.call("view dashboard", "GET", DASHBOARD)
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def approver(client: Client, rng: random.Random, until: float, think: float, share: tuple[int, int] | None,
                   node: str) -> None:
    """Lists the todo inbox and approves what is theirs (buyers: instance id modulo their share)."""
    while time.monotonic() < until:
        if rng.random() < 0.15:
            await client.call("view dashboard", "GET", DASHBOARD)
        todo = await client.call("list inbox", "GET", "/api/flows/inbox/todo",
                                 params={"app": "purchasing", "node": node, "size": 20})
        mine = [t for t in (todo or {}).get("items", [])
                if share is None or t["instance"] % share[1] == share[0]]
        for task in mine[:3]:
            if time.monotonic() >= until:
                break
            client.tally.attempted.add(int(task["id"]))
            done = await client.call("approve task", "POST", f"/api/flows/tasks/{task['id']}/approve", json={})
            if done is not None:
                client.tally.approvals.append(int(task["id"]))
            await asyncio.sleep(rng.uniform(0.2, 0.6) * think)
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def simulate(base: str, tokens: dict[str, str], staff: Staff, duration: float, think: float,
                   seed: int = 7) -> Tally:
    import httpx

    tally = Tally()
    # idle connections are dropped by the client before uvicorn's 5 s keep-alive timeout closes them, so no request
    # is ever sent on a connection the server is closing at that moment (a client-side race, not a server error)
    limits = httpx.Limits(max_connections=len(staff.everyone) + 10, max_keepalive_connections=len(staff.everyone),
                          keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=REQUEST_TIMEOUT) as http:
        until = time.monotonic() + duration
        jobs = []
        for i, name in enumerate(staff.requesters):
            jobs.append(requester(Client(http, tokens[name], tally), random.Random(seed * 1000 + i), until, think))
        for i, name in enumerate(staff.leads):
            jobs.append(approver(Client(http, tokens[name], tally), random.Random(seed * 2000 + i), until, think,
                                 None, "lead_review"))
        for i, name in enumerate(staff.buyers):
            jobs.append(approver(Client(http, tokens[name], tally), random.Random(seed * 3000 + i), until, think,
                                 (i, len(staff.buyers)), "buyer_check"))
        await asyncio.wait_for(asyncio.gather(*jobs), timeout=duration + REQUEST_TIMEOUT * 3)
    return tally


# -- reconciliation --------------------------------------------------------------------------------------------------

def unanswered(tally: Tally, op: str) -> int:
    return sum(n for k, n in tally.errors.items() if k.startswith(op + " "))


def reconcile(url: str, tally: Tally, strict: bool = True) -> dict[str, Any]:
    """Every submitted request is in exactly one state; every approval is counted once.

    ``strict=False`` (fault runs): a request whose answer was lost may or may not have been done, so the database
    must hold every acknowledged write, and at most as many more as requests went unanswered — never a duplicate,
    never a half-done step."""
    from engine.audit import audit_log
    from flow_engine.tables import instances, tasks

    engine = create_engine(url)
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            record_ids = {int(r) for r in conn.execute(text('SELECT id FROM "f_purchasing__purchase_request"')).scalars()}
            inst_rows = conn.execute(select(instances.c.id, instances.c.record_id, instances.c.status,
                                            instances.c.outcome, instances.c.position)).all()
            task_rows = conn.execute(select(tasks.c.id, tasks.c.instance_id, tasks.c.node, tasks.c.visit,
                                            tasks.c.status, tasks.c.kind, tasks.c.task_key)).all()
            states_json = dict(conn.execute(select(instances.c.id, instances.c.state)).all())
            audited = conn.execute(select(func.count()).select_from(audit_log)
                                   .where(audit_log.c.action == "flow_approve")).scalar_one()
    finally:
        engine.dispose()
    if not strict:
        if not tally.created <= record_ids or len(record_ids - tally.created) > unanswered(tally, "submit: create record"):
            problems.append(f"records: acknowledged {len(tally.created)}, in the database {len(record_ids)}, "
                            f"missing {sorted(tally.created - record_ids)[:5]}")
    elif record_ids != tally.created:
        problems.append(f"records in the database {len(record_ids)} ≠ created {len(tally.created)} "
                        f"(extra {sorted(record_ids - tally.created)[:5]}, missing {sorted(tally.created - record_ids)[:5]})")
    by_record: dict[int, int] = {}
    for row in inst_rows:
        by_record[row.record_id] = by_record.get(row.record_id, 0) + 1
    if any(n > 1 for n in by_record.values()):
        problems.append(f"records with more than one instance: {[k for k, n in by_record.items() if n > 1][:5]}")
    inst_ids = {r.id for r in inst_rows}
    if strict and inst_ids != set(tally.started) or not set(tally.started) <= inst_ids \
            or len(inst_ids - set(tally.started)) > unanswered(tally, "submit: start flow"):
        problems.append(f"instances {len(inst_rows)} ≠ started {len(tally.started)}")
    open_by_inst: dict[int, set[str]] = {}
    approved_by_step: dict[tuple[int, str, int], int] = {}
    for t in task_rows:
        if t.status == "open" and t.kind in ("approval", "fill"):
            open_by_inst.setdefault(t.instance_id, set()).add(t.node)
        if t.status == "approved":
            key = (t.instance_id, t.node, t.visit)
            approved_by_step[key] = approved_by_step.get(key, 0) + 1
    states: dict[str, int] = {}
    for row in inst_rows:
        position = [p["node"] if isinstance(p, dict) else p for p in (row.position or [])]
        if row.status == "finished" and row.outcome == "approved" and not open_by_inst.get(row.id):
            state = "approved"
        elif row.status == "running" and len(position) == 1 and open_by_inst.get(row.id) == set(position):
            state = position[0]
        else:
            state = f"inconsistent({row.status},{position},{sorted(open_by_inst.get(row.id, ()))})"
            problems.append(f"instance {row.id}: {state}")
        states[state] = states.get(state, 0) + 1
    open_keys: dict[int, set[str]] = {}
    for t in task_rows:
        if t.status == "open":
            open_keys.setdefault(t.instance_id, set()).add(t.task_key)
    for row in inst_rows:  # the instance's own state and the task rows agree (nothing half-advanced)
        state = states_json[row.id]
        in_state = {t["id"] for t in (state or {}).get("tasks", []) if t.get("status") == "open"}
        in_rows = open_keys.get(row.id, set())
        if in_state != in_rows:
            problems.append(f"instance {row.id}: open tasks in its state {sorted(in_state)} ≠ task rows {sorted(in_rows)}")
    approved_ids = {t.id for t in task_rows if t.status == "approved"}
    approved_tasks = sum(approved_by_step.values())
    doubled = [k for k, n in approved_by_step.items() if n > 1]
    if doubled:
        problems.append(f"steps approved more than once: {doubled[:5]}")
    if not strict:
        if not set(tally.approvals) <= approved_ids or not approved_ids <= tally.attempted:
            problems.append(f"approvals: acknowledged {len(tally.approvals)} not all in the database, or approved "
                            f"tasks nobody approved: {sorted(approved_ids - tally.attempted)[:5]}")
    elif approved_tasks != len(tally.approvals) or len(set(tally.approvals)) != len(tally.approvals):
        problems.append(f"approved tasks in the database {approved_tasks} ≠ approvals answered 200 "
                        f"{len(tally.approvals)} (distinct {len(set(tally.approvals))})")
    if audited != approved_tasks:
        problems.append(f"audit rows flow_approve {audited} ≠ approved tasks {approved_tasks}")
    return {"records": len(record_ids), "instances": len(inst_rows), "states": states,
            "approvals": approved_tasks, "audited_approvals": audited, "problems": problems}


# -- one run ---------------------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(tally: Tally, duration: float) -> dict[str, dict[str, float]]:
    out = {}
    for op, values in sorted(tally.latencies.items()):
        errors = sum(n for k, n in tally.errors.items() if k.startswith(op + " "))
        out[op] = {"count": len(values), "errors": errors, "p50_ms": percentile(values, 0.5) * 1000,
                   "p99_ms": percentile(values, 0.99) * 1000, "mean_ms": statistics.fmean(values) * 1000}
    total = sum(len(v) for v in tally.latencies.values())
    out["all"] = {"count": total, "errors": sum(tally.errors.values()), "rps": total / duration,
                  "p50_ms": percentile([x for v in tally.latencies.values() for x in v], 0.5) * 1000,
                  "p99_ms": percentile([x for v in tally.latencies.values() for x in v], 0.99) * 1000}
    return out


@dataclass
class RunResult:
    backend: str
    workers: int
    users: int
    duration: float
    ops: dict[str, dict[str, float]]
    reconciliation: dict[str, Any]
    errors: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.reconciliation["problems"]


def run(backend: str, *, users: int, duration: float, workers: int, think: float = 1.0,
        log=print) -> RunResult:  # type: ignore[no-untyped-def]
    staff = staff_for(users)
    with tempfile.TemporaryDirectory(prefix="prod-load-") as tmp:
        work = Path(tmp)
        apps_dir = work / "apps"
        apps_dir.mkdir()
        write_app(apps_dir, staff)
        t0 = time.monotonic()
        with fresh_database(backend, work) as url:
            tokens = prepare(url, apps_dir, work / "var", staff)
            log(f"# prepared in {time.monotonic() - t0:.1f} s")
            pool = {"LOOMWORK_DB_POOL_SIZE": "5", "LOOMWORK_DB_MAX_OVERFLOW": "5"}  # 4 × 10 on a shared server
            env = server_env(url, apps_dir, work / "var", LOOMWORK_SCHEDULER_INTERVAL="10", **pool)
            server = start_server(env, workers, work / "server.log", tokens[staff.buyers[0]])
            log(f"# server answering after {time.monotonic() - t0:.1f} s")
            try:
                log(f"# load: {backend}, {workers} worker(s), {len(staff.everyone)} staff, {duration:.0f} s")
                began = time.monotonic()
                tally = asyncio.run(simulate(server.base, tokens, staff, duration, think))
                elapsed = time.monotonic() - began
            finally:
                server.stop()
            if tally.errors:
                log(f"# errors: {tally.errors}; server log tail:\n{(work / 'server.log').read_text()[-3000:]}")
            result = RunResult(backend, workers, len(staff.everyone), elapsed, summary(tally, elapsed),
                               reconcile(url, tally), dict(tally.errors))
    return result


def render(results: list[RunResult]) -> str:
    lines = ["| database | workers | staff | operation | requests | errors | p50 (ms) | p99 (ms) |",
             "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in results:
        for op, s in r.ops.items():
            name = f"**all** ({s['rps']:.0f} req/s)" if op == "all" else op
            lines.append(f"| {r.backend} | {r.workers} | {r.users} | {name} | {s['count']:.0f} | {s['errors']:.0f} | "
                         f"{s['p50_ms']:.0f} | {s['p99_ms']:.0f} |")
    lines.append("")
    for r in results:
        rec = r.reconciliation
        verdict = "reconciled" if not rec["problems"] else "**NOT reconciled**: " + "; ".join(rec["problems"][:3])
        lines.append(f"- {r.backend}: {rec['records']} requests submitted, states {rec['states']}, "
                     f"{rec['approvals']} approvals (audit rows {rec['audited_approvals']}) — {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Loomwork load harness (loopback only, bounded in time)")
    parser.add_argument("--quick", action="store_true", help="~10 s with 50 staff")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load per database (default 60)")
    parser.add_argument("--users", type=int, default=None, help="simulated staff (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="server processes on PostgreSQL (SQLite: always 1)")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between actions, seconds")
    parser.add_argument("--only", choices=["postgresql", "sqlite"], help="one database only")
    args = parser.parse_args(argv)
    duration = args.duration or (10.0 if args.quick else 60.0)
    users = args.users or (50 if args.quick else 200)
    results = []
    for backend in (["postgresql", "sqlite"] if args.only is None else [args.only]):
        workers = args.workers if backend == "postgresql" else 1
        results.append(run(backend, users=users, duration=duration, workers=workers, think=args.think,
                           log=lambda m: print(m, file=sys.stderr)))
    print(render(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
