"""Every release's chart passes `helm lint` and renders the fault switches as intended."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from pytest_jitera.reference.build import ReleaseBuild
from pytest_jitera.runner import RunError, Runner

from ._support import find_helm

PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n"
    "9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n"
    "-----END PUBLIC KEY-----\n"
)


@pytest.fixture(scope="module")
def helm() -> str:
    found = find_helm()
    if found is None:
        pytest.skip(
            "helm not found on PATH or in ~/.cache/pytest-jitera/bin: "
            "GOBIN=~/.cache/pytest-jitera/bin go install helm.sh/helm/v3/cmd/helm@latest"
        )
    return found


@pytest.fixture(scope="module")
def charts(releases: dict[str, ReleaseBuild], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each zip extracted as the runbook does, side by side."""
    root = tmp_path_factory.mktemp("extracted")
    out = {}
    for version, release in releases.items():
        with zipfile.ZipFile(release.zip_path) as archive:
            archive.extractall(root / version)
        out[version] = root / version / "charts" / "jitera"
    return out


def _render(helm: str, chart: Path, *args: str) -> list[dict[str, object]]:
    done = Runner().run([helm, "template", "rel", str(chart), *args], timeout=120)
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.mark.parametrize("version", ["v24.05.01", "v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01"])
def test_helm_lint_passes(helm: str, charts: dict[str, Path], version: str) -> None:
    done = Runner().run([helm, "lint", "--strict", str(charts[version])], timeout=120)
    assert "0 chart(s) failed" in done.stdout


def test_air_gapped_values_lint(helm: str, charts: dict[str, Path]) -> None:
    chart = charts["v24.08.01"]
    Runner().run(
        [helm, "lint", "--strict", str(chart), "-f", str(chart / "values-airgapped.yaml")],
        timeout=120,
    )


def test_every_pod_uses_if_not_present(helm: str, charts: dict[str, Path]) -> None:
    docs = _render(helm, charts["v24.08.01"])
    pods = [d for d in docs if d["kind"] in {"Deployment", "StatefulSet", "Job"}]
    assert {d["kind"] for d in pods} == {"Deployment", "StatefulSet", "Job"}
    for doc in pods:
        for container in doc["spec"]["template"]["spec"]["containers"]:  # type: ignore[index]
            assert container["imagePullPolicy"] == "IfNotPresent", doc["metadata"]


def test_migration_hook_is_a_post_install_upgrade_job(helm: str, charts: dict[str, Path]) -> None:
    docs = _render(helm, charts["v24.07.01"])
    job = next(d for d in docs if d["kind"] == "Job")
    annotations = job["metadata"]["annotations"]  # type: ignore[index]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]  # type: ignore[index]
    assert "bin/rails db:create db:migrate data:migrate" in script
    assert "exit 1" not in script


def test_fault_switches(helm: str, charts: dict[str, Path]) -> None:
    docs = _render(
        helm,
        charts["v24.07.01"],
        "--is-upgrade",  # the hook fault fires on upgrades only: the install must succeed
        "--set",
        "faults.hookFails=true",
        "--set",
        "faults.slowMigrationSeconds=42",
        "--set",
        "faults.stripPemNewlines=true",
        "--set-string",
        f"credentials.cliPublicKey={PEM}",
    )
    job = next(d for d in docs if d["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]  # type: ignore[index]
    assert "exit 1" in script
    assert "sleep 42" in script
    secret = next(d for d in docs if d["kind"] == "Secret" and "cli-public-key" in d["metadata"]["name"])  # type: ignore[index]
    pem = secret["stringData"]["public.pem"]  # type: ignore[index]
    assert "\n" not in pem
    assert pem.startswith("-----BEGIN PUBLIC KEY-----MFww")


def test_pem_keeps_its_newlines_by_default(helm: str, charts: dict[str, Path]) -> None:
    docs = _render(helm, charts["v24.07.01"], "--set-string", f"credentials.cliPublicKey={PEM}")
    secret = next(d for d in docs if d["kind"] == "Secret" and "cli-public-key" in d["metadata"]["name"])  # type: ignore[index]
    assert secret["stringData"]["public.pem"] == PEM  # type: ignore[index]


def test_moved_postgres_host_key_is_the_override_hazard(helm: str, charts: dict[str, Path]) -> None:
    external = ("--set", "postgresql.enabled=false", "--set", "externalPostgres.host=db.corp")
    old = _render(helm, charts["v24.05.01.1"], *external)
    creds = next(d for d in old if d["kind"] == "Secret" and "credentials" in d["metadata"]["name"])  # type: ignore[index]
    assert "@db.corp:5432/" in creds["stringData"]["automation-database-url"]  # type: ignore[index]
    with pytest.raises(RunError, match=r"externalPostgres\.primary\.host is required"):
        _render(helm, charts["v24.06.01"], *external)
    new = _render(
        helm,
        charts["v24.06.01"],
        "--set",
        "postgresql.enabled=false",
        "--set",
        "externalPostgres.primary.host=db.corp",
    )
    creds = next(d for d in new if d["kind"] == "Secret" and "credentials" in d["metadata"]["name"])  # type: ignore[index]
    assert "@db.corp:5432/" in creds["stringData"]["automation-database-url"]  # type: ignore[index]


def test_in_cluster_datastores_are_optional(helm: str, charts: dict[str, Path]) -> None:
    docs = _render(
        helm,
        charts["v24.08.01"],
        "--set",
        "postgresql.enabled=false",
        "--set",
        "externalPostgres.primary.host=a",
        "--set",
        "pgvector.enabled=false",
        "--set",
        "externalPgvector.host=b",
        "--set",
        "mongodb.enabled=false",
        "--set",
        "externalMongodb.uri=mongodb://c:27017/",
    )
    assert not [d for d in docs if d["kind"] == "StatefulSet"]
    default = _render(helm, charts["v24.08.01"])
    images = sorted(
        d["spec"]["template"]["spec"]["containers"][0]["image"]  # type: ignore[index]
        for d in default
        if d["kind"] == "StatefulSet"
    )
    assert images == ["mongo:7", "pgvector/pgvector:pg15", "postgres:15"]
