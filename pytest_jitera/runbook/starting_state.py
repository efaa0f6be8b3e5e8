"""A rehearsal's starting state, kept between runs: release A installed, seeded, snapshotted.

Every run of a matrix start installs the same release with the same values, waits for the same
migration hook and seeds the same rows before the first hop does anything new. That state is
saved once, as verified snapshots of each datastore plus the Helm release it was installed
as; a later run with the same chart, values, profile and images installs the release without
its hooks, restores the snapshots into the fresh servers, proves each store equals its
snapshot, and starts the first hop from there. What decides "the same" is the key: change any
input and the cache misses, so a stale state is never rehearsed on.

The folder of one state is written under a temporary name and renamed into place, so a run
interrupted half-way leaves nothing a later run would mistake for a whole state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from pytest_jitera.charts.chart import Chart
from pytest_jitera.datastores import (
    LocalMongoTools,
    MongoSnapshotAdapter,
    PgSnapshotAdapter,
    Snapshot,
    compare_with_snapshot,
    restore_mongo,
    restore_postgres,
)
from pytest_jitera.digest import sha256_tree
from pytest_jitera.errors import DatastoreError, JiteraError
from pytest_jitera.runbook.before_upgrade import Backups, back_up_databases, mongo_target, verify_backups
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import pg_login, pg_pod_tools
from pytest_jitera.runbook.upgrade import HelmOutcome, install_release

# Bumped whenever what a state folder holds changes: an older folder is then a miss.
FORMAT = 1
STATE_FILE = "starting-state.json"
MONGODB = "mongodb"


def starting_state_key(parts: Mapping[str, Any]) -> str:
    """A short stable digest of everything the installed state depends on.

    ``parts`` holds the start version, the chart's and each values file's digest, the profile's,
    the images' ids and the package version; the folder name is this digest, so two runs agree
    on a state without asking each other.
    """
    text = json.dumps({"format": FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def file_digests(paths: Iterable[Path]) -> list[str]:
    """The digests of input files or folders, in the order given (the order of values matters)."""
    return [sha256_tree(path)[0] for path in paths]


@dataclass(frozen=True)
class StartingState:
    """One saved state: where it is, which release it holds, and each store's snapshot."""

    folder: Path
    key: str
    version: str
    saved_at: str
    install_seconds: float
    backups: Backups

    def describe(self) -> str:
        """``v24.07.01, saved 2026-12-02T04:50:00+00:00 (key 0123abcd...)``."""
        return f"{self.version}, saved {self.saved_at} (key {self.key[:12]})"


def load_starting_state(cache: Path, key: str) -> StartingState | None:
    """The state saved under ``key``, or None when there is none or it is not whole."""
    folder = cache / key
    try:
        data = json.loads((folder / STATE_FILE).read_text())
        if data.get("format") != FORMAT or data.get("key") != key:
            return None
        postgres = {store: Snapshot.load(folder / name) for store, name in dict(data["postgres"]).items()}
        mongo = Snapshot.load(folder / str(data["mongodb"])) if data.get("mongodb") else None
        return StartingState(
            folder=folder,
            key=key,
            version=str(data["version"]),
            saved_at=str(data["saved_at"]),
            install_seconds=float(data["install_seconds"]),
            backups=Backups(postgres, mongo),
        )
    except (OSError, ValueError, KeyError, TypeError, DatastoreError):
        return None


def save_starting_state(
    r: Rehearsal, cache: Path, key: str, version: str, install_seconds: float
) -> StartingState:
    """Snapshot every store of the freshly installed and seeded release, prove each, keep them.

    A snapshot that does not restore to what was there is refused here rather than cached: a
    later run would otherwise start every hop from a broken state.
    """
    with r.step("save the starting state"):
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = cache / f".{key}.{secrets.token_hex(4)}.partial"
        scratch.mkdir(mode=0o700)
        try:
            backups = back_up_databases(r, folder=scratch)
            bad = [v.text() for v in verify_backups(r, backups) if not v.ok]
            if bad:
                raise DatastoreError(
                    "the starting state's snapshots do not restore to what was there: " + "; ".join(bad),
                    hint="nothing was cached; the rehearsal goes on from the installed release",
                )
            saved_at = datetime.now(UTC).isoformat(timespec="seconds")
            record = {
                "format": FORMAT,
                "key": key,
                "version": version,
                "saved_at": saved_at,
                "install_seconds": round(install_seconds, 1),
                "postgres": {store: snap.path.name for store, snap in backups.postgres.items()},
                "mongodb": backups.mongodb.path.name if backups.mongodb is not None else None,
            }
            (scratch / STATE_FILE).write_text(json.dumps(record, indent=2) + "\n")
            target = cache / key
            # Two runs of the same start may finish at once; the last one's state wins whole.
            with FileLock(str(cache / f"{key}.lock")):
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(target)  # a refresh replaces the old state
                os.replace(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        state = load_starting_state(cache, key)
        if state is None:
            raise DatastoreError(f"the starting state saved in {cache / key} cannot be read back")
        r.say(f"saved the starting state {state.describe()}")
        return state


def check_state_files(state: StartingState) -> list[str]:
    """Dumps changed or missing since they were saved (the manifest keeps each one's digest)."""
    problems: list[str] = []
    snaps = [*state.backups.postgres.values(), *([state.backups.mongodb] if state.backups.mongodb else [])]
    for snap in snaps:
        if not snap.path.exists():
            problems.append(f"{snap.path.name} is missing")
            continue
        digest, size = sha256_tree(snap.path)
        if digest != snap.sha256 or size != snap.dump_bytes:
            problems.append(
                f"{snap.path.name} changed since it was saved ({size} bytes, manifest {snap.dump_bytes})"
            )
    return problems


@dataclass(frozen=True)
class StateRestore:
    """What bringing a starting state back took: Helm's outcome and each store's restore."""

    helm: HelmOutcome
    seconds: dict[str, float]


def install_from_starting_state(
    r: Rehearsal,
    chart: Chart | Path,
    state: StartingState,
    *,
    timeout: str = "15m",
    ready_timeout: float = 600,
) -> StateRestore:
    """Install the release without its hooks, restore each store from the state, prove it whole.

    The migration hook is left out because its work is in the snapshots; the servers come up
    empty, each store is restored over its empty database (nothing else is in it) and then
    captured and compared with its snapshot. Any difference stops the run with the store and
    the way out named.
    """
    problems = check_state_files(state)
    if problems:
        raise DatastoreError(
            f"the cached starting state in {state.folder} is damaged: " + "; ".join(problems),
            hint="run with --jitera-starting-state=refresh to install afresh and save a new one",
        )
    done = install_release(r, chart, timeout=timeout, hooks=False)
    if not done.succeeded:
        return StateRestore(done, {})
    seconds: dict[str, float] = {}
    with r.step("restore the starting state"):
        for store, snap in state.backups.postgres.items():
            r.kubectl.rollout_status(r.instance(store), timeout=ready_timeout, kind="statefulset")
            login = pg_login(r, store)
            tools = pg_pod_tools(r, store)
            result = restore_postgres(snap.path, login, in_place=True, tools=tools)
            seconds[store] = result.seconds
            schema, stats = PgSnapshotAdapter(login, tools).capture_scratch(login.dbname)
            _refuse_difference(store, snap, compare_with_snapshot(snap, schema, stats))
        mongo = state.backups.mongodb
        if mongo is not None:
            r.kubectl.rollout_status(r.instance(MONGODB), timeout=ready_timeout, kind="statefulset")
            started = time.monotonic()
            target = mongo_target(r)
            mongo_tools = LocalMongoTools(r.runner)
            with r.access.port_forward(f"svc/{r.instance(MONGODB)}", target.port()) as port:
                local = target.through_port(port)
                restore_mongo(mongo.path, local, tools=mongo_tools, drop=True)
                schema, stats = MongoSnapshotAdapter(local, mongo_tools).capture_scratch(local.database)
            seconds[MONGODB] = time.monotonic() - started
            found = compare_with_snapshot(mongo, schema, stats, noun="collection", unit="document")
            _refuse_difference(MONGODB, mongo, found)
    return StateRestore(done, seconds)


def _refuse_difference(store: str, snap: Snapshot, problems: list[str]) -> None:
    if problems:
        raise JiteraError(
            f"{store} restored from the starting state differs from its snapshot "
            f"{snap.path.name}: " + "; ".join(problems[:5]),
            hint="run with --jitera-starting-state=refresh to install afresh and save a new one",
        )
