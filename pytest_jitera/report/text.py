"""How numbers and strings look in the report, shared by the page, its timeline and the terminal.

Kept in one place so a duration reads the same in the headline, the step table, a tooltip
and the terminal summary, and so there is one escaping function that every interpolation
goes through.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime

from pytest_jitera.report.model import HopReport, RollbackReport, RunReport


def esc(text: object) -> str:
    """Text made inert in HTML element content and in quoted attributes alike."""
    return html.escape(str(text), quote=True)


def finite(value: float, default: float = 0.0) -> float:
    """``value`` unless it is NaN or infinite, which would put ``nan`` into SVG coordinates."""
    return value if math.isfinite(value) else default


def duration(seconds: float) -> str:
    """A length of time at the precision a reader cares about at that scale."""
    seconds = max(0.0, finite(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


def moment(epoch: float) -> str:
    """An epoch timestamp in UTC, so readers in different time zones quote the same time."""
    if not math.isfinite(epoch):
        return "unknown"
    try:
        stamp = datetime.fromtimestamp(epoch, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return "unknown"
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def plural(count: int, word: str) -> str:
    """``1 interval``, ``2 intervals``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def unavailable_text(rollback: RollbackReport) -> str:
    """``unavailable 42.0 s (studio 42.0 s, api 3.0 s)``; a procedure nobody probed says so.

    Without samples, "0 s" would claim an availability nobody measured.
    """
    if rollback.samples <= 0 and not rollback.outages:
        return "not probed"
    per_target = ", ".join(f"{t.target} {duration(t.seconds)}" for t in rollback.unavailable)
    total = f"unavailable {duration(rollback.unavailable_seconds)}"
    return f"{total} ({per_target})" if per_target else total


def scenario_text(hop: HopReport) -> str:
    """``scenario 3`` or ``scenario 3, forced (classified 1)``; empty when the hop was not classified."""
    found = hop.classification
    if found is None:
        return ""
    if found.forced:
        return f"scenario {found.scenario}, forced (classified {found.classified})"
    return f"scenario {found.scenario}"


def procedure_line(hop: HopReport, rollback: RollbackReport) -> str:
    """One procedure in one line: outcome, length, expected findings, time users could not work."""
    details = [f"{rollback.outcome} in {duration(rollback.seconds)}"]
    if rollback.findings:
        details.append(plural(len(rollback.findings), "expected finding"))
    details.append(unavailable_text(rollback))
    forced = ", forced" if hop.classification is not None and hop.classification.forced else ""
    label = f"scenario {rollback.scenario}{forced}"
    return f"{hop.name}: rollback {rollback.name} ({label}): {'; '.join(details)}"


def not_rehearsed(hop: HopReport) -> tuple[str, ...]:
    """Procedures the hop's scenario called for that left no record: chosen, then never run."""
    if hop.classification is None:
        return ()
    ran = {rollback.name for rollback in hop.rollbacks}
    return tuple(name for name in hop.classification.procedures if name not in ran)


def rollback_lines(report: RunReport) -> tuple[str, ...]:
    """The rollback half of the run as text, one line per procedure, for the terminal summary.

    A procedure the scenario chose but that never ran gets a line too: its absence is the
    thing a release engineer must not miss.
    """
    lines: list[str] = []
    for hop in report.hops:
        scenario = scenario_text(hop)
        lines += [procedure_line(hop, rollback) for rollback in hop.rollbacks]
        lines += [f"{hop.name}: rollback {name} ({scenario}): not rehearsed" for name in not_rehearsed(hop)]
    return tuple(lines)
