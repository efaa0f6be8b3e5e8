"""A cluster made and deleted through KindCluster leaves no container and no network behind.

This module runs before the smoke tests (file order), while no other cluster of this run
exists, so it can also check that kind's docker network is removed at teardown.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pytest_jitera.bootstrap import IMAGES
from pytest_jitera.bootstrap.pins import PINS
from pytest_jitera.cluster.kind import (
    KindCluster,
    cluster_name,
    docker_networks,
    new_run_id,
    node_containers,
)
from pytest_jitera.cluster.tools import Toolset
from pytest_jitera.fixtures._keys import jitera_config
from pytest_jitera.runner import session_runner

KIND_CONFIG = Path(__file__).resolve().parents[2] / "kind-config" / "cluster.yaml"


def test_create_ready_delete_leaves_nothing(
    jitera_tools: Toolset, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cfg = jitera_config(request.config)
    if cfg.kubeconfig is not None:
        pytest.skip("--jitera-kubeconfig given: this run creates no cluster")
    runner = session_runner()
    docker = jitera_tools["docker"]
    image = cfg.kind_image or IMAGES.node
    name = cluster_name(new_run_id(), suffix="life")
    others = node_containers(runner, docker)
    started = time.monotonic()
    with KindCluster(name=name, workdir=tmp_path, runner=runner, kind=jitera_tools["kind"],
                     kubectl=jitera_tools["kubectl"], docker=docker, image=image,
                     config=KIND_CONFIG, env=jitera_tools.env()) as cluster:
        ready = time.monotonic() - started
        kubectl = cluster.access().kubectl
        assert kubectl.node_names() == [f"{name}-control-plane"]
        assert kubectl.server_version().startswith(PINS.kubernetes.rsplit(".", 1)[0]) or cfg.kind_image
    print(f"cluster {name}: created and Ready in {ready:.0f}s "
          f"(kind create {cluster.creation_seconds or 0:.0f}s)")
    assert node_containers(runner, docker, name) == []
    assert not cluster.kubeconfig.exists() or cluster.kubeconfig.parent == tmp_path
    # Under xdist another worker may be creating its cluster in kind's network right now.
    if not others and "PYTEST_XDIST_WORKER" not in os.environ:
        assert "kind" not in docker_networks(runner, docker)
