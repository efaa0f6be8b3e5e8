"""A dump of a real reference database, filled by the generator, read back as its release's.

The database is made by the reference Rails app's own hook (db:migrate + data:migrate) at
v24.05.01, filled by ``pytest-jitera reference-data``, dumped with the real ``pg_dump``, and
read with the real ``pg_restore``: the same path a rehearsal's ``--jitera-seed-postgres`` takes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_jitera.cli import main
from pytest_jitera.decision.migrations.inventory import load_inventory
from pytest_jitera.runner import Runner
from pytest_jitera.seed.dumps import pg_dump_format
from pytest_jitera.seed.recorded_versions import read_recorded_versions, version_mismatches

from ._support import RailsApp, query, scratch_database

pytestmark = pytest.mark.postgres


def _shipped(tree: Path) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for migration in load_inventory(tree).migrations:
        kinds.setdefault(migration.kind, set()).add(migration.version)
    return kinds


@pytest.fixture(scope="module")
def v24_05_dumps(
    admin_dsn: str, rails_trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dumps")
    with scratch_database(admin_dsn) as dsn:
        RailsApp(rails_trees["v24.05.01"], dsn).hook()
        assert main(["reference-data", "--projects", "3000", "--automation-dsn", dsn]) == 0
        assert query(dsn, "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM users), "
                          "(SELECT count(*) FROM uploads)") == [(3000, 301, 1500)]  # + the admin
        owners = query(dsn, "SELECT count(DISTINCT user_id) FROM projects")
        assert owners == [(300,)]
        dumps = {"custom": out / "a.dump", "directory": out / "a.dir", "inserts": out / "inserts.dump"}
        subprocess.run(["pg_dump", "-Fc", "-d", dsn, "-f", str(dumps["custom"])], check=True)
        subprocess.run(["pg_dump", "-Fd", "-d", dsn, "-f", str(dumps["directory"])], check=True)
        subprocess.run(["pg_dump", "-Fc", "--inserts", "-d", dsn, "-f", str(dumps["inserts"])], check=True)
    return dumps


@pytest.mark.parametrize("kind", ["custom", "directory", "inserts"])
def test_each_dump_layout_reads_as_the_release_it_was_taken_at(
    kind: str, v24_05_dumps: dict[str, Path], rails_trees: dict[str, Path]
) -> None:
    dump = v24_05_dumps[kind]
    assert pg_dump_format(dump, "seed-postgres") == ("directory" if kind == "directory" else "custom")
    recorded = read_recorded_versions(dump, "pg_restore", Runner(), name="seed-postgres")
    shipped = _shipped(rails_trees["v24.05.01"])
    assert recorded.table("schema_migrations") == shipped["migrate"]
    assert recorded.table("data_migrations") == shipped["data"]
    assert version_mismatches(recorded, shipped) == []


def test_the_next_release_names_what_the_dump_lacks(
    v24_05_dumps: dict[str, Path], rails_trees: dict[str, Path]
) -> None:
    recorded = read_recorded_versions(v24_05_dumps["custom"], "pg_restore", Runner(), name="seed-postgres")
    problems = version_mismatches(recorded, _shipped(rails_trees["v24.07.01"]))
    assert problems == [
        "schema_migrations lacks 20240601000001, 20240601000002, 20240701000001, 20240701000002, "
        "20240701000003",
        "data_migrations lacks 20240701100001",
    ]


def test_generating_again_adds_rows_with_fresh_keys(admin_dsn: str, rails_trees: dict[str, Path]) -> None:
    with scratch_database(admin_dsn) as dsn:
        RailsApp(rails_trees["v24.05.01"], dsn).hook()
        for _ in range(2):
            assert main(["reference-data", "--projects", "100", "--users", "7", "--automation-dsn", dsn]) == 0
        assert query(dsn, "SELECT count(*), count(DISTINCT email) FROM users") == [(15, 15)]
        assert query(dsn, "SELECT count(*) FROM projects") == [(200,)]
