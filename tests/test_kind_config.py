"""The cgroup v1 allowance is added only where the Docker host needs it, and keeps the rest."""

from __future__ import annotations

import pytest
import yaml

from pytest_jitera.cluster.kind_config import (
    CGROUP_V1_PATCH,
    KindConfigError,
    parse_cgroup_version,
    with_cgroup_v1_allowance,
)

USER_CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  podSubnet: 10.244.0.0/16
kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    apiServer:
      extraArgs:
        v: "2"
nodes:
  - role: control-plane
"""


def test_cgroup_v2_host_uses_the_configuration_as_written() -> None:
    assert with_cgroup_v1_allowance(USER_CONFIG, 2) is None
    assert with_cgroup_v1_allowance(None, 2) is None
    assert with_cgroup_v1_allowance(USER_CONFIG, None) is None


def test_cgroup_v1_host_appends_the_kubelet_patch_and_keeps_everything_else() -> None:
    text = with_cgroup_v1_allowance(USER_CONFIG, 1)
    assert text is not None
    config = yaml.safe_load(text)
    assert config["networking"] == {"podSubnet": "10.244.0.0/16"}
    assert config["nodes"] == [{"role": "control-plane"}]
    patches = config["kubeadmConfigPatches"]
    assert len(patches) == 2
    assert "ClusterConfiguration" in patches[0]
    assert yaml.safe_load(patches[1]) == {"kind": "KubeletConfiguration", "failCgroupV1": False}


def test_kinds_defaults_become_a_minimal_cluster_with_the_patch() -> None:
    text = with_cgroup_v1_allowance(None, 1)
    assert text is not None
    config = yaml.safe_load(text)
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["kubeadmConfigPatches"] == [CGROUP_V1_PATCH]


def test_a_users_own_failcgroupv1_decision_is_left_alone() -> None:
    own = USER_CONFIG + "  - |\n    kind: KubeletConfiguration\n    failCgroupV1: true\n"
    own = own.replace("nodes:\n  - role: control-plane\n", "") + "nodes:\n  - role: control-plane\n"
    assert with_cgroup_v1_allowance(own, 1) is None


def test_not_a_cluster_configuration_is_refused() -> None:
    with pytest.raises(KindConfigError):
        with_cgroup_v1_allowance("- just\n- a list\n", 1)
    with pytest.raises(KindConfigError):
        with_cgroup_v1_allowance("kind: Pod\n", 1)


@pytest.mark.parametrize(("out", "want"), [("1\n", 1), ("2", 2), ("", None), ("<no value>", None)])
def test_docker_info_cgroup_version(out: str, want: int | None) -> None:
    assert parse_cgroup_version(out) == want
