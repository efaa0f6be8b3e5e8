"""kubectl, through the one runner, for the runbook steps that look at the cluster.

We drive ``kubectl`` rather than a Python client so that every failure prints a command a
person can paste, and so that the harness talks to a cluster exactly as an operator following
the runbook would. Every call carries an explicit ``--kubeconfig``: the user's own
``~/.kube/config`` is never read or written.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from pytest_jitera.errors import JiteraError
from pytest_jitera.runner import Completed
from pytest_jitera.waiting import Observation, WaitFailed, WaitTimeout, wait_for

if TYPE_CHECKING:
    from pytest_jitera.cluster.access import ClusterAccess

CRASH_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "Error",
        "CreateContainerConfigError",
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "RunContainerError",
    }
)


class ClusterWaitError(JiteraError):
    """Something in the cluster did not reach the state a runbook step waits for."""


@dataclass(frozen=True)
class PodHealth:
    """What an operator reads off ``kubectl get pods``: ready, restarting, crash-looping."""

    name: str
    component: str
    phase: str
    ready: bool
    restarts: int
    waiting_reason: str | None
    last_exit_code: int | None

    @property
    def crash_looping(self) -> bool:
        """Failing over and over, or stuck unable to start."""
        if self.waiting_reason in CRASH_REASONS:
            return True
        return self.restarts > 0 and not self.ready and self.last_exit_code not in (None, 0)


@dataclass(frozen=True)
class JobState:
    """Completion state of a Job (the migration hook is one)."""

    name: str
    succeeded: int
    failed: int
    complete: bool
    failed_condition: bool
    active: int


def pod_health(pod: dict[str, Any]) -> PodHealth:
    """Summarise one pod object from ``kubectl get pods -o json``."""
    meta = pod.get("metadata", {})
    labels = meta.get("labels", {}) or {}
    status = pod.get("status", {}) or {}
    containers = status.get("containerStatuses") or []
    restarts = sum(int(c.get("restartCount", 0)) for c in containers)
    waiting = next(
        (c["state"]["waiting"].get("reason") for c in containers if c.get("state", {}).get("waiting")), None
    )
    last_exit = next(
        (
            c["lastState"]["terminated"].get("exitCode")
            for c in containers
            if c.get("lastState", {}).get("terminated")
        ),
        None,
    )
    ready = bool(containers) and all(c.get("ready") for c in containers)
    component = labels.get("app.kubernetes.io/component") or labels.get("app") or meta.get("name", "")
    return PodHealth(
        name=meta.get("name", ""),
        component=str(component),
        phase=status.get("phase", "Unknown"),
        ready=ready,
        restarts=restarts,
        waiting_reason=waiting,
        last_exit_code=last_exit,
    )


def job_state(job: dict[str, Any]) -> JobState:
    """Summarise one Job object."""
    status = job.get("status", {}) or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return JobState(
        name=job.get("metadata", {}).get("name", ""),
        succeeded=int(status.get("succeeded") or 0),
        failed=int(status.get("failed") or 0),
        complete=conditions.get("Complete") == "True",
        failed_condition=conditions.get("Failed") == "True",
        active=int(status.get("active") or 0),
    )


class Kubectl:
    """A namespace-scoped kubectl on the kubeconfig, tools and runner of one :class:`ClusterAccess`."""

    def __init__(self, access: ClusterAccess) -> None:
        self.access = access
        self.runner = access.runner
        self.namespace = access.namespace
        self.progress = access.progress

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float | None = 120,
        input: str | None = None,
        stdout: IO[bytes] | None = None,
        namespaced: bool = True,
    ) -> Completed:
        """Run a kubectl subcommand (in the namespace unless ``namespaced`` is false)."""
        return self.runner.run(
            self.access.kubectl_argv(*args, namespaced=namespaced),
            env=dict(self.access.env),
            check=check,
            timeout=timeout,
            input=input,
            stdout=stdout,
        )

    def get_json(self, *args: str, namespaced: bool = True) -> dict[str, Any]:
        """``kubectl get ... -o json`` parsed."""
        out = self.run("get", *args, "-o", "json", namespaced=namespaced).stdout
        data: dict[str, Any] = json.loads(out or "{}")
        return data

    def apply(self, manifest: str) -> None:
        """Apply YAML from a string."""
        self.run("apply", "-f", "-", input=manifest)

    def node_names(self) -> list[str]:
        """The cluster's nodes."""
        items = self.get_json("nodes", namespaced=False).get("items", [])
        return [str(item["metadata"]["name"]) for item in items]

    def server_version(self) -> str:
        """The API server's ``gitVersion`` (``v1.34.4``): what the cluster really runs."""
        data = json.loads(self.run("version", "-o", "json", namespaced=False).stdout or "{}")
        return str(data.get("serverVersion", {}).get("gitVersion", ""))

    def field(self, resource: str, jsonpath: str) -> str:
        """One field of one object (``deployment/web``, ``{.status.readyReplicas}``)."""
        return self.run("get", resource, "-o", f"jsonpath={jsonpath}").stdout

    def delete(self, resource: str, *, wait: bool = True) -> None:
        """Delete one object; a missing object is not an error."""
        self.run("delete", resource, "--ignore-not-found", f"--wait={str(wait).lower()}", timeout=300)

    def rollout_status(self, deployment: str, timeout: float = 600, *, kind: str = "deployment") -> None:
        """Wait until a Deployment's (or ``kind``'s) rollout is complete (kubectl watches the object)."""
        self.run(
            "rollout",
            "status",
            f"{kind}/{deployment}",
            f"--timeout={int(timeout)}s",
            timeout=timeout + 60,
        )

    def wait_condition(self, resource: str, condition: str, timeout: float = 600) -> None:
        """``kubectl wait --for=<condition>``: ``condition=complete``, ``jsonpath={...}=X``."""
        self.run("wait", f"--for={condition}", resource, f"--timeout={int(timeout)}s", timeout=timeout + 60)

    def ensure_namespace(self) -> None:
        """Create the namespace if it does not exist."""
        if self.run("get", "namespace", self.namespace, check=False, namespaced=False).returncode != 0:
            self.run("create", "namespace", self.namespace, namespaced=False)

    def pods(self, selector: str | None = None) -> list[PodHealth]:
        """Health of every pod (optionally by label selector)."""
        args = ["pods"] + (["-l", selector] if selector else [])
        return [pod_health(p) for p in self.get_json(*args).get("items", [])]

    def job(self, name: str) -> JobState | None:
        """The Job's state, or None when it does not exist (yet, or any more)."""
        result = self.run("get", "job", name, "-o", "json", check=False)
        if result.returncode != 0:
            return None
        return job_state(json.loads(result.stdout))

    def logs(self, target: str, *, tail: int = 200, previous: bool = False) -> str:
        """Logs of a pod or ``job/NAME``; empty when there are none."""
        args = ["logs", target, f"--tail={tail}", "--all-containers"]
        if previous:
            args.append("--previous")
        result = self.run(*args, check=False)
        return result.stdout if result.returncode == 0 else result.stderr

    def logs_by_selector(self, selector: str, *, tail: int = 400) -> str:
        """Recent logs of every pod matching ``selector``, each line prefixed with its pod."""
        done = self.run("logs", "-l", selector, f"--tail={tail}", "--prefix", "--all-containers", check=False)
        return done.stdout

    def wait_for_job(self, name: str, timeout: float = 600, poll: float = 2.0) -> JobState:
        """Wait until the Job is Complete; raise with its logs when it failed or timed out."""

        def probe() -> Observation[JobState]:
            state = self.job(name)
            if state is None:
                return Observation.pending("not created yet")
            summary = f"active={state.active} succeeded={state.succeeded} failed={state.failed}"
            if state.complete:
                return Observation.ready(state, summary)
            if state.failed_condition:
                return Observation.hopeless(f"failed ({summary})")
            return Observation.pending(summary)

        try:
            return wait_for(f"job/{name}", probe, timeout=timeout, interval=poll, progress=self.progress)
        except WaitFailed as exc:
            raise ClusterWaitError(
                f"{exc.message}\n--- its logs ---\n{self.logs('job/' + name)}",
                hint="the migration hook failed: downstream pods crash-loop on an incomplete schema",
            ) from None
        except WaitTimeout as exc:
            raise ClusterWaitError(f"{exc.message}\n--- its logs ---\n{self.logs('job/' + name)}") from None

    def wait_ready(self, selector: str, timeout: float = 600, poll: float = 3.0) -> list[PodHealth]:
        """Wait until every pod matching ``selector`` is Ready."""

        def probe() -> Observation[list[PodHealth]]:
            pods = self.pods(selector)
            states = ", ".join(f"{p.name}:{p.phase}/{p.waiting_reason or '-'}" for p in pods) or "no pods"
            return (
                Observation.ready(pods, states)
                if pods and all(p.ready for p in pods)
                else (Observation.pending(states))
            )

        try:
            return wait_for(
                f"pods {selector} Ready", probe, timeout=timeout, interval=poll, progress=self.progress
            )
        except WaitTimeout as exc:
            raise ClusterWaitError(exc.message) from None

    def deployments(self, selector: str | None = None) -> dict[str, int]:
        """Deployment name -> desired replicas."""
        args = ["deployments"] + (["-l", selector] if selector else [])
        return {
            d["metadata"]["name"]: int(d.get("spec", {}).get("replicas", 1))
            for d in self.get_json(*args).get("items", [])
        }

    def scale(self, deployments: Sequence[str], replicas: int) -> None:
        """Scale deployments (the runbook's app scale-down / scale-up)."""
        if deployments:
            self.run("scale", "deployment", *deployments, f"--replicas={replicas}")

    def wait_scaled_down(self, deployments: Sequence[str], timeout: float = 300, poll: float = 2.0) -> None:
        """Wait until no pod of the given deployments remains (their DB connections are gone)."""

        def probe() -> Observation[None]:
            left = [p.name for p in self.pods() if any(p.name.startswith(d + "-") for d in deployments)]
            return (
                Observation.pending("still running: " + ", ".join(left)) if left else Observation.ready(None)
            )

        try:
            wait_for("scale-down", probe, timeout=timeout, interval=poll, progress=self.progress)
        except WaitTimeout as exc:
            raise ClusterWaitError(f"pods still running after scale-down: {exc.last}") from None

    def secret_data(self, name: str) -> dict[str, str]:
        """Decoded data of a Secret (values are secrets: never print them)."""
        data = self.get_json("secret", name).get("data", {}) or {}
        return {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
