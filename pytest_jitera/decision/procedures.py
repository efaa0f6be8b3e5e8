"""The rollback procedures a rehearsal can drive, and which ones a hop gets.

The classifier says which scenario a release pair falls into; the runbook then names one
procedure per scenario, and two for Scenario 3 (a new instance, recommended, or the same
instance for installations that cannot afford a second one). The operator may force a
scenario (``--jitera-scenario``) to rehearse a heavier procedure than the pair needs, and pick
the Scenario 3 strategy (``--jitera-rollback-strategy``). Kept free of pytest and of the
cluster so the choice is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pytest_jitera.decision.classify import Classification, Scenario
from pytest_jitera.release.planner import Hop


class Procedure(str, Enum):
    """One rollback procedure of the runbook; the value is how test ids and reports spell it."""

    HELM_ROLLBACK = "scenario1-helm-rollback"
    HELM_ROLLBACK_VERIFIED = "scenario2-helm-rollback"
    NEW_INSTANCE = "scenario3-new-instance"
    IN_PLACE = "scenario3-in-place"

    @property
    def scenario(self) -> Scenario:
        """The scenario this procedure belongs to."""
        return {
            Procedure.HELM_ROLLBACK: Scenario.PATCH_ROLLBACK,
            Procedure.HELM_ROLLBACK_VERIFIED: Scenario.FORWARD_COMPATIBLE,
        }.get(self, Scenario.INTEGRITY_RISK)

    @property
    def restores_snapshots(self) -> bool:
        """Whether the procedure puts the pre-upgrade snapshots back."""
        return self.scenario is Scenario.INTEGRITY_RISK


#: ``--jitera-rollback-strategy`` values and the Scenario 3 procedures each selects.
STRATEGIES: dict[str, tuple[Procedure, ...]] = {
    "new-instance": (Procedure.NEW_INSTANCE,),
    "in-place": (Procedure.IN_PLACE,),
    "both": (Procedure.NEW_INSTANCE, Procedure.IN_PLACE),
}


def procedures_for(
    classified: Scenario, *, forced: Scenario | None = None, strategy: str = "new-instance"
) -> tuple[Procedure, ...]:
    """The procedures to rehearse on a hop, in the order to run them.

    ``forced`` replaces the classification (``--jitera-scenario=1|2|3``); ``auto`` is None.
    """
    scenario = classified if forced is None else forced
    if scenario is Scenario.PATCH_ROLLBACK:
        return (Procedure.HELM_ROLLBACK,)
    if scenario is Scenario.FORWARD_COMPATIBLE:
        return (Procedure.HELM_ROLLBACK_VERIFIED,)
    try:
        return STRATEGIES[strategy]
    except KeyError:
        known = ", ".join(STRATEGIES)
        raise ValueError(f"unknown rollback strategy {strategy!r}; use one of {known}") from None


@dataclass(frozen=True)
class HopClassification:
    """A hop's verdict and the procedures chosen from it (the report and test ids show both)."""

    hop: str
    classification: Classification
    procedures: tuple[Procedure, ...]
    forced: Scenario | None = None

    @property
    def scenario(self) -> Scenario:
        """The scenario rehearsed: the forced one when the operator chose, else the verdict."""
        return self.classification.scenario if self.forced is None else self.forced


@dataclass(frozen=True)
class RollbackCase:
    """One rollback to rehearse: a procedure on a hop, with the verdict that chose it.

    The verdict travels with the case so a rollback test can say why it runs this procedure
    (the reasons and their evidence) without classifying again.
    """

    hop: Hop
    procedure: Procedure
    classification: HopClassification

    @property
    def id(self) -> str:
        """The test id: ``v24.06.01->v24.07.01-scenario3-new-instance``."""
        return f"{self.hop.old.version}->{self.hop.new.version}-{self.procedure.value}"
