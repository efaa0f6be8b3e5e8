"""The kind configuration a cluster is really created with.

Kubelets from Kubernetes 1.35 on refuse to start on a cgroup v1 host unless their configuration
says ``failCgroupV1: false``; kind v0.33 only warns about such hosts, so without help its
default v1.37 node (and the air-gapped one) never becomes Ready there. The allowance is added
as a cluster-wide ``kubeadmConfigPatches`` entry, and only where the Docker daemon reports
cgroup v1: on a cgroup v2 host the user's configuration is used exactly as written. A
configuration that already mentions ``failCgroupV1`` is the user's decision and is left alone.
"""

from __future__ import annotations

from typing import Any

import yaml

CGROUP_V1_PATCH = "kind: KubeletConfiguration\nfailCgroupV1: false\n"
_EMPTY_CLUSTER: dict[str, Any] = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}


class KindConfigError(ValueError):
    """The kind configuration is not a YAML mapping of a kind Cluster."""


def allows_cgroup_v1(config: dict[str, Any]) -> bool:
    """True when some patch of ``config`` already sets ``failCgroupV1``."""
    patches = config.get("kubeadmConfigPatches") or []
    return any("failCgroupV1" in str(p) for p in patches)


def with_cgroup_v1_allowance(text: str | None, cgroup_version: int | None) -> str | None:
    """The configuration to create the cluster with, or None when ``text`` serves unchanged.

    ``text`` is the user's kind configuration (None: kind's defaults); ``cgroup_version`` is
    what the Docker daemon reports (None when it did not say, treated as v2: nothing added).
    """
    if cgroup_version != 1:
        return None
    loaded = yaml.safe_load(text) if text else None
    if loaded is None:
        loaded = dict(_EMPTY_CLUSTER)
    if not isinstance(loaded, dict) or loaded.get("kind", "Cluster") != "Cluster":
        raise KindConfigError("a kind configuration must be a mapping with kind: Cluster")
    if allows_cgroup_v1(loaded):
        return None
    patches = list(loaded.get("kubeadmConfigPatches") or [])
    patches.append(CGROUP_V1_PATCH)
    loaded["kubeadmConfigPatches"] = patches
    header = (
        "# Written by pytest-jitera: the configuration given (or kind's defaults) plus the\n"
        "# failCgroupV1: false patch, because this Docker daemon runs on cgroup v1.\n"
    )
    return header + yaml.safe_dump(loaded, sort_keys=False)


def parse_cgroup_version(docker_info_output: str) -> int | None:
    """``docker info --format {{.CgroupVersion}}`` prints ``1`` or ``2``; anything else: None."""
    value = docker_info_output.strip()
    return int(value) if value in ("1", "2") else None
