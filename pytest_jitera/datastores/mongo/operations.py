"""MongoDB snapshots that are proven restorable, with or without mongo-tools, here or in a pod.

With ``mongodump``/``mongorestore`` on hand the snapshot is the runbook's ``--archive
--gzip``. Without them (air-gapped hosts, DocumentDB-only tooling) the harness writes
mongodump's own directory layout (``<db>/<collection>.bson`` plus ``.metadata.json``) with
pymongo's BSON, so an operator can still feed it to a real ``mongorestore`` later. The
manifest and the verification flow are :mod:`pytest_jitera.datastores.snapshot`'s; this
module supplies the MongoDB parts (:class:`MongoSnapshotAdapter`): collections, indexes and
validators, per-collection document counts and checksums, a scratch database per
verification. Every function takes a :class:`~pytest_jitera.datastores.mongo.tools.MongoTools`:
local by default, :class:`~pytest_jitera.datastores.mongo.tools.PodMongoTools` for a database
in a pod.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jitera.datastores.mongo.connect import MongoTarget
from pytest_jitera.datastores.mongo.schema import capture_mongo_schema, capture_mongo_stats, server_info
from pytest_jitera.datastores.mongo.tools import LocalMongoTools, MongoTools
from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.datastores.snapshot import Capture, Snapshot, Stats, take_snapshot, verify_snapshot
from pytest_jitera.datastores.verdict import Verification
from pytest_jitera.errors import DatastoreError

__all__ = [
    "MongoSnapshotAdapter",
    "restore_mongo",
    "snapshot_mongo",
    "verify_mongo_snapshot",
]

_FORBIDDEN = set('/\\. "$')


@dataclass(frozen=True)
class MongoSnapshotAdapter:
    """The MongoDB parts of taking and verifying a :class:`Snapshot`.

    ``target`` is the source database when taking, and the server that receives the scratch
    database when verifying.
    """

    target: MongoTarget
    tools: MongoTools = field(default_factory=LocalMongoTools)

    engine = "mongodb"
    noun = "collection"
    unit = "document"

    @property
    def database(self) -> str:
        """The source database."""
        return self.target.database

    def describe(self) -> str:
        """``mongodb://hosts/db`` without credentials."""
        return self.target.describe()

    def dump(self, dest: Path, timings: dict[str, float]) -> Capture:
        """Structure and content first, then the dump, on one connection."""
        with self.tools.database(self.target) as db:
            t0 = time.monotonic()
            info = server_info(db)
            schema = capture_mongo_schema(db)
            tables = capture_mongo_stats(db)
            timings["stats"] = time.monotonic() - t0
            t1 = time.monotonic()
            fmt, tool = self.tools.dump(self.target, dest)
            timings["dump"] = time.monotonic() - t1
        return Capture(
            fmt=fmt,
            tool=tool,
            schema=schema,
            tables=tables,
            server_version=str(info["server_version"]),
            size_bytes=int(info["size_bytes"]),
        )

    def check_archive(self, dump: Path) -> bool:
        """MongoDB has no server-free archive check; the restore is the check."""
        return False

    def scratch_name(self, name: str) -> str:
        """A database name MongoDB accepts."""
        if not name or len(name) > 63 or _FORBIDDEN & set(name):
            raise DatastoreError(
                f"refusing MongoDB database name {name!r}",
                hint='use at most 63 characters and none of / \\ . space " $',
            )
        return name

    def restore_scratch(self, dump: Path, snapshot: Snapshot, scratch: str) -> None:
        """Restore the snapshot's database into ``scratch``."""
        self.tools.restore(dump, self.target.with_db(scratch), source_db=snapshot.database)

    def capture_scratch(self, scratch: str) -> tuple[SchemaSnapshot, Stats]:
        """Structure and content of the restored scratch database."""
        with self.tools.database(self.target.with_db(scratch)) as db:
            return capture_mongo_schema(db), capture_mongo_stats(db)

    def drop_scratch(self, scratch: str) -> None:
        """Drop the scratch database."""
        with self.tools.database(self.target.with_db(scratch)) as db:
            db.client.drop_database(scratch)


def snapshot_mongo(target: MongoTarget, dest: Path, *, tools: MongoTools | None = None) -> Snapshot:
    """Dump ``target.database`` to ``dest`` (archive with mongo-tools, else directory layout)."""
    return take_snapshot(dest, MongoSnapshotAdapter(target, tools or LocalMongoTools()))


def restore_mongo(
    dump: Path,
    target: MongoTarget,
    *,
    source_db: str | None = None,
    tools: MongoTools | None = None,
    drop: bool = True,
) -> None:
    """Restore an archive (needs mongorestore) or a directory (either way) into ``target``.

    ``source_db`` is the database the dump holds; by default the manifest says.
    """
    src = source_db or Snapshot.load(dump).database
    (tools or LocalMongoTools()).restore(dump, target, source_db=src, drop=drop)


def verify_mongo_snapshot(
    dump: Path,
    server: MongoTarget,
    *,
    snapshot: Snapshot | None = None,
    tools: MongoTools | None = None,
    scratch_name: str | None = None,
    keep_scratch: bool = False,
) -> Verification:
    """Restore into a scratch database on ``server`` and compare with the manifest.

    See :func:`~pytest_jitera.datastores.snapshot.verify_snapshot` for the outcomes.
    """
    adapter = MongoSnapshotAdapter(server, tools or LocalMongoTools())
    return verify_snapshot(
        dump, adapter, snapshot=snapshot, scratch_name=scratch_name, keep_scratch=keep_scratch
    )
