"""Consistency checks on pure data (the Risk B check against a real server is in test_postgres)."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_jitera.datastores import (
    SchemaSnapshot,
    check_migrations_match,
    check_references,
    check_schema_restored,
    find_restore_leftovers,
    findings_to_json,
    format_findings,
    migration_versions,
    versions_in_dir,
)

SNAP = SchemaSnapshot(
    "postgresql",
    "jitera",
    {
        "tables": {"public.users": {}, "public.projects": {}, "public.schema_migrations": {}},
        "columns": {"public.users.id": {}, "public.users.email": {}, "public.projects.id": {}},
        "types": {"public.role": {"kind": "enum", "labels": ["a"]}},
        "indexes": {"public.users_pkey": {"table": "public.users"}},
        "sequences": {},
        "extensions": {},
        "schema_migrations": {"20240101000000": {}, "20240201000000": {}},
        "data_migrations": {"20240115000000": {}},
    },
)


def after_upgrade() -> SchemaSnapshot:
    s = SchemaSnapshot.from_dict(json.loads(SNAP.to_json()))
    s.objects["types"]["public.tier"] = {"kind": "enum", "labels": ["free", "pro"]}
    s.objects["tables"]["public.audit_events"] = {}
    s.objects["columns"]["public.audit_events.id"] = {}
    s.objects["indexes"]["public.audit_events_pkey"] = {"table": "public.audit_events"}
    s.objects["sequences"]["public.audit_events_id_seq"] = {"owned_by": "public.audit_events.id"}
    s.objects["sequences"]["public.invoice_no"] = {"owned_by": None}
    s.objects["extensions"]["pgcrypto"] = {"version": "1.3"}
    s.objects["columns"]["public.users.tier"] = {}
    return s


def test_migration_versions_from_rails_file_names(tmp_path: Path) -> None:
    assert migration_versions(
        ["db/migrate/20240101000000_create_users.rb", "README.md", "20240301_x.txt"]
    ) == {"20240101000000"}
    (tmp_path / "20240101000000_a.rb").write_text("")
    (tmp_path / ".keep").write_text("")
    assert versions_in_dir(tmp_path) == {"20240101000000"}
    assert versions_in_dir(tmp_path / "missing") == set()


def test_migrations_match_exactly() -> None:
    ok = check_migrations_match(
        SNAP,
        ["20240101000000_create_users.rb", "20240201000000_add_projects.rb"],
        ["20240115000000_backfill_roles.rb"],
    )
    assert ok == []


def test_pending_and_unknown_migrations_are_both_reported() -> None:
    findings = check_migrations_match(
        SNAP,
        ["20240101000000_create_users.rb", "20240301000000_add_tier.rb"],
        [],
        release="v24.05.01",
    )
    got = {(f.kind, f.object) for f in findings}
    assert got == {
        ("migration-pending", "db/migrate/20240301000000"),
        ("migration-unknown", "schema_migrations/20240201000000"),
        ("migration-unknown", "data_migrations/20240115000000"),
    }
    assert all(f.fix for f in findings)


def test_risk_a_missing_tables_and_columns() -> None:
    findings = check_references(SNAP, ["users", "users.email", "users.tier", "legacy_reports"])
    assert {(f.kind, f.object) for f in findings} == {
        ("missing-column", "users.tier"),
        ("missing-table", "legacy_reports"),
    }
    assert "PG::UndefinedTable" in format_findings(findings)


def test_risk_c_leftovers_name_types_tables_sequences_extensions_not_their_parts() -> None:
    findings = find_restore_leftovers(SNAP, after_upgrade(), created_by={"public.tier": "20240301000000"})
    got = {(f.kind, f.object) for f in findings}
    assert got == {
        ("leftover-type", "public.tier"),
        ("leftover-table", "public.audit_events"),
        ("leftover-sequence", "public.invoice_no"),
        ("leftover-extension", "pgcrypto"),
        ("leftover-column", "public.users.tier"),
    }
    tier = next(f for f in findings if f.object == "public.tier")
    assert "migration 20240301000000" in tier.message
    assert "PG::DuplicateObject" in tier.message
    assert "DROP TYPE public.tier;" in tier.fix
    assert json.loads(findings_to_json(findings))[0].keys() == {"kind", "object", "message", "fix"}


def test_schema_restored_check_turns_the_diff_into_findings() -> None:
    assert check_schema_restored(SNAP, SNAP) == []
    findings = check_schema_restored(SNAP, after_upgrade())
    assert {f.kind for f in findings} == {"schema-added"}
    assert any(f.object == "types:public.tier" for f in findings)


def test_format_findings_groups_by_kind_and_lists_fixes() -> None:
    text = format_findings(find_restore_leftovers(SNAP, after_upgrade()), title="restore")
    assert text.startswith("restore (5):")
    assert "  [leftover-type]" in text
    assert text.count("fix:") == 5
