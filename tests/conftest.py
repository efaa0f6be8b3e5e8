from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _rehearsals_in_tests_need_no_cluster(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plugin tests run ``--jitera-from/--jitera-to`` in-process by the dozen (pytester).

    Each would otherwise create a kind cluster; they test option handling, planning and the
    cluster-free checks, so they run as ``--jitera-no-cluster``. Tests marked ``e2e`` run the
    real rehearsal in a subprocess and see the environment as it is.
    """
    if request.node.get_closest_marker("e2e") is None:
        monkeypatch.setenv("JITERA_NO_CLUSTER", "1")

def cluster_steps(hops: int) -> int:
    """How many items the upgrade suite has for a path of ``hops`` hops (the install plus each hop's).

    ``--jitera-no-cluster`` deselects exactly these; counted from the suite itself, so adding
    a step does not silently change what the plugin tests expect.
    """
    import ast

    suite = Path(__file__).resolve().parent.parent / "suites" / "test_upgrade.py"
    per_hop = once = 0
    for node in ast.parse(suite.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            if any(a.arg == "jitera_hop" for a in node.args.args):
                per_hop += 1
            else:
                once += 1
    return once + per_hop * hops



def rollback_deselected(hops: int, *, rollback: str = "auto") -> int:
    """Items of the rollback suite a ``--jitera-no-cluster`` run deselects, for ``hops`` hops.

    Its risk demonstrations (one per hop each) need a cluster and ``both``; its procedures need
    a cluster and, without one, are collected as a single placeholder; the classification step
    runs without a cluster unless ``--jitera-rollback=none``. Counted from the suite itself.
    """
    import ast

    suite = Path(__file__).resolve().parent.parent / "suites" / "test_rollback.py"
    demos = classify = 0
    for node in ast.parse(suite.read_text()).body:
        if isinstance(node, ast.FunctionDef) and any(a.arg == "jitera_hop" for a in node.args.args):
            marks = {ast.unparse(d) for d in node.decorator_list}
            if "pytest.mark.jitera_rollback_demo" in marks:
                demos += 1
            else:
                classify += 1
    return (demos + (classify if rollback == "none" else 0)) * hops + 1

BASE_VALUES: dict[str, Any] = {
    "image": {"repository": "jitera/automation", "tag": "v24.05.01"},
    "externalPostgres": {"host": "db.internal", "port": 5432, "database": "jitera"},
    "credentials": {"smtp": {"user": "mailer"}},
    "replicas": 1,
}

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: automation
  labels:
    app.kubernetes.io/version: {version}
spec:
  replicas: {{{{ .Values.replicas }}}}
  template:
    spec:
      containers:
        - name: automation
          image: "jitera/automation:{version}"
"""


def write_chart(
    folder: Path,
    version: str = "v24.05.01",
    values: dict[str, Any] | None = None,
    templates: dict[str, str] | None = None,
) -> Path:
    """A minimal Jitera-shaped chart at folder/charts/jitera."""
    root = folder / "charts" / "jitera"
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "Chart.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v2", "name": "jitera", "version": "24.501.0", "appVersion": version})
    )
    (root / "values.yaml").write_text(yaml.safe_dump(values if values is not None else BASE_VALUES))
    for name, text in (templates or {"deployment.yaml": DEPLOYMENT.format(version=version)}).items():
        (root / "templates" / name).write_text(text)
    return folder


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder).as_posix())
    return archive


@pytest.fixture
def make_chart(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def make(version: str = "v24.05.01", *, zipped: bool = False, **kwargs: Any) -> Path:
        folder = write_chart(tmp_path / f"src{next(counter)}-{version}", version, **kwargs)
        if zipped:
            return zip_folder(folder, tmp_path / f"jitera-helm-{version}.zip")
        return folder

    return make


# A released series with two patches and a mid-month minor: what the CLI and planner tests plan on.
SERIES = ["v24.05.01", "v24.05.01.1", "v24.06.01", "v24.06.15", "v24.07.01"]


@pytest.fixture
def charts(make_chart: Callable[..., Path], tmp_path: Path) -> Path:
    """A charts folder holding a zip of every release in :data:`SERIES`."""
    folder = tmp_path / "catalog"
    folder.mkdir()
    for version in SERIES:
        shutil.move(make_chart(version, zipped=True), folder / f"jitera-helm-{version}.zip")
    return folder
