"""MongoDB snapshots that are proven restorable, with or without mongo-tools.

With ``mongodump``/``mongorestore`` on hand the snapshot is the runbook's ``--archive
--gzip``. Without them (air-gapped hosts, DocumentDB-only tooling) the harness writes
mongodump's own directory layout (``<db>/<collection>.bson`` plus ``.metadata.json``) with
pymongo's BSON, so an operator can still feed it to a real ``mongorestore`` later. Either way
a manifest records a fingerprint, the collections, indexes and validators, and per-collection
document counts and checksums, which :func:`verify_mongo_snapshot` checks after restoring
into a scratch database.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
from pymongo.errors import PyMongoError

from pytest_jitera.datastores.diff import diff_schemas
from pytest_jitera.datastores.fingerprint import sha256_path
from pytest_jitera.datastores.mongo.connect import MongoTarget, mongo_client
from pytest_jitera.datastores.mongo.dumpdir import restore_dump_directory, write_dump_directory
from pytest_jitera.datastores.mongo.schema import Stats, capture_mongo_schema, capture_mongo_stats
from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.datastores.verdict import Status, Verification
from pytest_jitera.errors import DatastoreError, JiteraError
from pytest_jitera.redact import redact
from pytest_jitera.runner import CommandRunner, RunError, Runner

__all__ = [
    "MongoSnapshot",
    "MongoTarget",
    "capture_mongo_schema",
    "capture_mongo_stats",
    "find_mongo_tools",
    "mongo_client",
    "restore_mongo",
    "snapshot_mongo",
    "verify_mongo_snapshot",
]

MANIFEST_SUFFIX = ".manifest.json"


@dataclass
class MongoSnapshot:
    """A mongodump archive or directory plus its manifest."""

    path: Path
    layout: str  # "archive" (mongodump --archive --gzip) or "directory"
    database: str
    source: str
    taken_at: str
    seconds: float
    sha256: str
    dump_bytes: int
    tables: Stats
    schema: SchemaSnapshot
    tool: str

    def to_dict(self) -> dict[str, Any]:
        """The manifest (no credentials)."""
        return {
            "path": str(self.path),
            "layout": self.layout,
            "database": self.database,
            "source": self.source,
            "taken_at": self.taken_at,
            "seconds": round(self.seconds, 3),
            "sha256": self.sha256,
            "dump_bytes": self.dump_bytes,
            "tool": self.tool,
            "collections": self.tables,
            "schema": self.schema.to_dict(),
        }

    def save(self) -> Path:
        """Write ``<path>.manifest.json``."""
        mpath = self.path.with_name(self.path.name + MANIFEST_SUFFIX)
        mpath.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True))
        return mpath

    @classmethod
    def load(cls, path: Path) -> MongoSnapshot:
        """Read the manifest of ``path``."""
        mpath = path.with_name(path.name + MANIFEST_SUFFIX)
        try:
            d = json.loads(mpath.read_text())
        except (OSError, ValueError) as exc:
            raise DatastoreError(f"no readable snapshot manifest at {mpath}: {exc}") from None
        return cls(
            path,
            d["layout"],
            d["database"],
            d["source"],
            d["taken_at"],
            float(d["seconds"]),
            d["sha256"],
            int(d["dump_bytes"]),
            d["collections"],
            SchemaSnapshot.from_dict(d["schema"]),
            d["tool"],
        )


def find_mongo_tools(tools_dir: Path | None = None) -> Path | None:
    """Directory holding both mongodump and mongorestore, if any (``JITERA_MONGO_TOOLS_DIR``)."""
    candidates = [tools_dir] if tools_dir else []
    if os.environ.get("JITERA_MONGO_TOOLS_DIR"):
        candidates.append(Path(os.environ["JITERA_MONGO_TOOLS_DIR"]))
    found = shutil.which("mongodump")
    if found:
        candidates.append(Path(found).parent)
    for d in candidates:
        if (d / "mongodump").is_file() and (d / "mongorestore").is_file():
            return d
    return None


@contextmanager
def _tool_config(target: MongoTarget) -> Iterator[Path]:
    """mongo-tools ``--config`` file carrying the URI, so no credential reaches argv."""
    fd, name = tempfile.mkstemp(prefix="jitera-mongo-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("uri: " + json.dumps(target.uri) + "\n")
        yield Path(name)
    finally:
        os.unlink(name)


def _run_tool(runner: CommandRunner, target: MongoTarget, argv: list[str]) -> None:
    add = getattr(runner, "add_secret", None)
    for s in target.secrets():
        if callable(add):
            add(s)
    try:
        runner.run(argv)
    except RunError as exc:
        raise DatastoreError(
            f"{Path(argv[0]).name} failed against {target.describe()}: {redact(str(exc), target.secrets())}",
            hint="check that the server is reachable and the dump is complete",
        ) from None


def snapshot_mongo(
    target: MongoTarget,
    dest: Path,
    *,
    runner: CommandRunner | None = None,
    tools_dir: Path | None = None,
    use_tools: bool | None = None,
) -> MongoSnapshot:
    """Dump ``target.database`` to ``dest`` (archive with tools, else directory layout)."""
    runner = runner or Runner()
    tools = find_mongo_tools(tools_dir) if use_tools is not False else None
    if use_tools and tools is None:
        raise DatastoreError(
            "mongodump/mongorestore not found",
            hint="put them on PATH or set JITERA_MONGO_TOOLS_DIR (.ci/start-datastores.sh "
            "builds them from github.com/mongodb/mongo-tools)",
        )
    started = time.monotonic()
    taken_at = datetime.now(UTC).isoformat(timespec="seconds")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with mongo_client(target) as client:
        db = client[target.database]
        schema = capture_mongo_schema(db)
        stats = capture_mongo_stats(db)
        if tools is not None:
            with _tool_config(target) as cfg:
                _run_tool(
                    runner,
                    target,
                    [
                        str(tools / "mongodump"),
                        f"--config={cfg}",
                        f"--db={target.database}",
                        f"--archive={dest}",
                        "--gzip",
                        "--quiet",
                    ],
                )
            layout, tool = "archive", "mongodump"
        else:
            write_dump_directory(db, dest)
            layout, tool = "directory", "pymongo"
    digest, size = sha256_path(dest)
    snap = MongoSnapshot(
        dest,
        layout,
        target.database,
        target.describe(),
        taken_at,
        time.monotonic() - started,
        digest,
        size,
        stats,
        schema,
        tool,
    )
    snap.save()
    return snap


def restore_mongo(
    snapshot: Path,
    target: MongoTarget,
    *,
    source_db: str | None = None,
    runner: CommandRunner | None = None,
    tools_dir: Path | None = None,
    drop: bool = True,
) -> None:
    """Restore an archive (needs mongorestore) or a directory (either way) into ``target``."""
    runner = runner or Runner()
    src = source_db or MongoSnapshot.load(snapshot).database
    tools = find_mongo_tools(tools_dir)
    if snapshot.is_file():
        if tools is None:
            raise DatastoreError(
                f"{snapshot} is a mongodump archive and mongorestore is not available",
                hint="install mongo-tools or set JITERA_MONGO_TOOLS_DIR",
            )
        with mongo_client(target), _tool_config(target) as cfg:
            _run_tool(
                runner,
                target,
                [
                    str(tools / "mongorestore"),
                    f"--config={cfg}",
                    f"--archive={snapshot}",
                    "--gzip",
                    f"--nsInclude={src}.*",
                    f"--nsFrom={src}.*",
                    f"--nsTo={target.database}.*",
                    *(["--drop"] if drop else []),
                    "--numInsertionWorkersPerCollection=1",
                    "--quiet",
                ],
            )
        return
    db_dir = snapshot / src
    if not db_dir.is_dir():
        raise DatastoreError(f"{snapshot} has no {src}/ directory", hint="is it a mongodump?")
    if tools is not None:
        with mongo_client(target), _tool_config(target) as cfg:
            _run_tool(
                runner,
                target,
                [
                    str(tools / "mongorestore"),
                    f"--config={cfg}",
                    f"--nsInclude={src}.*",
                    f"--nsFrom={src}.*",
                    f"--nsTo={target.database}.*",
                    *(["--drop"] if drop else []),
                    "--numInsertionWorkersPerCollection=1",
                    "--quiet",
                    f"--dir={snapshot}",
                ],
            )
        return
    with mongo_client(target) as client:
        try:
            restore_dump_directory(db_dir, client[target.database], drop=drop)
        except (PyMongoError, bson.errors.BSONError, ValueError, KeyError) as exc:
            raise DatastoreError(
                f"restoring {db_dir} into {target.describe()} failed: "
                f"{redact(str(exc)[:300], target.secrets())}",
                hint="the dump is damaged or incomplete; take a new snapshot",
            ) from None


def verify_mongo_snapshot(
    snapshot: Path,
    server: MongoTarget,
    *,
    runner: CommandRunner | None = None,
    tools_dir: Path | None = None,
    keep_scratch: bool = False,
) -> Verification:
    """Restore into a scratch database on ``server`` and compare with the manifest."""
    started = time.monotonic()

    def result(status: Status, problems: list[str], **extra: Any) -> Verification:
        return Verification(status, str(snapshot), problems, time.monotonic() - started, **extra)

    try:
        snap = MongoSnapshot.load(snapshot)
    except DatastoreError as exc:
        return result(Status.UNVERIFIABLE, [str(exc)])
    if not snapshot.exists():
        return result(Status.UNVERIFIABLE, [f"snapshot {snapshot} does not exist"])
    digest, size = sha256_path(snapshot)
    if digest != snap.sha256 or size != snap.dump_bytes:
        return result(
            Status.UNVERIFIABLE,
            [
                f"snapshot content changed: {size} bytes sha256 {digest[:16]}..., manifest says "
                f"{snap.dump_bytes} bytes sha256 {snap.sha256[:16]}... (truncated or corrupted)"
            ],
        )
    scratch = f"jitera_verify_{_secrets.token_hex(4)}"
    target = server.with_db(scratch)
    try:
        try:
            restore_mongo(snapshot, target, source_db=snap.database, runner=runner, tools_dir=tools_dir)
        except JiteraError as exc:
            return result(
                Status.UNVERIFIABLE,
                [f"restore into {scratch} failed: {exc.message}"],
                scratch=scratch,
            )
        with mongo_client(target) as client:
            schema = capture_mongo_schema(client[scratch])
            stats = capture_mongo_stats(client[scratch])
    finally:
        if not keep_scratch:
            with mongo_client(server) as client:
                client.drop_database(scratch)
    schema.database = snap.database
    problems = [c.describe() for c in diff_schemas(snap.schema, schema).changes]
    for name in sorted(set(snap.tables) | set(stats)):
        e, a = snap.tables.get(name), stats.get(name)
        if e != a:
            problems.append(f"collection {name}: expected {e}, restored {a}")
    return result(
        Status.MISMATCH if problems else Status.VERIFIED,
        problems,
        scratch=scratch,
        details={"collections": len(stats), "documents": sum(s["rows"] for s in stats.values())},
    )
