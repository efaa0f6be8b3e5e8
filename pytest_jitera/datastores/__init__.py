"""Backups that are proven restorable, schema snapshots and consistency checks.

The runbook's rollback safety rests on three claims: a backup exists, it restores, and what it
restores is what was there before the upgrade. This package turns each claim into something a
test can check on real PostgreSQL (Automation, PGVector) and MongoDB servers. Each engine is
reached through one interface with two implementations: tools on this machine
(:class:`LocalPgTools`, :class:`LocalMongoTools`) or inside the database pod through the
cluster layer (:class:`PodPgTools`, :class:`PodMongoTools`). One manifest type and one
verification flow (:mod:`~pytest_jitera.datastores.snapshot`) serve both engines. It does not
import pytest; the pytest layer is :mod:`pytest_jitera.fixtures.datastores`.
"""

from __future__ import annotations

from pytest_jitera.datastores.checks import (
    Backfill,
    check_backfills,
    check_migrations_match,
    check_references,
    check_schema_restored,
    find_restore_leftovers,
    migration_versions,
    versions_in_dir,
)
from pytest_jitera.datastores.connection import (
    PgConnInfo,
    decode_secret_data,
    pg_conninfo_from_secret,
    pg_conninfo_from_values,
)
from pytest_jitera.datastores.diff import Change, SchemaDiff, diff_schemas
from pytest_jitera.datastores.findings import CheckFinding, findings_to_json, format_findings
from pytest_jitera.datastores.mongo.connect import MongoTarget
from pytest_jitera.datastores.mongo.operations import (
    MongoSnapshotAdapter,
    restore_mongo,
    snapshot_mongo,
    verify_mongo_snapshot,
)
from pytest_jitera.datastores.mongo.schema import capture_mongo_schema, capture_mongo_stats
from pytest_jitera.datastores.mongo.tools import LocalMongoTools, MongoTools, PodMongoTools
from pytest_jitera.datastores.postgres.client import LocalPgTools, PgTools, PodPgTools
from pytest_jitera.datastores.postgres.operations import (
    PgSnapshotAdapter,
    RestoreResult,
    capture_postgres,
    restore_postgres,
    snapshot_postgres,
    verify_postgres_snapshot,
)
from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.datastores.snapshot import (
    Capture,
    Snapshot,
    SnapshotAdapter,
    Stats,
    compare_with_snapshot,
    take_snapshot,
    verify_snapshot,
)
from pytest_jitera.datastores.verdict import Status, Verification

__all__ = [
    "Backfill",
    "Capture",
    "Change",
    "CheckFinding",
    "LocalMongoTools",
    "LocalPgTools",
    "MongoSnapshotAdapter",
    "MongoTarget",
    "MongoTools",
    "PgConnInfo",
    "PgSnapshotAdapter",
    "PgTools",
    "PodMongoTools",
    "PodPgTools",
    "RestoreResult",
    "SchemaDiff",
    "SchemaSnapshot",
    "Snapshot",
    "SnapshotAdapter",
    "Stats",
    "Status",
    "Verification",
    "capture_mongo_schema",
    "capture_mongo_stats",
    "capture_postgres",
    "check_backfills",
    "check_migrations_match",
    "check_references",
    "check_schema_restored",
    "compare_with_snapshot",
    "decode_secret_data",
    "diff_schemas",
    "find_restore_leftovers",
    "findings_to_json",
    "format_findings",
    "migration_versions",
    "pg_conninfo_from_secret",
    "pg_conninfo_from_values",
    "restore_mongo",
    "restore_postgres",
    "snapshot_mongo",
    "snapshot_postgres",
    "take_snapshot",
    "verify_mongo_snapshot",
    "verify_postgres_snapshot",
    "verify_snapshot",
    "versions_in_dir",
]
