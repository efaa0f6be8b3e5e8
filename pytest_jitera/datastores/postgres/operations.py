"""PostgreSQL snapshots that are proven restorable, and the two restore paths of the runbook.

The manifest and the verification flow are :mod:`pytest_jitera.datastores.snapshot`'s; this
module supplies the PostgreSQL parts (:class:`PgSnapshotAdapter`): pg_dump with per-table row
counts and checksums taken inside the same exported snapshot, ``pg_restore --list`` as the
server-free archive check, a scratch database per verification. Restores go to a *new*
database by default, the runbook's recommended path; in-place ``--clean`` restore exists to
rehearse the alternative and to expose what it leaves behind (Risk C). Every function takes a
:class:`~pytest_jitera.datastores.postgres.client.PgTools`: local tools by default,
:class:`~pytest_jitera.datastores.postgres.client.PodPgTools` for a database in a pod.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jitera.datastores.connection import PgConnInfo
from pytest_jitera.datastores.postgres.client import LocalPgTools, PgTools
from pytest_jitera.datastores.postgres.connect import create_database
from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.datastores.snapshot import (
    Capture,
    Snapshot,
    Stats,
    take_snapshot,
    verify_snapshot,
)
from pytest_jitera.datastores.verdict import Verification
from pytest_jitera.errors import DatastoreError, JiteraError

_SAFE_DB = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did and how long it took."""

    database: str
    mode: str
    seconds: float
    warnings: str = ""


def check_db_name(name: str) -> str:
    """``name`` if it is safe to splice into SQL as an identifier, else :class:`DatastoreError`."""
    if not _SAFE_DB.match(name):
        raise DatastoreError(
            f"refusing database name {name!r}",
            hint="use letters, digits and underscores (at most 63 characters)",
        )
    return name


@dataclass(frozen=True)
class PgSnapshotAdapter:
    """The PostgreSQL parts of taking and verifying a :class:`Snapshot`.

    ``conn`` is the source database when taking, and the server (its maintenance database)
    that receives the scratch database when verifying.
    """

    conn: PgConnInfo
    tools: PgTools = field(default_factory=LocalPgTools)
    fmt: str = "custom"
    jobs: int = 1
    stats_workers: int = 1
    workers: int = 2

    engine = "postgresql"
    noun = "table"
    unit = "row"

    @property
    def database(self) -> str:
        """The source database."""
        return self.conn.dbname

    def describe(self) -> str:
        """``user@host:port/db``."""
        return self.conn.describe()

    def dump(self, dest: Path, timings: dict[str, float]) -> Capture:
        """pg_dump plus server info, schema and table statistics."""
        return self.tools.dump_and_capture(
            self.conn, dest, fmt=self.fmt, jobs=self.jobs, stats_workers=self.stats_workers, timings=timings
        )

    def check_archive(self, dump: Path) -> bool:
        """``pg_restore --list`` must read the table of contents."""
        self.tools.list_archive(dump)
        return True

    def scratch_name(self, name: str) -> str:
        """Letters, digits and underscores only."""
        return check_db_name(name)

    def restore_scratch(self, dump: Path, snapshot: Snapshot, scratch: str) -> None:
        """Restore into a new database ``scratch``, created from ``template0``."""
        restore_postgres(dump, self.conn.with_db(scratch), tools=self.tools, jobs=self.jobs)

    def capture_scratch(self, scratch: str) -> tuple[SchemaSnapshot, Stats]:
        """Schema and statistics of the restored scratch database."""
        return self.tools.capture(self.conn.with_db(scratch), workers=self.workers)

    def drop_scratch(self, scratch: str) -> None:
        """Drop the scratch database through the server's maintenance database."""
        self.tools.drop_database(self.conn, scratch)


def snapshot_postgres(
    conn: PgConnInfo,
    dest: Path,
    *,
    tools: PgTools | None = None,
    fmt: str = "custom",
    jobs: int = 1,
    stats_workers: int = 1,
) -> Snapshot:
    """Dump ``conn.dbname`` to ``dest`` and write ``dest``'s manifest.

    Locally the dump and the per-table statistics run at the same time inside one exported
    snapshot; inside a pod (no long-lived connection) they run one after the other, which is
    consistent only once writers are scaled down, as the runbook requires. One statistics
    worker is the default because pg_dump's compression already keeps a core busy: on the
    2-core benchmark host a second worker slowed the dump more than it saved.
    """
    adapter = PgSnapshotAdapter(
        conn, tools or LocalPgTools(), fmt=fmt, jobs=jobs, stats_workers=stats_workers
    )
    return take_snapshot(dest, adapter)


def restore_postgres(
    dump: Path,
    target: PgConnInfo,
    *,
    in_place: bool = False,
    tools: PgTools | None = None,
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
    tools = tools or LocalPgTools()
    started = time.monotonic()
    server = target.with_db(maintenance_db)
    if not in_place:
        name = check_db_name(target.dbname)
        tools.execute(server, f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        done = tools.pg_restore(target, dump, clean=in_place, jobs=jobs, no_owner=no_owner)
    except JiteraError:
        if not in_place:  # a half-restored new database must not be mistaken for a good one
            tools.drop_database(server, target.dbname)
        raise
    return RestoreResult(
        target.dbname,
        "in-place" if in_place else "new",
        time.monotonic() - started,
        done.stderr.strip(),
    )


def capture_postgres(
    conn: PgConnInfo, *, tools: PgTools | None = None, workers: int = 2
) -> tuple[SchemaSnapshot, Stats]:
    """Schema and per-table statistics of a live database (to compare with a snapshot)."""
    return (tools or LocalPgTools()).capture(conn, workers=workers)


def verify_postgres_snapshot(
    dump: Path,
    server: PgConnInfo,
    *,
    snapshot: Snapshot | None = None,
    tools: PgTools | None = None,
    scratch_name: str | None = None,
    keep_scratch: bool = False,
    jobs: int = 1,
    workers: int = 2,
) -> Verification:
    """Restore ``dump`` into a scratch database on ``server`` and compare it with the manifest.

    ``server`` may be the source server (a scratch database next to the real one) or a
    throwaway server such as a testcontainers PostgreSQL. See
    :func:`~pytest_jitera.datastores.snapshot.verify_snapshot` for the outcomes.
    """
    adapter = PgSnapshotAdapter(server, tools or LocalPgTools(), jobs=jobs, workers=workers)
    return verify_snapshot(
        dump, adapter, snapshot=snapshot, scratch_name=scratch_name, keep_scratch=keep_scratch
    )


def new_database(server: PgConnInfo, name: str) -> PgConnInfo:
    """Create an empty database (local server) and return its login."""
    create_database(server, check_db_name(name))
    return server.with_db(name)
