"""The one object every runbook step receives first: what a rehearsal of one release works with.

kind builds a cluster as a list of actions that each get the same context (logger, status,
provider, config), so no action reaches for globals and the order of actions is the only thing
the caller decides. Runbook steps work the same way here: a :class:`Rehearsal` holds the
cluster access (kubeconfig, namespace, tools, the session's runner), the release name, the
values every Helm call carries forward, the report folder, the progress callback and the step
timer. A suite builds one, hands it to the steps in runbook order and asserts on what they
return.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.cluster.api import KubeApi
from pytest_jitera.cluster.helm import Helm
from pytest_jitera.cluster.kubectl import Kubectl
from pytest_jitera.redact import redact, redact_lines
from pytest_jitera.runbook.downtime import StepTimer
from pytest_jitera.runner import CommandRunner
from pytest_jitera.waiting import Progress

DEFAULT_RELEASE = "jitera"


@dataclass(frozen=True)
class CarriedValues:
    """The values files every install, upgrade and redeploy of the release passes to Helm.

    ``helm upgrade`` without ``--reuse-values`` starts again from the new chart's defaults, so
    the operator's overrides (a real database password, say) must be given on every hop or
    they are silently dropped. ``files`` are the operator's own files, applied last;
    ``chart_files`` name files shipped inside each chart folder (``values-airgapped.yaml``)
    that are applied first when the chart has them.
    """

    files: tuple[Path, ...] = ()
    chart_files: tuple[str, ...] = ()
    # The rehearsal's own values (mail catcher, CLI key), applied after the operator's.
    harness: tuple[Path, ...] = ()

    def for_chart(self, chart_root: Path) -> list[Path]:
        """The values files, in Helm's order, for a deploy of the chart at ``chart_root``."""
        shipped = [chart_root / name for name in self.chart_files if (chart_root / name).is_file()]
        return [*shipped, *self.files, *self.harness]


@dataclass
class Rehearsal:
    """Cluster access, release, carried values, report folder, progress and timer of one run."""

    access: ClusterAccess
    report_dir: Path
    release: str = DEFAULT_RELEASE
    values: CarriedValues = field(default_factory=CarriedValues)
    progress: Progress | None = None
    timer: StepTimer = field(default_factory=StepTimer)
    # Datastores moved to a server the rehearsal started (a Scenario 3 restore to a new
    # instance): chart component -> StatefulSet and Service name now in use.
    instances: dict[str, str] = field(default_factory=dict)
    # Every step's (name, start, end) in epoch seconds, for timelines of a procedure.
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    # Where the stores' dumps go when they must not be in the report folder (a rehearsal on
    # the operator's data): a folder only this user reads; None keeps them in the report.
    data_dir: Path | None = None
    _api: KubeApi | None = field(default=None, init=False, repr=False)

    # ----------------------------------------------------------------- clients
    @property
    def runner(self) -> CommandRunner:
        """The access's runner: one runner, so a secret registered once is masked everywhere."""
        return self.access.runner

    @property
    def helm(self) -> Helm:
        """Helm in the rehearsal's namespace."""
        return self.access.helm

    @property
    def kubectl(self) -> Kubectl:
        """The kubectl client in the rehearsal's namespace."""
        return self.access.kubectl

    @property
    def api(self) -> KubeApi:
        """The Kubernetes API client on the same kubeconfig, made on first use (watches, logs, HTTP)."""
        if self._api is None:
            self._api = KubeApi(self.access.kubeconfig)
        return self._api

    def close(self) -> None:
        """Release the API client's connections (the cluster objects stay)."""
        if self._api is not None:
            self._api.close()
            self._api = None

    # ----------------------------------------------------------------- names
    def name(self, component: str) -> str:
        """The chart's name for a component's objects: ``<release>-<component>``."""
        return f"{self.release}-{component}"[:63].rstrip("-")

    def instance(self, component: str) -> str:
        """The StatefulSet and Service of a datastore: the chart's own, or the one restored into."""
        return self.instances.get(component) or self.name(component)

    def selector(self, component: str | None = None) -> str:
        """Label selector of the release's pods, or of one component's."""
        labels = f"app.kubernetes.io/instance={self.release}"
        return labels + (f",app.kubernetes.io/component={component}" if component else "")

    # ----------------------------------------------------------------- reporting
    def say(self, message: str) -> None:
        """One progress line, prefixed with the namespace (several rehearsals may share a run)."""
        sink = self.progress or self.access.progress
        sink(f"[{self.access.namespace}] {message}")

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Announce a step and add its wall-clock time to the timer, failed or not."""
        self.say(name)
        started = time.monotonic()
        began = time.time()
        try:
            yield
        finally:
            self.timer.record(name, started)
            self.spans.append((name, began, time.time()))

    def mask(self, text: str) -> str:
        """``text`` with every registered secret and every secret-looking line masked (for files)."""
        return redact_lines(redact(text, getattr(self.runner, "secrets", ())))

    def backups_folder(self) -> Path:
        """Where the hops' dumps are written: the report's ``backups``, or the private data folder."""
        if self.data_dir is None:
            return self.report_folder("backups")
        path = self.data_dir / "backups"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def report_folder(self, *parts: str) -> Path:
        """A folder in the report folder, created if needed."""
        path = self.report_dir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path
