"""Find docker, kind, helm and kubectl, and refuse versions the harness was not built for.

A wrong tool fails late and obscurely (a kubectl two minors behind the server, a helm without
``--atomic`` semantics the runbook relies on), so every tool is checked once, up front, and a
failure is one message: which tool, which version was found where, and how to get a good one.

Lookup order: ``--jitera-tools-dir``, then the air-gapped bootstrap's ``<cache>/bin``, then
``PATH``. The first candidate whose version is in range wins, so a stale binary early on
``PATH`` (or a stub) does not hide a good one later.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_jitera.errors import ToolError
from pytest_jitera.runner import CommandRunner, RunError

ToolVersion = tuple[int, int, int]

BOOTSTRAP_HINT = "on a host without registry access: `pytest-jitera bootstrap --air-gapped`"

_SEMVER = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> ToolVersion | None:
    """First ``[v]MAJOR.MINOR[.PATCH]`` in ``text``; suffixes such as ``-rc.1+g1a2b`` ignored."""
    match = _SEMVER.search(text)
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def format_version(version: ToolVersion | None) -> str:
    """``1.34.4``, or ``unknown`` when the tool did not say."""
    return "unknown" if version is None else ".".join(str(p) for p in version)


def _kubectl_version(stdout: str) -> ToolVersion | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return parse_version(stdout)
    git = data.get("clientVersion", {}).get("gitVersion", "")
    return parse_version(git) if isinstance(git, str) else None


@dataclass(frozen=True)
class ToolSpec:
    """What counts as a usable version of one tool and how to get it."""

    name: str
    version_args: tuple[str, ...]
    minimum: ToolVersion
    below: ToolVersion | None
    install: str
    parse: Callable[[str], ToolVersion | None] = parse_version

    def accepts(self, version: ToolVersion | None) -> bool:
        """In ``[minimum, below)``; an unknown version is never accepted."""
        if version is None:
            return False
        return version >= self.minimum and (self.below is None or version < self.below)

    def supported(self) -> str:
        """The range in words, for messages."""
        text = f">= {format_version(self.minimum)}"
        if self.below is not None:
            text += f" and < {format_version(self.below)}"
        return text


SPECS: Mapping[str, ToolSpec] = {
    "docker": ToolSpec(
        "docker",
        ("version", "--format", "{{.Client.Version}}"),
        (20, 10, 0),
        None,
        "install Docker Engine (https://docs.docker.com/engine/install/; Debian: "
        "apt-get install docker.io) and start the daemon",
    ),
    "kind": ToolSpec(
        "kind",
        ("version",),
        (0, 27, 0),
        (0, 32, 0),
        "install the official kind binary (https://kind.sigs.k8s.io/docs/user/quick-start/"
        "#installation, e.g. `go install sigs.k8s.io/kind@v0.30.0`)",
    ),
    "helm": ToolSpec(
        "helm",
        ("version", "--short"),
        (3, 14, 0),
        (4, 0, 0),
        "install the official helm 3 binary (https://helm.sh/docs/intro/install/)",
    ),
    "kubectl": ToolSpec(
        "kubectl",
        ("version", "--client", "-o", "json"),
        (1, 33, 0),
        (1, 36, 0),
        "install the official kubectl binary (https://kubernetes.io/docs/tasks/tools/), "
        "at most one minor version away from the cluster (1.34)",
        parse=_kubectl_version,
    ),
}

ALL_TOOLS: tuple[str, ...] = ("docker", "kind", "helm", "kubectl")


@dataclass(frozen=True)
class Tool:
    """A tool that passed its version check."""

    name: str
    path: Path
    version: ToolVersion

    def __str__(self) -> str:
        return f"{self.name} {format_version(self.version)} ({self.path})"


@dataclass(frozen=True)
class Toolset:
    """The checked tools of one run; ``env()`` makes child processes (kind calls docker) see them."""

    tools: Mapping[str, Tool]

    def __getitem__(self, name: str) -> str:
        return str(self.tools[name].path)

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``PATH`` with each tool's folder first, in lookup order."""
        base = os.environ if base is None else base
        dirs: list[str] = []
        for tool in self.tools.values():
            folder = str(tool.path.parent)
            if folder not in dirs:
                dirs.append(folder)
        path = os.pathsep.join([*dirs, base.get("PATH", "")])
        return {"PATH": path}


def candidates(name: str, search_dirs: Sequence[Path], path_env: str | None) -> list[Path]:
    """Every executable called ``name`` in ``search_dirs`` then ``PATH``, without duplicates."""
    dirs = [*search_dirs, *(Path(p) for p in (path_env or "").split(os.pathsep) if p)]
    found: list[Path] = []
    seen: set[Path] = set()
    for folder in dirs:
        exe = folder / name
        if exe.is_file() and os.access(exe, os.X_OK):
            real = exe.resolve()
            if real not in seen:
                seen.add(real)
                found.append(exe)
    return found


def probe(runner: CommandRunner, spec: ToolSpec, exe: Path) -> ToolVersion | None:
    """The version ``exe`` reports, or None when it does not answer sensibly."""
    try:
        got = runner.run([str(exe), *spec.version_args], check=False, timeout=30)
    except RunError:
        return None
    if got.returncode != 0:
        return None
    return spec.parse(got.stdout or got.stderr)


def find_tool(
    name: str,
    runner: CommandRunner,
    *,
    search_dirs: Sequence[Path] = (),
    path_env: str | None = None,
) -> Tool:
    """The first good ``name``; :class:`ToolError` naming what was found and how to fix it."""
    spec = SPECS[name]
    if path_env is None:
        path_env = os.environ.get("PATH", "")
    seen: list[tuple[Path, ToolVersion | None]] = []
    for exe in candidates(name, search_dirs, path_env):
        version = probe(runner, spec, exe)
        if spec.accepts(version):
            assert version is not None
            return Tool(name, exe, version)
        seen.append((exe, version))
    raise tool_error(spec, seen)


def tool_error(spec: ToolSpec, seen: Sequence[tuple[Path, ToolVersion | None]]) -> ToolError:
    """One message: the tool, every version found (or that none was), and how to install it."""
    if not seen:
        found = "not found (looked in --jitera-tools-dir, the bootstrap cache and PATH)"
    else:
        found = "found " + ", ".join(f"{format_version(v)} at {p}" for p, v in seen)
        too_old = all(v is not None and v < spec.minimum for _, v in seen)
        found += " (too old)" if too_old else " (unsupported)"
    return ToolError(
        f"{spec.name} {spec.supported()} is required; {found}",
        hint=f"{spec.install}; {BOOTSTRAP_HINT}, then pass --jitera-tools-dir <cache>/bin or put it on PATH",
    )


def default_search_dirs(tools_dir: Path | None, cache_bin: Path | None) -> list[Path]:
    """``--jitera-tools-dir`` first, then the bootstrap's bin folder."""
    return [d for d in (tools_dir, cache_bin) if d is not None]


def find_tools(
    runner: CommandRunner,
    names: Iterable[str] = ALL_TOOLS,
    *,
    tools_dir: Path | None = None,
    cache_bin: Path | None = None,
    path_env: str | None = None,
) -> Toolset:
    """Check all ``names``; the error for the first bad one lists every bad one."""
    dirs = default_search_dirs(tools_dir, cache_bin)
    tools: dict[str, Tool] = {}
    errors: list[ToolError] = []
    for name in names:
        try:
            tools[name] = find_tool(name, runner, search_dirs=dirs, path_env=path_env)
        except ToolError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ToolError(
            "; ".join(e.message for e in errors),
            hint="; ".join(dict.fromkeys(e.hint or "" for e in errors)),
        )
    return Toolset(tools)


def docker_daemon_problem(runner: CommandRunner, docker: str = "docker") -> str | None:
    """Why the Docker daemon cannot be used, or None when it answers."""
    try:
        got = runner.run([docker, "info", "--format", "{{.ServerVersion}}"], check=False, timeout=20)
    except RunError:
        return "the Docker daemon did not answer within 20 s"
    if got.returncode != 0 or not got.stdout.strip():
        lines = (got.stderr or got.stdout).strip().splitlines()
        return "the Docker daemon does not answer" + (f": {lines[-1]}" if lines else "")
    return None
