"""Side-loading a release's images into a kind cluster that cannot pull them.

An air-gapped rehearsal has no registry: the images built on the host (``build-reference
--images --air-gapped`` for the reference stack, ``docker load`` of a vendor bundle for a real
release) must be copied into the cluster's node before Helm deploys anything that uses them,
otherwise every pod ends in ``ErrImageNeverPull``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_jitera.cluster.kind import KindCluster


def load_images(cluster: KindCluster, images: Sequence[str], timeout: float = 1800) -> list[str]:
    """Side-load a release's images before Helm deploys them; return what was loaded."""
    return cluster.load_images(images, timeout=timeout)
