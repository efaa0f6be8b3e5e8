"""How long each step of a rehearsal took, set against the runbook's downtime estimates.

The runbook gives a range for each part of the Scenario 3 outage (scale-down, snapshot
restore, endpoint switch with the rollback, rollout). A rehearsal on a copy of production is
the only way to know where inside (or outside) those ranges a given installation falls, so
every step is timed and the report carries a table of measured time next to the estimate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jitera.runbook.availability import Sample

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
        if self.estimate is None:
            return ""
        low, high = self.estimate
        minutes = self.seconds / 60
        if minutes > high:
            return "over the estimate"
        return "within the estimate" if minutes >= low else "under the estimate"


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
