"""Runbook section "Rollback": helm alone, restore to a new instance, or restore in place.

Which one applies is the scenario decision (:mod:`pytest_jitera.decision`); these are the
procedures themselves.

* Scenarios 1 and 2: :func:`rollback_helm_only`, back to the revision recorded before.
* Scenario 3, recommended: the snapshot goes into a *new* database
  (:func:`restore_to_new_instance`) and the previous chart is deployed pointing at it
  (:func:`redeploy_previous_chart`), so no old-version pod ever meets the new-version schema.
* Scenario 3, small installations: :func:`restore_in_place`. ``helm rollback`` puts every
  replica count back, so the pods frozen before come back to life and hold connections to the
  database about to be replaced; they must be scaled down a second time first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_jitera.charts.chart import Chart
from pytest_jitera.datastores import PgConnInfo, RestoreResult, restore_postgres
from pytest_jitera.runbook.before_upgrade import DB_CLIENTS, freeze_workloads, unfreeze_workloads
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import pg_login, pg_pod_tools, pg_store
from pytest_jitera.runbook.downtime import ENDPOINT_SWITCH, SNAPSHOT_RESTORE
from pytest_jitera.runbook.upgrade import HelmOutcome, chart_root, outcome


@dataclass(frozen=True)
class RestoredDatabase:
    """A snapshot restored into a database of its own, and the values that point the chart at it."""

    store: str
    login: PgConnInfo
    result: RestoreResult

    @property
    def endpoint_values(self) -> dict[str, str]:
        """``--set-string`` values repointing the chart at the restored database (no secrets)."""
        return {f"{pg_store(self.store).values_key}.database": self.login.dbname}


@dataclass(frozen=True)
class InPlaceRestore:
    """What the in-place procedure did: the rollback's revision, the restore, the replicas given back."""

    revision: int
    result: RestoreResult
    replicas: dict[str, int]


def rollback_helm_only(r: Rehearsal, revision: int) -> int:
    """Scenarios 1 and 2: ``helm rollback`` to the recorded revision; return the new revision."""
    with r.step(f"helm rollback to revision {revision}"):
        r.helm.rollback(r.release, revision)
        return r.helm.history(r.release)[-1].revision


def restore_to_new_instance(
    r: Rehearsal, dump: Path, database: str, store: str = "postgresql"
) -> RestoredDatabase:
    """Restore ``dump`` into the new database ``database`` on the store's server.

    The database must not exist yet; a restore that fails half-way drops what it created, so a
    half-restored database is never mistaken for a good one.
    """
    with r.step(SNAPSHOT_RESTORE):
        login = pg_login(r, store).with_db(database)
        result = restore_postgres(dump, login, tools=pg_pod_tools(r, store))
        return RestoredDatabase(store, login, result)


def redeploy_previous_chart(
    r: Rehearsal, previous_chart: Chart | Path, endpoint_values: Mapping[str, str]
) -> HelmOutcome:
    """Scenario 3, recommended: deploy the previous chart, pointed at the restored database.

    A plain ``helm rollback`` cannot change values, so it would first bring the old pods back
    on the old endpoint; deploying the previous chart folder (kept beside the new one for
    exactly this) with the endpoint values switches both in one Helm step.
    """
    root = chart_root(previous_chart)
    with r.step(ENDPOINT_SWITCH):
        done = r.helm.upgrade(r.release, root, r.values.for_chart(root), endpoint_values)
        return outcome(r, done.returncode)


def restore_in_place(
    r: Rehearsal, revision: int, dump: Path, store: str = "postgresql", components: Sequence[str] = DB_CLIENTS
) -> InPlaceRestore:
    """The alternative for small installations: rollback, scale down again, restore over the database.

    Call it after :func:`~pytest_jitera.runbook.before_upgrade.freeze_workloads` (the first
    scale-down). ``pg_restore --clean`` leaves objects the newer release created (Risk C):
    follow up with :func:`pytest_jitera.datastores.find_restore_leftovers`.
    """
    new_revision = rollback_helm_only(r, revision)
    replicas = freeze_workloads(r, components)  # the rollback brought them back
    with r.step(SNAPSHOT_RESTORE):
        result = restore_postgres(dump, pg_login(r, store), in_place=True, tools=pg_pod_tools(r, store))
    unfreeze_workloads(r, replicas)
    return InPlaceRestore(new_revision, result, replicas)
