"""Runbook section "Upgrade Procedure": deploy one hop, then watch the hook and the rollout.

The runbook's upgrade goes to a chart kept in its own folder beside the previous one (so a
rollback can always redeploy it), one minor version at a time, and is not to be trusted until
the migration hook Job is Complete: when the hook fails, Automation and Ultron crash-loop
against a half-migrated schema while Helm may still report the rollout as progressing. The
steps here return what they saw (a revision, the hook's state, the pods' health) and leave the
verdict to the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_jitera.activity import external
from pytest_jitera.charts.chart import Chart
from pytest_jitera.cluster.field_managers import Managers, managers_by_object
from pytest_jitera.cluster.helm import Helm
from pytest_jitera.cluster.hook_watch import HookOutcome, current_job_uid, watch_hook
from pytest_jitera.cluster.kubectl import JobState, PodHealth
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.downtime import ROLLOUT
from pytest_jitera.waiting import Observation, WaitTimeout, wait_for

MIGRATION_HOOK = "migrate"


@dataclass(frozen=True)
class HelmOutcome:
    """How a Helm deploy ended: its exit code and the release's newest revision afterwards."""

    returncode: int
    revision: int | None
    status: str

    @property
    def succeeded(self) -> bool:
        """Helm exited 0."""
        return self.returncode == 0


def install_release(
    r: Rehearsal,
    chart: Chart | Path,
    set_values: Mapping[str, str] | None = None,
    timeout: str = "15m",
    helm: Helm | None = None,
    *,
    hooks: bool = True,
) -> HelmOutcome:
    """``helm install`` the release from ``chart`` with the carried values; Helm waits for the hook.

    ``helm`` installs with another binary than the rehearsal's (a Helm 3 whose release the
    rehearsal's Helm 4 then upgrades). ``hooks=False`` leaves the migration hook out, for a
    release whose databases are about to be restored from a starting state that has run it.
    """
    root = chart_root(chart)
    with r.step(f"install {r.release} {_label(chart)}{'' if hooks else ' (no hooks)'}"):
        r.access.ensure_namespace()
        done = (helm or r.helm).install(
            r.release, root, r.values.for_chart(root), set_values, timeout=timeout,
            extra=() if hooks else ("--no-hooks",),
        )
        return outcome(r, done.returncode)


def release_field_managers(r: Rehearsal) -> Managers:
    """The managers of the release's objects: how the last Helm wrote them, and who else did."""
    listed = r.kubectl.get_json(
        "deployments,statefulsets,services,secrets,configmaps",
        "-l", f"app.kubernetes.io/instance={r.release}", "--show-managed-fields",
    )
    return managers_by_object(listed.get("items", []))


def upgrade_one_hop(
    r: Rehearsal,
    chart: Chart | Path,
    set_values: Mapping[str, str] | None = None,
    timeout: str = "15m",
    check: bool = True,
) -> HelmOutcome:
    """``helm upgrade`` to the next release's chart folder, with every carried values file.

    With ``check=False`` a failed upgrade (a failing hook, say) is returned, not raised, so a
    rehearsal of a broken hop can go on to look at what it left behind.
    """
    root = chart_root(chart)
    with r.step(f"upgrade {r.release} to {_label(chart)}"):
        done = r.helm.upgrade(
            r.release, root, r.values.for_chart(root), set_values, timeout=timeout, check=check
        )
        return outcome(r, done.returncode)


def watch_migration_hook(r: Rehearsal, timeout: float = 900) -> JobState:
    """Wait for the migration hook Job to be Complete; a failure raises with the Job's logs."""
    with r.step("watch the migration hook"):
        return r.kubectl.wait_for_job(r.name(MIGRATION_HOOK), timeout=timeout)


def migration_hook_state(r: Rehearsal) -> JobState | None:
    """The migration hook Job as it is now (None when Helm has not created it, or deleted it)."""
    return r.kubectl.job(r.name(MIGRATION_HOOK))


def wait_for_rollout(
    r: Rehearsal, components: Sequence[str] = ("automation", "studio"), timeout: float = 600
) -> None:
    """Wait until each component's Deployment has rolled out (timed as "rollout completion")."""
    with r.step(ROLLOUT):
        for component in components:
            r.kubectl.rollout_status(r.name(component), timeout=timeout)


def release_deployments(r: Rehearsal) -> tuple[str, ...]:
    """Every Deployment of the release, by component name, as a rollout waits for them."""
    names = r.kubectl.deployments(f"app.kubernetes.io/instance={r.release}")
    prefix = r.release + "-"
    return tuple(sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix)))


def crash_looping_or_unready(pods: Sequence[PodHealth]) -> bool:
    """The state a failed hook leaves a schema-gated component in.

    Either a pod is crash-looping, or there are pods and none of them became Ready although
    they have restarted.
    """
    if not pods:
        return False
    return any(p.crash_looping for p in pods) or (
        not any(p.ready for p in pods) and any(p.restarts for p in pods)
    )


def watch_for_crash_loop(r: Rehearsal, component: str, timeout: float = 300) -> list[PodHealth]:
    """Watch a component's pods until they crash-loop or stay unready; return the pods seen last.

    On timeout the last observation is returned rather than raised, so the caller's assertion
    (:func:`crash_looping_or_unready`) shows the pods as they were.
    """
    seen: list[list[PodHealth]] = [[]]

    def probe() -> Observation[list[PodHealth]]:
        pods = r.kubectl.pods(r.selector(component))
        seen[0] = pods
        summary = ", ".join(_health(p) for p in pods) or "no pods"
        return (
            Observation.ready(pods, summary)
            if crash_looping_or_unready(pods)
            else Observation.pending(summary)
        )

    with r.step(f"watch {component} for a crash loop"):
        try:
            return wait_for(
                f"{component} crash-loops or stays unready",
                probe,
                timeout=timeout,
                interval=5,
                progress=r.say,
            )
        except WaitTimeout:
            return seen[0]


def _health(pod: PodHealth) -> str:
    state = "ready" if pod.ready else "unready"
    return f"{pod.name}: {state}, {pod.restarts} restarts, {pod.waiting_reason or pod.phase}"


def _label(chart: Chart | Path) -> str:
    if isinstance(chart, Chart):
        return chart.app_version or chart.version
    return str(chart)


def chart_root(chart: Chart | Path) -> Path:
    """The folder holding ``Chart.yaml``."""
    return chart.root if isinstance(chart, Chart) else Path(chart)


def outcome(r: Rehearsal, returncode: int) -> HelmOutcome:
    """The outcome of a Helm command that exited with ``returncode``, read from the history."""
    history = r.helm.history(r.release)
    last = history[-1] if history else None
    return HelmOutcome(returncode, last.revision if last else None, last.status if last else "")


# ----------------------------------------------------------------- plan and apply, watched


@dataclass(frozen=True)
class DryRun:
    """What ``helm template`` and the server-side dry run said about the next chart."""

    rendered: Path
    server: Path
    problems: tuple[str, ...]


def plan_the_upgrade(r: Rehearsal, chart: Chart | Path) -> DryRun:
    """Runbook "plan and apply", first half: render the new chart and let the API server judge it.

    Both outputs go to the report with secrets masked; a problem is the failing command's
    last lines, so the message says what the chart or the server refused.
    """
    root = chart_root(chart)
    label = _label(chart)
    with r.step(f"plan the upgrade to {label}"):
        folder = r.report_folder("hops", label)
        files = r.values.for_chart(root)
        rendered = r.helm.template(r.release, root, files)
        server = r.helm.upgrade_dry_run(r.release, root, files)
        problems = []
        for what, done in (("helm template", rendered), ("helm upgrade --dry-run=server", server)):
            if done.returncode != 0:
                tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
                problems.append(f"{what} failed (exit {done.returncode}):\n{r.mask(tail)}")
        rendered_path = folder / "helm-template.yaml"
        rendered_path.write_text(r.mask(rendered.stdout + rendered.stderr))
        server_path = folder / "dry-run-server.txt"
        server_path.write_text(r.mask(server.stdout + server.stderr))
        return DryRun(rendered_path, server_path, tuple(problems))


@dataclass(frozen=True)
class WatchedUpgrade:
    """The ``helm upgrade`` that ran and what the migration hook did meanwhile."""

    helm: HelmOutcome
    hook: HookOutcome
    helm_output: str


def apply_upgrade(
    r: Rehearsal,
    chart: Chart | Path,
    *,
    hook_job: str,
    timeout: str = "15m",
    hook_timeout: float = 900,
    rollback_on_failure: bool = False,
) -> WatchedUpgrade:
    """Runbook "plan and apply", second half, and "monitor the rollout" while it happens.

    ``helm upgrade`` runs in a thread; this thread watches the hook Job through the API and
    streams its pods' logs into ``hops/<version>/migration-hook.log`` and the progress output.
    Helm itself waits for the hook, so the two end together; the watch is what lets a failure
    show the hook's own words instead of Helm's "job failed: BackoffLimitExceeded".
    """
    root = chart_root(chart)
    label = _label(chart)
    folder = r.report_folder("hops", label)
    ns = r.access.namespace
    previous = current_job_uid(r.api, ns, hook_job)
    argv = r.helm.upgrade_argv(
        r.release, root, r.values.for_chart(root), timeout=timeout, atomic=rollback_on_failure
    )
    output: list[str] = []
    stop = threading.Event()
    # The access's spawn ends helm on every way out of the block (Ctrl-C, an error in the
    # watch): helm must not go on changing the cluster alone.
    with r.step(f"upgrade {r.release} to {label}"), r.access.spawn(argv) as proc:

        def collect() -> None:
            try:
                for line in proc.stdout or ():
                    output.append(line)
            except (OSError, ValueError):
                pass  # the pipe was closed under us: helm was ended on the way out
            finally:
                stop.set()

        reader = threading.Thread(target=collect, name=f"helm-upgrade-{label}", daemon=True)
        reader.start()
        with external("api watch"):
            hook = watch_hook(
                r.api,
                ns,
                hook_job,
                log_path=folder / "migration-hook.log",
                progress=r.say,
                timeout=hook_timeout,
                previous_uid=previous,
                stop=stop,
            )
        with external("helm"):
            returncode = proc.wait()
        reader.join(timeout=10)
    text = r.mask("".join(output))
    (folder / "helm-upgrade.txt").write_text(text)
    return WatchedUpgrade(outcome(r, returncode), hook, text)
