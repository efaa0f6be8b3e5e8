"""Runbook section "Before You Upgrade": record, check the overrides, freeze, back up, verify.

Every step takes the :class:`~pytest_jitera.runbook.context.Rehearsal` first and returns what
a later step (the rollback needs the recorded revision and the replica counts) or the report
needs. The backups call the datastores package's public functions and nothing else: how a dump
is taken and proven restorable is that package's business, which pods to reach and where to
keep the files is this one's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jitera.charts.chart import Chart
from pytest_jitera.charts.values_diff import ValuesDiff, diff_values
from pytest_jitera.cluster.helm import ReleaseState
from pytest_jitera.datastores import (
    LocalMongoTools,
    MongoTarget,
    Snapshot,
    Verification,
    decode_secret_data,
    snapshot_mongo,
    snapshot_postgres,
    verify_mongo_snapshot,
    verify_postgres_snapshot,
)
from pytest_jitera.errors import JiteraError
from pytest_jitera.profile.model import WorkloadRef
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import PG_STORE_NAMES, pg_login, pg_pod_tools
from pytest_jitera.yamlfile import load_yaml_mapping


@dataclass(frozen=True)
class RecordedRelease:
    """The revision and live values captured before the upgrade, and where they were saved."""

    state: ReleaseState
    saved_to: Path

    @property
    def revision(self) -> int:
        """The revision a rollback returns to."""
        return self.state.revision


@dataclass(frozen=True)
class Backups:
    """The snapshots taken before the upgrade, one per data store."""

    postgres: dict[str, Snapshot] = field(default_factory=dict)
    mongodb: Snapshot | None = None


def capture_release_state(r: Rehearsal) -> RecordedRelease:
    """Record the current revision and save the live values (secrets masked) in the report."""
    with r.step("capture release state"):
        state = r.helm.capture_state(r.release)
        saved = state.write(r.report_folder("release-state"))
        r.say(f"{r.release} is at revision {state.revision} ({state.app_version})")
        return RecordedRelease(state, saved)


def check_values_carried_forward(r: Rehearsal, old: Chart, new: Chart) -> ValuesDiff:
    """Diff the two charts' defaults and check every carried values file against the new chart.

    Its ``hazards`` are the overrides the new chart would silently ignore or misread (a key
    that moved, a type that changed); an empty tuple means every override still applies.
    """
    with r.step("check values carried forward"):
        overrides = [(str(p), load_yaml_mapping(p, what="values file")) for p in r.values.files]
        return diff_values(old.values(), new.values(), overrides)


def unfreeze_workloads(r: Rehearsal, replicas: Mapping[str, int]) -> None:
    """Give each stopped deployment its replica count back (after a freeze or a scale-down)."""
    with r.step("scale back up"):
        for name, count in replicas.items():
            r.say(f"scaling {name} back to {count}")
            r.kubectl.scale([name], count)


def back_up_databases(
    r: Rehearsal,
    pg_stores: Sequence[str] = PG_STORE_NAMES,
    mongodb: bool = True,
    folder: Path | None = None,
) -> Backups:
    """Snapshot the Automation and PGVector PostgreSQL (inside their pods) and MongoDB.

    Files go to ``folder`` (by default ``<report>/backups``), each with the manifest that lets
    :func:`verify_backups` prove it restores to what was there. MongoDB is reached from here
    through a port-forward rather than with tools inside its pod: a wire-compatible server
    (FerretDB, DocumentDB) ships no ``mongodump`` in its image, and pymongo works with all.
    """
    with r.step("back up the databases"):
        folder = folder or r.backups_folder()
        postgres = {
            store: snapshot_postgres(
                pg_login(r, store), folder / f"{store}.dump", tools=pg_pod_tools(r, store)
            )
            for store in pg_stores
        }
        mongo = None
        if mongodb:
            target = mongo_target(r)
            with r.access.port_forward(f"svc/{r.instance('mongodb')}", target.port()) as port:
                local = target.through_port(port)
                mongo = snapshot_mongo(local, folder / "mongodb.dump", tools=LocalMongoTools(r.runner))
        return Backups(postgres, mongo)


def verify_backups(r: Rehearsal, backups: Backups) -> list[Verification]:
    """Restore each snapshot into a scratch database next to the real one and compare."""
    with r.step("verify the backups"):
        results = [
            verify_postgres_snapshot(
                snap.path, pg_login(r, store), snapshot=snap, tools=pg_pod_tools(r, store)
            )
            for store, snap in backups.postgres.items()
        ]
        if backups.mongodb is not None:
            target = mongo_target(r)
            with r.access.port_forward(f"svc/{r.instance('mongodb')}", target.port()) as port:
                local = target.through_port(port)
                verified = verify_mongo_snapshot(
                    backups.mongodb.path, local, snapshot=backups.mongodb, tools=LocalMongoTools(r.runner)
                )
                results.append(verified)
        return results


def mongo_target(r: Rehearsal) -> MongoTarget:
    """The chart's MongoDB URI (from the credentials Secret) and database (from the values)."""
    data = decode_secret_data(r.kubectl.get_json("secret", r.name("credentials")))
    values = r.helm.values(r.release, all_values=True).get("externalMongodb") or {}
    target = MongoTarget(data["mongodb-uri"], str(values.get("database") or "jitera"))
    for secret in target.secrets():
        r.runner.add_secret(secret)
    return target


def freeze_background_work(r: Rehearsal, workloads: Sequence[WorkloadRef]) -> dict[str, int]:
    """Runbook "freeze concurrent workloads": pause background workers, prove none is in flight.

    Only the profile's background workloads stop here; the user-facing ones keep serving, so
    the availability prober measures what users see during the upgrade itself. Proof is that
    no pod of a paused workload remains and no Job of the namespace is active (the migration
    hook of the previous hop included). Returns the replica counts to give back.
    """
    with r.step("freeze background work"):
        current = r.kubectl.deployments()
        names = [w.name for w in workloads if w.kind == "Deployment" and w.name in current]
        missing = [str(w) for w in workloads if w.name not in current]
        if missing:
            raise JiteraError(
                f"background workloads {', '.join(missing)} are not in namespace {r.access.namespace}",
                hint="check workloads.background in the product profile against `helm template`",
            )
        r.say(f"pausing {', '.join(names) or 'nothing'}")
        r.kubectl.scale(names, 0)
        r.kubectl.wait_scaled_down(names)
        active = [
            job["metadata"]["name"]
            for job in r.kubectl.get_json("jobs").get("items", [])
            if (job.get("status") or {}).get("active")
        ]
        if active:
            raise JiteraError(
                f"jobs still in flight after the freeze: {', '.join(active)}",
                hint="let them finish (kubectl get jobs) before upgrading: a schema change under a "
                "running job is what the freeze prevents",
            )
        return {name: current[name] for name in names}
