"""Real PostgreSQL: snapshot, both restore paths, Risk C leftovers, verification of bad dumps."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.datastores import (
    Backfill,
    LocalPgTools,
    PgConnInfo,
    PodPgTools,
    Snapshot,
    Status,
    capture_postgres,
    check_backfills,
    check_schema_restored,
    diff_schemas,
    find_restore_leftovers,
    restore_postgres,
    snapshot_postgres,
    verify_postgres_snapshot,
)
from pytest_jitera.datastores.postgres.connect import connected, psycopg_query
from pytest_jitera.digest import sha256_tree
from pytest_jitera.fixtures.datastores import (
    assert_no_findings,
    assert_schema_equal,
    assert_verified,
)

pytestmark = pytest.mark.postgres

# What the "old" release's migrations leave behind.
OLD_SCHEMA = """
CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
CREATE TABLE data_migrations (version varchar PRIMARY KEY);
INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240201000000');
INSERT INTO data_migrations VALUES ('20240115000000');
CREATE TYPE project_state AS ENUM ('draft', 'live');
CREATE TABLE users (
    id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE projects (
    id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id),
    state project_state NOT NULL DEFAULT 'draft', title text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_user_id_idx ON projects (user_id);
CREATE VIEW live_projects AS SELECT id, title FROM projects WHERE state = 'live';
INSERT INTO users (email, name, created_at)
    SELECT 'u' || g || '@example.com', 'User ' || g, '2024-01-01'::timestamptz + g * interval '1 min'
    FROM generate_series(1, 500) g;
INSERT INTO projects (user_id, state, title)
    SELECT 1 + g % 500, CASE WHEN g % 3 = 0 THEN 'live' ELSE 'draft' END::project_state, 'P' || g
    FROM generate_series(1, 2000) g;
"""

# What the newer release's migration adds: an ENUM type, a table, a NOT NULL column.
CREATE_TIER = "CREATE TYPE account_tier AS ENUM ('free', 'pro', 'enterprise')"
UPGRADE = f"""
{CREATE_TIER};
CREATE TABLE audit_events (id bigserial PRIMARY KEY, user_id bigint, action text NOT NULL);
ALTER TABLE users ADD COLUMN tier account_tier NOT NULL DEFAULT 'free';
INSERT INTO schema_migrations VALUES ('20240301000000');
INSERT INTO audit_events (user_id, action) SELECT id, 'login' FROM users;
"""


def content(stats: dict[str, dict[str, object]]) -> dict[str, tuple[object, object]]:
    """Rows and checksum per table: what a restore must keep (the bytes on disk it need not)."""
    return {name: (table["rows"], table["checksum"]) for name, table in stats.items()}


def run_sql(conn: PgConnInfo, sql: str) -> None:
    with connected(conn) as c:
        c.execute(sql.encode())


@pytest.fixture
def seeded(pg_db: PgConnInfo) -> PgConnInfo:
    run_sql(pg_db, OLD_SCHEMA)
    return pg_db


def test_snapshot_records_version_size_fingerprint_and_table_stats(
    seeded: PgConnInfo, tmp_path: Path, tools: LocalPgTools
) -> None:
    snap = snapshot_postgres(seeded, tmp_path / "pre.dump", tools=tools)
    assert snap.server_version.startswith("15")
    assert snap.size_bytes > 0
    assert snap.dump_bytes == (tmp_path / "pre.dump").stat().st_size
    assert len(snap.sha256) == 64
    assert snap.tables["public.users"]["rows"] == 500
    assert snap.tables["public.projects"]["rows"] == 2000
    assert snap.schema.schema_migrations == ["20240101000000", "20240201000000"]
    assert snap.schema.category("types")["public.project_state"]["labels"] == ["draft", "live"]
    assert "public.live_projects" in snap.schema.category("views")
    loaded = Snapshot.load(tmp_path / "pre.dump")
    assert loaded.to_dict() == json.loads(json.dumps(snap.to_dict()))


def test_risk_c_in_place_clean_restore_leaves_new_objects_and_reupgrade_fails(
    seeded: PgConnInfo,
    pg_databases: Callable[..., PgConnInfo],
    tmp_path: Path,
    tools: LocalPgTools,
) -> None:
    dump = tmp_path / "pre-upgrade.dump"
    snap = snapshot_postgres(seeded, dump, tools=tools)
    run_sql(seeded, UPGRADE)

    restore_postgres(dump, seeded, in_place=True, tools=tools)
    current, stats = capture_postgres(seeded)

    findings = find_restore_leftovers(snap.schema, current)
    named = {(f.kind, f.object) for f in findings}
    assert ("leftover-type", "public.account_tier") in named
    assert ("leftover-table", "public.audit_events") in named
    # The NOT NULL column went away with the re-created users table; the type it used did not.
    assert "public.users.tier" not in current.category("columns")
    assert current.schema_migrations == snap.schema.schema_migrations
    assert content(stats)["public.users"] == content(snap.tables)["public.users"]
    with connected(seeded) as c, pytest.raises(psycopg.errors.DuplicateObject):
        c.execute(CREATE_TIER)
    assert check_schema_restored(snap.schema, current) != []

    # The recommended path: restore into a new database, then the schema equals the snapshot.
    fresh = pg_databases("restored", create=False)
    restore_postgres(dump, fresh, tools=tools)
    restored, restored_stats = capture_postgres(fresh)
    assert_no_findings(check_schema_restored(snap.schema, restored), "scenario 3 restore")
    assert find_restore_leftovers(snap.schema, restored) == []
    assert content(restored_stats) == content(snap.tables)
    with connected(fresh) as c:
        c.execute(CREATE_TIER)  # the re-upgrade's migration now succeeds


def test_restore_to_new_database_refuses_an_existing_one(
    seeded: PgConnInfo, tmp_path: Path, tools: LocalPgTools
) -> None:
    dump = tmp_path / "pre.dump"
    snapshot_postgres(seeded, dump, tools=tools)
    from pytest_jitera.errors import DatastoreError

    with pytest.raises(DatastoreError, match="already exists"):
        restore_postgres(dump, seeded, tools=tools)


def test_verify_proves_a_good_snapshot_and_drops_the_scratch_database(
    seeded: PgConnInfo, jitera_test_postgres: PgConnInfo, tmp_path: Path, tools: LocalPgTools
) -> None:
    dump = tmp_path / "pre.dump"
    snapshot_postgres(seeded, dump, tools=tools)
    result = verify_postgres_snapshot(dump, jitera_test_postgres, tools=tools)
    assert_verified(result)
    assert (result.details["tables"], result.details["rows"]) == (4, 2503)
    assert set(result.details["timings"]) == {"sha256", "list", "restore", "capture", "drop"}
    with connected(jitera_test_postgres) as c:
        left = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (result.scratch,))
        assert left.fetchone() is None


def test_directory_format_with_parallel_jobs_verifies(
    seeded: PgConnInfo, jitera_test_postgres: PgConnInfo, tmp_path: Path, tools: LocalPgTools
) -> None:
    dump = tmp_path / "pre.dir"
    snap = snapshot_postgres(seeded, dump, tools=tools, fmt="directory", jobs=2)
    assert dump.is_dir()
    assert (dump / "toc.dat").exists()
    assert_verified(verify_postgres_snapshot(dump, jitera_test_postgres, tools=tools, jobs=2))
    assert snap.fmt == "directory"


def damaged_copy(dump: Path, name: str, how: str) -> Path:
    bad = dump.with_name(name)
    data = bytearray(dump.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    else:
        mid = int(len(data) * 0.6)
        data[mid : mid + 256] = bytes((b ^ 0x5A) for b in data[mid : mid + 256])
    bad.write_bytes(bytes(data))
    shutil.copy(dump.with_name(dump.name + ".manifest.json"), bad.with_name(name + ".manifest.json"))
    return bad


@pytest.mark.parametrize("how", ["truncate", "corrupt"])
def test_damaged_dump_is_unverifiable_never_success(
    how: str,
    seeded: PgConnInfo,
    jitera_test_postgres: PgConnInfo,
    tmp_path: Path,
    tools: LocalPgTools,
) -> None:
    dump = tmp_path / "pre.dump"
    snap = snapshot_postgres(seeded, dump, tools=tools)
    bad = damaged_copy(dump, f"{how}.dump", how)

    # With the manifest: the fingerprint no longer matches.
    result = verify_postgres_snapshot(bad, jitera_test_postgres, tools=tools)
    assert result.status is Status.UNVERIFIABLE
    assert not result.ok
    assert "truncated or corrupted" in result.text()

    # Even with a manifest written for the damaged file (e.g. a disk that filled up during the
    # dump), pg_restore itself must fail and the result stays unverifiable.
    digest, size = sha256_tree(bad)
    lying = dataclasses.replace(snap, path=bad, sha256=digest, dump_bytes=size)
    deep = verify_postgres_snapshot(bad, jitera_test_postgres, snapshot=lying, tools=tools)
    assert deep.status is Status.UNVERIFIABLE, deep.text()
    assert not deep.ok


def test_dump_without_manifest_is_unverifiable(
    seeded: PgConnInfo, jitera_test_postgres: PgConnInfo, tmp_path: Path, tools: LocalPgTools
) -> None:
    dump = tmp_path / "pre.dump"
    snapshot_postgres(seeded, dump, tools=tools)
    (tmp_path / "pre.dump.manifest.json").unlink()
    result = verify_postgres_snapshot(dump, jitera_test_postgres, tools=tools)
    assert result.status is Status.UNVERIFIABLE


def test_changed_restore_is_a_mismatch_not_success(
    seeded: PgConnInfo, jitera_test_postgres: PgConnInfo, tmp_path: Path, tools: LocalPgTools
) -> None:
    dump = tmp_path / "pre.dump"
    snap = snapshot_postgres(seeded, dump, tools=tools)
    snap.tables["public.users"]["rows"] = 499
    result = verify_postgres_snapshot(dump, jitera_test_postgres, snapshot=snap, tools=tools)
    assert result.status is Status.MISMATCH
    assert "table public.users: 500 row(s), expected 499" in result.problems


def test_risk_b_rows_written_after_snapshot_with_null_backfilled_columns(
    seeded: PgConnInfo, tmp_path: Path, tools: LocalPgTools
) -> None:
    # Newer release: nullable column plus a data migration that backfilled it, recorded as run.
    run_sql(
        seeded,
        """
        ALTER TABLE projects ADD COLUMN slug text;
        UPDATE projects SET slug = 'p-' || id;
        INSERT INTO data_migrations VALUES ('20240301000001');
    """,
    )
    snap = snapshot_postgres(seeded, tmp_path / "s.dump", tools=tools)
    run_sql(seeded, "INSERT INTO projects (user_id, title) VALUES (1, 'written in the window')")
    spec = [Backfill("projects", ("slug",), "20240301000001")]
    with connected(seeded) as c:
        findings = check_backfills(psycopg_query(c), snap.schema, spec, snap.taken_at)
        assert [(f.kind, f.object) for f in findings] == [("unbackfilled-rows", "projects(slug)")]
        assert "1 row(s)" in findings[0].message
        c.execute("UPDATE projects SET slug = 'p-' || id WHERE slug IS NULL")
        assert check_backfills(psycopg_query(c), snap.schema, spec, snap.taken_at) == []


def test_in_cluster_path_streams_through_kubectl_exec(
    seeded: PgConnInfo,
    jitera_test_postgres: PgConnInfo,
    pg_databases: Callable[..., PgConnInfo],
    kubectl_shim: tuple[Path, Path],
    shim_access: ClusterAccess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, argv_log = kubectl_shim
    monkeypatch.delenv("PGPASSWORD", raising=False)
    tools = PodPgTools(shim_access, "postgres-0", container="postgresql")
    dump = tmp_path / "incluster.dump"
    snap = snapshot_postgres(seeded, dump, tools=tools)
    assert snap.tables["public.projects"]["rows"] == 2000
    assert set(snap.timings) == {"schema", "dump", "stats", "sha256"}
    fresh = pg_databases("incluster", create=False)
    restore_postgres(dump, fresh, tools=tools)
    schema, stats = capture_postgres(fresh, tools=tools)
    assert_schema_equal(snap.schema, dataclasses.replace(schema, database=snap.schema.database))
    assert content(stats) == content(snap.tables)
    assert_verified(verify_postgres_snapshot(dump, jitera_test_postgres, tools=tools))
    logged = argv_log.read_text()
    assert "--namespace jitera exec -i postgres-0 -c postgresql -- env" in logged
    assert "pg_restore" in logged
    assert "DROP DATABASE" in logged  # the scratch database went away through psql in the pod
    assert seeded.password
    assert seeded.password not in logged
    assert diff_schemas(snap.schema, schema).changes == []


def test_checksums_survive_restore_for_every_kind_of_column(
    pg_db: PgConnInfo, pg_databases: Callable[..., PgConnInfo], tmp_path: Path, tools: LocalPgTools
) -> None:
    run_sql(
        pg_db,
        """
        CREATE TYPE mood AS ENUM ('ok', 'meh');
        CREATE DOMAIN positive AS int CHECK (VALUE > 0);
        CREATE TYPE pair AS (a int, b text);
        CREATE TABLE odd (
            id int, m mood, ms mood[], j json, jb jsonb, u uuid, b bytea, n numeric(10, 3),
            f float8, ts timestamptz, d positive, p pair, r int4range, tags text[], c regclass
        );
        INSERT INTO odd SELECT g, 'meh', ARRAY['ok', 'meh']::mood[], '{"a": 1}', '{"b": [1]}',
            md5(g::text)::uuid, '\\x00ff', g / 7.0, g / 3.0, '2024-01-01'::timestamptz + g * interval '1h',
            g, ROW(g, 'x')::pair, int4range(g, g + 5), ARRAY['a', NULL], 'odd'::regclass
        FROM generate_series(1, 300) g;
        INSERT INTO odd (id) VALUES (NULL);
    """,
    )
    dump = tmp_path / "odd.dump"
    snap = snapshot_postgres(pg_db, dump, tools=tools)
    fresh = pg_databases("odd", create=False)
    restore_postgres(dump, fresh, tools=tools)
    _, stats = capture_postgres(fresh)
    assert content(stats) == content(snap.tables)
    run_sql(fresh, "UPDATE odd SET m = 'ok' WHERE id = 17")
    _, changed = capture_postgres(fresh)
    assert changed["public.odd"]["rows"] == 301
    assert changed["public.odd"]["checksum"] != snap.tables["public.odd"]["checksum"]
