"""The scheduler: runs every ``hooks.jobs`` entry (due flow timers, scheduled automations …) periodically.

Each job claims its own due work safely (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so any number of server
processes may run the scheduler at once, and a job that was down simply finds everything that fell due meanwhile.

- ``loomwork serve`` starts one background thread per worker process, every ``LOOMWORK_SCHEDULER_INTERVAL``
  seconds (0 turns it off); a job function with an ``interval(platform)`` attribute runs on its own interval
  instead (the ``apps`` job: ``LOOMWORK_APPS_RELOAD_SECONDS``; 0 turns that job off), in the same thread;
- ``loomwork jobs run [--job NAME]`` runs every job once, for cron or a systemd timer;
- tests call ``run_jobs(platform)`` with a ``FrozenClock`` they move themselves.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("loomwork.scheduler")


@dataclass
class JobResult:
    name: str
    handled: int = 0
    error: str | None = None
    seconds: float = 0.0


def run_jobs(platform: Any, only: str | None = None, subset: set[str] | None = None) -> list[JobResult]:
    """Run every registered job once (or the one named ``only``, or those in ``subset``); a failing job is logged and
    does not stop the rest."""
    results = []
    names = [name for name, _ in platform.hooks.jobs]
    if only is not None and only not in names:
        from .errors import NotFound

        raise NotFound(f"no job '{only}'", details=[{"known": names}])
    for name, job in platform.hooks.jobs:
        if (only is not None and name != only) or (subset is not None and name not in subset):
            continue
        began = time.perf_counter()
        result = JobResult(name)
        try:
            result.handled = int(job(platform) or 0)
        except Exception as exc:  # noqa: BLE001 - one job's failure is reported, the others still run
            log.exception("job %s failed", name)
            result.error = f"{type(exc).__name__}: {exc}"
        result.seconds = round(time.perf_counter() - began, 3)
        results.append(result)
    return results


@dataclass
class Scheduler:
    """A background thread running the jobs every ``interval`` seconds until ``stop()``."""

    platform: Any
    interval: float
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def intervals(self) -> dict[str, float]:
        """Seconds between runs of each job (0: not run by this thread)."""
        out = {}
        for name, job in self.platform.hooks.jobs:
            own = getattr(job, "interval", None)
            out[name] = max(float(own(self.platform)), 0.0) if own is not None else max(self.interval, 0.0)
        return out

    def start(self) -> "Scheduler":
        if self.interval <= 0 or self._thread is not None or not any(self.intervals().values()):
            return self
        self._thread = threading.Thread(target=self._loop, name="loomwork-scheduler", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        intervals = {name: seconds for name, seconds in self.intervals().items() if seconds > 0}
        due = dict.fromkeys(intervals, 0.0)
        while not self._stop.is_set():
            now = time.monotonic()
            names = {name for name, at in due.items() if at <= now}
            for result in run_jobs(self.platform, subset=names):
                if result.handled:
                    log.info("job %s handled %d in %.3fs", result.name, result.handled, result.seconds)
            for name in names:
                due[name] = now + intervals[name]
            self._stop.wait(max(min(due.values()) - time.monotonic(), 0.05))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def start_background(platform: Any) -> Scheduler:
    """The scheduler thread of a server process (off when ``scheduler_interval`` is 0)."""
    return Scheduler(platform, float(platform.settings.scheduler_interval)).start()


def _cmd_jobs_run(args: Any) -> int:
    from .cli import platform_from_args

    platform = platform_from_args(args)
    platform.activate_published()
    failed = 0
    for result in run_jobs(platform, args.job):
        status = f"failed: {result.error}" if result.error else f"{result.handled} handled"
        print(f"{result.name}: {status} ({result.seconds:.3f}s)")
        failed += result.error is not None
    return 1 if failed else 0


def _cmd_jobs_list(args: Any) -> int:
    from .plugins import Hooks, load_builtin

    for name, _job in load_builtin(Hooks()).jobs:
        print(name)
    return 0


def add_commands(sub: Any) -> None:
    jobs = sub.add_parser("jobs", help="periodic jobs (timers, reminders, scheduled automations)").add_subparsers(
        dest="jobs_command", required=True)
    p = jobs.add_parser("run", help="run every job once (for cron); exit 1 if one failed")
    p.add_argument("--job", help="run only this job")
    p.set_defaults(func=_cmd_jobs_run)
    p = jobs.add_parser("list", help="list the registered jobs")
    p.set_defaults(func=_cmd_jobs_list)


def register(hooks: Any) -> None:
    """Adds ``loomwork jobs run|list`` (listed in ``engine.plugins.BUILTIN``)."""
    hooks.cli.append(add_commands)
