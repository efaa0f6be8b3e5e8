"""The reference series deployed on a real kind cluster (issue: reference stack on kind).

Images are built from Debian packages (``build-reference --images --air-gapped``; Docker's
layer cache makes a rebuild take seconds) and loaded into the cluster, because nothing can be
pulled here. Each test gets its own namespace and release, deleted afterwards.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_jitera.charts.chart import Chart, open_chart
from pytest_jitera.cluster.helm import Helm
from pytest_jitera.cluster.kind import KindCluster
from pytest_jitera.cluster.kubectl import Kubectl
from pytest_jitera.cluster.tools import Toolset
from pytest_jitera.reference.build import BuildResult, build_reference
from pytest_jitera.release.versions import Version
from pytest_jitera.runner import Runner

RELEASE = "jitera"


@pytest.fixture(scope="session")
def reference_series(jitera_tools: Toolset, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    out = tmp_path_factory.mktemp("reference-series")
    return build_reference(out, images=True, air_gapped=True, runner=Runner())


@pytest.fixture(scope="session")
def reference_images_loaded(
    kind_cluster: KindCluster, jitera_tools: Toolset, reference_series: BuildResult
) -> list[str]:
    if kind_cluster.existing_kubeconfig is None:
        Runner().run(
            [
                jitera_tools["kind"],
                "load",
                "docker-image",
                *reference_series.images,
                "--name",
                kind_cluster.name,
            ],
            env=jitera_tools.env(),
            timeout=1800,
        )
    return reference_series.images


@pytest.fixture(scope="session")
def reference_chart(
    reference_series: BuildResult, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Chart]:
    work = tmp_path_factory.mktemp("charts")
    by_version = {str(r.version): r.zip_path for r in reference_series.releases}

    def chart(version: str) -> Chart:
        return open_chart(by_version[version], work, name=version)

    return chart


@dataclass
class Deployment:
    """One release of the reference stack in its own namespace."""

    namespace: str
    helm: Helm
    kubectl: Kubectl
    chart: Callable[[str], Chart]

    def values_files(self, version: str) -> list[Path]:
        return [self.chart(version).root / "values-airgapped.yaml"]

    def install(self, version: str) -> None:
        self.kubectl.ensure_namespace()
        self.helm.install(RELEASE, self.chart(version).root, self.values_files(version), timeout="10m")

    def upgrade(self, version: str, set_values: dict[str, str] | None = None, check: bool = True) -> int:
        result = self.helm.upgrade(
            RELEASE,
            self.chart(version).root,
            self.values_files(version),
            set_values,
            timeout="10m",
            check=check,
        )
        return result.returncode

    def psql(self, sql: str, database: str = "jitera", component: str = "postgresql") -> list[str]:
        out = self.kubectl.run(
            "exec",
            f"statefulset/{RELEASE}-{component}",
            "--",
            "env",
            "PGPASSWORD=jitera",
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "jitera",
            "-d",
            database,
            "-Atc",
            sql,
        ).stdout
        return [line for line in out.splitlines() if line]

    def applied(self, table: str) -> list[str]:
        return self.psql(f"SELECT version FROM {table} ORDER BY version")

    def http_get(self, component: str, path: str, port: int) -> tuple[int, str]:
        """GET a Service from inside the cluster (from the studio pod, which has python3)."""
        code = (
            "import json,urllib.request,urllib.error,sys\n"
            f"u='http://{RELEASE}-{component}:{port}{path}'\n"
            "try:\n r=urllib.request.urlopen(u,timeout=10)\n"
            " print(json.dumps([r.status, r.read().decode()[:2000]]))\n"
            "except urllib.error.HTTPError as e:\n print(json.dumps([e.code, e.read().decode()[:2000]]))\n"
            "except Exception as e:\n print(json.dumps([0, repr(e)]))\n"
        )
        out = self.kubectl.run("exec", f"deploy/{RELEASE}-studio", "--", "python3", "-c", code).stdout
        status, body = json.loads(out.strip().splitlines()[-1])
        return int(status), str(body)


@pytest.fixture
def deployment(
    kind_cluster: KindCluster,
    jitera_tools: Toolset,
    reference_images_loaded: list[str],
    reference_chart: Callable[[str], Chart],
    request: pytest.FixtureRequest,
) -> Iterator[Deployment]:
    namespace = f"ref-{request.node.name[:30].lower().replace('_', '-').strip('-')}-{secrets.token_hex(2)}"
    runner = Runner()
    kubectl = Kubectl(
        runner,
        kind_cluster.kubeconfig,
        namespace,
        binary=jitera_tools["kubectl"],
        progress=lambda m: print(f"[{namespace}] {m}"),
    )
    helm = Helm(runner, kind_cluster.kubeconfig, namespace, binary=jitera_tools["helm"])
    yield Deployment(namespace, helm, kubectl, reference_chart)
    helm.uninstall(RELEASE)
    runner.run(kubectl.argv("delete", "namespace", namespace, "--wait=false", namespaced=False), check=False)


def release_order(series: BuildResult) -> list[str]:
    return [str(v) for v in sorted(r.version for r in series.releases)]


__all__ = ["RELEASE", "Deployment", "Version", "release_order"]
