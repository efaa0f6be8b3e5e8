"""Reading each migration's duration and tables from a hook log (pure logic)."""

from __future__ import annotations

from pytest_jitera.runbook.migration_costs import (
    cost_table,
    describe,
    parse_migration_log,
    statement_tables,
)

LOG = """\
[jitera-migrate-x/migrate] == 20240601000001 DropLegacyReports: migrating =====================
[jitera-migrate-x/migrate] -- drop_table(:legacy_reports)
[jitera-migrate-x/migrate]    -> 0.0040s
[jitera-migrate-x/migrate] == 20240601000001 DropLegacyReports: migrated (0.0041s) ============
[jitera-migrate-x/migrate] == 20240601000002 AddArchivedAtToProjects: migrating ===============
[jitera-migrate-x/migrate] -- add_column(:projects, :archived_at, :datetime, {:null=>true})
[jitera-migrate-x/migrate]    -> 0.0012s
[jitera-migrate-x/migrate] -- add_index(:projects, :archived_at)
[jitera-migrate-x/migrate] == 20240601000002 AddArchivedAtToProjects: migrated (12.5000s) =====
[jitera-migrate-x/migrate] == 20240601100001 BackfillThings: migrating ========================
[jitera-migrate-x/migrate] -- execute("UPDATE projects SET slug = id WHERE slug IS NULL")
[jitera-migrate-x/migrate] == 20240601100001 BackfillThings: migrated (3.2500s) ===============
[jitera-migrate-x/migrate] == 20240601000003 DiesHalfway: migrating ===========================
[jitera-migrate-x/migrate] -- add_column(:users, :x, :string)
"""


def test_every_finished_migration_with_its_duration_and_tables() -> None:
    costs = parse_migration_log(LOG.splitlines())
    assert [(c.version, c.name, c.seconds, c.tables) for c in costs] == [
        ("20240601000001", "DropLegacyReports", 0.0041, ("legacy_reports",)),
        ("20240601000002", "AddArchivedAtToProjects", 12.5, ("projects",)),
        ("20240601100001", "BackfillThings", 3.25, ("projects",)),
    ]


def test_table_is_slowest_first_with_rows_before_the_hop() -> None:
    rows = cost_table(
        parse_migration_log(LOG.splitlines()),
        {
            "public.projects": {"rows": 1_000_000, "checksum": "x", "bytes": 84_200_000},
            "public.legacy_reports": {"rows": 3},  # a snapshot saved before sizes were recorded
        },
    )
    assert [r.version for r in rows] == ["20240601000002", "20240601100001", "20240601000001"]
    assert rows[0].to_dict()["tables"] == [{"table": "projects", "rows": 1_000_000, "bytes": 84_200_000}]
    assert rows[-1].tables[0].bytes is None
    assert describe(rows, limit=1) == (
        "20240601000002 AddArchivedAtToProjects 12.50 s on projects (1000000 rows, 84.2 MB)"
    )


def test_a_table_the_migration_created_has_no_row_count() -> None:
    costs = parse_migration_log(
        ["== 1 CreateThings: migrating ==", "-- create_table(:things)", "== 1 CreateThings: migrated (0.1s)"]
    )
    assert cost_table(costs, {})[0].tables[0].rows is None


def test_sql_in_execute_names_its_tables_and_not_its_keywords() -> None:
    upsert = '"INSERT INTO users (email) VALUES (1) ON CONFLICT (email) DO NOTHING")'
    assert statement_tables("execute", upsert) == ["users"]
    assert statement_tables("execute", '"ALTER TABLE ONLY public.projects ADD COLUMN s int")') == ["projects"]
    assert statement_tables("execute", '"CREATE INDEX CONCURRENTLY i ON projects (slug)")') == ["projects"]
    assert statement_tables("execute", '"CREATE TYPE project_status AS ENUM (\'a\')")') == []
    assert statement_tables("rename_column", ':"projects", :a, :b)') == ["projects"]


def test_no_migration_says_so() -> None:
    assert parse_migration_log(["nothing to do"]) == []
    assert describe([]) == "no migration ran"
