"""The starting-state cache's key and folder rules (pure logic; the restore itself runs in CI's rehearsal)."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_jitera.datastores import Snapshot
from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.digest import sha256_tree
from pytest_jitera.runbook.starting_state import (
    FORMAT,
    STATE_FILE,
    check_state_files,
    load_starting_state,
    starting_state_key,
)

PARTS = {"version": "v24.07.01", "chart": ["c1"], "values": [], "images": {"app:v1": "sha256:1"}}


def test_the_key_changes_with_every_input_and_nothing_else() -> None:
    key = starting_state_key(PARTS)
    assert key == starting_state_key(dict(reversed(list(PARTS.items()))))
    for name, other in (("version", "v24.06.01"), ("chart", ["c2"]), ("values", ["v"]),
                        ("images", {"app:v1": "sha256:2"})):
        assert starting_state_key({**PARTS, name: other}) != key, name


def _snapshot(folder: Path, name: str, body: bytes) -> Snapshot:
    dump = folder / name
    dump.write_bytes(body)
    digest, size = sha256_tree(dump)
    snap = Snapshot(
        path=dump, engine="postgresql", fmt="custom", database="app", source="db", taken_at="t",
        seconds=1.0, sha256=digest, dump_bytes=size, tables={}, schema=SchemaSnapshot("postgresql", "app"),
        tool="pg_dump",
    )
    snap.save()
    return snap


def _save(cache: Path, folder_name: str, **record: object) -> Path:
    folder = cache / folder_name
    folder.mkdir(parents=True)
    _snapshot(folder, "postgresql.dump", b"rows")
    base = {"format": FORMAT, "key": folder_name, "version": "v24.07.01",
            "saved_at": "2026-12-02T05:00:00+00:00", "install_seconds": 95.0,
            "postgres": {"postgresql": "postgresql.dump"}, "mongodb": None}
    (folder / STATE_FILE).write_text(json.dumps({**base, **record}))
    return folder


def test_a_whole_state_loads_and_names_its_release(tmp_path: Path) -> None:
    _save(tmp_path, "k1")
    state = load_starting_state(tmp_path, "k1")
    assert state is not None
    assert state.version == "v24.07.01"
    assert set(state.backups.postgres) == {"postgresql"}
    assert "v24.07.01, saved 2026-12-02" in state.describe()
    assert check_state_files(state) == []


def test_a_missing_partial_or_foreign_state_is_a_miss(tmp_path: Path) -> None:
    assert load_starting_state(tmp_path, "absent") is None
    _save(tmp_path, "old", format=FORMAT - 1)
    assert load_starting_state(tmp_path, "old") is None
    _save(tmp_path, "other", key="not-this-one")
    assert load_starting_state(tmp_path, "other") is None
    folder = _save(tmp_path, "torn")
    (folder / "postgresql.dump.manifest.json").unlink()
    assert load_starting_state(tmp_path, "torn") is None


def test_a_changed_dump_is_named(tmp_path: Path) -> None:
    folder = _save(tmp_path, "k2")
    state = load_starting_state(tmp_path, "k2")
    assert state is not None
    (folder / "postgresql.dump").write_bytes(b"rows, truncated later")
    problems = check_state_files(state)
    assert len(problems) == 1
    assert "postgresql.dump changed since it was saved" in problems[0]
    (folder / "postgresql.dump").unlink()
    assert check_state_files(state) == ["postgresql.dump is missing"]
