"""Helm, through the one runner: the release operations the runbook performs.

The runbook asks operators to record the release revision and live values before upgrading,
to upgrade to a chart path kept beside the previous one, and to roll back to the recorded
revision. :class:`Helm` offers exactly those operations; values that may hold secrets are
masked before they are written anywhere.

Helm 3 and Helm 4 are both supported, and they spell some flags differently, so :class:`Helm`
asks the binary it runs for its major version (once, lazily, only when a flag depends on it)
and picks the spelling:

* ``atomic=True``: ``--atomic`` on Helm 3, ``--rollback-on-failure`` on Helm 4 (``--atomic``
  is only a deprecated alias there, and early 4.x refused it on install).
* ``wait=True``: ``--wait --wait-for-jobs`` on both. Neither major's ``--wait`` waits for the
  release's Jobs by itself (Helm 4's ``--wait`` is kstatus watching), and the runbook's point
  in waiting is that everything the release started has finished.
* ``extra`` flags renamed by Helm 4 (``--atomic``/``--rollback-on-failure``,
  ``--force``/``--force-replace``) are spelled for the helm that runs, so a caller can write
  either.

Nothing else differs by major: upgrading a release installed by Helm 3 with Helm 4 needs no
flag of ours, and the apply method (Helm 4 installs with server-side apply) is left to helm.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_jitera.cluster.tools import DOCTOR_HINT, parse_version
from pytest_jitera.errors import ToolError
from pytest_jitera.redact import mask_values
from pytest_jitera.runner import Completed, RunError

if TYPE_CHECKING:
    from pytest_jitera.cluster.access import ClusterAccess

SUPPORTED_MAJORS = (3, 4)

# Flags Helm 4 renamed: (Helm 3 spelling, Helm 4 spelling).
_RENAMED = (("--atomic", "--rollback-on-failure"), ("--force", "--force-replace"))


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
    """helm on the kubeconfig, namespace, tools and runner of one :class:`ClusterAccess`.

    ``major`` may be given when the caller already knows it (tests do); otherwise it is asked
    of the binary on first need and kept on the instance.
    """

    def __init__(self, access: ClusterAccess, *, major: int | None = None) -> None:
        self.access = access
        self.runner = access.runner
        self.namespace = access.namespace
        self._major = major

    @property
    def major(self) -> int:
        """Helm's major version (3 or 4), from ``helm version --short`` on first use."""
        if self._major is None:
            self._major = self._detect_major()
        return self._major

    def _detect_major(self) -> int:
        """Ask the binary, without kubeconfig or namespace: the answer does not need a cluster."""
        argv = [self.access.helm_bin, "version", "--short"]
        try:
            got = self.runner.run(argv, env=dict(self.access.env), check=False, timeout=60)
        except RunError as exc:
            raise ToolError(
                f"cannot tell which helm major version {self.access.helm_bin} is: {exc.message}",
                hint=DOCTOR_HINT,
            ) from None
        version = parse_version(got.stdout or got.stderr) if got.returncode == 0 else None
        if version is None or version[0] not in SUPPORTED_MAJORS:
            said = (got.stderr or got.stdout) if got.returncode else got.stdout
            said = said.strip()[:200] or "nothing"
            status = f"exit code {got.returncode}, " if got.returncode else ""
            raise ToolError(
                f"{self.access.helm_bin} is not helm 3 or 4 (`helm version --short` gave {status}{said})",
                hint=f"install helm 3.14 or newer, or helm 4; {DOCTOR_HINT}",
            )
        return version[0]

    # ----------------------------------------------------------------- flag spelling
    def _atomic_flags(self, atomic: bool) -> list[str]:
        if not atomic:
            return []
        return ["--rollback-on-failure"] if self.major >= 4 else ["--atomic"]

    @staticmethod
    def _wait_flags(wait: bool) -> list[str]:
        return ["--wait", "--wait-for-jobs"] if wait else []

    def _spelled(self, extra: Sequence[str]) -> list[str]:
        """``extra`` with flags Helm 4 renamed spelled for this helm (asks only if one occurs)."""
        renamed = {old for pair in _RENAMED for old in pair}
        if not renamed.intersection(extra):
            return list(extra)
        if self.major >= 4:
            spelling = {old: new for old, new in _RENAMED}
        else:
            spelling = {new: old for old, new in _RENAMED}
        return [spelling.get(arg, arg) for arg in extra]

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
        flags = ["--create-namespace", *self._wait_flags(wait)]
        return self.runner.run(
            self._deploy_argv("install", release, chart, values_files, set_values, timeout, flags, extra),
            env=dict(self.access.env),
            timeout=1800,
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
        return self.runner.run(
            self.upgrade_argv(release, chart, values_files, set_values, timeout, atomic, extra, wait),
            env=dict(self.access.env),
            check=check,
            timeout=1800,
        )

    def upgrade_argv(
        self,
        release: str,
        chart: Path,
        values_files: Sequence[Path] = (),
        set_values: Mapping[str, str] | None = None,
        timeout: str = "15m",
        atomic: bool = False,
        extra: Sequence[str] = (),
        wait: bool = False,
    ) -> list[str]:
        """The ``helm upgrade`` command line, for a caller that runs it in the background."""
        flags = self._atomic_flags(atomic) + self._wait_flags(wait)
        return self._deploy_argv("upgrade", release, chart, values_files, set_values, timeout, flags, extra)

    def _deploy_argv(
        self,
        verb: str,
        release: str,
        chart: Path,
        values_files: Sequence[Path],
        set_values: Mapping[str, str] | None,
        timeout: str,
        flags: Sequence[str],
        extra: Sequence[str],
    ) -> list[str]:
        """``helm install`` and ``helm upgrade`` take the same arguments in the same order."""
        return self.access.helm_argv(
            verb,
            release,
            str(chart),
            "--timeout",
            timeout,
            *flags,
            *self._value_args(values_files, set_values or {}),
            *self._spelled(extra),
        )

    def rollback(self, release: str, revision: int, timeout: str = "15m", wait: bool = False) -> Completed:
        """``helm rollback`` to a recorded revision (all manifests, replicas included)."""
        return self.run("rollback", release, str(revision), "--timeout", timeout, *self._wait_flags(wait))

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

    def template(self, release: str, chart: Path, values_files: Sequence[Path] = ()) -> Completed:
        """``helm template``: the manifests the chart renders with these values (no cluster needed)."""
        return self.run(
            "template", release, str(chart), *self._value_args(values_files, {}), check=False, timeout=300
        )

    def upgrade_dry_run(self, release: str, chart: Path, values_files: Sequence[Path] = ()) -> Completed:
        """``helm upgrade --dry-run=server``: the API server validates every object, nothing changes.

        Unlike ``helm template`` this catches what only the cluster knows: a field the server's
        schema rejects, an immutable field the new chart changes, a missing CRD.
        """
        return self.run(
            "upgrade", release, str(chart), "--dry-run=server",
            *self._value_args(values_files, {}), check=False, timeout=600,
        )

    def lint(self, chart: Path, values_files: Sequence[Path] = ()) -> Completed:
        """``helm lint``."""
        args = ["lint", str(chart)]
        for path in values_files:
            args += ["--values", str(path)]
        return self.run(*args, timeout=300)
