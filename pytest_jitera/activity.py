"""Where a rehearsal's time goes: every external command, API watch, HTTP call and wait.

A rehearsal spends nearly all of its time in helm, kubectl, pg_dump, the API server and the
product's own rollout; what is left is the harness's overhead, and the only honest way to
show it is to measure the rest. Each of those calls records its wall-clock interval here.
The record is process-wide (like a logging handler) because one rehearsal is one process
and the calls come from threads the steps start; nothing reads it but the report.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Interval:
    """One external call: what it was and when (monotonic seconds)."""

    kind: str
    start: float
    end: float


_lock = threading.Lock()
_intervals: list[Interval] = []


@contextlib.contextmanager
def external(kind: str) -> Iterator[None]:
    """Record the block as time spent outside the harness (a command, a watch, a wait)."""
    start = time.monotonic()
    try:
        yield
    finally:
        with _lock:
            _intervals.append(Interval(kind, start, time.monotonic()))


def recorded() -> list[Interval]:
    """Every interval so far."""
    with _lock:
        return list(_intervals)


def covered(intervals: Iterable[Interval]) -> float:
    """Seconds covered by at least one interval (parallel calls counted once)."""
    total = 0.0
    end = float("-inf")
    for item in sorted(intervals, key=lambda i: i.start):
        if item.start > end:
            total += item.end - item.start
            end = item.end
        elif item.end > end:
            total += item.end - end
            end = item.end
    return total


def summarize(intervals: Iterable[Interval], wall: float, *, began: float | None = None) -> dict[str, Any]:
    """Seconds per kind, the covered total, and the harness's share of ``wall``.

    With ``began`` (monotonic), only the window ``[began, began + wall]`` counts: a call from
    before the run, or one still going at its end, is cut to the window.
    """
    items = list(intervals)
    if began is not None:
        end = began + wall
        items = [
            Interval(i.kind, max(i.start, began), min(i.end, end))
            for i in items
            if i.end > began and i.start < end
        ]
    by_kind: dict[str, float] = {}
    for item in items:
        by_kind[item.kind] = by_kind.get(item.kind, 0.0) + (item.end - item.start)
    outside = covered(items)
    return {
        "wall_seconds": round(wall, 3),
        "external_seconds": round(outside, 3),
        "overhead_seconds": round(max(0.0, wall - outside), 3),
        "overhead_ratio": round(max(0.0, wall - outside) / wall, 4) if wall > 0 else 0.0,
        "by_kind": {k: round(v, 3) for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        "calls": len(items),
    }
