"""Optional result cache per report, caller scope and filter set, invalidated when the dataset's tables change.

Each (app, form) has a generation number. A record change bumps the generations of its form twice: inside the
record's transaction (``hooks.record_events``), and again when the connection that wrote it goes back to the pool,
after the commit — so a run that read the old rows while the write was in flight can never be served later.
An entry remembers the generations of every form its report reads and is used only while they are unchanged and
its time to live has not run out. The cache lives in one process: with several worker processes a write made
by another process is seen at the latest after the report's ``cache`` seconds.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Hashable

DIRTY = "lw_reports_dirty"


class ResultCache:
    def __init__(self, max_entries: int = 512) -> None:
        self._lock = threading.Lock()
        self._generations: dict[tuple[str, str], int] = {}
        self._entries: OrderedDict[Hashable, tuple[tuple[int, ...], float, Any]] = OrderedDict()
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def generations(self, app: str, forms: tuple[str, ...]) -> tuple[int, ...]:
        with self._lock:
            return tuple(self._generations.get((app, f), 0) for f in forms)

    def bump(self, app: str, form: str) -> None:
        with self._lock:
            self._generations[(app, form)] = self._generations.get((app, form), 0) + 1

    def get(self, key: Hashable, generations: tuple[int, ...]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != generations or entry[1] < time.monotonic():
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def put(self, key: Hashable, generations: tuple[int, ...], ttl: float, value: Any) -> None:
        with self._lock:
            self._entries[key] = (generations, time.monotonic() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def watch(engine: Any, cache: ResultCache) -> None:
    """Bump again, after the commit, the forms a connection wrote (see the module docstring)."""
    from sqlalchemy import event

    def checkin(dbapi_connection: Any, record: Any) -> None:
        dirty = record.info.pop(DIRTY, None) if record is not None else None
        for app, form in dirty or ():
            cache.bump(app, form)

    event.listen(engine, "checkin", checkin)


def mark(conn: Any, cache: ResultCache, app: str, form: str) -> None:
    cache.bump(app, form)
    conn.info.setdefault(DIRTY, set()).add((app, form))
