"""The scenario of a database a failed upgrade left half-migrated.

Helm's automatic rollback (``--rollback-on-failure``, ``--atomic`` on Helm 3) puts the
manifests of the previous revision back, but a migration hook that failed part-way has
already changed the schema, and Helm knows nothing of databases. The state to classify is
then not a release pair but a schema: versions recorded as applied that the running release
does not ship. Old code meeting a schema it was not written for is the runbook's integrity
risk, so any such version means Scenario 3; none means the hook changed nothing and the
rollback is as good as a Scenario 1 one.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_jitera.decision.classify import Reason, Scenario


def classify_partial_schema(
    applied: Iterable[str], shipped: Iterable[str], *, table: str = "schema_migrations"
) -> tuple[Scenario, tuple[Reason, ...]]:
    """Scenario and reasons for a schema listing ``applied`` under code that ships ``shipped``."""
    ahead = sorted(set(applied) - set(shipped))
    if not ahead:
        return Scenario.PATCH_ROLLBACK, (
            Reason(Scenario.PATCH_ROLLBACK, f"{table} lists only versions the running release ships"),
        )
    return Scenario.INTEGRITY_RISK, (
        Reason(
            Scenario.INTEGRITY_RISK,
            f"{table} lists {len(ahead)} version(s) the running release does not ship: the failed "
            "hook applied part of the newer schema and Helm's rollback left it there; only the "
            "pre-upgrade snapshot returns the database to what this release expects",
            tuple(ahead),
        ),
    )
