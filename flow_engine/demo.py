"""Demo flow runs for ``loomwork demo load``: some generated records go through a flow as people would move them,
with backdated times, so the demo has real instances, tasks, history, inboxes and time-per-node figures.

An app's ``demo.flows`` (app.yaml) names the flow, how many records (``count``) and which (``where``, an
expression over the record as generated), when each run starts (``start``: a date or date-time field, else the
record's creation time), who starts it (``by``: a user field, else the record's owner), how long each task waits
(``hours: [low, high]``) and, per node, what its people do (``steps``): a list of choices, the first that applies is
taken — ``{action, if, share, at, values, files, reason, to}``. ``if`` reads the record as generated (before the
flow changes it), ``share`` is the chance the choice applies, ``at`` (an expression giving a date or date-time)
when the action happens if that is after the task was created (a date: at a working hour that day), ``values`` are
expressions over that record filled in on approve or submit (``TODAY()`` and ``NOW()`` are the moment of the
action), ``files`` names file fields that get a generated placeholder file (field → file name; ``.pdf`` or
``.png``), stored by the platform's attachment service under the field's own type and size checks.
A node without a step, a ``wait`` step, or a moment past now leaves the instance waiting there.

Every start and action goes through the flow service with the platform's clock set to the moment it happens, so
history, audit entries, record changes, automations and notifications are those of a real run at that time.
Time limits act as the running system would have: before each action, and up to now for a run left waiting, the
run's reminders and escalations that fell due fire at their due moment (history and notifications dated then;
an escalation that reassigns, approves or rejects does so, and the walk goes on from there); those due later stay
scheduled and fire when their time comes. Backdated notifications are not mailed: mail is for what happens now.
One transaction per run: a run that fails is rolled back and reported, the others stay.
"""
from __future__ import annotations

import random
import struct
import zlib
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.clock import FrozenClock
from engine.errors import BadRequest
from engine.identity import load_principal

MAX_ACTIONS = 200  # per run: a definition that loops (returns forever) stops here
#: the file kinds a placeholder can be made of (``files``: the name's extension)
PLACEHOLDER_KINDS = ("pdf", "png")


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
            c["at"] = _compile(choice["at"], f"steps.{node}[{i}].at", flow.key) if choice.get("at") else None
            c["values"] = {k: _compile(v, f"steps.{node}[{i}].values.{k}", flow.key)
                           for k, v in (choice.get("values") or {}).items()}
            c["files"] = _file_fields(form, choice.get("files") or {}, f"steps.{node}[{i}].files", flow.key)
            compiled.append(c)
        steps[node] = compiled
    keep = [str(k) for k in run.get("keep") or ()]
    for key in (run.get("start"), run.get("by"), *keep):
        if key and key not in form.by_key:
            raise BadRequest(f"demo flows of {flow.key}: the form {form.key} has no field '{key}'")
    low, high = (float(x) for x in run.get("hours") or (1, 24))
    with platform.db.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
    if where is not None:  # TODAY() is the load's day, on the platform's clock
        from rules_engine import Env

        today = Env(clock=platform.clock.now, timezone=live.spec.settings.timezone)
        rows = [r for r in rows if where.try_evaluate(r, today)[0] is True]
    chosen = sorted(rng.sample(rows, min(count, len(rows))), key=lambda r: r["id"])
    real_clock = platform.clock
    now = real_clock.now()
    made = waiting = failed = 0
    first: str | None = None
    try:
        with _no_mail(platform):
            for row in chosen:
                at = _start_moment(row, run.get("start"), zone, rng)
                if at >= now:
                    continue
                starter = row.get(run["by"]) if run.get("by") else row.get("owner_id")
                clock = FrozenClock(at)
                platform.clock = clock
                walk = _Walk(platform, service, live, form, row, steps, clock, now, rng, low, high, zone)
                try:
                    with platform.db.begin() as conn:
                        who = load_principal(conn, int(starter)) if starter else None
                        if who is None:
                            continue
                        result = service.start(conn, live.key, flow.key, row["id"], who, check_rights=False)
                        done = walk.run(conn, int(result["id"]), result["status"])
                        if keep:
                            walk.put_back(conn, keep)
                    made += 1
                    waiting += 0 if done else 1
                except Exception as exc:  # noqa: BLE001 - one broken run does not stop the demo; it is counted
                    failed += 1
                    if first is None:
                        details = getattr(exc, "details", None)
                        first = (f"{form.key} {row['id']}: {getattr(exc, 'message', exc)}"
                                 + (f" {details}" if details else ""))
    finally:
        platform.clock = real_clock
    return made, waiting, failed, first


@contextmanager
def _no_mail(platform: Any) -> Iterator[None]:
    """Notifications of backdated demo activity are stored but not mailed (the outbox's mail is off meanwhile)."""
    box = platform.services.get("outbox")
    mail = getattr(box, "mail", None)
    if mail is not None:
        box.mail = None
    try:
        yield
    finally:
        if mail is not None:
            box.mail = mail


def _file_fields(form: Any, files: Mapping[str, Any], where: str, flow: str) -> dict[str, str]:
    out = {}
    for key, name in files.items():
        field = form.by_key.get(key)
        if field is None or field.ftype.group != "files":
            raise BadRequest(f"demo flows of {flow}: {where}: '{key}' is not a file field of {form.key}")
        kind = str(name).rpartition(".")[2].lower()
        if kind not in PLACEHOLDER_KINDS:
            raise BadRequest(f"demo flows of {flow}: {where}.{key}: a placeholder file is "
                             f"{' or '.join('.' + k for k in PLACEHOLDER_KINDS)}, not '{name}'")
        if kind not in field.ftype.accepted(field):
            raise BadRequest(f"demo flows of {flow}: {where}.{key}: the field does not accept .{kind} files "
                             f"(it accepts: {', '.join(field.ftype.accepted(field))})")
        out[key] = str(name)
    return out


def _start_moment(row: Mapping[str, Any], field: str | None, zone: ZoneInfo, rng: random.Random) -> datetime:
    value = row.get(field) if field else row.get("created_at")
    return _moment(value, zone, rng) or datetime.now(timezone.utc)


def _moment(value: Any, zone: ZoneInfo, rng: random.Random) -> datetime | None:
    """A date-time as is (UTC when naive), a date at a working hour that day; None for anything else."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        local = datetime.combine(value, time(rng.randint(9, 16), rng.randrange(60)), zone)
        return local.astimezone(timezone.utc)
    return None


class _Walk:
    """One run's walk: act on its open tasks until it finishes or waits, firing its timers as they fall due."""

    def __init__(self, platform: Any, service: Any, live: Any, form: Any, row: Mapping[str, Any],
                 steps: Mapping[str, list[dict[str, Any]]], clock: FrozenClock, now: datetime, rng: random.Random,
                 low: float, high: float, zone: ZoneInfo) -> None:
        from rules_engine import Env

        self.platform, self.service, self.live, self.form, self.row = platform, service, live, form, row
        self.steps, self.clock, self.now, self.rng, self.low, self.high = steps, clock, now, rng, low, high
        self.zone = zone
        self.env = Env(clock=clock.now, timezone=live.spec.settings.timezone)
        self.people: dict[int, Any] = {}

    def run(self, conn: Any, instance_id: int, status: Mapping[str, Any]) -> bool:
        """True when the run finished, False when it waits."""
        chosen: dict[tuple[str, int], dict[str, Any] | None] = {}  # (node, pass) → the choice its people follow
        passes: dict[str, int] = {}
        last_node = None
        for _ in range(MAX_ACTIONS):
            if status.get("status") != "running":
                return True
            tasks = status.get("open_tasks") or []
            if not tasks:
                return False
            task = tasks[0]
            node = task["node"]
            if node != last_node:
                passes[node] = passes.get(node, 0) + 1
                last_node = node
            key = (node, passes[node])
            if key not in chosen:
                chosen[key] = _choose(self.steps.get(node) or [], self.row, self.rng, self.env)
            choice = chosen[key]
            at = None if choice is None or choice["action"] == "wait" else self._when(choice)
            if at is None or at >= self.now:  # it waits: what falls due until now happens meanwhile
                if self._fire_timers(conn, instance_id, self.now):
                    status = self._status(conn, instance_id)
                    continue
                return False
            if self._fire_timers(conn, instance_id, at):
                status = self._status(conn, instance_id)
                if task["id"] not in {t["id"] for t in status.get("open_tasks") or []}:
                    continue  # an escalation moved the task on: its new state decides
            self.clock.set(at)
            assignee = task.get("assignee_id")
            if assignee is None:
                return False
            who = self.people.get(assignee) or load_principal(conn, int(assignee))
            if who is None:
                return False
            self.people[assignee] = who
            payload: dict[str, Any] = {}
            if choice.get("reason"):
                payload["reason"] = choice["reason"]
            if choice.get("to"):
                payload["to"] = choice["to"]
            values = {k: _plain(e.evaluate(self.row, self.env)) for k, e in choice["values"].items()}
            for field, name in choice["files"].items():
                values[field] = [self._placeholder(conn, field, name, who)]
            if values:
                payload["values"] = values
            status = self.service.act(conn, int(task["id"]), who, choice["action"], payload)["status"]
        return False

    def put_back(self, conn: Any, keep: list[str]) -> None:
        """Give ``keep``'s fields their generated values again (a later state the flow does not reach), saved by
        the platform now, as an update of the record with its audit entry."""
        from engine.permissions import SYSTEM

        records = self.platform.services["records"]
        table = records.table(self.live, self.form)
        current = conn.execute(select(*(table.c[k] for k in keep)).where(table.c.id == self.row["id"])).mappings().one()
        changes = {k: _plain(self.row[k]) for k in keep if current[k] != self.row[k]}
        if changes:
            self.clock.set(max(self.now, self.clock.now()))
            records.update(conn, self.live, self.form.key, self.row["id"], changes, SYSTEM, if_match=None,
                           check_rights=False)

    def _when(self, choice: Mapping[str, Any]) -> datetime:
        """When the action happens: ``at`` when that is after the task was created, else some hours later."""
        since = self.clock.now()
        if choice["at"] is not None:
            value, _error = choice["at"].try_evaluate(self.row, self.env)
            at = _moment(value, self.zone, self.rng)
            if at is not None and at > since:
                return at
        return since + timedelta(hours=self.rng.uniform(self.low, self.high))

    def _fire_timers(self, conn: Any, instance_id: int, until: datetime) -> int:
        """Fire the run's reminders and escalations due by ``until``, each at its due moment; how many fired."""
        from .tables import timers

        fired = 0
        for _ in range(MAX_ACTIONS):
            due = conn.execute(select(timers).where(timers.c.instance_id == instance_id, timers.c.due_at <= until)
                               .order_by(timers.c.due_at, timers.c.id).limit(1)).mappings().first()
            if due is None:
                break
            moment = due["due_at"] if due["due_at"].tzinfo else due["due_at"].replace(tzinfo=timezone.utc)
            self.clock.set(max(moment, self.clock.now()))
            # the flow service's own firing, in this run's transaction (fire_due_timers opens one per timer)
            self.service._fire(conn, due, self.clock.now())  # noqa: SLF001
            fired += 1
        return fired

    def _status(self, conn: Any, instance_id: int) -> dict[str, Any]:
        from .store import OPEN_TASKS
        from .tables import instances

        state = conn.execute(select(instances.c.status).where(instances.c.id == instance_id)).scalar_one()
        return {"status": state, "open_tasks": [{"id": t.id, "node": t.node, "assignee_id": t.assignee_id}
                                                for t in conn.execute(OPEN_TASKS, {"b_id": instance_id})]}

    def _placeholder(self, conn: Any, key: str, name: str, who: Any) -> dict[str, Any]:
        """A small valid file of the name's kind, stored as an upload by ``who`` now, for the file field ``key``."""
        from engine import files as file_store

        field = self.form.by_key[key]
        limit = int(self.platform.settings.max_upload_bytes)
        limit = min(limit, int(field.extra.get("max_size", limit)))
        kind = name.rpartition(".")[2].lower()
        data = placeholder_pdf(name) if kind == "pdf" else placeholder_png()
        stored = file_store.save_upload(conn, Path(self.platform.settings.attachments_dir), name, data,
                                        allowed=field.ftype.accepted(field), max_bytes=limit, user_id=who.id,
                                        now=self.clock.now())
        return {"id": stored.id, "name": stored.name}


def _choose(choices: list[dict[str, Any]], row: Mapping[str, Any], rng: random.Random, env: Any
            ) -> dict[str, Any] | None:
    for choice in choices:
        if choice["if"] is not None and choice["if"].try_evaluate(row, env)[0] is not True:
            continue
        if "share" in choice and rng.random() >= float(choice["share"]):
            continue
        return choice
    return None


def placeholder_pdf(title: str) -> bytes:
    """A one-page PDF saying it stands in for ``title`` (demo data): small, valid, with a correct xref table."""
    name = "".join(c for c in title if c.isascii() and c.isprintable() and c not in "()\\")
    stream = f"BT /F1 14 Tf 72 770 Td (Loomwork demo data: a placeholder file {name}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
               b"/Contents 5 0 R >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def placeholder_png(width: int = 32, height: int = 32) -> bytes:
    """A small grey PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xc8" * width for _ in range(height))  # filter byte, then one grey byte a pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
