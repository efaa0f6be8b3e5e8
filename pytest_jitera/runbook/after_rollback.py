"""Runbook "Rollback", the checks after it: is the old release really back, and on what data.

Scenario 1 and 2 end with ``helm rollback`` and the runbook's verification (every pod on the
previous images, the user-facing paths answer; for Scenario 2 the old admin paths that use a
dropped table are the known casualty). Scenario 3 ends with the databases equal to the
pre-upgrade snapshots: same schema, same rows, nothing the newer release created left over.
Each function returns problems as sentences that name the object; an empty list is a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from pytest_jitera.datastores import (
    LocalMongoTools,
    capture_mongo_stats,
    check_schema_restored,
    find_restore_leftovers,
)
from pytest_jitera.datastores.snapshot import diff_stats
from pytest_jitera.profile.model import AdminTask
from pytest_jitera.runbook.before_upgrade import Backups, mongo_target
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import pg_login, pg_pod_tools
from pytest_jitera.runbook.rollback import MONGODB


def rendered(manifest: str) -> tuple[set[str], set[str]]:
    """The images, and the Deployments, StatefulSets and DaemonSets, that a release manifest renders."""
    images: set[str] = set()
    workloads: set[str] = set()
    for doc in yaml.safe_load_all(manifest):
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet"):
            workloads.add(str((doc.get("metadata") or {}).get("name")))
        pod = (((doc.get("spec") or {}).get("template") or {}).get("spec")) or {}
        for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
            if isinstance(container, dict) and container.get("image"):
                images.add(str(container["image"]))
    return images, workloads


def _workload_of(pod: dict[str, Any]) -> str | None:
    """The Deployment or StatefulSet a pod belongs to (a ReplicaSet's name ends in its hash)."""
    for owner in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("kind") == "ReplicaSet":
            return str(owner.get("name", "")).rpartition("-")[0]
        if owner.get("kind") in ("StatefulSet", "DaemonSet"):
            return str(owner.get("name"))
    return None


def release_is_back(r: Rehearsal, version: str) -> list[str]:
    """The release runs ``version`` and no pod of its workloads runs an image that release does not render.

    Pods of workloads the release no longer renders (an old datastore server kept after the
    switch to a restored one) are not the release's any more and are left out.
    """
    with r.step("check the release is back on the previous version"):
        problems: list[str] = []
        state = r.helm.capture_state(r.release)
        if state.app_version != version:
            problems.append(f"release {r.release} runs {state.app_version or 'nothing'} "
                            f"(revision {state.revision}), not {version}")
        images, workloads = rendered(r.helm.run("get", "manifest", r.release).stdout)
        pods = r.kubectl.get_json("pods", "-l", r.selector()).get("items", [])
        for pod in pods:
            name = pod["metadata"]["name"]
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue  # a finished hook pod is history, not a running version
            if pod["metadata"].get("deletionTimestamp"):
                continue  # on its way out
            if _workload_of(pod) not in workloads:
                continue
            for container in (pod.get("spec") or {}).get("containers", []):
                image = str(container.get("image"))
                if image not in images:
                    problems.append(f"pod {name} still runs {image}, which {version} does not deploy")
        return problems


def data_equals_snapshot(r: Rehearsal, backups: Backups, *, content: bool = True) -> list[str]:
    """Schema, row counts and checksums equal the snapshots; no leftover objects.

    ``content`` compares rows and documents too, which holds only until the application
    writes again: check it right after a Scenario 3 restore, and the schema alone once pods
    run (and after a Scenario 1 rollback, where a patch migrated nothing).
    """
    what = "every datastore" if content else "the schema"
    with r.step(f"compare {what} with the pre-upgrade snapshot"):
        problems: list[str] = []
        for store, snap in backups.postgres.items():
            schema, stats = pg_pod_tools(r, store).capture(pg_login(r, store))
            where = f"{store} ({r.instance(store)})"
            problems += [f"{where}: {f.message}" for f in check_schema_restored(snap.schema, schema)]
            problems += [f"{where}: {f.message}; {f.fix}"
                         for f in find_restore_leftovers(snap.schema, schema)]
            if content:
                problems += [f"{where}: {line}" for line in diff_stats(snap.tables, stats)]
        if content and backups.mongodb is not None:
            snap = backups.mongodb
            target = mongo_target(r)
            tools = LocalMongoTools(r.runner)
            with (
                r.access.port_forward(f"svc/{r.instance(MONGODB)}", target.port()) as local,
                tools.database(target.through_port(local)) as db,
            ):
                stats = capture_mongo_stats(db)
            problems += [f"{MONGODB} ({r.instance(MONGODB)}): {line}"
                         for line in diff_stats(snap.tables, stats, noun="collection", unit="document")]
        return problems


@dataclass(frozen=True)
class AdminRun:
    """An old admin task run after the rollback: what it printed and whether it failed."""

    name: str
    command: tuple[str, ...]
    returncode: int
    output: str

    @property
    def failed(self) -> bool:
        """Non-zero exit: the task could not do its work."""
        return self.returncode != 0

    @property
    def error(self) -> str:
        """The line that says why (the first one naming a PG error, else the last line)."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        for line in lines:
            if "PG::" in line:
                return line
        return lines[-1] if lines else ""


def run_admin_task(r: Rehearsal, task: AdminTask) -> AdminRun:
    """Run one of the old release's admin tasks in its workload's container, as an operator would."""
    with r.step(f"run the old admin task {task.name}"):
        target = f"{task.workload.kind.lower()}/{task.workload.name}"
        container = ["-c", task.container] if task.container else []
        done = r.kubectl.run("exec", target, *container, "--", *task.command, check=False, timeout=300)
        return AdminRun(task.name, task.command, done.returncode, r.mask(f"{done.stdout}\n{done.stderr}"))


def tables_dropped(before: Any, after: Any) -> list[str]:
    """Tables of the snapshot's schema that the live schema no longer has, without their schema.

    The snapshot names tables ``public.legacy_reports``; the application code, and so the
    profile's admin tasks, name them ``legacy_reports``.
    """
    gone = set(before.category("tables")) - set(after.category("tables"))
    return sorted(name.rpartition(".")[2] for name in gone)
