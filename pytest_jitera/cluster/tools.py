"""Find docker, kind, helm and kubectl, and refuse versions the harness was not built for.

A wrong tool fails late and obscurely (a helm 3.10 without flags the runbook passes, a kind
that cannot run the node image), so every tool is checked once, up front, and a failure is one
message: which tool, which version was found where, and how to get a good one.

The ranges are floors with the fewest ceilings that are known to matter: kind and kubectl have
no upper bound (the harness uses only long-standing kind commands, and kubectl's real limit is the
skew against the *cluster*, checked separately by :func:`kubectl_skew_problem` where a cluster
is known); helm is bounded below 5 because each helm major renames or removes flags (Helm 4
renamed ``--atomic`` and ``--force``; :mod:`pytest_jitera.cluster.helm` picks the right spelling
for 3 and 4, and cannot know 5's). A version newer than the newest one tested is accepted
with a note (:meth:`ToolSpec.note`), not refused.

Lookup order: ``--jitera-tools-dir``, then the bootstrap's ``<cache>/bin`` (official binaries
downloaded by ``pytest-jitera bootstrap``, or the air-gapped builds), then ``PATH``. The first
candidate whose version is in range wins, so a stale binary early on ``PATH`` (or a stub) does
not hide a good one later.
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

BOOTSTRAP_HINT = (
    "`pytest-jitera bootstrap` downloads the pinned official kind, helm and kubectl into the "
    "cache (on a host without registry access: `pytest-jitera bootstrap --air-gapped`)"
)
DOCTOR_HINT = "`pytest-jitera doctor` shows every tool found, the Docker daemon and the cache at once"

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


def _kubectl_git_version(stdout: str, key: str) -> ToolVersion | None:
    """``<key>.gitVersion`` of ``kubectl version -o json`` output.

    The Google Cloud SDK's ``kubectl`` is a dispatcher that reports its own version
    (``v1.32.4-dispatcher``) and then runs whichever kubectl it picks per cluster, so its answer
    says nothing about the program that would run: it counts as no version at all.
    """
    try:
        data = json.loads(stdout)
    except ValueError:
        return parse_version(stdout) if key == "clientVersion" else None
    section = data.get(key) if isinstance(data, dict) else None
    git = section.get("gitVersion", "") if isinstance(section, dict) else ""
    if not isinstance(git, str) or git.endswith("-dispatcher"):
        return None
    return parse_version(git)


def _kubectl_version(stdout: str) -> ToolVersion | None:
    return _kubectl_git_version(stdout, "clientVersion")


def kubectl_server_version(stdout: str) -> ToolVersion | None:
    """The API server's version from ``kubectl version -o json`` (None when it did not answer)."""
    return _kubectl_git_version(stdout, "serverVersion")


def kubectl_skew_problem(client: ToolVersion, server: ToolVersion) -> str | None:
    """Why ``client`` kubectl should not talk to an API server at ``server``, or None.

    Kubernetes' version-skew policy supports kubectl within one minor of the API server, older
    or newer; outside it commands mostly work and then fail on the one field that changed,
    which is the kind of late, obscure failure the tool check exists to prevent.
    """
    if client[0] != server[0]:
        return (
            f"kubectl {format_version(client)} and API server {format_version(server)} "
            "differ in major version"
        )
    gap = client[1] - server[1]
    if abs(gap) <= 1:
        return None
    side = "newer" if gap > 0 else "older"
    major, minor = server[0], server[1]
    return (
        f"kubectl {format_version(client)} is {abs(gap)} minor versions {side} than the API server "
        f"{format_version(server)}; kubectl must be within one minor of the server "
        f"({major}.{max(minor - 1, 0)} to {major}.{minor + 1})"
    )


@dataclass(frozen=True)
class ToolSpec:
    """What counts as a usable version of one tool and how to get it."""

    name: str
    version_args: tuple[str, ...]
    minimum: ToolVersion
    below: ToolVersion | None
    install: str
    parse: Callable[[str], ToolVersion | None] = parse_version
    newest_tested: ToolVersion | None = None
    unknown: str = "did not report a version"

    def accepts(self, version: ToolVersion | None) -> bool:
        """In ``[minimum, below)``; an unknown version is never accepted."""
        return self.problem(version) is None

    def problem(self, version: ToolVersion | None) -> str | None:
        """Why ``version`` is refused, in words for a person; None when it is accepted."""
        if version is None:
            return self.unknown
        if version < self.minimum:
            return f"too old: {self.name} {format_version(self.minimum)} or newer is required"
        if self.below is not None and version >= self.below:
            return f"unsupported: {self.name} {self.supported()} is required"
        return None

    def note(self, version: ToolVersion | None) -> str | None:
        """A remark on an accepted version newer (by minor) than the newest one tested."""
        tested = self.newest_tested
        if version is None or tested is None or version[:2] <= tested[:2]:
            return None
        return f"newer than the newest tested ({format_version(tested)})"

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
        None,
        "install kind 0.27 or newer: the official release binary (https://kind.sigs.k8s.io/docs/"
        "user/quick-start/#installation), or `go install sigs.k8s.io/kind@v0.33.0`",
        newest_tested=(0, 33, 0),
    ),
    "helm": ToolSpec(
        "helm",
        ("version", "--short"),
        (3, 14, 0),
        (5, 0, 0),
        "install helm 3.14 or newer, or helm 4: the official release binary "
        "(https://helm.sh/docs/intro/install/)",
        newest_tested=(4, 3, 2),
    ),
    "kubectl": ToolSpec(
        "kubectl",
        ("version", "--client", "-o", "json"),
        (1, 30, 0),
        None,
        "install kubectl 1.30 or newer, within one minor of your cluster: the official release "
        "binary (https://kubernetes.io/docs/tasks/tools/)",
        parse=_kubectl_version,
        newest_tested=(1, 37, 2),
        unknown="did not report a version (a stub, or a wrapper such as the Google Cloud SDK's "
        "kubectl dispatcher, which reports its own version instead of the kubectl it runs)",
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

    def get(self, name: str, default: str) -> str:
        """The tool's path, or ``default`` for a tool this run did not need to check."""
        return str(self.tools[name].path) if name in self.tools else default

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
        hint=f"{spec.install}; {BOOTSTRAP_HINT}, then pass --jitera-tools-dir <cache>/bin or put it "
        f"on PATH; {DOCTOR_HINT}",
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


def docker_daemon(runner: CommandRunner, docker: str = "docker") -> tuple[str | None, str | None]:
    """``(server version, None)`` when the Docker daemon answers, else ``(None, why not)``."""
    try:
        got = runner.run([docker, "info", "--format", "{{.ServerVersion}}"], check=False, timeout=20)
    except RunError:
        return None, "the Docker daemon did not answer within 20 s"
    version = got.stdout.strip()
    if got.returncode != 0 or not version:
        lines = (got.stderr or got.stdout).strip().splitlines()
        return None, "the Docker daemon does not answer" + (f": {lines[-1]}" if lines else "")
    return version, None


def docker_daemon_problem(runner: CommandRunner, docker: str = "docker") -> str | None:
    """Why the Docker daemon cannot be used, or None when it answers."""
    return docker_daemon(runner, docker)[1]
