"""E2E smoke suite wiring: every test here is marked ``e2e`` and uses a real kind cluster.

``kind_cluster``, ``jitera_tools`` and ``kind_toolbox_image`` come from the plugin
(:mod:`pytest_jitera.fixtures.kind`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_jitera.cluster.kind import KindCluster


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
