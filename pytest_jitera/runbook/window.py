"""The maintenance window of one hop, measured at the data size rehearsed.

The runbook puts an upgrade's rollout at ten to thirty minutes and a restore into a new
instance at five to thirty, more for a bigger database; an operator plans the window from those
ranges until a rehearsal on their own data says where they fall. This module gathers, per hop,
the times that decide the window (proving the backups, the migration hook, the whole upgrade
from ``helm upgrade`` to every Deployment rolled out, and, when a Scenario 3 procedure was
rehearsed, the restore into a new server) beside the runbook's range and the size of the
Automation database just before the hop. It reads timings others recorded; it times nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pytest_jitera.report.model import HopWindow, WindowRow
from pytest_jitera.runbook.downtime import RUNBOOK_ESTIMATES, SNAPSHOT_RESTORE, estimate_verdict

# The suite's step titles whose times make up the window (see suites/test_upgrade.py).
BACKUP_STEP = "back up every datastore and prove the backup"
UPGRADE_STEPS = ("apply the upgrade", "migration hook complete", "rollout complete")

#: The runbook's range for an upgrade's rollout, in minutes (its "freeze concurrent workloads" step).
UPGRADE_ESTIMATE = (10, 30)


def _row(step: str, seconds: float, estimate: tuple[int, int] | None) -> WindowRow:
    return WindowRow(step, round(seconds, 1), estimate, estimate_verdict(seconds, estimate))


def maintenance_window(
    step_seconds: Mapping[str, float],
    *,
    hook_seconds: float | None,
    restore_seconds: Iterable[float] = (),
    before: Mapping[str, Mapping[str, Any]] | None = None,
) -> HopWindow | None:
    """The hop's window, or None when the upgrade itself was not timed (it did not run).

    ``step_seconds`` are the hop's steps by title; ``restore_seconds`` the snapshot restores of
    the hop's new-instance procedures (the longest counts); ``before`` the Automation backup's
    per-table statistics, whose rows and bytes give the size the times were measured at.
    """
    if not all(step in step_seconds for step in UPGRADE_STEPS):
        return None
    rows = []
    if BACKUP_STEP in step_seconds:
        rows.append(_row("back up and prove every datastore", step_seconds[BACKUP_STEP], None))
    if hook_seconds is not None:
        rows.append(_row("migration hook", hook_seconds, None))
    upgrade = sum(step_seconds[step] for step in UPGRADE_STEPS)
    rows.append(_row("upgrade: helm upgrade to rolled out", upgrade, UPGRADE_ESTIMATE))
    restores = list(restore_seconds)
    if restores:
        rows.append(
            _row("restore into a new instance", max(restores), RUNBOOK_ESTIMATES[SNAPSHOT_RESTORE])
        )
    tables = before or {}
    return HopWindow(
        rows=sum(int(stats.get("rows", 0)) for stats in tables.values()),
        bytes=sum(int(stats.get("bytes", 0) or 0) for stats in tables.values()),
        steps=tuple(rows),
    )
