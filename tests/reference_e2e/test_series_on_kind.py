"""The reference series on a real kind cluster: every upgrade, Risk A, and a failing hook.

The tests only sequence runbook steps and assert on what they return.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pytest_jitera.charts.chart import Chart
from pytest_jitera.reference import EXPECTED_MANIFEST
from pytest_jitera.reference.build import BuildResult
from pytest_jitera.runbook.after_upgrade import (
    component_logs,
    migrations_applied,
    smoke_test_studio,
    wait_for_answer,
)
from pytest_jitera.runbook.before_upgrade import capture_release_state
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.rollback import rollback_helm_only
from pytest_jitera.runbook.upgrade import (
    crash_looping_or_unready,
    install_release,
    migration_hook_state,
    upgrade_one_hop,
    wait_for_rollout,
    watch_for_crash_loop,
    watch_migration_hook,
)

from .conftest import release_order

pytestmark = pytest.mark.e2e

EXPECTED = yaml.safe_load(Path(EXPECTED_MANIFEST).read_text())
HELM_TIMEOUT = "10m"


def _check_release(r: Rehearsal, version: str) -> None:
    """Hook Complete, migration tables as the release ships them, Studio answering 200."""
    watch_migration_hook(r, timeout=600)
    want = EXPECTED["releases"][version]
    applied = migrations_applied(r)
    assert applied.schema == want["schema_migrations"], f"{version}: schema_migrations"
    assert applied.data == want["data_migrations"], f"{version}: data_migrations"
    wait_for_rollout(r, ("automation", "studio"), timeout=600)
    answer = smoke_test_studio(r, timeout=180)
    assert answer.status == 200, f"{version}: studio answered {answer.status}: {answer.body[:500]}"


def test_install_and_upgrade_through_every_release(
    deployment: Rehearsal, reference_series: BuildResult, reference_chart: Callable[[str], Chart]
) -> None:
    versions = release_order(reference_series)
    install_release(deployment, reference_chart(versions[0]), timeout=HELM_TIMEOUT)
    _check_release(deployment, versions[0])
    for version in versions[1:]:
        upgrade_one_hop(deployment, reference_chart(version), timeout=HELM_TIMEOUT)
        _check_release(deployment, version)
    history = deployment.helm.history(deployment.release)
    assert [h.app_version for h in history] == versions
    assert all(h.status in ("superseded", "deployed") for h in history)


def test_helm_rollback_alone_after_v24_07_01_breaks_user_facing_endpoint(
    deployment: Rehearsal, reference_chart: Callable[[str], Chart]
) -> None:
    """Risk A is real: the old code reads a column the new migrations dropped."""
    install_release(deployment, reference_chart("v24.06.01"), timeout=HELM_TIMEOUT)
    _check_release(deployment, "v24.06.01")
    before = capture_release_state(deployment)
    upgrade_one_hop(deployment, reference_chart("v24.07.01"), timeout=HELM_TIMEOUT)
    _check_release(deployment, "v24.07.01")
    rollback_helm_only(deployment, before.revision)
    wait_for_rollout(deployment, ("automation",), timeout=600)
    # The Service may still route to a terminating pod for a moment: wait for a real answer.
    answer = wait_for_answer(
        deployment,
        "automation",
        "/api/projects",
        until=lambda a: a.status != 0,
        what="automation answers with any HTTP status",
    )
    logs = component_logs(deployment, "automation")
    assert answer.status == 500, f"expected the old code to fail on the new schema, got {answer.summary}"
    evidence = answer.body + logs
    assert "PG::UndefinedColumn" in evidence or "PG::UndefinedTable" in evidence, (answer.body, logs[-2000:])


def test_failing_hook_leaves_services_crash_looping_or_unready(
    deployment: Rehearsal, reference_chart: Callable[[str], Chart]
) -> None:
    """With the hook-failure switch, the upgrade fails and the schema stays behind."""
    install_release(deployment, reference_chart("v24.05.01"), timeout=HELM_TIMEOUT)
    _check_release(deployment, "v24.05.01")
    outcome = upgrade_one_hop(
        deployment,
        reference_chart("v24.06.01"),
        set_values={"faults.hookFails": "true"},
        timeout=HELM_TIMEOUT,
        check=False,
    )
    assert not outcome.succeeded, "helm upgrade should fail when the migration hook fails"
    job = migration_hook_state(deployment)
    assert job is not None
    assert not job.complete
    ultron = watch_for_crash_loop(deployment, "ultron", timeout=300)
    assert crash_looping_or_unready(ultron), f"ultron neither crash-loops nor stays unready: {ultron}"
    want = EXPECTED["releases"]["v24.05.01"]["schema_migrations"]
    assert migrations_applied(deployment).schema == want, "no v24.06.01 migration may have run"
