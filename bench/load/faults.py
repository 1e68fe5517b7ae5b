"""Fault runs: a worker killed with SIGKILL under load, and PostgreSQL restarted under load.

    .venv/bin/python bench/load/faults.py [kill|restart|all] [--duration S] [--users N]

Both run a real ``loomwork serve`` on loopback with simulated staff (``harness.py``) and then check the database:

- **kill**: one worker is killed with SIGKILL while staff submit and approve (twice). Afterwards no instance is
  half-advanced (its state, its task rows and its position agree), every acknowledged write is there, nothing is
  doubled, and the surviving/restarted workers keep serving.
- **restart**: a private PostgreSQL (``initdb`` into a temporary folder, its own port; the machine's shared server
  is never touched) is stopped for a few seconds under load and started again. While it is down requests fail
  cleanly (503 with the JSON error shape, no stack trace, no driver text); afterwards they succeed, nothing is
  duplicated, and the flow reminders that fell due while it was down fire exactly once.

``tests/production/test_faults.py`` runs both, short. The private server is stopped and removed at the end.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import Staff, Tally  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin") if Path("/usr/lib/postgresql/15/bin/initdb").exists() else None
LEAK_MARKERS = ("Traceback", 'File "', "psycopg", "sqlalchemy", "OperationalError", "/work/", "site-packages")


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or (str(PG_BIN / name) if PG_BIN else None) or f"/usr/local/bin/{name}"
    return found


# -- a private PostgreSQL ----------------------------------------------------------------------------------------------

@dataclass
class PrivatePg:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        command = [_pg_tool("pg_ctl"), "-D", str(self.data), *args]
        subprocess.run(_as_postgres(command), check=True, timeout=timeout, capture_output=True)

    def start(self) -> None:
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
                   f"-c max_connections=60 -c shared_buffers=32MB")
        self._ctl("start", "-w", "-t", "60", "-o", options, "-l", str(self.folder / "pg.log"))

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-w", "-t", "60", "-m", mode)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def private_postgres() -> Iterator[PrivatePg]:
    folder = Path(tempfile.mkdtemp(prefix="prod-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    pg = PrivatePg(folder, harness.free_port())
    try:
        subprocess.run(_as_postgres([_pg_tool("initdb"), "-D", str(pg.data), "-U", "postgres", "--auth=trust",
                                     "-E", "UTF8", "--no-sync"]), check=True, timeout=120, capture_output=True)
        pg.start()
        yield pg
    finally:
        try:
            pg.stop("immediate")
        except Exception:  # noqa: BLE001 - already stopped, or never started
            pass
        shutil.rmtree(folder, ignore_errors=True)


# -- runs ------------------------------------------------------------------------------------------------------------

@dataclass
class FaultResult:
    name: str
    reconciliation: dict[str, Any]
    errors: dict[str, int]
    findings: list[str]
    facts: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not self.findings and not self.reconciliation["problems"]


def _served_after(tally: Tally, moment: float) -> int:
    return sum(1 for t in tally.successes if t > moment)


def kill_run(users: int = 30, duration: float = 20.0, workers: int = 2, kills: int = 2, think: float = 0.3,
             log=print) -> FaultResult:  # type: ignore[no-untyped-def]
    """SIGKILL a worker ``kills`` times under load (on a fresh database of the shared PostgreSQL)."""
    staff = harness.staff_for(users)
    with tempfile.TemporaryDirectory(prefix="prod-fault-kill-") as tmp:
        work = Path(tmp)
        (work / "apps").mkdir()
        harness.write_app(work / "apps", staff)
        with harness.fresh_database("postgresql", work) as url:
            tokens = harness.prepare(url, work / "apps", work / "var", staff)
            env = harness.server_env(url, work / "apps", work / "var", LOOMWORK_SCHEDULER_INTERVAL="2",
                                     LOOMWORK_DB_POOL_SIZE="4", LOOMWORK_DB_MAX_OVERFLOW="4")
            server = harness.start_server(env, workers, work / "server.log", tokens[staff.buyers[0]])
            killed: list[tuple[float, int]] = []

            async def killer() -> None:
                for i in range(kills):
                    await asyncio.sleep(duration / (kills + 1))
                    pids = server.worker_pids()
                    if pids:
                        os.kill(pids[i % len(pids)], signal.SIGKILL)
                        killed.append((time.time(), pids[i % len(pids)]))
                        log(f"# killed worker {pids[i % len(pids)]}")

            async def both() -> Tally:
                task = asyncio.create_task(killer())
                tally = await harness.simulate(server.base, tokens, staff, duration, think)
                await task
                return tally

            try:
                tally = asyncio.run(both())
                alive = server.process.poll() is None
                after = server.worker_pids()
            finally:
                server.stop()
            findings = []
            if len(killed) != kills:
                findings.append(f"only {len(killed)} of {kills} workers could be killed")
            if killed and _served_after(tally, killed[-1][0] + 3) == 0:
                findings.append("nothing was served after the last kill")
            if not alive:
                findings.append("the server (supervisor) died")
            findings += [f"unclean failure: {f[1]} {f[2]}" for f in tally.failures
                         if f[2] < 500 or "json" not in f[3] or any(m in f[4] for m in LEAK_MARKERS)][:5]
            rec = harness.reconcile(url, tally, strict=False)
    facts = {"killed": [p for _, p in killed], "workers_after": len(after), "requests": len(tally.successes),
             "failed": len(tally.failures), "unanswered": sum(tally.errors.values())}
    return FaultResult("worker killed with SIGKILL", rec, dict(tally.errors), findings, facts)


REMIND_SECONDS = 3


def _short_reminders(app: Path) -> None:
    """The lead review reminds after 3 s of calendar time (instead of 4 business hours), so timers fall due."""
    flow = app / "flows" / "purchase_approval.yaml"
    text = flow.read_text(encoding="utf-8")
    old = "sla: {remind_after: 4h, escalate_after: 1d, escalate: {action: notify_manager}, business_time: true}"
    assert old in text, "the purchasing flow's lead review SLA changed; update faults.py"
    flow.write_text(text.replace(old, f"sla: {{remind_after: {REMIND_SECONDS / 60:.2f}m, business_time: false}}"),
                    encoding="utf-8")


def restart_run(users: int = 20, duration: float = 24.0, down: float = 6.0, workers: int = 2, think: float = 0.3,
                log=print) -> FaultResult:  # type: ignore[no-untyped-def]
    """Stop a private PostgreSQL for ``down`` seconds in the middle of ``duration`` seconds of load."""
    from sqlalchemy import create_engine, func, select

    from engine.notifications import notifications
    from flow_engine.tables import instances, tasks, timers

    full = harness.staff_for(users)
    staff = Staff(full.requesters, [], full.buyers)  # leads stay away: their reviews wait and remind
    with tempfile.TemporaryDirectory(prefix="prod-fault-pg-") as tmp, private_postgres() as pg:
        work = Path(tmp)
        (work / "apps").mkdir()
        _short_reminders(harness.write_app(work / "apps", full))
        url = pg.url()
        tokens = harness.prepare(url, work / "apps", work / "var", full)
        env = harness.server_env(url, work / "apps", work / "var", LOOMWORK_SCHEDULER_INTERVAL="1",
                                 LOOMWORK_DB_POOL_SIZE="4", LOOMWORK_DB_MAX_OVERFLOW="4")
        server = harness.start_server(env, workers, work / "server.log", tokens[full.buyers[0]])
        marks: dict[str, float] = {}

        async def outage() -> None:
            await asyncio.sleep((duration - down) / 2)
            marks["stopping"] = time.time()
            await asyncio.to_thread(pg.stop, "fast")
            marks["down"] = time.time()
            log("# PostgreSQL stopped")
            await asyncio.sleep(down)
            await asyncio.to_thread(pg.start)
            marks["up"] = time.time()
            log("# PostgreSQL started")

        async def both() -> Tally:
            task = asyncio.create_task(outage())
            tally = await harness.simulate(server.base, tokens, staff, duration, think)
            await task
            return tally

        try:
            tally = asyncio.run(both())
            engine = create_engine(url)
            deadline = time.time() + 30  # the scheduler (every second per worker) catches up on due reminders
            while time.time() < deadline:
                with engine.connect() as conn:
                    due = conn.execute(select(func.count()).select_from(timers).where(
                        timers.c.kind == "remind", timers.c.due_at <= func.now())).scalar_one()
                if not due:
                    break
                time.sleep(1)
            time.sleep(2)  # a double firing would show up now
            with engine.connect() as conn:
                reviews = conn.execute(select(tasks.c.instance_id, tasks.c.created_at).where(
                    tasks.c.node == "lead_review")).all()
                sent = conn.execute(select(notifications.c.link, notifications.c.created_at).where(
                    notifications.c.kind == "reminder")).all()
                n_instances = conn.execute(select(func.count()).select_from(instances)).scalar_one()
            engine.dispose()
        finally:
            server.stop()
        reminders: dict[int, list[float]] = {}
        for link, at in sent:
            reminders.setdefault(int(str(link).rsplit("/", 1)[-1]), []).append(at.timestamp())
        findings: list[str] = []
        during = [f for f in tally.failures if marks.get("stopping", 0) - 1 <= f[0] <= marks.get("up", 0) + 10]
        unclean = [f for f in tally.failures if f[2] < 500 or "json" not in f[3] or '"error"' not in f[4]
                   or any(m in f[4] for m in LEAK_MARKERS)]
        if not during:
            findings.append("no request failed while PostgreSQL was down (was it down?)")
        findings += [f"unclean failure: {f[1]} {f[2]} {f[3]} {f[4][:200]!r}" for f in unclean[:5]]
        recovered = [t for t in tally.successes if t > marks.get("up", float("inf"))]
        if not recovered:
            findings.append("no request succeeded after PostgreSQL came back")
        twice = {i: len(v) for i, v in reminders.items() if len(v) > 1}
        if twice:
            findings.append(f"reminders sent more than once: {dict(list(twice.items())[:5])}")
        fell_due = [i for i, created in reviews
                    if marks["stopping"] <= created.timestamp() + REMIND_SECONDS <= marks["up"]]
        missing = [i for i, created in reviews if created.timestamp() + REMIND_SECONDS < time.time() - 5
                   and i not in reminders]
        if missing:
            findings.append(f"reviews whose reminder never fired: {missing[:5]}")
        rec = harness.reconcile(url, tally, strict=False)
    facts = {"down_s": round(marks["up"] - marks["stopping"], 1),
             "failed_while_down": len(during), "status_while_down": sorted({f[2] for f in during}),
             "first_success_after_up_s": round(min(recovered) - marks["up"], 2) if recovered else None,
             "instances": n_instances, "reminders": sum(len(v) for v in reminders.values()),
             "reminders_due_during_outage": len(fell_due),
             "reminders_due_during_outage_fired_once": sum(1 for i in fell_due if len(reminders.get(i, [])) == 1)}
    if not fell_due:
        findings.append("no reminder fell due during the outage (timing); the check proved nothing")
    return FaultResult("PostgreSQL restarted under load", rec, dict(tally.errors), findings, facts)


def render(results: list[FaultResult]) -> str:
    lines = []
    for r in results:
        verdict = "ok" if r.ok else "**FAILED**: " + "; ".join((r.findings + r.reconciliation["problems"])[:4])
        lines.append(f"- {r.name}: {verdict}. {r.facts}; after the run: {r.reconciliation['states']}, "
                     f"{r.reconciliation['approvals']} approvals (audit rows {r.reconciliation['audited_approvals']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", choices=["kill", "restart", "all"], default="all")
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--users", type=int, default=None)
    args = parser.parse_args(argv)
    out = []
    say = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if args.which in ("kill", "all"):
        out.append(kill_run(users=args.users or 30, duration=args.duration or 20.0, log=say))
    if args.which in ("restart", "all"):
        out.append(restart_run(users=args.users or 20, duration=args.duration or 24.0, log=say))
    print(render(out))
    return 0 if all(r.ok for r in out) else 1


if __name__ == "__main__":
    sys.exit(main())
