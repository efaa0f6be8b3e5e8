"""Runbook section "Rollback": helm alone, restore to a new instance, or restore in place.

Which one applies is the scenario decision (:mod:`pytest_jitera.decision`); these are the
procedures' steps, one function each, every one timed under the name of the runbook's
downtime row it belongs to.

* Scenarios 1 and 2: :func:`rollback_helm_only`, back to the revision recorded before.
* Scenario 3, recommended: stop the database clients and isolate the users
  (:func:`scale_down_app`), restore every snapshot into a *new* server
  (:func:`restore_to_new_instances`), then deploy the previous chart pointed at them
  (:func:`switch_endpoints_and_roll_back`), so no old-version pod ever meets the new-version
  schema; the old servers are kept.
* Scenario 3, small installations: the same servers. ``helm rollback`` puts every replica
  count back, so the pods stopped before come back to life and hold connections to the
  database about to be replaced: :func:`second_scale_down`, then
  :func:`drop_and_restore_in_place`.
* Risk C, on purpose: :func:`clean_restore_in_place` (``pg_restore --clean`` over the live
  database) leaves what the newer release created.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_jitera.charts.chart import Chart
from pytest_jitera.cluster.instances import create_instance, keep_when_unrendered
from pytest_jitera.datastores import (
    LocalMongoTools,
    RestoreResult,
    restore_mongo,
    restore_postgres,
)
from pytest_jitera.errors import DatastoreError, JiteraError
from pytest_jitera.profile import Profile
from pytest_jitera.runbook.before_upgrade import Backups, mongo_target
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import pg_login, pg_pod_tools
from pytest_jitera.runbook.downtime import ENDPOINT_SWITCH, SCALE_DOWN, SNAPSHOT_RESTORE
from pytest_jitera.runbook.upgrade import HelmOutcome, chart_root, outcome

MONGODB = "mongodb"
#: What PostgreSQL says when ``DROP DATABASE`` meets a connected client.
IN_USE = "is being accessed by other users"


@dataclass(frozen=True)
class Endpoint:
    """Where one of the chart's datastores lives now: a server the rehearsal started."""

    component: str  # the chart's name for it: postgresql, pgvector, mongodb
    instance: str  # StatefulSet and Service name
    port: int
    uri: str | None = None  # MongoDB: the chart takes a whole URI

    def secrets(self) -> tuple[str, ...]:
        """The URI holds the login when the server has one."""
        return (self.uri,) if self.uri else ()


@dataclass(frozen=True)
class StoreRestore:
    """One datastore put back from its snapshot."""

    component: str
    instance: str
    seconds: float
    detail: str


def rollback_helm_only(r: Rehearsal, revision: int) -> int:
    """Scenarios 1 and 2: ``helm rollback`` to the recorded revision; return the new revision."""
    with r.step(f"helm rollback to revision {revision}"):
        r.helm.rollback(r.release, revision)
        return r.helm.history(r.release)[-1].revision


def _deployments(r: Rehearsal, names: Sequence[str]) -> list[str]:
    current = r.kubectl.deployments()
    return [n for n in names if n in current]


def scale_down_app(r: Rehearsal, profile: Profile, *, step: str = SCALE_DOWN) -> dict[str, int]:
    """Stop every workload holding database connections and isolate the user-facing ones.

    Returns the replica counts before, for
    :func:`~pytest_jitera.runbook.before_upgrade.unfreeze_workloads` where the chart does not
    give them back (in place). A
    profile that isolates users by maintenance mode cannot be rehearsed here yet: the
    rehearsal refuses rather than leave users on a database being replaced.
    """
    users = profile.workloads.user_facing
    if users.isolate != "scale-down":
        raise JiteraError(
            f"{profile.source}: user-facing isolation {users.isolate!r} is not rehearsed",
            hint="set workloads.user_facing.isolate: scale-down in the product profile",
        )
    with r.step(step):
        current = r.kubectl.deployments()
        wanted = [w.name for w in (*profile.workloads.db_clients, *users.workloads) if w.kind == "Deployment"]
        targets = [n for n in dict.fromkeys(wanted) if n in current]
        r.say(f"scaling down {', '.join(targets) or 'nothing'}")
        r.kubectl.scale(targets, 0)
        r.kubectl.wait_scaled_down(targets)
        return {name: current[name] for name in targets}


def second_scale_down(r: Rehearsal, profile: Profile) -> dict[str, int]:
    """In place only: ``helm rollback`` revived the pods stopped before; stop them again."""
    return scale_down_app(r, profile, step="second app scale-down")


def _components(backups: Backups) -> list[str]:
    return [*backups.postgres, *([MONGODB] if backups.mongodb is not None else [])]


def restore_to_new_instances(r: Rehearsal, backups: Backups, number: int) -> list[Endpoint]:
    """Start a new server per datastore and restore its pre-upgrade snapshot into it.

    Each server is a copy of the current one (same image, same login) named
    ``<current>-restored-<number>``; the old servers keep running and are marked so Helm
    keeps them when the chart stops rendering them. Timed as the runbook's "snapshot restore
    (new instance creation)" row.
    """
    endpoints: list[Endpoint] = []
    with r.step(SNAPSHOT_RESTORE):
        for component in _components(backups):
            old = r.instance(component)
            new = f"{r.name(component)}-restored-{number}"
            r.say(f"starting {new}, a new server for {component}")
            create_instance(r.kubectl, old, new)
            keep_when_unrendered(r.kubectl, [old])
            port = _service_port(r, new)
            if component == MONGODB:
                assert backups.mongodb is not None
                target = mongo_target(r)
                with r.access.port_forward(f"svc/{new}", port) as local:
                    restore_mongo(backups.mongodb.path, target.through_port(local),
                                  tools=LocalMongoTools(r.runner), drop=True)
                endpoint = Endpoint(component, new, port, target.moved_to(new, port).uri)
            else:
                snap = backups.postgres[component]
                login = pg_login(r, component)
                tools = pg_pod_tools(r, component, instance=new)
                # The image made an empty database of that name at first start; nobody uses it.
                tools.drop_database(login.with_db("postgres"), login.dbname)
                restore_postgres(snap.path, login, tools=tools)
                endpoint = Endpoint(component, new, port)
            for secret in endpoint.secrets():
                r.runner.add_secret(secret)
            endpoints.append(endpoint)
    return endpoints


def _service_port(r: Rehearsal, service: str) -> int:
    ports = r.kubectl.get_json("service", service).get("spec", {}).get("ports") or []
    if not ports:
        raise JiteraError(f"service {service} exposes no port", hint=f"kubectl -n {r.access.namespace} "
                          f"get service {service} -o yaml")
    return int(ports[0]["port"])


def switch_endpoints_and_roll_back(r: Rehearsal, previous_chart: Chart | Path) -> HelmOutcome:
    """Deploy the previous chart with the values that point it at the restored servers.

    A plain ``helm rollback`` cannot change values, so it would first bring the old pods back
    on the old servers; deploying the previous chart folder (kept beside the new one for this)
    with the endpoint values switches both in one Helm step. The caller has put the endpoint
    values into the carried values already (they must stay on every later hop too).
    """
    root = chart_root(previous_chart)
    with r.step(ENDPOINT_SWITCH):
        done = r.helm.upgrade(r.release, root, r.values.for_chart(root), check=False)
        if done.returncode != 0:
            tail = "\n".join(r.mask(done.stderr or done.stdout).strip().splitlines()[-8:])
            raise JiteraError(
                f"helm upgrade {r.release} to the previous chart {root.name} failed:\n{tail}",
                hint=f"helm history {r.release} -n {r.access.namespace}; the restored servers "
                "are running, so the switch can be retried",
            )
        return outcome(r, done.returncode)


def use_instances(r: Rehearsal, endpoints: Sequence[Endpoint]) -> None:
    """From now on the steps reach each datastore on its restored server."""
    for endpoint in endpoints:
        r.instances[endpoint.component] = endpoint.instance


def drop_and_restore_in_place(r: Rehearsal, backups: Backups) -> list[StoreRestore]:
    """Drop each database, create it again and restore the snapshot, on the servers in use.

    Nothing the newer release made survives a dropped database, which a clean-mode restore
    cannot promise (Risk C). ``DROP DATABASE`` is refused while a client is connected; that
    refusal is raised as a :class:`DatastoreError` whose message says so.
    """
    return _restore_in_place(r, backups, drop=True)


def clean_restore_in_place(r: Rehearsal, backups: Backups) -> list[StoreRestore]:
    """Risk C, on purpose: ``pg_restore --clean`` over the live databases, nothing dropped first."""
    return _restore_in_place(r, backups, drop=False)


def _restore_in_place(r: Rehearsal, backups: Backups, *, drop: bool) -> list[StoreRestore]:
    done: list[StoreRestore] = []
    with r.step(SNAPSHOT_RESTORE):
        for component, snap in backups.postgres.items():
            login = pg_login(r, component)
            tools = pg_pod_tools(r, component)
            if drop:  # no WITH (FORCE): a connected client must make it fail, as for an operator
                tools.execute(login.with_db("postgres"), f'DROP DATABASE IF EXISTS "{login.dbname}"')
            result = restore_postgres(snap.path, login, in_place=not drop, tools=tools)
            done.append(_restored(component, r.instance(component), result))
        if backups.mongodb is not None:
            done.append(_restore_mongo_in_place(r, backups))
    return done


def _restored(component: str, instance: str, result: RestoreResult) -> StoreRestore:
    return StoreRestore(component, instance, result.seconds, f"{result.mode} restore of {result.database}")


def _restore_mongo_in_place(r: Rehearsal, backups: Backups) -> StoreRestore:
    assert backups.mongodb is not None
    target = mongo_target(r)
    started = time.monotonic()
    tools = LocalMongoTools(r.runner)
    with r.access.port_forward(f"svc/{r.instance(MONGODB)}", target.port()) as local:
        restore_mongo(backups.mongodb.path, target.through_port(local), tools=tools, drop=True)
    return StoreRestore(MONGODB, r.instance(MONGODB), time.monotonic() - started, "dropped and restored")


def drop_refused(exc: DatastoreError) -> bool:
    """Whether a failed ``DROP DATABASE`` was refused because clients are still connected."""
    return IN_USE in f"{exc.message} {exc.hint or ''}"


__all__ = [
    "IN_USE",
    "Endpoint",
    "StoreRestore",
    "clean_restore_in_place",
    "drop_and_restore_in_place",
    "drop_refused",
    "restore_to_new_instances",
    "rollback_helm_only",
    "scale_down_app",
    "second_scale_down",
    "switch_endpoints_and_roll_back",
    "use_instances",
]
