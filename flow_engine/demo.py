"""Demo flow runs for ``loomwork demo load``: some generated records go through a flow as people would move them,
with backdated times, so the demo has real instances, tasks, history, inboxes and time-per-node figures.

An app's ``demo.flows`` (app.yaml) names the flow, how many records (``count``) and which (``where``, an
expression over the record as generated), when each run starts (``start``: a date or date-time field, else the
record's creation time), who starts it (``by``: a user field, else the record's owner), how long each task waits
(``hours: [low, high]``) and, per node, what its people do (``steps``): a list of choices, the first that applies is
taken — ``{action, if, share, values, reason, to}``. ``if`` reads the record as generated (before the flow changes
it), ``share`` is the chance the choice applies, ``values`` are expressions over that record filled in on approve.
A node without a step, a ``wait`` step, or a moment past now leaves the instance waiting there.

Every start and action goes through the flow service with the platform's clock set to the moment it happens, so
history, audit entries, record changes, automations and notifications are those of a real run at that time.
One transaction per run: a run that fails is rolled back and reported, the others stay.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.clock import FrozenClock
from engine.errors import BadRequest
from engine.identity import load_principal

MAX_ACTIONS = 200  # per run: a definition that loops (returns forever) stops here


def _compile(source: str, where: str, flow: str) -> Any:
    from rules_engine import Scope, compile_expression

    try:
        return compile_expression(source, Scope.open_scope())
    except Exception as exc:  # noqa: BLE001
        raise BadRequest(f"demo flows of {flow}: {where}: {getattr(exc, 'message', exc)}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def run_demo_flows(platform: Any, live: Any, limit: int | None = None) -> Iterator[str]:
    """Run every ``demo.flows`` entry of ``live``'s app; ``limit`` caps the runs per entry (quick tests)."""
    for position, run in enumerate(live.spec.settings.demo_flows):
        count = int(run.get("count", 0))
        if limit:
            count = min(count, limit)
        made, waiting, failed, first = drive(platform, live, run, count,
                                             seed=live.spec.settings.demo_seed + 1000 + position)
        yield (f"{live.key}: {made} {run['flow']} flow runs ({waiting} waiting)"
               + (f", {failed} failed (the first: {first})" if failed else ""))


def drive(platform: Any, live: Any, run: Mapping[str, Any], count: int, *, seed: int = 0
          ) -> tuple[int, int, int, str | None]:
    """Run ``count`` records through ``run['flow']``; return (runs made, runs left waiting, runs failed, the first
    failure's message)."""
    service = platform.services["flows"]
    flow = service.flow(live.key, str(run["flow"]))
    form = live.spec.forms[flow.form]
    table = platform.services["records"].table(live, form)
    zone = ZoneInfo(live.spec.settings.timezone)
    rng = random.Random(seed)
    where = _compile(run["where"], "where", flow.key) if run.get("where") else None
    steps: dict[str, list[dict[str, Any]]] = {}
    for node, choices in (run.get("steps") or {}).items():
        if node not in flow.by_id:
            raise BadRequest(f"demo flows of {flow.key}: steps: no node '{node}'")
        compiled = []
        for i, choice in enumerate(choices):
            c = dict(choice)
            c["if"] = _compile(choice["if"], f"steps.{node}[{i}].if", flow.key) if choice.get("if") else None
            c["values"] = {k: _compile(v, f"steps.{node}[{i}].values.{k}", flow.key)
                           for k, v in (choice.get("values") or {}).items()}
            compiled.append(c)
        steps[node] = compiled
    for key in (run.get("start"), run.get("by")):
        if key and key not in form.by_key:
            raise BadRequest(f"demo flows of {flow.key}: the form {form.key} has no field '{key}'")
    low, high = (float(x) for x in run.get("hours") or (1, 24))
    with platform.db.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
    if where is not None:
        rows = [r for r in rows if where.try_evaluate(r)[0] is True]
    chosen = sorted(rng.sample(rows, min(count, len(rows))), key=lambda r: r["id"])
    real_clock = platform.clock
    now = real_clock.now()
    made = waiting = failed = 0
    first: str | None = None
    try:
        for row in chosen:
            at = _start_moment(row, run.get("start"), zone, rng)
            if at >= now:
                continue
            starter = row.get(run["by"]) if run.get("by") else row.get("owner_id")
            clock = FrozenClock(at)
            platform.clock = clock
            try:
                with platform.db.begin() as conn:
                    who = load_principal(conn, int(starter)) if starter else None
                    if who is None:
                        continue
                    result = service.start(conn, live.key, flow.key, row["id"], who, check_rights=False)
                    done = _walk(conn, service, result, row, steps, clock, now, rng, low, high)
                made += 1
                waiting += 0 if done else 1
            except Exception as exc:  # noqa: BLE001 - one broken run does not stop the demo; it is counted
                failed += 1
                if first is None:
                    details = getattr(exc, "details", None)
                    first = f"{form.key} {row['id']}: {getattr(exc, 'message', exc)}" + (f" {details}" if details else "")
    finally:
        platform.clock = real_clock
    return made, waiting, failed, first


def _start_moment(row: Mapping[str, Any], field: str | None, zone: ZoneInfo, rng: random.Random) -> datetime:
    value = row.get(field) if field else row.get("created_at")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        local = datetime.combine(value, time(rng.randint(9, 16), rng.randrange(60)), zone)
        return local.astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def _walk(conn: Any, service: Any, result: Mapping[str, Any], row: Mapping[str, Any],
          steps: Mapping[str, list[dict[str, Any]]], clock: FrozenClock, now: datetime, rng: random.Random,
          low: float, high: float) -> bool:
    """Act on the run's open tasks until it finishes (True) or waits (False)."""
    people: dict[int, Any] = {}
    chosen: dict[tuple[str, int], dict[str, Any] | None] = {}  # (node, pass) → the choice its people follow
    passes: dict[str, int] = {}
    last_node = None
    for _ in range(MAX_ACTIONS):
        result = result["status"]  # start and act return the step's outcome under "status"
        if result.get("status") != "running":
            return True
        tasks = result.get("open_tasks") or []
        if not tasks:
            return False
        task = tasks[0]
        node = task["node"]
        if node != last_node:
            passes[node] = passes.get(node, 0) + 1
            last_node = node
        key = (node, passes[node])
        if key not in chosen:
            chosen[key] = _choose(steps.get(node) or [], row, rng)
        choice = chosen[key]
        if choice is None or choice["action"] == "wait":
            return False
        at = clock.now() + timedelta(hours=rng.uniform(low, high))
        if at >= now:
            return False
        clock.set(at)
        assignee = task.get("assignee_id")
        if assignee is None:
            return False
        who = people.get(assignee) or load_principal(conn, int(assignee))
        if who is None:
            return False
        people[assignee] = who
        payload: dict[str, Any] = {}
        if choice.get("reason"):
            payload["reason"] = choice["reason"]
        if choice.get("to"):
            payload["to"] = choice["to"]
        if choice["values"]:
            payload["values"] = {k: _plain(e.evaluate(row)) for k, e in choice["values"].items()}
        result = service.act(conn, int(task["id"]), who, choice["action"], payload)
    return False


def _choose(choices: list[dict[str, Any]], row: Mapping[str, Any], rng: random.Random) -> dict[str, Any] | None:
    for choice in choices:
        if choice["if"] is not None and choice["if"].try_evaluate(row)[0] is not True:
            continue
        if "share" in choice and rng.random() >= float(choice["share"]):
            continue
        return choice
    return None
