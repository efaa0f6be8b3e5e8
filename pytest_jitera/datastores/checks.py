"""Consistency checks for the runbook's Scenario 3 and its three risks, as plain functions.

Each returns a list of :class:`~pytest_jitera.datastores.findings.CheckFinding`; empty means
consistent. They take snapshots and small inputs (file names, referenced names, backfill
specs) rather than reaching into clusters themselves, so the same checks run after a real
rollback, in a unit test on hand-written data, or from the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from psycopg import sql as _sql

from pytest_jitera.datastores.diff import diff_schemas
from pytest_jitera.datastores.findings import CheckFinding
from pytest_jitera.datastores.postgres.connect import QueryJson
from pytest_jitera.datastores.schema import SchemaSnapshot

_VERSION = re.compile(r"^(\d{8,})_\w+\.rb$")
_LEFTOVER_CATEGORIES = ("extensions", "types", "sequences", "tables", "views")
_PER_TABLE = ("columns", "indexes", "constraints")


def migration_versions(files: Iterable[str | Path]) -> set[str]:
    """Versions of Rails migration file names (``20240101000000_add_x.rb``); others ignored."""
    out = set()
    for f in files:
        m = _VERSION.match(Path(f).name)
        if m:
            out.add(m.group(1))
    return out


def versions_in_dir(path: Path) -> set[str]:
    """Versions of the ``*.rb`` files in a release's ``db/migrate`` or ``db/data``."""
    return migration_versions(p.name for p in path.glob("*.rb")) if path.is_dir() else set()


def check_migrations_match(
    schema: SchemaSnapshot,
    migrate_files: Iterable[str | Path],
    data_files: Iterable[str | Path],
    *,
    release: str = "the release",
) -> list[CheckFinding]:
    """Applied versions must equal the release's ``db/migrate`` and ``db/data`` exactly.

    Missing versions mean the post-install hook did not finish; extra versions mean the
    database is ahead of the code (a rollback without a restore).
    """
    findings: list[CheckFinding] = []
    pairs = (
        ("schema_migrations", "db/migrate", "db:migrate", migration_versions(migrate_files)),
        ("data_migrations", "db/data", "data:migrate", migration_versions(data_files)),
    )
    for table, folder, task, expected in pairs:
        applied = set(schema.category(table))
        for v in sorted(expected - applied):
            findings.append(
                CheckFinding(
                    "migration-pending",
                    f"{folder}/{v}",
                    f"{release} ships {folder} version {v} but {table} does not list it",
                    f"let the chart's migration hook finish (`rails {task}`) and check its job log",
                )
            )
        for v in sorted(applied - expected):
            findings.append(
                CheckFinding(
                    "migration-unknown",
                    f"{table}/{v}",
                    f"{table} lists version {v} that {release} does not ship in {folder}",
                    "the database is ahead of the code: restore the pre-upgrade snapshot "
                    "(Scenario 3) instead of relying on helm rollback",
                )
            )
    return findings


def check_schema_restored(pre_upgrade: SchemaSnapshot, current: SchemaSnapshot) -> list[CheckFinding]:
    """After a Scenario 3 restore the schema must equal the pre-upgrade snapshot."""
    findings = []
    for change in diff_schemas(pre_upgrade, current).changes:
        findings.append(
            CheckFinding(
                f"schema-{change.change}",
                f"{change.category}:{change.object}",
                change.describe(),
                "restore the pre-upgrade snapshot into a new database and repoint the chart; "
                "an in-place restore does not remove what the newer release created",
            )
        )
    return findings


def check_references(
    schema: SchemaSnapshot, references: Iterable[str], *, default_schema: str = "public"
) -> list[CheckFinding]:
    """Risk A: tables (``users``) or columns (``users.email``) the old code uses but lack."""
    tables = set(schema.category("tables")) | set(schema.category("views"))
    columns = set(schema.category("columns"))
    findings = []
    for ref in sorted(set(references)):
        parts = ref.split(".")
        table = f"{default_schema}.{parts[0]}"
        if table not in tables:
            findings.append(
                CheckFinding(
                    "missing-table",
                    ref,
                    f"old code references table {parts[0]!r}, which does not exist "
                    "(PG::UndefinedTable at runtime)",
                    "restore the pre-upgrade snapshot (Scenario 3); helm rollback alone "
                    "does not bring dropped tables back",
                )
            )
        elif len(parts) > 1 and f"{table}.{parts[1]}" not in columns:
            findings.append(
                CheckFinding(
                    "missing-column",
                    ref,
                    f"old code references column {ref!r}, which does not exist "
                    "(PG::UndefinedColumn at runtime)",
                    "restore the pre-upgrade snapshot (Scenario 3)",
                )
            )
    return findings


@dataclass(frozen=True)
class Backfill:
    """Columns a newer release added and a data migration fills for existing rows."""

    table: str
    columns: tuple[str, ...]
    data_migration: str
    created_column: str = "created_at"
    schema: str = "public"


def check_backfills(
    query: QueryJson,
    schema: SchemaSnapshot,
    backfills: Iterable[Backfill],
    since: datetime | str,
) -> list[CheckFinding]:
    """Risk B: rows written after ``since`` with NULLs the recorded backfill should have set.

    Rails' data-migrate skips versions already listed in ``data_migrations``, so such rows stay
    NULL forever after a re-upgrade.
    """
    applied = set(schema.category("data_migrations"))
    findings = []
    cutoff = since.isoformat() if isinstance(since, datetime) else since
    for b in backfills:
        if b.data_migration not in applied:
            continue
        missing_cols = [c for c in b.columns if f"{b.schema}.{b.table}.{c}" not in schema.category("columns")]
        if missing_cols:
            continue  # the column is gone; check_references reports that side
        nulls = _sql.SQL(" OR ").join(_sql.SQL("{} IS NULL").format(_sql.Identifier(c)) for c in b.columns)
        stmt = _sql.SQL("SELECT to_json(count(*)) FROM {}.{} WHERE {} > {}::timestamptz AND ({})").format(
            _sql.Identifier(b.schema),
            _sql.Identifier(b.table),
            _sql.Identifier(b.created_column),
            _sql.Literal(cutoff),
            nulls,
        )
        count = int(query(stmt.as_string(None)) or 0)
        if count:
            findings.append(
                CheckFinding(
                    "unbackfilled-rows",
                    f"{b.table}({', '.join(b.columns)})",
                    f"{count} row(s) created after {cutoff} have NULL in columns the data "
                    f"migration {b.data_migration} backfills, and data_migrations says it ran",
                    f"re-run the backfill for those rows, or delete version {b.data_migration} "
                    "from data_migrations before re-upgrading so data:migrate runs it again",
                )
            )
    return findings


def find_restore_leftovers(
    snapshot: SchemaSnapshot,
    current: SchemaSnapshot,
    *,
    created_by: Mapping[str, str] | None = None,
) -> list[CheckFinding]:
    """Risk C: objects present now that the restored snapshot did not contain.

    ``pg_restore --clean`` drops only what the dump contains, so ENUM types, tables,
    sequences and extensions created by the newer release survive and belong to no applied
    migration; re-running that migration fails with ``PG::DuplicateObject``. ``created_by``
    maps an object (``public.status``) to the migration version that creates it, when known.
    """
    created_by = created_by or {}
    findings = []
    leftover_tables = set(current.category("tables")) - set(snapshot.category("tables"))
    for cat in (*_LEFTOVER_CATEGORIES, *_PER_TABLE):
        extra = sorted(set(current.category(cat)) - set(snapshot.category(cat)))
        for name in extra:
            attrs = current.category(cat)[name]
            if cat in _PER_TABLE and _table_of(cat, name, attrs) in leftover_tables:
                continue  # reported with its table
            if cat == "sequences" and str(attrs.get("owned_by") or "").rsplit(".", 1)[0] in (leftover_tables):
                continue
            kind = "type" if cat == "types" else cat.rstrip("s").replace("indexe", "index")
            detail = f" ({attrs.get('kind')}, labels {attrs.get('labels')})" if cat == "types" else ""
            by = created_by.get(name)
            migration = f"migration {by}" if by else "the newer release's migration"
            findings.append(
                CheckFinding(
                    f"leftover-{kind}",
                    name,
                    f"{kind} {name}{detail} exists but is not in the restored snapshot; "
                    f"re-running {migration} will fail with PG::DuplicateObject",
                    "restore into a new database instead, or drop it before re-upgrading: "
                    f"{_drop_hint(cat, name)}",
                )
            )
    return findings


def _table_of(cat: str, name: str, attrs: Mapping[str, object]) -> str:
    if cat == "columns":
        return name.rsplit(".", 1)[0]
    return str(attrs.get("table", ""))


def _drop_hint(cat: str, name: str) -> str:
    verb = {
        "types": "DROP TYPE",
        "tables": "DROP TABLE",
        "sequences": "DROP SEQUENCE",
        "extensions": "DROP EXTENSION",
        "views": "DROP VIEW",
        "indexes": "DROP INDEX",
    }.get(cat)
    if verb:
        return f"{verb} {name};"
    if cat == "columns":
        table, col = name.rsplit(".", 1)
        return f"ALTER TABLE {table} DROP COLUMN {col};"
    table, con = name.rsplit(".", 1)
    return f"ALTER TABLE {table} DROP CONSTRAINT {con};"
