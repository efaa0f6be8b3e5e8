"""The runbook's cluster steps, one named function each.

Read top to bottom, this module is the upgrade-and-rollback procedure: capture the release,
freeze workloads, upgrade one hop, watch the migration hook, check the CLI key, and the three
rollback procedures. Each function does one step with the clients it is given (Helm, kubectl,
datastore operations) and returns what the next step or the report needs; the pytest suites
only sequence them and assert on the results. Nothing here imports pytest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jitera.cluster.helm import Helm, ReleaseState
from pytest_jitera.cluster.kubectl import JobState, Kubectl, PodHealth
from pytest_jitera.runbook.pem import pem_problems

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass
class StepTimer:
    """Wall-clock time of each step, for the report's downtime table."""

    seconds: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, started: float) -> None:
        """Add the time since ``started`` to step ``name``."""
        self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started


# --- Before you upgrade -------------------------------------------------------------------


def capture_release_state(helm: Helm, release: str, report_dir: Path) -> tuple[ReleaseState, Path]:
    """Record the revision and live values (secrets masked in the saved copy)."""
    state = helm.capture_state(release)
    return state, state.write(report_dir / "release-state")


def freeze_workloads(
    kubectl: Kubectl, deployments: Sequence[str], progress: Progress = _quiet
) -> dict[str, int]:
    """Scale the workloads that hold database connections to zero; return their replicas.

    The replica counts are what :func:`unfreeze_workloads` restores. Waiting until the pods
    are gone matters: a ``DROP DATABASE`` fails while any of them still holds a connection.
    """
    current = kubectl.deployments()
    targets = [d for d in deployments if d in current]
    previous = {d: current[d] for d in targets}
    progress(f"scaling down {', '.join(targets) or 'nothing'}")
    kubectl.scale(targets, 0)
    kubectl.wait_scaled_down(targets)
    return previous


def unfreeze_workloads(kubectl: Kubectl, replicas: Mapping[str, int], progress: Progress = _quiet) -> None:
    """Give each frozen deployment its replicas back."""
    for name, count in replicas.items():
        progress(f"scaling {name} back to {count}")
        kubectl.scale([name], count)


# --- Upgrade ------------------------------------------------------------------------------


def upgrade_one_hop(
    helm: Helm,
    release: str,
    chart_root: Path,
    values_files: Sequence[Path] = (),
    set_values: Mapping[str, str] | None = None,
    timeout: str = "15m",
    progress: Progress = _quiet,
) -> int:
    """``helm upgrade`` to the chart kept in its own folder; return the new revision.

    Helm waits for the post-upgrade hook itself; :func:`watch_migration_hook` then confirms
    the Job is Complete, because the runbook says not to trust the rollout before that.
    """
    progress(f"helm upgrade {release} {chart_root}")
    helm.upgrade(release, chart_root, values_files, set_values, timeout=timeout)
    return helm.history(release)[-1].revision


def watch_migration_hook(kubectl: Kubectl, job_name: str, timeout: float = 900) -> JobState:
    """Wait for the migration hook Job to be Complete; its logs are in the error otherwise."""
    return kubectl.wait_for_job(job_name, timeout=timeout)


def verify_cli_key(kubectl: Kubectl, secret: str, key: str) -> list[str]:
    """Check that the CLI key in the Secret is still a well-formed PEM (newlines intact)."""
    data = kubectl.secret_data(secret)
    if key not in data:
        return [f"secret {secret} has no key {key!r} (keys: {', '.join(sorted(data)) or 'none'})"]
    return pem_problems(data[key])


def crash_looping(kubectl: Kubectl, components: Sequence[str] = ()) -> list[PodHealth]:
    """Pods that crash-loop (or cannot start), optionally only of some components."""
    pods = kubectl.pods()
    return [p for p in pods if p.crash_looping and (not components or p.component in components)]


# --- Rollback -----------------------------------------------------------------------------


def rollback_helm_only(helm: Helm, release: str, revision: int, progress: Progress = _quiet) -> int:
    """Scenarios 1 and 2: ``helm rollback`` to the recorded revision; return the new revision."""
    progress(f"helm rollback {release} {revision}")
    helm.rollback(release, revision)
    return helm.history(release)[-1].revision


def redeploy_previous_chart(
    helm: Helm,
    release: str,
    previous_chart: Path,
    values_files: Sequence[Path],
    endpoint_values: Mapping[str, str],
    progress: Progress = _quiet,
) -> int:
    """Scenario 3, recommended path: switch the endpoint and roll back in one Helm step.

    The snapshot was restored into a new database; deploying the previous chart (kept in its
    own folder for exactly this) with the endpoint values pointing at that database means no
    old-version pod ever connects to the new-version schema. A plain ``helm rollback`` cannot
    change values, so it would bring the old pods back on the old endpoint first.
    """
    progress(f"redeploying {previous_chart} with the restored endpoint")
    helm.upgrade(release, previous_chart, values_files, endpoint_values)
    return helm.history(release)[-1].revision
