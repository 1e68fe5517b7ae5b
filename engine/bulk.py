"""Bulk work in one process: the cyclic garbage collector paused while many short-lived objects are made.

An import of 50,000 rows makes a few hundred thousand dicts, lists and row objects, none of them in reference cycles
(reference counting frees them as usual). With the collector on, their sheer number triggers repeated full
collections, each walking every object the process holds (the platform, the workbook, the plan): on a large import
that was a third of its CPU time. ``gc_paused()`` turns the automatic collector off for the duration and back on at
the end, counting nested and concurrent users (threads), so the last one to leave restores it; cyclic garbage made in
the meantime is collected by the next automatic collection after that.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_users = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _users, _was_enabled
    with _lock:
        if _users == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _was_enabled:
                gc.enable()
