"""The profile's admin task, run in the old release's image, breaks exactly as Scenario 2 predicts.

``docker run`` of jitera/automation stands in for ``kubectl exec`` into the profile's workload:
same image, same WORKDIR, the command exactly as the profile spells it.
"""

from __future__ import annotations

import pytest

from pytest_jitera.profile import REFERENCE_PROFILE, AdminTask, load_profile
from pytest_jitera.reference.build import BuildResult
from pytest_jitera.release.versions import Version
from pytest_jitera.runner import Runner

from ._images import build_images, migrate, run_automation
from ._support import scratch_database

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

OLD, NEW = "v24.05.01.1", "v24.06.01"
# PostgreSQL writes two spaces after "ERROR:".
UNDEFINED_TABLE = (
    'ActiveRecord::StatementInvalid: PG::UndefinedTable: ERROR:  relation "legacy_reports" does not exist'
)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Runner, BuildResult]:
    return build_images(tmp_path_factory.mktemp("admin-task-images"), [OLD, NEW])


@pytest.fixture(scope="module")
def task() -> AdminTask:
    return load_profile(REFERENCE_PROFILE).admin_task("legacy-reports")


def test_the_task_works_until_the_table_is_dropped(
    admin_dsn: str, images: tuple[Runner, BuildResult], task: AdminTask
) -> None:
    runner, _ = images
    assert task.exists_at(Version.parse(OLD))
    with scratch_database(admin_dsn) as dsn:
        migrate(runner, OLD, dsn)
        before = run_automation(runner, OLD, dsn, task.command)
        assert before.returncode == 0, before.stderr
        assert before.stdout.splitlines()[-1] == "legacy_reports: 0 rows"

        migrate(runner, NEW, dsn)  # then helm rollback: old code, new schema
        after = run_automation(runner, OLD, dsn, task.command)
        assert after.returncode == 1
        assert UNDEFINED_TABLE in after.stderr.splitlines()
        assert "rails aborted!" in after.stderr
        assert task.dropped_uses(["legacy_reports"]) == task.uses


def test_the_release_that_dropped_the_table_has_no_such_task(
    admin_dsn: str, images: tuple[Runner, BuildResult], task: AdminTask
) -> None:
    runner, _ = images
    assert not task.exists_at(Version.parse(NEW))
    with scratch_database(admin_dsn) as dsn:
        migrate(runner, NEW, dsn)
        done = run_automation(runner, NEW, dsn, task.command)
        assert done.returncode == 1
        assert f"Don't know how to build task '{task.command[1]}'" in done.stderr
