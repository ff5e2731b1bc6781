"""Pause Python's cyclic garbage collector while a batch allocates.

A billing chunk allocates a few hundred thousand short-lived objects (rows, charges, invoice
lines) that form no reference cycles: reference counting frees them. The cyclic collector,
triggered by allocations, would meanwhile rescan the long-lived price book and its memos again
and again, about a sixth of the run's time. So it is paused during a batch, and the young
generations are collected once at its end. Process-wide (the collector is), counted so that
batches running in several threads resume it only when the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
        gc.collect(1)  # what the batch left of cycles, without a full (long-lived) scan
