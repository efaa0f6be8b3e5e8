"""faults.hookFailsMidway: the upgrade's hook fails after changing the schema, for real.

The render tests only need helm; the image tests run the hook script that helm renders inside
the v24.07.01 automation image against a database at the v24.06.01 schema (Docker and
JITERA_TEST_POSTGRES_DSN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_jitera.reference.build import BuildResult, ReleaseBuild
from pytest_jitera.runner import Completed, Runner

from ._images import build_images, migrate, run_automation
from ._support import find_helm, query, scratch_database

VERSIONS = ["v24.05.01", "v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01"]
OLD, NEW = "v24.06.01", "v24.07.01"
FIRST, SECOND, THIRD = "20240701000001", "20240701000002", "20240701000003"
NORMAL = "exec bin/rails db:create db:migrate data:migrate"


@pytest.fixture(scope="module")
def helm() -> str:
    found = find_helm()
    if found is None:
        pytest.skip("helm not found on PATH or in ~/.cache/pytest-jitera/bin")
    return found


def _hook(helm: str, chart: Path, *args: str) -> dict[str, Any]:
    done = Runner().run(
        [helm, "template", "rel", str(chart), "--show-only", "templates/migrate-job.yaml", *args], timeout=120
    )
    job: dict[str, Any] = yaml.safe_load(done.stdout)
    return job


def _script(job: dict[str, Any]) -> str:
    script: str = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    return script


# ----------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    "switch",
    [("--set", "faults.hookFailsMidway=true"), ("--set-string", "faults.hookFailsMidway=true")],
    ids=["bool", "string"],
)
def test_upgrade_hook_stops_after_one_migration_without_retry(
    helm: str, releases: dict[str, ReleaseBuild], switch: tuple[str, str]
) -> None:
    job = _hook(helm, releases[NEW].trees["chart"], "--is-upgrade", *switch)
    script = _script(job)
    assert job["spec"]["backoffLimit"] == 0, "a retry would apply the next migration"
    assert 'bin/rails db:migrate:up VERSION="$first"' in script
    assert 'echo "fault hookFailsMidway: stopping after $first" >&2' in script
    assert script.rstrip().endswith("exit 1")
    assert NORMAL not in script


@pytest.mark.parametrize(
    "args",
    [
        (),  # the default
        ("--set", "faults.hookFailsMidway=false"),
        ("--set-string", "faults.hookFailsMidway=false"),  # how the harness passes values
    ],
    ids=["default", "false", "string-false"],
)
def test_switch_off_leaves_the_normal_hook(
    helm: str, releases: dict[str, ReleaseBuild], args: tuple[str, ...]
) -> None:
    job = _hook(helm, releases[NEW].trees["chart"], "--is-upgrade", *args)
    assert job["spec"]["backoffLimit"] == 2
    assert NORMAL in _script(job)
    assert "hookFailsMidway" not in _script(job)


def test_install_ignores_the_switch(helm: str, releases: dict[str, ReleaseBuild]) -> None:
    job = _hook(helm, releases[NEW].trees["chart"], "--set", "faults.hookFailsMidway=true")
    assert job["spec"]["backoffLimit"] == 2
    assert NORMAL in _script(job)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_release_has_the_switch_off_by_default(
    helm: str, releases: dict[str, ReleaseBuild], version: str
) -> None:
    chart = releases[version].trees["chart"]
    assert yaml.safe_load((chart / "values.yaml").read_text())["faults"]["hookFailsMidway"] is False
    job = _hook(helm, chart, "--is-upgrade", "--set", "faults.hookFailsMidway=true")
    assert "fault hookFailsMidway: stopping after" in _script(job)


def test_other_faults_still_come_first(helm: str, releases: dict[str, ReleaseBuild]) -> None:
    script = _script(
        _hook(
            helm,
            releases[NEW].trees["chart"],
            "--is-upgrade",
            "--set",
            "faults.hookFailsMidway=true",
            "--set",
            "faults.slowMigrationSeconds=7",
        )
    )
    assert script.index("sleep 7") < script.index("db:migrate:up")


# ----------------------------------------------------------------- the image, for real


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Runner, BuildResult]:
    return build_images(tmp_path_factory.mktemp("midway-images"), [OLD, NEW])


def _run_rendered_hook(helm: str, runner: Runner, build: BuildResult, dsn: str) -> Completed:
    """The container of the rendered Job, as the kubelet would start it."""
    new = next(r for r in build.releases if str(r.version) == NEW)
    job = _hook(helm, new.trees["chart"], "--is-upgrade", "--set-string", "faults.hookFailsMidway=true")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"jitera/automation:{NEW}"
    command, args = container["command"], container["args"]
    return run_automation(runner, NEW, dsn, [*command[1:], *args], entrypoint=command[0])


def _versions(dsn: str, table: str) -> list[str]:
    return [row[0] for row in query(dsn, f"SELECT version FROM {table} ORDER BY version")]


def _columns(dsn: str, table: str) -> set[str]:
    sql = f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
    return {row[0] for row in query(dsn, sql)}


@pytest.mark.docker
@pytest.mark.postgres
def test_hook_leaves_exactly_the_first_migration_applied(
    helm: str, admin_dsn: str, images: tuple[Runner, BuildResult], expected: dict[str, Any]
) -> None:
    runner, build = images
    with scratch_database(admin_dsn) as dsn:
        migrate(runner, OLD, dsn)
        done = _run_rendered_hook(helm, runner, build, dsn)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"fault hookFailsMidway: stopping after {FIRST}" in done.stderr.splitlines()
        assert f"Migrating to CreateProjectStatusEnum ({FIRST})" in done.stdout
        old = expected["releases"][OLD]
        assert _versions(dsn, "schema_migrations") == [*old["schema_migrations"], FIRST]
        assert _versions(dsn, "data_migrations") == old["data_migrations"]  # 20240701100001 never ran
        assert query(dsn, "SELECT typname FROM pg_type WHERE typname = 'project_status'") == [
            ("project_status",)
        ]
        columns = _columns(dsn, "projects")
        assert "status" in columns  # 20240701000001
        assert "slug" not in columns  # 20240701000002 not applied
        assert "legacy_notes" in columns  # 20240701000003 not applied


@pytest.mark.docker
@pytest.mark.postgres
def test_each_retry_would_apply_one_more_migration(
    helm: str, admin_dsn: str, images: tuple[Runner, BuildResult], expected: dict[str, Any]
) -> None:
    """Why the Job gets backoffLimit 0: retries would walk the schema to the end, data aside."""
    runner, build = images
    with scratch_database(admin_dsn) as dsn:
        migrate(runner, OLD, dsn)
        stops = []
        for _ in range(4):
            done = _run_rendered_hook(helm, runner, build, dsn)
            assert done.returncode == 1, done.stdout + done.stderr
            stops.append([ln for ln in done.stderr.splitlines() if ln.startswith("fault hookFailsMidway:")])
        assert stops == [
            [f"fault hookFailsMidway: stopping after {FIRST}"],
            [f"fault hookFailsMidway: stopping after {SECOND}"],
            [f"fault hookFailsMidway: stopping after {THIRD}"],
            ["fault hookFailsMidway: no pending schema migration; stopping before data:migrate"],
        ]
        assert _versions(dsn, "schema_migrations") == expected["releases"][NEW]["schema_migrations"]
        assert _versions(dsn, "data_migrations") == expected["releases"][OLD]["data_migrations"]
