"""One typed, frozen view of every ``--jitera-*`` setting and where it came from.

A value may come from the command line, the ini file (``pytest.ini``/``pyproject.toml``) or an
environment variable; the command line wins, then the environment, then the ini file. The
report header shows the source of each value, so a nightly matrix log says exactly what ran.
This module does not import pytest: :func:`resolve` takes plain lookup callables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Source(str, Enum):
    """Where a setting's value came from."""

    CLI = "command line"
    ENV = "environment"
    INI = "ini file"
    DEFAULT = "default"


@dataclass(frozen=True)
class Setting:
    """Declaration of one ``--jitera-*`` option and its ini/env twins."""

    name: str  # e.g. "from" -> --jitera-from, ini jitera_from, env JITERA_FROM
    help: str
    kind: str = "str"  # "str", "path", "paths", "bool"
    default: Any = None

    @property
    def flag(self) -> str:
        """The command-line option."""
        return "--jitera-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        """The ini key."""
        return "jitera_" + self.name.replace("-", "_")

    @property
    def env(self) -> str:
        """The environment variable."""
        return "JITERA_" + self.name.replace("-", "_").upper()

    @property
    def dest(self) -> str:
        """The attribute name on pytest's option namespace."""
        return "jitera_" + self.name.replace("-", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting("from", "release currently installed, e.g. v24.05.01"),
    Setting("to", "release to upgrade to, e.g. v24.06.01"),
    Setting(
        "charts",
        "folder of jitera-helm-<VERSION>.zip files and/or extracted chart folders, or a Helm "
        "repository index.yaml (default: the embedded reference series)",
        kind="path",
    ),
    Setting(
        "values",
        "your Helm values override file; repeat for several (applied in order)",
        kind="paths",
        default=(),
    ),
    Setting(
        "kubeconfig",
        "use the existing cluster of this kubeconfig instead of creating a kind cluster",
        kind="path",
    ),
    Setting(
        "keep-cluster",
        "keep kind clusters (and their kubeconfig) after the run for inspection",
        kind="bool",
        default=False,
    ),
    Setting(
        "report",
        "folder for the run report, dumps, chart diffs and cluster logs",
        kind="path",
        default=Path("jitera-report"),
    ),
    Setting("kind-image", "kind node image to create clusters from", kind="str"),
    Setting(
        "tools-dir",
        "folder searched before PATH for docker, kind, helm and kubectl",
        kind="path",
    ),
    Setting(
        "writes-during-rollback",
        "writes may reach the databases while a rollback is in progress (forces Scenario 3)",
        kind="bool",
        default=False,
    ),
)


@dataclass(frozen=True)
class JiteraConfig:
    """The resolved settings of one run."""

    from_version: str | None = None
    to_version: str | None = None
    charts: Path | None = None
    values: tuple[Path, ...] = ()
    kubeconfig: Path | None = None
    keep_cluster: bool = False
    report: Path = Path("jitera-report")
    kind_image: str | None = None
    tools_dir: Path | None = None
    writes_during_rollback: bool = False
    sources: dict[str, Source] = field(default_factory=dict, compare=False)

    def describe(self) -> list[str]:
        """Lines for the pytest report header: each set value and its source."""
        lines = []
        for setting in SETTINGS:
            attr = _attr(setting)
            value = getattr(self, attr)
            if value in (None, (), False) and self.sources.get(attr) in (None, Source.DEFAULT):
                continue
            if isinstance(value, tuple):
                value = ", ".join(str(v) for v in value)
            lines.append(f"{setting.flag}={value} ({self.sources.get(attr, Source.DEFAULT).value})")
        return lines


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _attr(setting: Setting) -> str:
    return {"from": "from_version", "to": "to_version"}.get(setting.name, setting.name.replace("-", "_"))


def _convert(setting: Setting, raw: Any, base: Path) -> Any:
    if setting.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{setting.flag}: expected true or false, got {raw!r}")
    if setting.kind == "path":
        path = Path(str(raw)).expanduser()
        return path if path.is_absolute() else base / path
    if setting.kind == "paths":
        items: Sequence[Any] = raw.split(os.pathsep) if isinstance(raw, str) else raw
        return tuple(_convert(Setting(setting.name, "", "path"), i, base) for i in items if i)
    return str(raw).strip()


def resolve(
    cli: Callable[[Setting], Any],
    ini: Callable[[Setting], Any],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    inipath_dir: Path | None = None,
) -> JiteraConfig:
    """Merge command line, environment and ini values into a :class:`JiteraConfig`.

    ``cli`` and ``ini`` return ``None`` (or an empty list) when the setting was not given
    there. Relative paths from the command line or environment are taken from ``cwd``; those
    from the ini file from the ini file's folder, as pytest does for ``testpaths``.
    """
    env = dict(os.environ) if env is None else env
    cwd = cwd or Path.cwd()
    ini_base = inipath_dir or cwd
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for setting in SETTINGS:
        attr = _attr(setting)
        raw_cli = cli(setting)
        raw_ini = ini(setting)
        if raw_cli not in (None, [], ()):
            values[attr], sources[attr] = _convert(setting, raw_cli, cwd), Source.CLI
        elif setting.env in env:
            values[attr], sources[attr] = _convert(setting, env[setting.env], cwd), Source.ENV
        elif raw_ini not in (None, [], (), ""):
            values[attr], sources[attr] = _convert(setting, raw_ini, ini_base), Source.INI
        else:
            default = setting.default
            if isinstance(default, Path) and not default.is_absolute():
                default = cwd / default
            values[attr], sources[attr] = default, Source.DEFAULT
    return JiteraConfig(**values, sources=sources)
