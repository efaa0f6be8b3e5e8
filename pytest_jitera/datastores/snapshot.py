"""A backup plus the manifest that proves it, for PostgreSQL and MongoDB alike.

"We have a backup" is only worth something if a later step can prove the file is the one
taken (sha256), that it restores (into a scratch database) and that what comes back is what
was there (schema snapshot plus per-table or per-collection counts and checksums). Taking the
manifest, reading it back and the verification flow are the same for both engines; what
differs (how to dump, restore, capture and drop) is a :class:`SnapshotAdapter`:
:class:`~pytest_jitera.datastores.postgres.operations.PgSnapshotAdapter` and
:class:`~pytest_jitera.datastores.mongo.operations.MongoSnapshotAdapter`.

Anything that stops the proof (a missing manifest, a changed fingerprint, an unreadable
archive, a failed restore) yields ``UNVERIFIABLE``; never an exception, never success.
"""

from __future__ import annotations

import json
import re
import secrets as _secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pytest_jitera.datastores.diff import diff_schemas
from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.datastores.verdict import Status, Verification
from pytest_jitera.digest import sha256_tree
from pytest_jitera.errors import DatastoreError, JiteraError

MANIFEST_SUFFIX = ".manifest.json"

Stats = dict[str, dict[str, Any]]
"""Table or collection name -> ``{"rows": int, "checksum": str}`` (PostgreSQL adds ``"bytes"``)."""


def manifest_path(dump: Path) -> Path:
    """Where the manifest of ``dump`` lives: ``<dump>.manifest.json``, next to it."""
    return dump.with_name(dump.name + MANIFEST_SUFFIX)


@dataclass
class Snapshot:
    """A dump on disk plus everything needed to prove a restore of it is faithful.

    ``fmt`` is how the dump is laid out: ``custom`` or ``directory`` for pg_dump, ``archive``
    (mongodump ``--archive --gzip``) or ``directory`` (mongodump's folder layout) for MongoDB.
    ``tables`` holds the per-table (PostgreSQL) or per-collection (MongoDB) statistics.
    """

    path: Path
    engine: str
    fmt: str
    database: str
    source: str
    taken_at: str
    seconds: float
    sha256: str
    dump_bytes: int
    tables: Stats
    schema: SchemaSnapshot
    tool: str
    server_version: str = ""
    size_bytes: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        """``<dump>.manifest.json``, next to the dump."""
        return manifest_path(self.path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly manifest (no credentials: ``source`` names the server, not the login)."""
        return {
            "path": str(self.path),
            "engine": self.engine,
            "format": self.fmt,
            "database": self.database,
            "source": self.source,
            "server_version": self.server_version,
            "size_bytes": self.size_bytes,
            "taken_at": self.taken_at,
            "seconds": round(self.seconds, 3),
            "sha256": self.sha256,
            "dump_bytes": self.dump_bytes,
            "tool": self.tool,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "tables": self.tables,
            "schema": self.schema.to_dict(),
        }

    def save(self) -> Path:
        """Write the manifest; returns its path."""
        self.manifest_path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True))
        return self.manifest_path

    @classmethod
    def load(cls, dump: Path) -> Snapshot:
        """Read the manifest written for ``dump``.

        Manifests of earlier versions (PostgreSQL without ``engine``; MongoDB with ``layout``
        and ``collections``) still load.
        """
        mpath = manifest_path(dump)
        try:
            data = json.loads(mpath.read_text())
            legacy_mongo = "layout" in data
            return cls(
                path=dump,
                engine=str(data.get("engine") or ("mongodb" if legacy_mongo else "postgresql")),
                fmt=str(data["layout"] if legacy_mongo else data["format"]),
                database=str(data["database"]),
                source=str(data["source"]),
                taken_at=str(data["taken_at"]),
                seconds=float(data["seconds"]),
                sha256=str(data["sha256"]),
                dump_bytes=int(data["dump_bytes"]),
                tables=dict(data["collections"] if legacy_mongo else data["tables"]),
                schema=SchemaSnapshot.from_dict(data["schema"]),
                tool=str(data.get("tool") or "pg_dump"),
                server_version=str(data.get("server_version") or ""),
                size_bytes=int(data.get("size_bytes") or 0),
                timings={k: float(v) for k, v in dict(data.get("timings") or {}).items()},
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatastoreError(
                f"no readable snapshot manifest at {mpath}: {exc!r}",
                hint="a dump without its manifest cannot be proven restorable; take a new "
                "snapshot with snapshot_postgres or snapshot_mongo",
            ) from None


@dataclass(frozen=True)
class Capture:
    """What an adapter's dump step found out about the source besides the dump itself."""

    fmt: str
    tool: str
    schema: SchemaSnapshot
    tables: Stats
    server_version: str = ""
    size_bytes: int = 0


class SnapshotAdapter(Protocol):
    """The engine-specific parts of taking and verifying a snapshot.

    An adapter is bound to one server login: the source database when a snapshot is taken,
    the server that receives the scratch database when one is verified.
    """

    @property
    def engine(self) -> str:
        """``postgresql`` or ``mongodb``, as recorded in the manifest."""
        ...

    @property
    def noun(self) -> str:
        """What a statistics entry describes in messages: ``table`` or ``collection``."""
        ...

    @property
    def unit(self) -> str:
        """What a statistics entry counts: ``row`` or ``document``."""
        ...

    @property
    def database(self) -> str:
        """The database the adapter's login points at (the source, when taking)."""
        ...

    def describe(self) -> str:
        """The server and database for the manifest, without credentials."""
        ...

    def dump(self, dest: Path, timings: dict[str, float]) -> Capture:
        """Dump the database to ``dest`` and capture its schema and statistics."""
        ...

    def check_archive(self, dump: Path) -> bool:
        """Read the archive without a server; False when the engine has no such check.

        Raises :class:`~pytest_jitera.errors.JiteraError` when the archive is unreadable.
        """
        ...

    def scratch_name(self, name: str) -> str:
        """``name`` if it is acceptable as a scratch database name; raise otherwise."""
        ...

    def restore_scratch(self, dump: Path, snapshot: Snapshot, scratch: str) -> None:
        """Restore ``dump`` into the new database ``scratch`` on the adapter's server."""
        ...

    def capture_scratch(self, scratch: str) -> tuple[SchemaSnapshot, Stats]:
        """Schema and statistics of ``scratch``, comparable with the manifest's."""
        ...

    def drop_scratch(self, scratch: str) -> None:
        """Drop ``scratch``; a missing database is not an error."""
        ...


def take_snapshot(dest: Path, adapter: SnapshotAdapter) -> Snapshot:
    """Dump the adapter's database to ``dest`` and write the manifest beside it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    taken_at = datetime.now(UTC).isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    captured = adapter.dump(dest, timings)
    t0 = time.monotonic()
    digest, size = sha256_tree(dest)
    timings["sha256"] = time.monotonic() - t0
    snap = Snapshot(
        path=dest,
        engine=adapter.engine,
        fmt=captured.fmt,
        database=adapter.database,
        source=adapter.describe(),
        taken_at=taken_at,
        seconds=time.monotonic() - started,
        sha256=digest,
        dump_bytes=size,
        tables=captured.tables,
        schema=captured.schema,
        tool=captured.tool,
        server_version=captured.server_version,
        size_bytes=captured.size_bytes,
        timings=timings,
    )
    snap.save()
    return snap


def verify_snapshot(
    dump: Path,
    adapter: SnapshotAdapter,
    *,
    snapshot: Snapshot | None = None,
    scratch_name: str | None = None,
    keep_scratch: bool = False,
) -> Verification:
    """Restore ``dump`` into a scratch database of the adapter's server; compare with the manifest.

    ``snapshot`` replaces the manifest on disk (a caller that still holds the one it took).
    The scratch database is dropped afterwards unless ``keep_scratch``. A ``scratch_name`` the
    adapter refuses raises :class:`~pytest_jitera.errors.DatastoreError`: that is a mistake of
    the caller's, not a finding about the backup.
    """
    started = time.monotonic()
    timings: dict[str, float] = {}
    mark = [started]

    def lap(name: str) -> None:
        now = time.monotonic()
        timings[name] = round(now - mark[0], 3)
        mark[0] = now

    def result(status: Status, problems: list[str], **extra: Any) -> Verification:
        details = {**extra.pop("details", {}), "timings": timings}
        return Verification(status, str(dump), problems, time.monotonic() - started, details=details, **extra)

    try:
        snap = snapshot or Snapshot.load(dump)
    except DatastoreError as exc:
        return result(Status.UNVERIFIABLE, [str(exc)])
    if snap.engine != adapter.engine:
        return result(
            Status.UNVERIFIABLE,
            [f"{dump} is a {snap.engine} snapshot; it cannot be verified on {adapter.engine}"],
        )
    if not dump.exists():
        return result(Status.UNVERIFIABLE, [f"dump {dump} does not exist"])
    digest, size = sha256_tree(dump)
    lap("sha256")
    if digest != snap.sha256 or size != snap.dump_bytes:
        return result(
            Status.UNVERIFIABLE,
            [
                f"dump content changed since the snapshot: {size} bytes sha256 {digest[:16]}..., "
                f"manifest says {snap.dump_bytes} bytes sha256 {snap.sha256[:16]}... "
                "(truncated or corrupted; take a new backup)"
            ],
        )
    try:
        if adapter.check_archive(dump):
            lap("list")
    except JiteraError as exc:
        return result(Status.UNVERIFIABLE, [f"archive is unreadable: {exc.message}"])
    default = f"jitera_verify_{re.sub(r'[^A-Za-z0-9_]', '_', snap.database)[:30]}_{_secrets.token_hex(4)}"
    scratch = adapter.scratch_name(scratch_name or default)
    try:
        try:
            adapter.restore_scratch(dump, snap, scratch)
        except JiteraError as exc:
            return result(
                Status.UNVERIFIABLE,
                [f"restore into {scratch} failed: {exc.message}"],
                scratch=scratch,
            )
        lap("restore")
        schema, stats = adapter.capture_scratch(scratch)
        lap("capture")
    finally:
        if not keep_scratch:
            adapter.drop_scratch(scratch)
            lap("drop")
    problems = compare_with_snapshot(snap, schema, stats, noun=adapter.noun, unit=adapter.unit)
    return result(
        Status.MISMATCH if problems else Status.VERIFIED,
        problems,
        scratch=scratch,
        details={
            f"{adapter.noun}s": len(stats),
            f"{adapter.unit}s": sum(int(s["rows"]) for s in stats.values()),
        },
    )


def compare_with_snapshot(
    snap: Snapshot, schema: SchemaSnapshot, stats: Stats, *, noun: str = "table", unit: str = "row"
) -> list[str]:
    """What differs between a database as captured now and the snapshot it should equal.

    Used on a scratch restore (is the backup good?) and on a database just restored for use
    (did the cached starting state come back whole?); an empty list means they are the same.
    """
    schema.database = snap.database
    problems = [c.describe() for c in diff_schemas(snap.schema, schema).changes]
    return problems + diff_stats(snap.tables, stats, noun=noun, unit=unit)


def diff_stats(expected: Stats, actual: Stats, *, noun: str = "table", unit: str = "row") -> list[str]:
    """Human-readable lines, one per table or collection whose count or checksum differs."""
    out = []
    for name in sorted(set(expected) | set(actual)):
        e, a = expected.get(name), actual.get(name)
        if e is None:
            out.append(f"{noun} {name}: not in the snapshot but has {a and a['rows']} {unit}(s)")
        elif a is None:
            out.append(f"{noun} {name}: missing ({e['rows']} {unit}(s) expected)")
        elif e["rows"] != a["rows"]:
            out.append(f"{noun} {name}: {a['rows']} {unit}(s), expected {e['rows']}")
        elif str(e["checksum"]) != str(a["checksum"]):
            out.append(f"{noun} {name}: same {unit} count ({e['rows']}) but content checksum differs")
    return out
