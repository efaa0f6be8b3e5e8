"""The engine-independent snapshot flow, on a hand-written adapter: no server needed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_jitera.charts import chart
from pytest_jitera.datastores import (
    Capture,
    SchemaSnapshot,
    Snapshot,
    Stats,
    Status,
    take_snapshot,
    verify_snapshot,
)
from pytest_jitera.datastores.snapshot import diff_stats, manifest_path
from pytest_jitera.digest import sha256_file, sha256_tree
from pytest_jitera.errors import DatastoreError

SCHEMA = SchemaSnapshot("testdb", "shop", {"tables": {"public.orders": {"kind": "table"}}})
TABLES: Stats = {"public.orders": {"rows": 3, "checksum": "42"}}


@dataclass
class FakeAdapter:
    """Dumps a fixed file; restores, captures and drops into an in-memory catalogue."""

    engine: str = "testdb"
    noun: str = "table"
    unit: str = "row"
    database: str = "shop"
    restored: Stats = field(default_factory=lambda: dict(TABLES))
    fail_check: bool = False
    fail_restore: bool = False
    calls: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "fake://server/shop"

    def dump(self, dest: Path, timings: dict[str, float]) -> Capture:
        self.calls.append("dump")
        dest.write_bytes(b"dump bytes")
        return Capture("custom", "fake_dump", SCHEMA, dict(TABLES), "1.0", 10)

    def check_archive(self, dump: Path) -> bool:
        self.calls.append("check")
        if self.fail_check:
            raise DatastoreError("no table of contents")
        return True

    def scratch_name(self, name: str) -> str:
        return name

    def restore_scratch(self, dump: Path, snapshot: Snapshot, scratch: str) -> None:
        self.calls.append(f"restore {scratch}")
        if self.fail_restore:
            raise DatastoreError("restore exploded")

    def capture_scratch(self, scratch: str) -> tuple[SchemaSnapshot, Stats]:
        self.calls.append("capture")
        return SchemaSnapshot.from_dict(json.loads(SCHEMA.to_json())), dict(self.restored)

    def drop_scratch(self, scratch: str) -> None:
        self.calls.append(f"drop {scratch}")


def test_take_writes_a_manifest_that_loads_back(tmp_path: Path) -> None:
    adapter = FakeAdapter()
    snap = take_snapshot(tmp_path / "sub" / "x.dump", adapter)
    assert snap.manifest_path == manifest_path(snap.path)
    loaded = Snapshot.load(snap.path)
    assert loaded.to_dict() == json.loads(json.dumps(snap.to_dict()))
    assert (loaded.engine, loaded.fmt, loaded.tool, loaded.source) == (
        "testdb",
        "custom",
        "fake_dump",
        "fake://server/shop",
    )
    assert (loaded.sha256, loaded.dump_bytes) == sha256_tree(snap.path)
    assert "sha256" in loaded.timings


def test_verify_success_runs_every_step_and_drops_the_scratch(tmp_path: Path) -> None:
    adapter = FakeAdapter()
    snap = take_snapshot(tmp_path / "x.dump", adapter)
    result = verify_snapshot(snap.path, adapter, scratch_name="scratch_1")
    assert result.status is Status.VERIFIED, result.text()
    assert adapter.calls == ["dump", "check", "restore scratch_1", "capture", "drop scratch_1"]
    assert result.details["tables"] == 1
    assert result.details["rows"] == 3
    assert set(result.details["timings"]) == {"sha256", "list", "restore", "capture", "drop"}


def test_verify_mismatch_names_the_table_in_the_adapters_words(tmp_path: Path) -> None:
    adapter = FakeAdapter(noun="collection", unit="document")
    snap = take_snapshot(tmp_path / "x.dump", adapter)
    adapter.restored = {"public.orders": {"rows": 2, "checksum": "41"}}
    result = verify_snapshot(snap.path, adapter)
    assert result.status is Status.MISMATCH
    assert result.problems == ["collection public.orders: 2 document(s), expected 3"]
    assert result.scratch is not None
    assert result.scratch.startswith("jitera_verify_shop_")


@pytest.mark.parametrize("damage", ["no-manifest", "truncated", "other-engine", "bad-archive", "bad-restore"])
def test_anything_that_stops_the_proof_is_unverifiable(damage: str, tmp_path: Path) -> None:
    adapter = FakeAdapter()
    snap = take_snapshot(tmp_path / "x.dump", adapter)
    if damage == "no-manifest":
        snap.manifest_path.unlink()
    elif damage == "truncated":
        snap.path.write_bytes(b"dump")
    elif damage == "other-engine":
        adapter.engine = "otherdb"
    elif damage == "bad-archive":
        adapter.fail_check = True
    else:
        adapter.fail_restore = True
    result = verify_snapshot(snap.path, adapter)
    assert result.status is Status.UNVERIFIABLE, result.text()
    assert not result.ok
    if damage == "bad-restore":
        assert adapter.calls[-1].startswith("drop ")  # a failed restore is cleaned up too


def test_manifests_of_the_previous_layout_still_load(tmp_path: Path) -> None:
    schema = SCHEMA.to_dict()
    pg = tmp_path / "pg.dump"
    manifest_path(pg).write_text(
        json.dumps(
            {
                "path": str(pg),
                "format": "custom",
                "database": "automation",
                "source": "app@db:5432/automation",
                "server_version": "15.6",
                "size_bytes": 100,
                "taken_at": "2024-05-01T00:00:00+00:00",
                "seconds": 1.5,
                "sha256": "ab" * 32,
                "dump_bytes": 10,
                "timings": {"dump": 1.0},
                "tables": TABLES,
                "schema": schema,
            }
        )
    )
    mongo = tmp_path / "mongo-dump"
    manifest_path(mongo).write_text(
        json.dumps(
            {
                "path": str(mongo),
                "layout": "directory",
                "database": "jitera",
                "source": "mongodb://m:27017/jitera",
                "taken_at": "2024-05-01T00:00:00+00:00",
                "seconds": 0.5,
                "sha256": "cd" * 32,
                "dump_bytes": 20,
                "tool": "pymongo",
                "collections": {"users": {"rows": 1, "checksum": "7"}},
                "schema": schema,
            }
        )
    )
    old_pg, old_mongo = Snapshot.load(pg), Snapshot.load(mongo)
    assert (old_pg.engine, old_pg.fmt, old_pg.tool, old_pg.server_version) == (
        "postgresql",
        "custom",
        "pg_dump",
        "15.6",
    )
    assert (old_mongo.engine, old_mongo.fmt, old_mongo.tool) == ("mongodb", "directory", "pymongo")
    assert old_mongo.tables == {"users": {"rows": 1, "checksum": "7"}}


def test_an_unreadable_manifest_says_to_take_a_new_snapshot(tmp_path: Path) -> None:
    dump = tmp_path / "x.dump"
    manifest_path(dump).write_text('{"format": "custom"}')
    with pytest.raises(DatastoreError) as err:
        Snapshot.load(dump)
    assert err.value.hint
    assert "take a new snapshot" in err.value.hint


def test_diff_stats_reports_missing_extra_and_changed_content() -> None:
    expected: Stats = {"a": {"rows": 1, "checksum": "1"}, "b": {"rows": 2, "checksum": "2"}}
    actual: Stats = {"b": {"rows": 2, "checksum": "3"}, "c": {"rows": 5, "checksum": "5"}}
    assert diff_stats(expected, actual) == [
        "table a: missing (1 row(s) expected)",
        "table b: same row count (2) but content checksum differs",
        "table c: not in the snapshot but has 5 row(s)",
    ]


def test_one_file_hash_for_charts_and_backups(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 3_000_000)
    assert chart.sha256_file is sha256_file
    assert sha256_tree(f) == (sha256_file(f), 3_000_000)
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a").write_bytes(b"1")
    before = sha256_tree(folder)
    (folder / "sub" / "a").rename(folder / "sub" / "b")
    assert sha256_tree(folder) != before  # a renamed file changes the fingerprint
    assert sha256_tree(folder)[1] == 1
