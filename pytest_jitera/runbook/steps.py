"""The rehearsal's steps in runbook order: one title per step, used by tests, ordering and report.

A hop's steps must run in this order (a backup before the upgrade, the hook before the smoke
tests), whatever order pytest collects the suites' files in, and a report lists them in the
same order. Titles are the only names: a suite marks each test with one, the plugin sorts by
it, and the report prints it.
"""

from __future__ import annotations

INSTALL = "install the source release"
ROLL_BACK_AND_RECOVER = "roll back and recover"
RISK_A_RIGHT = "Risk A done right: restore before the old code runs"
RISK_B_RIGHT = "Risk B done right: restore, so the backfill runs again"
RISK_C_RIGHT = "Risk C done right: drop the database and restore"
RISK_A_WRONG = "Risk A done wrong: helm rollback alone"
RISK_B_WRONG = "Risk B done wrong: writes in the rollback window"
RISK_C_WRONG = "Risk C done wrong: clean-mode restore in place"
AUTOMATIC_ROLLBACK = "Helm's automatic rollback after a partial migration"

#: Per-hop steps, in the runbook's order ("Before You Upgrade", then "Upgrade Procedure").
HOP_STEPS: tuple[str, ...] = (
    "obtain and extract the new chart",
    "back up every datastore and prove the backup",
    "capture the release state",
    "diff values against the new chart",
    "classify the rollback scenario",
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
    # Runbook "Rollback": each procedure the hop's scenario calls for, one test per procedure,
    # each ending re-upgraded to the hop's new release so the path goes on from a verified state.
    ROLL_BACK_AND_RECOVER,
    # The three risks shown on the reference stack (--jitera-rollback-strategy=both): the right
    # way reads what the procedures above observed; the wrong way runs its own rollback.
    RISK_A_RIGHT,
    RISK_B_RIGHT,
    RISK_C_RIGHT,
    RISK_A_WRONG,
    RISK_B_WRONG,
    RISK_C_WRONG,
    AUTOMATIC_ROLLBACK,
)

ALL_STEPS: tuple[str, ...] = (INSTALL, *HOP_STEPS)


def step_rank(title: str) -> int:
    """Position of ``title`` in runbook order; an unknown title is a suite's typo, so it raises."""
    try:
        return ALL_STEPS.index(title)
    except ValueError:
        raise ValueError(f"unknown rehearsal step {title!r}; known steps: {', '.join(ALL_STEPS)}") from None
