"""Helm, through the one runner: the release operations the runbook performs.

The runbook asks operators to record the release revision and live values before upgrading,
to upgrade to a chart path kept beside the previous one, and to roll back to the recorded
revision. :class:`Helm` offers exactly those operations; values that may hold secrets are
masked before they are written anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_jitera.redact import mask_values
from pytest_jitera.runner import Completed

if TYPE_CHECKING:
    from pytest_jitera.cluster.access import ClusterAccess


@dataclass(frozen=True)
class Revision:
    """One line of ``helm history``."""

    revision: int
    status: str
    chart: str
    app_version: str
    description: str


@dataclass(frozen=True)
class ReleaseState:
    """What the runbook says to capture before an upgrade: revision, chart and live values."""

    release: str
    revision: int
    chart: str
    app_version: str
    values: dict[str, Any]

    def write(self, folder: Path) -> Path:
        """Save the state (secrets masked) for the report and for the rollback step."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.release}-revision-{self.revision}.yaml"
        data = {
            "release": self.release,
            "revision": self.revision,
            "chart": self.chart,
            "app_version": self.app_version,
            "values": mask_values(self.values),
        }
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


class Helm:
    """helm on the kubeconfig, namespace, tools and runner of one :class:`ClusterAccess`."""

    def __init__(self, access: ClusterAccess) -> None:
        self.access = access
        self.runner = access.runner
        self.namespace = access.namespace

    def run(self, *args: str, check: bool = True, timeout: float | None = 1800) -> Completed:
        """Run a helm subcommand."""
        return self.runner.run(
            self.access.helm_argv(*args), env=dict(self.access.env), check=check, timeout=timeout
        )

    @staticmethod
    def _value_args(values_files: Sequence[Path], set_values: Mapping[str, str]) -> list[str]:
        args: list[str] = []
        for path in values_files:
            args += ["--values", str(path)]
        for key, value in set_values.items():
            args += ["--set-string", f"{key}={value}"]
        return args

    def install(
        self,
        release: str,
        chart: Path,
        values_files: Sequence[Path] = (),
        set_values: Mapping[str, str] | None = None,
        timeout: str = "15m",
        extra: Sequence[str] = (),
        wait: bool = False,
    ) -> Completed:
        """``helm install`` (hooks run; helm waits for them; ``wait`` also for the workloads)."""
        return self.run(
            "install",
            release,
            str(chart),
            "--create-namespace",
            "--timeout",
            timeout,
            *(["--wait"] if wait else []),
            *self._value_args(values_files, set_values or {}),
            *extra,
        )

    def upgrade(
        self,
        release: str,
        chart: Path,
        values_files: Sequence[Path] = (),
        set_values: Mapping[str, str] | None = None,
        timeout: str = "15m",
        atomic: bool = False,
        extra: Sequence[str] = (),
        check: bool = True,
        wait: bool = False,
    ) -> Completed:
        """``helm upgrade``; with ``atomic`` a failed upgrade is rolled back by Helm itself."""
        flags = (["--atomic"] if atomic else []) + (["--wait"] if wait else [])
        return self.run(
            "upgrade",
            release,
            str(chart),
            "--timeout",
            timeout,
            *flags,
            *self._value_args(values_files, set_values or {}),
            *extra,
            check=check,
        )

    def rollback(self, release: str, revision: int, timeout: str = "15m", wait: bool = False) -> Completed:
        """``helm rollback`` to a recorded revision (all manifests, replicas included)."""
        flags = ["--wait"] if wait else []
        return self.run("rollback", release, str(revision), "--timeout", timeout, *flags)

    def uninstall(self, release: str) -> Completed:
        """Remove the release (teardown)."""
        return self.run("uninstall", release, "--wait", check=False)

    def history(self, release: str) -> list[Revision]:
        """``helm history`` as data, oldest first."""
        out = self.run("history", release, "--output", "json", "--max", "256").stdout
        return [
            Revision(
                revision=int(item["revision"]),
                status=str(item.get("status", "")),
                chart=str(item.get("chart", "")),
                app_version=str(item.get("app_version", "")),
                description=str(item.get("description", "")),
            )
            for item in json.loads(out or "[]")
        ]

    def values(self, release: str, revision: int | None = None, all_values: bool = False) -> dict[str, Any]:
        """User-supplied (or all) values of a revision."""
        args = ["get", "values", release, "--output", "json"]
        if revision is not None:
            args += ["--revision", str(revision)]
        if all_values:
            args.append("--all")
        data = json.loads(self.run(*args).stdout or "{}")
        return data if isinstance(data, dict) else {}

    def capture_state(self, release: str) -> ReleaseState:
        """The runbook's "record the revision and save the live values" step."""
        history = self.history(release)
        if not history:
            raise ValueError(f"release {release} has no history")
        current = history[-1]
        return ReleaseState(
            release=release,
            revision=current.revision,
            chart=current.chart,
            app_version=current.app_version,
            values=self.values(release, current.revision),
        )

    def lint(self, chart: Path, values_files: Sequence[Path] = ()) -> Completed:
        """``helm lint``."""
        args = ["lint", str(chart)]
        for path in values_files:
            args += ["--values", str(path)]
        return self.run(*args, timeout=300)
