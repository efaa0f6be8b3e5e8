"""One object per cluster and namespace: the only place a helm or kubectl command line is built.

A rehearsal talks to a cluster through four tools (helm, kubectl, exec into a database pod,
port-forward) and reads logs from it. If each of those held its own kubeconfig, binary path and
runner, a secret registered on one runner would leak from another's error, and a test could
quietly talk to the user's default context. So :class:`ClusterAccess` holds the kubeconfig,
the namespace, the checked tools with their environment and the session's runner, and hands
out everything else. :class:`~pytest_jitera.cluster.kind.KindCluster` yields one;
``--jitera-kubeconfig`` makes one for an existing cluster.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pytest_jitera.cluster.helm import Helm
from pytest_jitera.cluster.kubectl import Kubectl
from pytest_jitera.cluster.tools import Toolset
from pytest_jitera.errors import JiteraError
from pytest_jitera.redact import redact
from pytest_jitera.runner import CommandRunner
from pytest_jitera.waiting import Observation, Progress, wait_for

_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


def _quiet(_message: str) -> None:
    return None


class PortForwardError(JiteraError):
    """``kubectl port-forward`` did not come up."""


@dataclass(frozen=True)
class ClusterAccess:
    """Kubeconfig, namespace, tools and runner of one cluster, and the clients built on them."""

    kubeconfig: Path
    namespace: str
    runner: CommandRunner
    kubectl_bin: str = "kubectl"
    helm_bin: str = "helm"
    env: Mapping[str, str] = field(default_factory=dict)
    progress: Progress = field(default=_quiet, compare=False)

    @classmethod
    def for_tools(
        cls,
        kubeconfig: Path,
        namespace: str,
        tools: Toolset,
        runner: CommandRunner,
        progress: Progress = _quiet,
    ) -> ClusterAccess:
        """Access through a checked toolset (its folders first on ``PATH``)."""
        return cls(
            kubeconfig=Path(kubeconfig),
            namespace=namespace,
            runner=runner,
            kubectl_bin=tools["kubectl"],
            helm_bin=tools["helm"] if "helm" in tools.tools else "helm",
            env=tools.env(),
            progress=progress,
        )

    def in_namespace(self, namespace: str) -> ClusterAccess:
        """The same cluster, tools and runner, scoped to another namespace."""
        return replace(self, namespace=namespace)

    # ----------------------------------------------------------------- command lines
    def kubectl_argv(self, *args: str, namespaced: bool = True) -> list[str]:
        """``kubectl --kubeconfig <ours> [--namespace <ns>] ...``: never the user's default context."""
        base = [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig)]
        if namespaced:
            base += ["--namespace", self.namespace]
        return [*base, *args]

    def helm_argv(self, *args: str) -> list[str]:
        """``helm --kubeconfig <ours> --namespace <ns> ...``."""
        return [self.helm_bin, "--kubeconfig", str(self.kubeconfig), "--namespace", self.namespace, *args]

    def exec_argv(self, pod: str, *, container: str | None = None, stdin: bool = True) -> list[str]:
        """The prefix that runs a command inside ``pod``; the command follows it."""
        args = ["exec"] + (["-i"] if stdin else []) + [pod]
        if container:
            args += ["-c", container]
        return self.kubectl_argv(*args, "--")

    # ----------------------------------------------------------------- clients
    @property
    def kubectl(self) -> Kubectl:
        """Kubectl in this namespace."""
        return Kubectl(self)

    @property
    def helm(self) -> Helm:
        """Helm in this namespace."""
        return Helm(self)

    # ----------------------------------------------------------------- namespaces
    def ensure_namespace(self) -> None:
        """Create the namespace if it does not exist."""
        self.kubectl.ensure_namespace()

    def delete_namespace(self, *, wait: bool = False) -> None:
        """Delete the namespace and everything in it; a missing namespace is not an error."""
        self.runner.run(
            self.kubectl_argv(
                "delete",
                "namespace",
                self.namespace,
                "--ignore-not-found",
                f"--wait={str(wait).lower()}",
                namespaced=False,
            ),
            env=dict(self.env),
            check=False,
            timeout=600,
        )

    # ----------------------------------------------------------------- streams
    @contextlib.contextmanager
    def port_forward(self, target: str, remote_port: int, *, timeout: float = 60) -> Iterator[int]:
        """Forward a free local port to ``target`` (``svc/x``, ``pod/y``); yield the local port.

        The forwarder is a child process that ends with the block, Ctrl-C included, so no
        port-forward outlives the step that needed it.
        """
        argv = self.kubectl_argv("port-forward", target, f":{remote_port}", "--address", "127.0.0.1")
        with self.spawn(argv) as proc:
            assert proc.stdout is not None
            lines: list[str] = []

            def probe() -> Observation[int]:
                if proc.poll() is not None:
                    return Observation.hopeless(
                        f"exited with code {proc.returncode}: {' '.join(lines)[-300:]}"
                    )
                line = proc.stdout.readline() if proc.stdout else ""
                lines.append(line.strip())
                found = _FORWARDING.search(line)
                return Observation.ready(int(found.group(1))) if found else Observation.pending("starting")

            try:
                port = wait_for(
                    f"port-forward {target}:{remote_port}",
                    probe,
                    timeout=timeout,
                    interval=0.0,
                    progress=self.progress,
                    hint=f"check that {target} exists in namespace {self.namespace} and is running",
                )
            except JiteraError as exc:
                raise PortForwardError(redact(exc.message), hint=exc.hint) from None
            yield port

    @contextlib.contextmanager
    def spawn(self, argv: Sequence[str]) -> Iterator[subprocess.Popen[str]]:
        """A long-running child of this access's tools, always terminated on exit."""
        proc = self.runner.spawn(argv, env=dict(self.env))
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
