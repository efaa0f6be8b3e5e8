"""The reference series on a real kind cluster: every upgrade, Risk A, and a failing hook."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from pytest_jitera.reference import EXPECTED_MANIFEST
from pytest_jitera.reference.build import BuildResult
from pytest_jitera.runbook.steps import crash_looping, rollback_helm_only, watch_migration_hook

from .conftest import RELEASE, Deployment, release_order

pytestmark = pytest.mark.e2e

EXPECTED = yaml.safe_load(Path(EXPECTED_MANIFEST).read_text())


def _check_release(dep: Deployment, version: str) -> None:
    watch_migration_hook(dep.kubectl, f"{RELEASE}-migrate", timeout=600)
    want = EXPECTED["releases"][version]
    assert dep.applied("schema_migrations") == want["schema_migrations"], f"{version}: schema_migrations"
    assert dep.applied("data_migrations") == want["data_migrations"], f"{version}: data_migrations"
    for component in ("automation", "studio"):
        dep.kubectl.run(
            "rollout", "status", f"deployment/{RELEASE}-{component}", "--timeout=600s", timeout=660
        )
    deadline = time.monotonic() + 180
    while True:
        status, body = dep.http_get("studio", "/", 8080)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert status == 200, f"{version}: studio answered {status}: {body[:500]}"


def test_install_and_upgrade_through_every_release(
    deployment: Deployment, reference_series: BuildResult
) -> None:
    versions = release_order(reference_series)
    deployment.install(versions[0])
    _check_release(deployment, versions[0])
    for version in versions[1:]:
        deployment.upgrade(version)
        _check_release(deployment, version)
    history = deployment.helm.history(RELEASE)
    assert [h.app_version for h in history] == versions
    assert all(h.status in ("superseded", "deployed") for h in history)


def test_helm_rollback_alone_after_v24_07_01_breaks_user_facing_endpoint(deployment: Deployment) -> None:
    """Risk A is real: the old code reads a column the new migrations dropped."""
    deployment.install("v24.06.01")
    _check_release(deployment, "v24.06.01")
    before = deployment.helm.history(RELEASE)[-1].revision
    deployment.upgrade("v24.07.01")
    _check_release(deployment, "v24.07.01")
    rollback_helm_only(deployment.helm, RELEASE, before)
    deployment.kubectl.run(
        "rollout", "status", f"deployment/{RELEASE}-automation", "--timeout=600s", timeout=660
    )
    deadline = time.monotonic() + 180
    while True:  # the Service may still route to a terminating pod for a moment
        status, body = deployment.http_get("automation", "/api/projects", 3000)
        if status != 0 or time.monotonic() > deadline:
            break
        time.sleep(5)
    logs = deployment.kubectl.run(
        "logs", "-l", f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=automation",
        "--tail=400", "--prefix", check=False,
    ).stdout
    assert status == 500, f"expected the old code to fail on the new schema, got {status}: {body}"
    assert "PG::UndefinedColumn" in body + logs or "PG::UndefinedTable" in body + logs, (body, logs[-2000:])


def test_failing_hook_leaves_services_crash_looping_or_unready(deployment: Deployment) -> None:
    """With the hook-failure switch, the upgrade fails and the schema stays behind."""
    deployment.install("v24.05.01")
    _check_release(deployment, "v24.05.01")
    code = deployment.upgrade("v24.06.01", {"faults.hookFails": "true"}, check=False)
    assert code != 0, "helm upgrade should fail when the migration hook fails"
    job = deployment.kubectl.job(f"{RELEASE}-migrate")
    assert job is not None
    assert not job.complete
    deadline = time.monotonic() + 300
    while True:
        broken = crash_looping(deployment.kubectl, ["ultron"])
        ultron = deployment.kubectl.pods(
            f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=ultron"
        )
        if broken or (ultron and not any(p.ready for p in ultron) and any(p.restarts for p in ultron)):
            break
        assert time.monotonic() < deadline, f"ultron neither crash-loops nor stays unready: {ultron}"
        time.sleep(5)
    want = EXPECTED["releases"]["v24.05.01"]["schema_migrations"]
    assert deployment.applied("schema_migrations") == want, "no v24.06.01 migration may have run"
