"""A rehearsal's CPU and memory, read from the kubelets' Summary API, and the peak of it.

How many rehearsals a cluster runs at once is set by what one rehearsal needs at its worst
moment, not on average, so only the peak is kept. Each rehearsal owns a namespace, so the
namespace's pods are what it costs. The kubelet leaves fields out while a pod starts or
stops (``usageNanoCores`` needs two cgroup reads), so anything missing or odd counts as 0
instead of failing a read that is otherwise good. The sampling thread lives in
:mod:`pytest_jitera.cluster.usage_sampler`; this module reads JSON and does arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# This many failed reads before the first good one: the peak does not cover the run's start.
STARTUP_FAILURES = 3

_UNITS = ("B", "KiB", "MiB", "GiB")


@dataclass(frozen=True)
class Usage:
    """One moment of a namespace, summed over its pods on every node."""

    cpu_cores: float
    memory_bytes: int


def _amount(stats: Any, field: str) -> float:
    """A non-negative number from ``stats[field]``, or 0 when it is absent or not a number."""
    if not isinstance(stats, Mapping):
        return 0.0
    value = stats.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    if not math.isfinite(value) or value < 0:
        return 0.0
    return float(value)


def _pods(summary: Any) -> Iterable[Mapping[str, Any]]:
    pods = summary.get("pods") if isinstance(summary, Mapping) else None
    if not isinstance(pods, list):
        return ()
    return (pod for pod in pods if isinstance(pod, Mapping))


def namespace_usage(summaries: Iterable[Mapping[str, Any]], namespace: str) -> Usage:
    """The pods of ``namespace`` on every node; a pod sits on one node, so none is counted twice.

    Pod-level figures are used, not the containers' sum: they include the pod's sandbox and
    init containers, which the cluster has to fit as well.
    """
    nanocores = 0.0
    memory = 0.0
    for summary in summaries:
        for pod in _pods(summary):
            ref = pod.get("podRef")
            if not isinstance(ref, Mapping) or ref.get("namespace") != namespace:
                continue
            nanocores += _amount(pod.get("cpu"), "usageNanoCores")
            memory += _amount(pod.get("memory"), "workingSetBytes")
    return Usage(cpu_cores=nanocores / 1e9, memory_bytes=int(memory))


def format_bytes(n: int) -> str:
    """Bytes for a reader: whole B and KiB, one decimal for MiB and GiB (GiB is the largest)."""
    for power, unit in enumerate(_UNITS[:-1]):
        decimals = 1 if power >= 2 else 0
        shown = n / 1024**power
        if abs(round(shown, decimals)) < 1024:
            return f"{shown:.{decimals}f} {unit}"
    return f"{n / 1024**3:.1f} GiB"


def _seconds(at: float | None) -> str:
    return "?" if at is None else f"{at:.0f} s"


@dataclass
class Peak:
    """The highest CPU and memory seen and when, each on its own: they rarely peak together.

    Failed reads are counted, not raised: a report with a partial peak, saying so, is more use
    than a rehearsal that failed because metrics were briefly unavailable.
    """

    samples: int = 0
    cpu_cores: float = 0.0
    memory_bytes: int = 0
    cpu_at: float | None = None
    memory_at: float | None = None
    interval: float | None = None
    failures: int = 0
    failures_at_start: int = 0
    unavailable: str = ""

    def add(self, usage: Usage, at: float) -> None:
        """Take one moment's usage, read ``at`` seconds after the sampler started."""
        self.samples += 1
        if self.cpu_at is None or usage.cpu_cores > self.cpu_cores:
            self.cpu_cores, self.cpu_at = usage.cpu_cores, at
        if self.memory_at is None or usage.memory_bytes > self.memory_bytes:
            self.memory_bytes, self.memory_at = usage.memory_bytes, at

    def fail(self, reason: str) -> None:
        """Count a read that gave no usage; ``reason`` is kept for the description."""
        self.failures += 1
        if self.samples == 0:
            self.failures_at_start += 1
        self.unavailable = reason

    @property
    def missed_start(self) -> bool:
        """True when metrics were unavailable as the run began, so the peak may be too low."""
        return self.failures_at_start >= STARTUP_FAILURES

    def describe(self) -> str:
        """One line for a report."""
        if self.samples == 0:
            if self.failures == 0:
                return "no usage sample (the sampler stopped before its first read)"
            return f"no usage sample (metrics unavailable: {self.unavailable})"
        notes = [f"{self.samples} sample" + ("" if self.samples == 1 else "s")]
        if self.interval is not None:
            notes.append(f"every {self.interval:g} s")
        early = self.failures_at_start if self.missed_start else 0
        if early:
            notes.append(f"metrics unavailable for the first {early} reads")
        if self.failures > early:
            notes.append(f"{self.failures - early} failed reads")
        if self.failures:
            notes.append(f"last error: {self.unavailable}")
        return (
            f"peak CPU {self.cpu_cores:.2f} cores at {_seconds(self.cpu_at)}, "
            f"peak memory {format_bytes(self.memory_bytes)} at {_seconds(self.memory_at)} "
            f"({', '.join(notes)})"
        )
