"""A kind cluster as a context manager, usable from scripts, the CLI and the pytest fixture.

``with KindCluster(...) as cluster:`` creates the cluster, waits until its node and every
system pod are Ready, and deletes it on the way out, whatever the way out (an error, a failed
start half-way, Ctrl-C), unless ``keep`` is set. With ``existing_kubeconfig`` nothing is
created or deleted: the cluster of that kubeconfig is only checked and used.

Crash safety: each cluster this module creates is named ``jitera-<run>-<worker>`` and leaves an
owner record (pid, host, keep flag) in a registry folder; :func:`reap_leftovers` deletes the
clusters whose owner process is gone and that were not kept on purpose. The kubeconfig is
always a file of its own, never ``~/.kube/config``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from filelock import FileLock

from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.cluster.kind_config import (
    KindConfigError,
    parse_cgroup_version,
    with_cgroup_v1_allowance,
)
from pytest_jitera.errors import JiteraError
from pytest_jitera.runner import CommandRunner, RunError
from pytest_jitera.waiting import Observation, WaitTimeout, wait_for

NAME_PREFIX = "jitera-"
# kind names its node containers "<cluster>-control-plane" and uses them as hostnames, which
# must stay within a 63 character DNS label.
MAX_NAME = 40
KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"
SYSTEM_NAMESPACES = ("kube-system", "local-path-storage")
KIND_NETWORK = "kind"

_INVALID = re.compile(r"[^a-z0-9-]+")


class ClusterError(JiteraError):
    """The cluster could not be created, did not become Ready, or could not be reached."""


def new_run_id() -> str:
    """Eight hex characters: unique enough per run, short enough for container names."""
    return uuid.uuid4().hex[:8]


def cluster_name(run_id: str, worker: str | None = None, suffix: str | None = None) -> str:
    """``jitera-<run>[-<worker>][-<suffix>]``, lower-cased, DNS-safe and short enough for kind."""
    parts = [run_id, worker or "", suffix or ""]
    body = "-".join(_INVALID.sub("-", p.lower()).strip("-") for p in parts if p)
    name = (NAME_PREFIX + body)[:MAX_NAME].rstrip("-")
    if name == NAME_PREFIX.rstrip("-"):
        raise ValueError("a cluster name needs a non-empty run id")
    return name


def system_pods_status(pods_json: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Whether every system pod is Ready (or finished), and the ones that are not.

    An empty list is "not ready": right after ``kind create`` the DaemonSet and Deployment pods
    may not exist yet, and waiting on nothing would declare victory too early.
    """
    items = pods_json.get("items", [])
    waiting: list[str] = []
    for pod in items:
        meta = pod.get("metadata", {})
        status = pod.get("status", {})
        name = f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"
        if status.get("phase") == "Succeeded":
            continue
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", [])
        )
        if not ready:
            waiting.append(f"{name} ({status.get('phase', 'Unknown')})")
    return (bool(items) and not waiting), waiting


@dataclass
class OwnerRecord:
    """Who created a cluster; leftovers are clusters whose owner process is gone."""

    name: str
    pid: int
    host: str
    created: float
    keep: bool = False

    def to_json(self) -> str:
        """Serialized for the registry folder."""
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> OwnerRecord:
        """Parse a registry file; raises ValueError on anything unexpected."""
        data = json.loads(text)
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            host=str(data["host"]),
            created=float(data["created"]),
            keep=bool(data.get("keep", False)),
        )


def pid_alive(pid: int) -> bool:
    """Whether a process of this host still runs (owned by another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_leftover(record: OwnerRecord, host: str, alive: Callable[[int], bool] = pid_alive) -> bool:
    """A cluster made on this host by a process that has ended and was not told to keep it."""
    return not record.keep and record.host == host and not alive(record.pid)


@dataclass
class KindCluster:
    """One kind cluster for the duration of a ``with`` block.

    ``kind``, ``kubectl`` and ``docker`` are executable paths (see :mod:`pytest_jitera.cluster.tools`);
    ``env`` is added to every command's environment (kind must find the same docker).
    ``network_lock`` (a lock shared by every process creating clusters on this host, e.g. a
    file lock) is held around ``kind create`` and around removing kind's network, so that one
    xdist worker never removes the network another worker's ``kind create`` is about to use.
    """

    name: str
    workdir: Path
    runner: CommandRunner
    kind: str = "kind"
    kubectl: str = "kubectl"
    docker: str = "docker"
    helm: str = "helm"
    image: str | None = None
    config: Path | None = None
    keep: bool = False
    existing_kubeconfig: Path | None = None
    registry: Path | None = None
    logs_dir: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ready_timeout: float = 300.0
    create_timeout: float = 900.0
    remove_network: bool = True
    progress: Callable[[str], None] = field(default=lambda message: None)
    network_lock: Callable[[], AbstractContextManager[object]] | None = None
    created: bool = field(default=False, init=False)
    creation_seconds: float | None = field(default=None, init=False)
    # Images side-loaded by this process: a matrix's later cases reuse what the first one loaded.
    loaded: set[str] = field(default_factory=set, init=False)

    # ----------------------------------------------------------------- properties
    @property
    def kubeconfig(self) -> Path:
        """The kubeconfig of this cluster (a file of its own)."""
        if self.existing_kubeconfig is not None:
            return self.existing_kubeconfig
        return self.workdir / f"{self.name}.kubeconfig"

    def access(self, namespace: str = "default") -> ClusterAccess:
        """Everything that talks to this cluster, scoped to ``namespace``, on our runner."""
        return ClusterAccess(
            kubeconfig=self.kubeconfig,
            namespace=namespace,
            runner=self.runner,
            kubectl_bin=self.kubectl,
            helm_bin=self.helm,
            env=dict(self.env),
            progress=self.progress,
        )

    def attach_if_exists(self) -> bool:
        """Use the kind cluster of this name when it is already there (a cluster kept for reuse).

        Its kubeconfig is asked of kind into this cluster's work folder, readable by the owner
        only, and the cluster is then treated like one the user handed in: nothing is created,
        and kind side-loads only the images its node lacks.
        """
        if self.name not in kind_clusters(self.runner, self.kind, self.env):
            return False
        got = self.runner.run([self.kind, "get", "kubeconfig", "--name", self.name],
                              env=dict(self.env), timeout=60)
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / f"{self.name}.kubeconfig"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(got.stdout)
        self.existing_kubeconfig = path
        return True

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> KindCluster:
        if self.existing_kubeconfig is not None:
            self._check_existing()
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.create()
            self.wait_ready()
        except BaseException:
            # Tear down whatever was made, Ctrl-C included, then let the error through.
            self._dump_logs_on_failure()
            if not self.keep:
                self._delete_quietly()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.created and not self.keep:
            self._delete_quietly()

    def create(self) -> None:
        """``kind create cluster`` with our name, kubeconfig, config file and image."""
        argv = [
            self.kind,
            "create",
            "cluster",
            "--name",
            self.name,
            "--kubeconfig",
            str(self.kubeconfig),
            "--retain",
            "--wait",
            "0s",
        ]
        config = self.effective_config()
        if config is not None:
            argv += ["--config", str(config)]
        if self.image:
            argv += ["--image", self.image]
        self._write_owner()
        self.created = True
        source = f" from image {self.image}" if self.image else ""
        self.progress(f"creating kind cluster {self.name}{source}")
        started = time.monotonic()
        try:
            with self._lock():
                self.runner.run(argv, env=dict(self.env), timeout=self.create_timeout)
        except RunError as exc:
            raise ClusterError(
                f"kind could not create cluster {self.name}: {exc.message}",
                hint="see the node logs exported next to the report; with an offline host "
                "build a node image with `pytest-jitera bootstrap --air-gapped`",
            ) from exc
        self.creation_seconds = time.monotonic() - started
        self.progress(f"cluster {self.name} created in {self.creation_seconds:.0f}s")

    def effective_config(self) -> Path | None:
        """The given configuration, or a copy in the workdir with the cgroup v1 allowance."""
        got = self.runner.run(
            [self.docker, "info", "--format", "{{.CgroupVersion}}"], check=False,
            env=dict(self.env), timeout=60,
        )
        cgroup = parse_cgroup_version(got.stdout) if got.returncode == 0 else None
        if cgroup != 1:
            return self.config
        try:
            text = self.config.read_text() if self.config is not None else None
            patched = with_cgroup_v1_allowance(text, cgroup)
        except (OSError, KindConfigError, yaml.YAMLError) as exc:
            raise ClusterError(
                f"the kind configuration {self.config} cannot be used: {exc}",
                hint="make it a kind Cluster configuration (kind: Cluster, apiVersion: "
                "kind.x-k8s.io/v1alpha4), as in kind-config/cluster.yaml",
            ) from exc
        if patched is None:
            return self.config
        path = self.workdir / f"{self.name}.kind-config.yaml"
        path.write_text(patched)
        self.progress("cgroup v1 Docker host: the kubelet is configured with failCgroupV1: false")
        return path

    def wait_ready(self, poll: float = 2.0) -> None:
        """Node Ready, then every pod in the system namespaces Ready."""
        kubectl = self.access("kube-system").kubectl
        started = time.monotonic()
        self.progress(f"waiting for the node and system pods of {self.name} to be Ready")
        kubectl.run(
            "wait",
            "--for=condition=Ready",
            "node",
            "--all",
            f"--timeout={int(self.ready_timeout)}s",
            timeout=self.ready_timeout + 30,
            namespaced=False,
        )

        def probe() -> Observation[None]:
            pods: dict[str, Any] = {"items": []}
            for namespace in SYSTEM_NAMESPACES:
                text = kubectl.run(
                    "get", "pods", "-n", namespace, "-o", "json", check=False, namespaced=False
                ).stdout
                with contextlib.suppress(ValueError):
                    pods["items"] += json.loads(text).get("items", [])
            ok, waiting = system_pods_status(pods)
            return (
                Observation.ready(None, "all Ready")
                if ok
                else Observation.pending(", ".join(waiting or ["no pods yet"]))
            )

        remaining = max(1.0, self.ready_timeout - (time.monotonic() - started))
        try:
            wait_for(
                f"system pods of {self.name}", probe, timeout=remaining, interval=poll, progress=self.progress
            )
        except WaitTimeout as exc:
            raise ClusterError(
                exc.message,
                hint=f"kubectl --kubeconfig {self.kubeconfig} get pods -A; the exported node logs show why",
            ) from None
        self.progress(f"cluster {self.name} Ready after {time.monotonic() - started:.0f}s more")

    def load_images(self, images: Sequence[str], timeout: float = 1800) -> list[str]:
        """``kind load docker-image``: copy host images into the node; return what was loaded.

        Air-gapped clusters cannot pull, so every image a chart uses must be side-loaded before
        Helm deploys it. A cluster not created here (``--jitera-kubeconfig``) is left alone:
        its images are its owner's business, and kind cannot load into it anyway.
        """
        if self.existing_kubeconfig is not None or not images:
            return []
        self.progress(f"loading {len(images)} image(s) into {self.name}")
        self.runner.run([self.kind, "load", "docker-image", *images, "--name", self.name],
                        env=dict(self.env), timeout=timeout)
        return list(images)

    def load_images_into_existing(self, images: Sequence[str], timeout: float = 1800) -> list[str]:
        """Side-load into a ``--jitera-kubeconfig`` cluster when it is a kind cluster of this host.

        The user asked to use *their* cluster; when that is kind (context ``kind-<name>``, and
        ``kind get clusters`` lists it) the images a locally built stack needs can only get
        there this way. kind skips an image its nodes already hold, so a second run is cheap.
        """
        name = kind_name_of(self.kubeconfig)
        if not images or name is None:
            return []
        try:
            if name not in kind_clusters(self.runner, self.kind, self.env):
                return []
        except JiteraError:  # no kind binary: then it is not a kind cluster of this host
            return []
        # Several processes may use one cluster (a shared cluster under xdist): one load at a time,
        # and kind skips what the nodes already hold.
        lock = FileLock(str(self.registry / f"{name}.load.lock")) if self.registry else nullcontext()
        with lock:
            self.progress(f"loading {len(images)} image(s) into kind cluster {name}")
            self.runner.run([self.kind, "load", "docker-image", *images, "--name", name],
                            env=dict(self.env), timeout=timeout)
        return list(images)

    def ensure_images(self, images: Sequence[str], timeout: float = 1800) -> list[str]:
        """Side-load what this process has not loaded yet, into this cluster or the user's kind one.

        Loading is once per cluster, not once per rehearsal: a matrix runs several cases on one
        cluster and each would otherwise copy the same gigabytes into the node again.
        """
        missing = [image for image in images if image not in self.loaded]
        if not missing:
            return []
        if self.created:
            done = self.load_images(missing, timeout=timeout)
        else:
            done = self.load_images_into_existing(missing, timeout=timeout)
        self.loaded.update(missing)
        return done

    def image_ids(self, images: Sequence[str]) -> dict[str, str]:
        """Each host image's id (what a tag points at now); an image Docker lacks is left out."""
        ids: dict[str, str] = {}
        for image in images:
            got = self.runner.run([self.docker, "image", "inspect", "--format", "{{.Id}}", image],
                                  env=dict(self.env), check=False, timeout=60)
            if got.returncode == 0 and got.stdout.strip():
                ids[image] = got.stdout.strip()
        return ids

    def export_logs(self, dest: Path) -> Path | None:
        """``kind export logs`` into ``dest/<name>``; never raises (it runs on failure paths)."""
        if self.existing_kubeconfig is not None:
            return None
        target = dest / self.name
        try:
            target.mkdir(parents=True, exist_ok=True)
            self.runner.run(
                [self.kind, "export", "logs", str(target), "--name", self.name],
                env=dict(self.env),
                timeout=300,
            )
        except (RunError, JiteraError, OSError) as exc:
            warnings.warn(f"could not export logs of kind cluster {self.name}: {exc}", stacklevel=2)
            return None
        return target

    def delete(self) -> None:
        """Delete the cluster, its owner record and, when unused, kind's docker network."""
        self.progress(f"deleting kind cluster {self.name}")
        self.runner.run(
            [self.kind, "delete", "cluster", "--name", self.name, "--kubeconfig", str(self.kubeconfig)],
            env=dict(self.env),
            timeout=300,
        )
        self.created = False
        if self.registry is not None:
            (self.registry / f"{self.name}.json").unlink(missing_ok=True)
        if self.remove_network:
            with self._lock():
                remove_kind_network_if_unused(self.runner, self.docker, env=self.env)

    # ----------------------------------------------------------------- internals
    def _lock(self) -> AbstractContextManager[object]:
        return self.network_lock() if self.network_lock is not None else nullcontext()

    def _check_existing(self) -> None:
        assert self.existing_kubeconfig is not None
        if not self.existing_kubeconfig.is_file():
            raise ClusterError(
                f"--jitera-kubeconfig {self.existing_kubeconfig} does not exist",
                hint="pass the kubeconfig file of a running cluster, or drop the option to "
                "let pytest-jitera create a kind cluster",
            )
        try:
            self.access().kubectl.run("get", "nodes", "-o", "name", timeout=60, namespaced=False)
        except RunError as exc:
            raise ClusterError(
                f"the cluster of {self.existing_kubeconfig} does not answer: {exc.message}",
                hint="check the kubeconfig's current context and that the API server is up",
            ) from exc

    def _write_owner(self) -> None:
        if self.registry is None:
            return
        self.registry.mkdir(parents=True, exist_ok=True)
        record = OwnerRecord(self.name, os.getpid(), socket.gethostname(), time.time(), self.keep)
        (self.registry / f"{self.name}.json").write_text(record.to_json())

    def _dump_logs_on_failure(self) -> None:
        if self.created and self.logs_dir is not None:
            self.export_logs(self.logs_dir)

    def _delete_quietly(self) -> None:
        """Teardown errors become warnings so they never mask the error that caused them."""
        try:
            self.delete()
        except (RunError, JiteraError, OSError) as exc:
            warnings.warn(f"could not delete kind cluster {self.name}: {exc}", stacklevel=2)


def kind_name_of(kubeconfig: Path) -> str | None:
    """The kind cluster name behind a kubeconfig's current context (``kind-<name>``), if any."""
    try:
        data = yaml.safe_load(Path(kubeconfig).read_text())
    except (OSError, yaml.YAMLError):
        return None
    context = data.get("current-context") if isinstance(data, dict) else None
    if isinstance(context, str) and context.startswith("kind-"):
        return context.removeprefix("kind-")
    return None


def kind_clusters(
    runner: CommandRunner, kind: str = "kind", env: Mapping[str, str] | None = None
) -> list[str]:
    """Names of the kind clusters on this host (``kind get clusters``)."""
    got = runner.run([kind, "get", "clusters"], env=dict(env or {}), check=False, timeout=60)
    return got.stdout.split() if got.returncode == 0 else []


def node_containers(
    runner: CommandRunner, docker: str = "docker", cluster: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Docker containers that are kind nodes (of one cluster, or of any), running or not."""
    label = KIND_CLUSTER_LABEL + (f"={cluster}" if cluster else "")
    got = runner.run([docker, "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
                     env=dict(env or {}), check=False, timeout=30)
    return got.stdout.split()


def docker_networks(runner: CommandRunner, docker: str = "docker",
                    env: Mapping[str, str] | None = None) -> list[str]:
    """Names of the docker networks on this host (kind's is called ``kind``)."""
    got = runner.run([docker, "network", "ls", "--format", "{{.Name}}"], env=dict(env or {}),
                     check=False, timeout=30)
    return got.stdout.split()


def remove_kind_network_if_unused(
    runner: CommandRunner, docker: str = "docker", env: Mapping[str, str] | None = None
) -> bool:
    """Remove kind's docker network when no container uses it; True when removed.

    kind creates the network with the first cluster and never deletes it; a test run should
    leave the host as it found it.
    """
    got = runner.run(
        [docker, "network", "inspect", KIND_NETWORK, "--format", "{{len .Containers}}"],
        env=dict(env or {}),
        check=False,
        timeout=30,
    )
    if got.returncode != 0 or got.stdout.strip() != "0":
        return False
    if node_containers(runner, docker, env=env):
        return False
    return (
        runner.run(
            [docker, "network", "rm", KIND_NETWORK], env=dict(env or {}), check=False, timeout=60
        ).returncode
        == 0
    )


def reap_leftovers(
    runner: CommandRunner,
    registry: Path,
    *,
    kind: str = "kind",
    env: Mapping[str, str] | None = None,
    host: str | None = None,
    alive: Callable[[int], bool] = pid_alive,
) -> list[str]:
    """Delete clusters whose creating process died without cleaning up; returns their names."""
    if not registry.is_dir():
        return []
    host = host or socket.gethostname()
    existing = set(kind_clusters(runner, kind, env))
    reaped: list[str] = []
    for path in sorted(registry.glob(f"{NAME_PREFIX}*.json")):
        try:
            record = OwnerRecord.from_json(path.read_text())
        except (ValueError, KeyError, OSError):
            continue
        if not is_leftover(record, host, alive):
            continue
        if record.name in existing:
            done = runner.run(
                [kind, "delete", "cluster", "--name", record.name],
                env=dict(env or {}),
                check=False,
                timeout=300,
            )
            if done.returncode != 0:
                continue
            reaped.append(record.name)
        path.unlink(missing_ok=True)
    return reaped


def leftover_names(names: Iterable[str]) -> list[str]:
    """The cluster names this module would have made (for reports of what is still around)."""
    return sorted(n for n in names if n.startswith(NAME_PREFIX))
