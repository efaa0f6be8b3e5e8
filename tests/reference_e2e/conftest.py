"""The reference series deployed on a real kind cluster (issue: reference stack on kind).

Images are built from Debian packages (``build-reference --images --air-gapped``; Docker's
layer cache makes a rebuild take seconds) and side-loaded into the cluster, because nothing
can be pulled here. Each test rehearses in its own namespace, deleted afterwards. Everything
that reaches the cluster is library code: the runbook steps over a :class:`Rehearsal`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from pytest_jitera.charts.chart import Chart, open_chart
from pytest_jitera.cluster.kind import KindCluster
from pytest_jitera.cluster.tools import Toolset
from pytest_jitera.reference.build import BuildResult, build_reference
from pytest_jitera.runbook.context import CarriedValues, Rehearsal
from pytest_jitera.runbook.images import load_images
from pytest_jitera.runner import session_runner

RELEASE = "jitera"
AIRGAPPED_VALUES = "values-airgapped.yaml"


@pytest.fixture(scope="session")
def reference_series(jitera_tools: Toolset, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    out = tmp_path_factory.mktemp("reference-series")
    return build_reference(out, images=True, air_gapped=True, runner=session_runner())


@pytest.fixture(scope="session")
def reference_images_loaded(kind_cluster: KindCluster, reference_series: BuildResult) -> list[str]:
    load_images(kind_cluster, reference_series.images)
    return reference_series.images


@pytest.fixture(scope="session")
def reference_chart(
    reference_series: BuildResult, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Chart]:
    """Each release's chart extracted into a folder of its own, as the runbook keeps them."""
    work = tmp_path_factory.mktemp("charts")
    by_version = {str(r.version): r.zip_path for r in reference_series.releases}

    def chart(version: str) -> Chart:
        return open_chart(by_version[version], work, name=version)

    return chart


def _operator_values(folder: Path) -> Path:
    """The operator's own override file: database passwords of this deployment.

    A random password per deployment (rather than the chart's default) is what an operator
    has, it must survive every hop (Helm drops overrides that are not passed again), and it
    is long enough that masking it cannot blank out ordinary words in error messages.
    """
    path = folder / "operator-values.yaml"
    password = {"password": secrets.token_hex(16)}
    path.write_text(yaml.safe_dump({"externalPostgres": password, "externalPgvector": password}))
    path.chmod(0o600)
    return path


@pytest.fixture
def deployment(
    kind_cluster: KindCluster,
    reference_images_loaded: list[str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Rehearsal]:
    """A rehearsal of the reference stack's release in a namespace of its own."""
    slug = request.node.name[:30].lower().replace("_", "-").strip("-")
    access = kind_cluster.access(f"ref-{slug}-{secrets.token_hex(2)}")
    values = CarriedValues(files=(_operator_values(tmp_path),), chart_files=(AIRGAPPED_VALUES,))
    rehearsal = Rehearsal(access=access, report_dir=tmp_path / "report", release=RELEASE, values=values)
    try:
        yield rehearsal
    finally:
        access.delete_namespace()


def release_order(series: BuildResult) -> list[str]:
    return [str(v) for v in sorted(r.version for r in series.releases)]
