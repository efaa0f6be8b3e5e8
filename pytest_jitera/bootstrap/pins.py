"""Pinned versions and image names of the air-gapped toolchain.

Everything the bootstrap builds is pinned here, in one place, because the cache is keyed by
these strings: change a pin (or :data:`RECIPE`) and the next run rebuilds exactly what depends
on it, nothing else. The pairing follows kind v0.33 (Kubernetes 1.37) except for the base: the
node stays on bookworm (systemd 252), because a newer systemd refuses the cgroup v1 hosts this
toolchain must also run on. Kubelets from 1.35 on refuse cgroup v1 unless their configuration
says ``failCgroupV1: false``; :mod:`pytest_jitera.cluster.kind_config` adds that line to the
cluster's configuration on such hosts only. The etcd, CoreDNS and pause versions are the ones
kubeadm 1.37 names (``cmd/kubeadm/app/constants``), since kubeadm refers to them by tag and the
node cannot pull a different one.
"""

from __future__ import annotations

from dataclasses import dataclass

# Bumped whenever a base-image or build recipe changes, so that an old image or binary in the
# local Docker store or cache is not mistaken for the current one.
RECIPE = "j1"
# Revision of the node recipe (entrypoint, units, manifests, component Dockerfiles): bumping it
# rebuilds the component images and the node image (a minute), not the Debian bases.
NODE_RECIPE = "n3"


@dataclass(frozen=True)
class Pins:
    """Versions of every program in the toolchain and the node image."""

    kind: str = "v0.33.0"
    # Helm 4 is the default helm; Helm 3 (security fixes until 2027-02-10) is built beside it
    # (``<cache>/helm3/helm``) so the e2e lifecycle runs on both majors and a release installed
    # by Helm 3 is upgraded by Helm 4, the move every user is about to make.
    helm: str = "v4.3.2"
    helm3: str = "v3.22.0"
    kubernetes: str = "v1.37.2"
    kubernetes_date: str = "2026-10-27T12:01:04Z"
    containerd: str = "v2.1.5"
    runc: str = "v1.3.6"
    cni_plugins: str = "v1.7.1"
    crictl: str = "v1.37.0"
    etcd: str = "v3.7.0"
    coredns: str = "v1.14.6"
    pause: str = "3.10"
    # kubeadm's own pause tag for this Kubernetes minor; preloaded so nothing tries to pull it.
    pause_kubeadm: str = "3.10.2"
    local_path_provisioner: str = "v0.0.30"
    debian_suite: str = "bookworm"

    @property
    def staging(self) -> str:
        """Version of the published k8s.io/* staging modules paired with :attr:`kubernetes`."""
        return "v0" + self.kubernetes[2:]

    @property
    def kubernetes_minor(self) -> int:
        """Minor version number of :attr:`kubernetes` (37 for v1.37.2)."""
        return int(self.kubernetes.split(".")[1])


@dataclass(frozen=True)
class Images:
    """Names of every image the bootstrap makes; the node image preloads all but the bases."""

    pins: Pins

    @property
    def debian(self) -> str:
        """Tagged like Docker Hub's image so project Dockerfiles build unchanged offline."""
        return f"debian:{self.pins.debian_suite}-slim"

    @property
    def netbase(self) -> str:
        """Debian with iptables, nftables, iproute2, conntrack and busybox."""
        return f"localhost/jitera/netbase:{self.pins.debian_suite}-{RECIPE}"

    @property
    def toolbox(self) -> str:
        """Image for e2e test workloads (busybox httpd/wget/nc, sh); same as :attr:`netbase`."""
        return f"localhost/jitera/toolbox:{self.pins.debian_suite}-{RECIPE}"

    @property
    def node_base(self) -> str:
        """Debian with systemd and what kind's base image holds, before Kubernetes."""
        return f"localhost/jitera/kind-base:{self.pins.debian_suite}-{RECIPE}"

    @property
    def node(self) -> str:
        """The kind node image: pass it to ``kind create cluster --image``."""
        return f"localhost/jitera/kind-node:{self.pins.kubernetes}-{NODE_RECIPE}"

    def component(self, name: str) -> str:
        """``registry.k8s.io/<name>:<version>`` exactly as kubeadm refers to it."""
        return f"registry.k8s.io/{name}:{self.pins.kubernetes}"

    @property
    def etcd(self) -> str:
        """Kubeadm names etcd images after the etcd version with a ``-0`` build suffix."""
        return f"registry.k8s.io/etcd:{self.pins.etcd.removeprefix('v')}-0"

    @property
    def coredns(self) -> str:
        """Kubeadm's CoreDNS reference."""
        return f"registry.k8s.io/coredns/coredns:{self.pins.coredns}"

    @property
    def pause(self) -> str:
        """The sandbox image named in the node's containerd config."""
        return f"registry.k8s.io/pause:{self.pins.pause}"

    @property
    def pause_kubeadm(self) -> str:
        """Kubeadm's own pause reference; preloaded too so nothing ever tries to pull it."""
        return f"registry.k8s.io/pause:{self.pins.pause_kubeadm}"

    @property
    def netd(self) -> str:
        """pytest-jitera's node network daemon (stands in for kindnetd)."""
        return f"localhost/jitera/netd:{self.pins.kubernetes}-{NODE_RECIPE}"

    @property
    def local_path(self) -> str:
        """Rancher local-path-provisioner."""
        return f"localhost/jitera/local-path-provisioner:{self.pins.local_path_provisioner}"

    @property
    def local_path_helper(self) -> str:
        """Helper pod image of the provisioner; needs only sh, mkdir and rm."""
        return f"localhost/jitera/local-path-helper:{self.pins.debian_suite}-{RECIPE}"

    def preloaded(self) -> list[str]:
        """Every image the node needs before anything could be loaded into it."""
        return [
            self.component("kube-apiserver"),
            self.component("kube-controller-manager"),
            self.component("kube-scheduler"),
            self.component("kube-proxy"),
            self.etcd,
            self.coredns,
            self.pause,
            self.pause_kubeadm,
            self.netd,
            self.local_path,
            self.local_path_helper,
        ]


@dataclass(frozen=True)
class OfficialPins:
    """Versions of the official release binaries ``pytest-jitera bootstrap`` downloads.

    Separate from :class:`Pins` because the two routes pair differently: the air-gapped route
    builds its own Kubernetes node (see :class:`Pins`), while a host with registry access lets kind pull its
    default ``kindest/node`` (v1.37.0 for kind v0.33.0), so kubectl 1.37 stays within one minor
    of that API server. Only versions are pinned, never digests: the digest of each file is read
    from the ``.sha256sum`` / ``.sha256`` file published beside it, at download time, because a
    digest copied into this file without being checked against the real release would be a
    guess (see :mod:`pytest_jitera.bootstrap.download`).
    """

    kind: str = "v0.33.0"
    helm: str = "v4.3.2"
    kubectl: str = "v1.37.2"

    def version(self, tool: str) -> str:
        """The pinned version of ``tool`` (``kind``, ``helm`` or ``kubectl``)."""
        return {"kind": self.kind, "helm": self.helm, "kubectl": self.kubectl}[tool]


PINS = Pins()
IMAGES = Images(PINS)
OFFICIAL = OfficialPins()


# The mail catcher a rehearsal deploys so the product's invite smoke test has somewhere to send
# its e-mail. A host with registry access runs the public image; an air-gapped host runs the same
# release built from the Go module proxy (``pytest-jitera build-reference --air-gapped``). Both
# are pinned to one version so the JSON API the harness reads is the same on either route.
MAILPIT_VERSION = "v1.33.1"
MAILPIT_PUBLIC_IMAGE = f"axllent/mailpit:{MAILPIT_VERSION}"
MAILPIT_AIRGAPPED_IMAGE = f"jitera/mailpit:{MAILPIT_VERSION}"
