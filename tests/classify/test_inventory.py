"""Migration inventory from folders and (with a fake runner) from images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import pytest

from pytest_jitera.decision.migrations.inventory import (
    diff_inventories,
    image_app_tree,
    load_inventory,
)
from pytest_jitera.decision.migrations.naming import migration_version
from pytest_jitera.errors import JiteraError
from pytest_jitera.reference.series import migration_versions
from pytest_jitera.runner import Completed

from .conftest import FIXTURES


def _tree(root: Path, files: list[str]) -> Path:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("class X < ActiveRecord::Migration[7.1]\nend\n")
    return root


def test_lists_schema_and_data_migrations_by_version() -> None:
    inventory = load_inventory(FIXTURES / "scenario1" / "old" / "app")
    assert [(m.kind, m.version, m.name) for m in inventory.migrations] == [
        ("data", "20240103000000", "backfill_user_emails"),
        ("migrate", "20240101000000", "create_users"),
        ("migrate", "20240102000000", "create_legacy_reports"),
    ]


def test_diff_reports_added_and_removed_by_version(tmp_path: Path) -> None:
    old = _tree(tmp_path / "old", ["db/migrate/1_a.rb", "db/migrate/2_b.rb", "db/data/3_c.rb"])
    new = _tree(tmp_path / "new", ["db/migrate/1_a.rb", "db/migrate/4_d.rb", "db/data/3_c.rb",
                                   "db/data/5_e.rb", "db/migrate/.keep", "db/migrate/README"])
    diff = diff_inventories(load_inventory(old), load_inventory(new))
    assert [m.path for m in diff.added] == ["db/data/5_e.rb", "db/migrate/4_d.rb"]
    assert [m.path for m in diff.removed] == ["db/migrate/2_b.rb"]
    assert load_inventory(new).ignored == ("db/migrate/README",)
    assert diff.to_json()["added"][0] == {
        "kind": "data", "version": "5", "name": "e", "path": "db/data/5_e.rb"}


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("20240101000000_create_users.rb", "20240101000000"),
        ("001_create_users.rb", "001"),  # timestamped_migrations = false: Rails runs it too
        ("7_x.rb", "7"),
        ("20240101000000_create_users.rb.bak", None),
        ("20240101000000_create_users.rb\n", None),
        ("create_users.rb", None),
        ("20240101000000-create_users.rb", None),
        ("\u0661\u0662_create_users.rb", None),  # Arabic-Indic digits: not a Rails version
    ],
)
def test_one_migration_file_name_rule(name: str, version: str | None) -> None:
    assert migration_version(name) == version


def test_reference_series_reads_migration_versions_by_the_same_rule(tmp_path: Path) -> None:
    app = _tree(tmp_path / "app", ["db/migrate/20240101000000_a.rb", "db/migrate/9_b.rb",
                                   "db/migrate/10_c.rb", "db/migrate/notes.rb"])
    assert migration_versions(app) == ("9", "10", "20240101000000")
    assert migration_versions(app) == tuple(m.version for m in load_inventory(app).migrations)


def test_renamed_file_with_same_version_is_not_added(tmp_path: Path) -> None:
    old = _tree(tmp_path / "old", ["db/migrate/1_create_things.rb"])
    new = _tree(tmp_path / "new", ["db/migrate/1_create_stuff.rb"])
    diff = diff_inventories(load_inventory(old), load_inventory(new))
    assert diff.added == ()
    assert diff.removed == ()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is not a folder"),
        (lambda p: p, "has no db/migrate/"),
    ],
    ids=["missing", "file", "not-rails"],
)
def test_bad_trees_raise_clear_errors(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(JiteraError, match=message) as info:
        load_inventory(make(tmp_path), "old")
    assert info.value.hint


class FakeDocker:
    """Plays `docker create/cp/rm` against a folder standing in for the image filesystem."""

    def __init__(self, image_root: Path, fail_create: bool = False) -> None:
        self.image_root = image_root
        self.fail_create = fail_create
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            input: str | None = None, check: bool = True, timeout: float | None = None,
            cwd: Path | None = None, stdout: IO[bytes] | None = None) -> Completed:
        import shutil

        from pytest_jitera.runner import RunError

        argv = list(argv)
        self.calls.append(argv)
        if argv[1] == "create":
            if self.fail_create:
                raise RunError(argv, 1, "Error: No such image: nope:latest")
            return Completed(tuple(argv), 0, "abc123\n", "", 0.0)
        if argv[1] == "cp":
            source = self.image_root / argv[2].split(":", 1)[1].lstrip("/")
            if not source.exists():
                return Completed(tuple(argv), 1, "",
                                 f"Error: Could not find the file {source} in container", 0.0)
            shutil.copytree(source, argv[3])
            return Completed(tuple(argv), 0, "", "", 0.0)
        return Completed(tuple(argv), 0, "", "", 0.0)


def test_image_tree_copies_folders_and_removes_container(tmp_path: Path) -> None:
    image_fs = tmp_path / "fs"
    _tree(image_fs / "srv" / "rails", ["db/migrate/1_a.rb", "app/models/user.rb"])
    docker = FakeDocker(image_fs)
    with image_app_tree("jitera/api:v1", "/srv/rails", runner=docker) as root:
        assert [m.path for m in load_inventory(root).migrations] == ["db/migrate/1_a.rb"]
        assert (root / "app" / "models" / "user.rb").exists()
        copied = root
    assert not copied.exists()
    assert docker.calls[0][:4] == ["docker", "create", "--pull", "never"]
    assert docker.calls[-1] == ["docker", "rm", "-f", "abc123"]


def test_image_without_migrations_is_an_error_and_cleans_up(tmp_path: Path) -> None:
    docker = FakeDocker(tmp_path / "empty")
    with pytest.raises(JiteraError, match="has no /app/db/migrate"), \
            image_app_tree("jitera/api:v1", runner=docker):
        pass
    assert docker.calls[-1] == ["docker", "rm", "-f", "abc123"]


def test_missing_image_is_a_clear_error(tmp_path: Path) -> None:
    docker = FakeDocker(tmp_path, fail_create=True)
    with pytest.raises(JiteraError, match="docker create failed") as info, \
            image_app_tree("nope:latest", runner=docker):
        pass
    assert "never pulls" in (info.value.hint or "")
    assert all(call[1] != "rm" for call in docker.calls)


def test_relative_image_app_path_is_rejected() -> None:
    with pytest.raises(JiteraError, match="not absolute"), image_app_tree("x", "app"):
        pass
