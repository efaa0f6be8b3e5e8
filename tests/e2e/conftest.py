"""E2E smoke suite wiring: every test here is marked ``e2e`` and uses a real kind cluster.

``kind_cluster``, ``jitera_tools`` and ``kind_toolbox_image`` come from the plugin
(:mod:`pytest_jitera.fixtures.kind`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_jitera.bootstrap import default_cache_dir
from pytest_jitera.bootstrap.airgapped import helm3_dir
from pytest_jitera.cluster.kind import KindCluster
from pytest_jitera.cluster.tools import Toolset, parse_version
from pytest_jitera.runner import session_runner


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def namespace(kind_cluster: KindCluster) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (without waiting for it)."""
    access = kind_cluster.access(f"e2e-{uuid.uuid4().hex[:6]}")
    access.ensure_namespace()
    yield access.namespace
    access.delete_namespace(wait=False)


@pytest.fixture(scope="session")
def helm_by_major(jitera_tools: Toolset) -> dict[int, str]:
    """A helm binary of each major: the checked one, and the other from the bootstrap cache.

    A missing major fails here with the command that provides it: an e2e run that silently
    covered one Helm major would claim more than it showed.
    """
    runner = session_runner()
    found: dict[int, str] = {}
    for candidate in (jitera_tools["helm"], str(helm3_dir(default_cache_dir()) / "helm")):
        if not Path(candidate).is_file():
            continue
        version = parse_version(runner.run([candidate, "version", "--short"], check=False).stdout)
        if version is not None:
            found.setdefault(version[0], candidate)
    missing = {3, 4} - set(found)
    assert not missing, (
        f"no helm {sorted(missing)} found (have {found}); build both with `pytest-jitera bootstrap "
        "--air-gapped` or put the binary at <cache>/helm3/helm"
    )
    return found
