"""What the product's users would have seen during an upgrade: samples, outages, a summary.

The runbook promises that some upgrades need no downtime and estimates the outage of the
others. Only a prober that keeps asking the product's Services while a hop runs can say
whether that held, and how long the answer was "no". This module is the arithmetic of that
record; it takes plain samples, so the cluster-side prober
(:mod:`pytest_jitera.cluster.prober`) and the report can both be checked without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """One answer (or none) from one target; ``at`` is seconds since the prober started."""

    target: str
    at: float
    ok: bool
    status: int
    error: str = ""

    @property
    def reason(self) -> str:
        """Why the sample failed, in the words a report shows ("HTTP 502", "no endpoints")."""
        if self.ok:
            return ""
        return self.error or f"HTTP {self.status}"


@dataclass(frozen=True)
class Outage:
    """A run of failed samples of one target, until the next good answer."""

    target: str
    start: float
    end: float
    reason: str

    @property
    def seconds(self) -> float:
        """How long the target did not answer well."""
        return self.end - self.start


@dataclass(frozen=True)
class TargetSummary:
    """One target's line in the availability table."""

    target: str
    samples: int
    failures: int
    unavailable_seconds: float
    longest: Outage | None

    @property
    def longest_seconds(self) -> float:
        """The longest single outage, 0 when there was none."""
        return self.longest.seconds if self.longest else 0.0


def by_target(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    """Samples per target in time order; targets in the order they were first probed.

    A prober thread appends in time order already, but merged or reloaded samples may not be,
    and an outage computed on shuffled samples would be nonsense.
    """
    grouped: dict[str, list[Sample]] = {}
    for sample in samples:
        grouped.setdefault(sample.target, []).append(sample)
    return {target: sorted(group, key=lambda s: s.at) for target, group in grouped.items()}


def _target_outages(samples: Sequence[Sample]) -> list[Outage]:
    """The outages of one target's time-ordered samples.

    An outage ends at the first good sample after it, not at the last bad one: the target was
    unavailable until someone saw it answer again. A run of failures at the very end ends at
    its last sample, since nothing later is known. The first failure's reason names it,
    because that is the cause; what follows is usually the same symptom repeated.
    """
    found: list[Outage] = []
    first_bad: Sample | None = None
    for sample in samples:
        if not sample.ok and first_bad is None:
            first_bad = sample
        elif sample.ok and first_bad is not None:
            found.append(Outage(sample.target, first_bad.at, sample.at, first_bad.reason))
            first_bad = None
    if first_bad is not None:
        found.append(Outage(first_bad.target, first_bad.at, samples[-1].at, first_bad.reason))
    return found


def outages(samples: Sequence[Sample]) -> list[Outage]:
    """Every target's outages, ordered by when they started."""
    found = [o for group in by_target(samples).values() for o in _target_outages(group)]
    return sorted(found, key=lambda o: (o.start, o.target))


def summarize(samples: Sequence[Sample]) -> dict[str, TargetSummary]:
    """Per target: how often it was asked, how often it failed, how long it was down."""
    summary: dict[str, TargetSummary] = {}
    for target, group in by_target(samples).items():
        down = _target_outages(group)
        summary[target] = TargetSummary(
            target=target,
            samples=len(group),
            failures=sum(1 for s in group if not s.ok),
            unavailable_seconds=sum(o.seconds for o in down),
            longest=max(down, key=lambda o: o.seconds, default=None),
        )
    return summary
