"""How long each step of a rehearsal took, set against the runbook's downtime estimates.

The runbook gives a range for each part of the Scenario 3 outage (scale-down, snapshot
restore, endpoint switch with the rollback, rollout). A rehearsal on a copy of production is
the only way to know where inside (or outside) those ranges a given installation falls, so
every step is timed and the report carries a table of measured time next to the estimate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jitera.runbook.availability import Sample, by_target, outages

# The runbook's downtime rows, as the step names the rollback steps time themselves under.
SCALE_DOWN = "app scale-down"
SNAPSHOT_RESTORE = "snapshot restore"
ENDPOINT_SWITCH = "endpoint switch + helm rollback"
ROLLOUT = "rollout completion"

#: Runbook estimate per downtime row, in minutes (low, high).
RUNBOOK_ESTIMATES: dict[str, tuple[int, int]] = {
    SCALE_DOWN: (1, 5),
    SNAPSHOT_RESTORE: (5, 30),
    ENDPOINT_SWITCH: (1, 3),
    ROLLOUT: (2, 10),
}


@dataclass
class StepTimer:
    """Wall-clock seconds per step name; a step run twice (two scale-downs) adds up."""

    seconds: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, started: float) -> None:
        """Add the time since ``started`` (a ``time.monotonic()`` value) to step ``name``."""
        self.add(name, time.monotonic() - started)

    def add(self, name: str, seconds: float) -> None:
        """Add ``seconds`` to step ``name``."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


@dataclass(frozen=True)
class DowntimeRow:
    """One line of the downtime table."""

    step: str
    seconds: float
    estimate: tuple[int, int] | None

    @property
    def verdict(self) -> str:
        """Where the measured time falls against the runbook's range."""
        return estimate_verdict(self.seconds, self.estimate)


WITHIN = "within the estimate"
UNDER = "under the estimate"
OVER = "over the estimate"
#: Every verdict a row can have; ``""`` is a step the runbook gives no estimate for.
VERDICTS: tuple[str, ...] = (WITHIN, UNDER, OVER, "")


def estimate_verdict(seconds: float, estimate: tuple[int, int] | None) -> str:
    """Where ``seconds`` falls against a runbook range in minutes; ``""`` when there is no range.

    Shared by the step-timer table and the per-procedure rows, so a restore that reads "over
    the estimate" in one cannot read "within" in the other.
    """
    if estimate is None:
        return ""
    low, high = estimate
    minutes = seconds / 60
    if minutes > high:
        return OVER
    return WITHIN if minutes >= low else UNDER


def downtime_rows(timer: StepTimer) -> list[DowntimeRow]:
    """The runbook's downtime rows first (in its order, when measured), then every other step."""
    rows = [
        DowntimeRow(n, timer.seconds[n], RUNBOOK_ESTIMATES[n])
        for n in RUNBOOK_ESTIMATES
        if n in timer.seconds
    ]
    rows += [DowntimeRow(n, s, None) for n, s in timer.seconds.items() if n not in RUNBOOK_ESTIMATES]
    return rows


def render_downtime_table(rows: list[DowntimeRow]) -> str:
    """A Markdown table: step, measured time, runbook estimate, verdict."""
    lines = ["| Step | Measured | Runbook estimate | |", "|---|---|---|---|"]
    for row in rows:
        estimate = f"{row.estimate[0]} - {row.estimate[1]} min" if row.estimate else "-"
        lines.append(f"| {row.step} | {_duration(row.seconds)} | {estimate} | {row.verdict} |")
    return "\n".join(lines) + "\n"


def write_downtime_table(timer: StepTimer, path: Path) -> Path:
    """Write the table for the report; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_downtime_table(downtime_rows(timer)))
    return path


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


@dataclass
class ProcedureRecord:
    """One rollback procedure as rehearsed: its steps' spans, the prober's samples, its findings.

    Spans and samples share one clock, seconds since ``started`` (the epoch second the
    procedure's prober started), so the time a step made users wait is the overlap of its span
    with the outages of the samples. ``findings`` are failures the runbook predicts and the
    rehearsal shows on purpose (an admin task on a dropped table, ``DROP DATABASE`` refused):
    named in the report, never counted as passes. ``observations`` are facts a later step
    reads (the status of an endpoint after the recovery, rows left NULL).
    """

    procedure: str
    scenario: int
    started: float = 0.0
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    observations: dict[str, object] = field(default_factory=dict)
    outcome: str = "not finished"


@dataclass(frozen=True)
class MeasuredStep:
    """One step of a rehearsed procedure: its span, the users' wait inside it, the runbook's range.

    ``start`` and ``end`` are on the record's clock (seconds since ``ProcedureRecord.started``).
    ``unavailable`` is the time inside the span during which *any* probe target was down: the
    union over targets, not the worst single target. Studio down for the first half of a
    restore and the API for the second half is a whole restore during which some user could
    not work; the worst target would report half of it, and a window booked from that number
    would be too short. The per-target split is :func:`unavailable_by_target`.

    The verdict sets the step's *duration* against the runbook's range, as
    :class:`DowntimeRow` does: the range sizes the maintenance window an operator books, and
    the window lasts as long as the step whether or not a probe happened to fail in it (old
    pods still answering during a scale-down do not make the scale-down shorter).
    ``unavailable`` is shown beside it as what users actually saw.
    """

    step: str
    start: float
    end: float
    unavailable: float
    estimate: tuple[int, int] | None

    @property
    def seconds(self) -> float:
        """The span's length; a reversed span counts as none rather than negative."""
        return max(0.0, self.end - self.start)

    @property
    def verdict(self) -> str:
        """The measured duration against the runbook's range (``""`` for a non-runbook step)."""
        return estimate_verdict(self.seconds, self.estimate)


def measured_steps(record: ProcedureRecord) -> list[MeasuredStep]:
    """Every span of ``record`` as a row, in time order, with its overlap with the outages.

    A step that ran twice (the in-place procedure scales down twice) stays two rows: the two
    happen at different moments with different consequences, and adding them up would hide
    which one was slow. An outage that spans two steps is split between them by overlap, so
    each step carries exactly its own share. An outage still open when probing stopped ends
    at the last sample, as :func:`~pytest_jitera.runbook.availability.outages` has it: the
    rows report what was measured and nothing is extrapolated past it.
    """
    down = _union((o.start, o.end) for o in outages(record.samples))
    spans = sorted(record.spans, key=lambda span: span[1])
    return [
        MeasuredStep(name, start, end, _overlap(down, start, end), RUNBOOK_ESTIMATES.get(name))
        for name, start, end in spans
    ]


def unavailable_by_target(record: ProcedureRecord) -> dict[str, float]:
    """Per probe target, how long it was down during the whole procedure (steps or not).

    Every sampled target is present, a target that never failed with 0, so "available
    throughout" can be told apart from "not probed"; targets are in the order first probed.
    """
    return {
        target: sum(end - start for start, end in _union((o.start, o.end) for o in outages(samples)))
        for target, samples in by_target(record.samples).items()
    }


def procedure_seconds(record: ProcedureRecord) -> float:
    """How long the procedure ran: to its last span's end or its last sample, whichever is later.

    Both clocks start at the record's ``started``; taking the later end keeps a trailing
    outage (samples after the last step) inside the procedure.
    """
    ends = [end for _, _, end in record.spans] + [s.at for s in record.samples]
    return max([0.0, *(end for end in ends if math.isfinite(end))])


def _union(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Disjoint, sorted intervals covering the same time; overlaps counted once."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted((s, e) for s, e in intervals if math.isfinite(s) and math.isfinite(e) and e > s):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlap(intervals: list[tuple[float, float]], start: float, end: float) -> float:
    """Total time of the disjoint ``intervals`` inside ``[start, end]``."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return 0.0
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in intervals)
