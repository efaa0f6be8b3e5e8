"""PostgreSQL snapshots that are proven restorable, and the two restore paths of the runbook.

Why a manifest next to every dump: "we have a backup" is only worth something if a later step
can prove the file is the one taken (sha256), that it restores (into a scratch database) and
that what comes back is what was there (schema snapshot plus per-table row counts and
checksums, all taken inside the same exported snapshot as the dump). Restores go to a *new*
database by default, the runbook's recommended path; in-place ``--clean`` restore exists to
rehearse the alternative and to expose what it leaves behind (Risk C).
"""

from __future__ import annotations

import json
import re
import secrets as _secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_jitera.datastores.connection import PgConnInfo
from pytest_jitera.datastores.diff import diff_schemas
from pytest_jitera.datastores.fingerprint import sha256_path
from pytest_jitera.datastores.postgres.client import PgClient
from pytest_jitera.datastores.postgres.connect import (
    QueryJson,
    connected,
    create_database,
    drop_database,
    execute,
    psycopg_query,
)
from pytest_jitera.datastores.postgres.content import (
    Stats,
    capture_stats,
    capture_stats_parallel,
    diff_stats,
    exported_snapshot,
)
from pytest_jitera.datastores.postgres.schema import capture_pg_schema, server_info
from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.datastores.verdict import Status, Verification
from pytest_jitera.errors import DatastoreError, JiteraError
from pytest_jitera.runner import Runner

MANIFEST_SUFFIX = ".manifest.json"
_SAFE_DB = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass
class PgSnapshot:
    """A dump on disk plus everything needed to prove a restore of it is faithful."""

    path: Path
    fmt: str
    database: str
    source: str
    server_version: str
    size_bytes: int
    taken_at: str
    seconds: float
    sha256: str
    dump_bytes: int
    tables: Stats
    schema: SchemaSnapshot
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        """``<dump>.manifest.json``, next to the dump."""
        return manifest_path(self.path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly manifest (no credentials: ``source`` is ``user@host:port/db``)."""
        return {
            "path": str(self.path),
            "format": self.fmt,
            "database": self.database,
            "source": self.source,
            "server_version": self.server_version,
            "size_bytes": self.size_bytes,
            "taken_at": self.taken_at,
            "seconds": round(self.seconds, 3),
            "sha256": self.sha256,
            "dump_bytes": self.dump_bytes,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "tables": self.tables,
            "schema": self.schema.to_dict(),
        }

    def save(self) -> Path:
        """Write the manifest; returns its path."""
        self.manifest_path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True))
        return self.manifest_path

    @classmethod
    def load(cls, dump: Path) -> PgSnapshot:
        """Read the manifest written for ``dump``."""
        mpath = manifest_path(dump)
        try:
            data = json.loads(mpath.read_text())
        except (OSError, ValueError) as exc:
            raise DatastoreError(
                f"no readable snapshot manifest at {mpath}: {exc}",
                hint="verify against a live source with verify_postgres_dump(..., source=...)",
            ) from None
        return cls(
            path=dump,
            fmt=data["format"],
            database=data["database"],
            source=data["source"],
            server_version=data["server_version"],
            size_bytes=int(data["size_bytes"]),
            taken_at=data["taken_at"],
            seconds=float(data["seconds"]),
            sha256=data["sha256"],
            dump_bytes=int(data["dump_bytes"]),
            tables=data["tables"],
            schema=SchemaSnapshot.from_dict(data["schema"]),
            timings=dict(data.get("timings", {})),
        )


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did and how long it took."""

    database: str
    mode: str
    seconds: float
    warnings: str = ""


def manifest_path(dump: Path) -> Path:
    """Where the manifest of ``dump`` lives."""
    return dump.with_name(dump.name + MANIFEST_SUFFIX)


def _client(client: PgClient | None) -> PgClient:
    return client if client is not None else PgClient(Runner())


@contextmanager
def _query(client: PgClient, conn: PgConnInfo) -> Iterator[QueryJson]:
    """Use psycopg when the server is reachable from here, psql in the pod otherwise."""
    if client.exec_in is None:
        with connected(conn) as c:
            yield psycopg_query(c)
    else:
        yield lambda sql: client.query_json(conn, sql)


def _execute(client: PgClient, conn: PgConnInfo, statement: str) -> None:
    if client.exec_in is None:
        execute(conn, statement)
    else:
        client.run(
            conn,
            [
                "psql",
                *conn.client_args(),
                "-d",
                conn.dbname,
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                statement,
            ],
        )


def _check_db_name(name: str) -> str:
    if not _SAFE_DB.match(name):
        raise DatastoreError(
            f"refusing database name {name!r}",
            hint="use letters, digits and underscores (at most 63 characters)",
        )
    return name


def snapshot_postgres(
    conn: PgConnInfo,
    dest: Path,
    *,
    client: PgClient | None = None,
    fmt: str = "custom",
    jobs: int = 1,
    stats_workers: int = 1,
) -> PgSnapshot:
    """Dump ``conn.dbname`` to ``dest`` and write ``dest``'s manifest.

    Locally the dump and the per-table statistics run at the same time inside one exported
    snapshot; through ``kubectl exec`` (no long-lived connection) they run one after the
    other, which is consistent only once writers are scaled down, as the runbook requires.
    One statistics worker is the default because pg_dump's compression already keeps a core
    busy: on the 2-core benchmark host a second worker slowed the dump more than it saved.
    """
    client = _client(client)
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    taken_at = datetime.now(UTC).isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    if client.exec_in is None:
        with exported_snapshot(conn) as (snap_id, query):
            info = server_info(query)
            t0 = time.monotonic()
            schema = capture_pg_schema(query, conn.dbname)
            timings["schema"] = time.monotonic() - t0
            stats_box: dict[str, Stats] = {}
            errors: list[BaseException] = []

            def stats() -> None:
                t1 = time.monotonic()
                try:
                    stats_box["s"] = capture_stats_parallel(conn, snapshot_id=snap_id, workers=stats_workers)
                except BaseException as exc:  # re-raised in the caller's thread
                    errors.append(exc)
                timings["stats"] = time.monotonic() - t1

            thread = threading.Thread(target=stats, name="jitera-pg-stats")
            thread.start()
            t2 = time.monotonic()
            try:
                client.pg_dump(conn, dest, fmt=fmt, jobs=jobs, snapshot_id=snap_id)
            finally:
                thread.join()
            timings["dump"] = time.monotonic() - t2
            if errors:
                raise errors[0]
            tables = stats_box["s"]
    else:
        with _query(client, conn) as query:
            info = server_info(query)
            schema = capture_pg_schema(query, conn.dbname)
            t2 = time.monotonic()
            client.pg_dump(conn, dest, fmt=fmt)
            timings["dump"] = time.monotonic() - t2
            t1 = time.monotonic()
            tables = capture_stats(query)
            timings["stats"] = time.monotonic() - t1
    t3 = time.monotonic()
    digest, size = sha256_path(dest)
    timings["sha256"] = time.monotonic() - t3
    snap = PgSnapshot(
        path=dest,
        fmt=fmt,
        database=conn.dbname,
        source=conn.describe(),
        server_version=str(info["server_version"]),
        size_bytes=int(info["size_bytes"]),
        taken_at=taken_at,
        seconds=time.monotonic() - started,
        sha256=digest,
        dump_bytes=size,
        tables=tables,
        schema=schema,
        timings=timings,
    )
    snap.save()
    return snap


def restore_postgres(
    dump: Path,
    target: PgConnInfo,
    *,
    in_place: bool = False,
    client: PgClient | None = None,
    jobs: int = 1,
    no_owner: bool = False,
    maintenance_db: str = "postgres",
) -> RestoreResult:
    """Restore ``dump`` into ``target.dbname``.

    By default the database must not exist yet and is created from ``template0`` (the
    runbook's recommended "new instance" path, which never fights old pods for the same
    database). ``in_place=True`` runs ``pg_restore --clean --if-exists`` over the existing
    database; follow it with :func:`~pytest_jitera.datastores.checks.find_restore_leftovers`.
    """
    client = _client(client)
    started = time.monotonic()
    if not in_place:
        name = _check_db_name(target.dbname)
        _execute(client, target.with_db(maintenance_db), f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        done = client.pg_restore(target, dump, clean=in_place, jobs=jobs, no_owner=no_owner)
    except JiteraError:
        if not in_place:  # a half-restored new database must not be mistaken for a good one
            _drop(client, target.with_db(maintenance_db), target.dbname)
        raise
    return RestoreResult(
        target.dbname,
        "in-place" if in_place else "new",
        time.monotonic() - started,
        done.stderr.strip(),
    )


def capture_postgres(
    conn: PgConnInfo, *, client: PgClient | None = None, workers: int = 2
) -> tuple[SchemaSnapshot, Stats]:
    """Schema and per-table statistics of a live database (to compare with a snapshot)."""
    client = _client(client)
    with _query(client, conn) as query:
        schema = capture_pg_schema(query, conn.dbname)
        if client.exec_in is None:
            return schema, capture_stats_parallel(conn, workers=workers)
        return schema, capture_stats(query)


def verify_postgres_snapshot(
    dump: Path,
    server: PgConnInfo,
    *,
    snapshot: PgSnapshot | None = None,
    client: PgClient | None = None,
    scratch_name: str | None = None,
    keep_scratch: bool = False,
    jobs: int = 1,
    workers: int = 2,
) -> Verification:
    """Restore ``dump`` into a scratch database on ``server`` and compare it with the manifest.

    ``server`` may be the source server (a scratch database next to the real one) or a
    throwaway server such as a testcontainers PostgreSQL. Anything that stops the proof (a
    missing manifest, a changed fingerprint, an unreadable or truncated archive, a failed
    restore) yields ``UNVERIFIABLE``; never an exception, never success.
    """
    client = _client(client)
    started = time.monotonic()
    label = str(dump)

    timings: dict[str, float] = {}
    mark = [time.monotonic()]

    def lap(name: str) -> None:
        now = time.monotonic()
        timings[name] = round(now - mark[0], 3)
        mark[0] = now

    def result(status: Status, problems: list[str], **extra: Any) -> Verification:
        details = {**extra.pop("details", {}), "timings": timings}
        return Verification(status, label, problems, time.monotonic() - started, details=details, **extra)

    try:
        snap = snapshot or PgSnapshot.load(dump)
    except DatastoreError as exc:
        return result(Status.UNVERIFIABLE, [str(exc)])
    if not dump.exists():
        return result(Status.UNVERIFIABLE, [f"dump {dump} does not exist"])
    digest, size = sha256_path(dump)
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
        client.list_archive(dump)
    except JiteraError as exc:
        return result(Status.UNVERIFIABLE, [f"archive is unreadable: {exc.message}"])
    lap("list")
    scratch = _check_db_name(scratch_name or f"jitera_verify_{snap.database[:30]}_{_secrets.token_hex(4)}")
    target = server.with_db(scratch)
    try:
        try:
            restore_postgres(dump, target, client=client, jobs=jobs)
        except JiteraError as exc:
            return result(
                Status.UNVERIFIABLE,
                [f"restore into {scratch} failed: {exc.message}"],
                scratch=scratch,
            )
        lap("restore")
        schema, stats = capture_postgres(target, client=client, workers=workers)
        lap("capture")
    finally:
        if not keep_scratch:
            _drop(client, server, scratch)
            lap("drop")
    schema.database = snap.database
    sdiff = diff_schemas(snap.schema, schema)
    problems = [c.describe() for c in sdiff.changes] + diff_stats(snap.tables, stats)
    return result(
        Status.MISMATCH if problems else Status.VERIFIED,
        problems,
        scratch=scratch,
        details={"tables": len(stats), "rows": sum(int(s["rows"]) for s in stats.values())},
    )


def _drop(client: PgClient, server: PgConnInfo, name: str) -> None:
    if client.exec_in is None:
        drop_database(server, name)
    else:
        _execute(client, server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_database(server: PgConnInfo, name: str) -> PgConnInfo:
    """Create an empty database (local server) and return its login."""
    create_database(server, _check_db_name(name))
    return server.with_db(name)
