"""The rehearsal's steps in runbook order: one title per step, used by tests, ordering and report.

A hop's steps must run in this order (a backup before the upgrade, the hook before the smoke
tests), whatever order pytest collects the suites' files in, and a report lists them in the
same order. Titles are the only names: a suite marks each test with one, the plugin sorts by
it, and the report prints it.
"""

from __future__ import annotations

INSTALL = "install the source release"

#: Per-hop steps, in the runbook's order ("Before You Upgrade", then "Upgrade Procedure").
HOP_STEPS: tuple[str, ...] = (
    "obtain and extract the new chart",
    "back up every datastore and prove the backup",
    "capture the release state",
    "diff values against the new chart",
    "patch release changes image tags only",
    "freeze background work",
    "plan the upgrade: helm template and server dry run",
    "apply the upgrade",
    "migration hook complete",
    "rollout complete",
    "CLI key is a well-formed PEM",
    "migrations match the release",
    "no row lost",
    "smoke: studio answers",
    "smoke: invited user's e-mail arrives",
    "smoke: CLI authenticates and uploads",
    "availability during the upgrade",
)

ALL_STEPS: tuple[str, ...] = (INSTALL, *HOP_STEPS)


def step_rank(title: str) -> int:
    """Position of ``title`` in runbook order; an unknown title is a suite's typo, so it raises."""
    try:
        return ALL_STEPS.index(title)
    except ValueError:
        raise ValueError(f"unknown rehearsal step {title!r}; known steps: {', '.join(ALL_STEPS)}") from None
