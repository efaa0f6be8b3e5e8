"""``pytest-jitera doctor``: everything a rehearsal needs from this host, checked in one go.

A rehearsal fails one prerequisite at a time: a helm that is too old, then a Docker daemon that
does not answer, then privileged containers that cannot start, then a kubectl three minors away
from the cluster. Each of those is cheap to check and slow to discover through a run, so this
command checks them all at once and says, per item, what was found, whether it is usable and
what to do about it. It changes nothing: it never pulls an image, writes to the cache or
creates a cluster.

Exit codes: 0 when everything a rehearsal needs is usable (warnings and notes allowed), 1 when
something is missing or unsupported (each such line says what), 2 on bad input (a missing
``--kubeconfig`` file, a ``--tools-dir`` that is not a folder).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pytest_jitera.bootstrap.airgapped import (
    CAP_SYS_RESOURCE,
    CI_WRAPPER_HINT,
    cap_in_bounding_set,
    default_cache_dir,
    read_or_empty,
)
from pytest_jitera.bootstrap.pins import IMAGES, OFFICIAL, PINS
from pytest_jitera.cluster.tools import (
    ALL_TOOLS,
    BOOTSTRAP_HINT,
    SPECS,
    Tool,
    candidates,
    default_search_dirs,
    docker_daemon,
    format_version,
    kubectl_server_version,
    kubectl_skew_problem,
    probe,
)
from pytest_jitera.commands._output import emit_json, emit_lines
from pytest_jitera.config import check_input_file
from pytest_jitera.errors import JiteraError, OptionError
from pytest_jitera.runner import CommandRunner, Completed, session_runner

# Spelling of the option placeholders of shared checks (pytest_jitera.config) in this command.
_OPTION_NAMES = {"kubeconfig": "--kubeconfig", "tools-dir": "--tools-dir", "cache-dir": "--cache-dir"}

# Local images that have /bin/true, tried in order for the privileged-container check. The
# bootstrap's own Debian image comes first; the others are common on developer machines.
PROBE_IMAGES: tuple[str, ...] = (
    IMAGES.debian,
    IMAGES.netbase,
    IMAGES.toolbox,
    "busybox",
    "alpine",
    "debian:trixie-slim",
    "ubuntu",
)

# Stamps the air-gapped bootstrap writes for what goes into the node image, by pinned version.
AIRGAPPED_STAMPS: dict[str, str] = {
    "kubernetes": PINS.kubernetes,
    "containerd": PINS.containerd,
    "runc": PINS.runc,
    "cni-plugins": PINS.cni_plugins,
    "crictl": PINS.crictl,
    "etcd": PINS.etcd,
    "coredns": PINS.coredns,
    "pause": PINS.pause,
    "local-path-provisioner": PINS.local_path_provisioner,
}
AIRGAPPED_TOOL_PINS: dict[str, str] = {"kind": PINS.kind, "helm": PINS.helm, "kubectl": PINS.kubernetes}

CGROUP_V1_MEANING = (
    "cgroup v1: kubelets of Kubernetes 1.35 and newer refuse to start on it unless their "
    "configuration sets failCgroupV1: false (in a kind config: a kubeadmConfigPatches entry "
    "for the KubeletConfiguration); the clusters pytest-jitera creates get that patch on a "
    "cgroup v1 Docker host, a cluster you bring (--jitera-kubeconfig) needs it set by you"
)

STATUSES = ("ok", "warn", "fail", "skip", "info")


@dataclass(frozen=True)
class DoctorCheck:
    """One line of the report; ``fail`` is what makes the exit code 1."""

    section: str
    name: str
    status: str
    detail: str
    hint: str | None = None
    path: str | None = None
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The finding as a JSON object (absent fields omitted)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Doctor:
    """The checks; every outside input (runner, folders, ``PATH``) is a field, so tests can set it."""

    runner: CommandRunner
    cache: Path
    tools_dir: Path | None = None
    kubeconfig: Path | None = None
    path_env: str = ""
    cgroup_root: Path = Path("/sys/fs/cgroup")
    status_path: Path = Path("/proc/self/status")
    findings: list[DoctorCheck] = field(default_factory=list)
    chosen: dict[str, Tool] = field(default_factory=dict)
    docker_ok: bool = False

    def add(self, section: str, name: str, status: str, detail: str, **extra: str | None) -> None:
        """Record one finding."""
        assert status in STATUSES, status
        self.findings.append(DoctorCheck(section, name, status, detail, **extra))

    def run(self) -> list[DoctorCheck]:
        """Every check, in the order a rehearsal needs them."""
        self.check_tools()
        self.check_docker()
        self.check_privileged()
        self.check_cgroup()
        self.check_cluster()
        self.check_cache()
        return self.findings

    @property
    def problems(self) -> list[DoctorCheck]:
        """The findings that block a rehearsal."""
        return [f for f in self.findings if f.status == "fail"]

    # ----------------------------------------------------------------- commands
    def _try(self, argv: Sequence[str], timeout: float) -> Completed | str:
        """Run a probe command; what went wrong, as text, instead of an exception."""
        try:
            return self.runner.run(list(argv), check=False, timeout=timeout)
        except JiteraError as exc:
            return exc.message.splitlines()[0]

    # ----------------------------------------------------------------- tools
    def check_tools(self) -> None:
        """Every candidate of every tool, with its version and whether (and why not) it is usable."""
        dirs = default_search_dirs(self.tools_dir, self.cache / "bin")
        where = ", ".join(str(d) for d in dirs) + (", then PATH" if dirs else "PATH")
        for name in ALL_TOOLS:
            spec = SPECS[name]
            seen = [(exe, probe(self.runner, spec, exe)) for exe in candidates(name, dirs, self.path_env)]
            install = f"{spec.install}; {BOOTSTRAP_HINT}" if name != "docker" else spec.install
            if not seen:
                self.add("tools", name, "fail", f"not found (looked in {where})", hint=install)
                continue
            usable = any(spec.problem(v) is None for _, v in seen)
            for exe, version in seen:
                problem = spec.problem(version)
                shown = format_version(version) if version else None
                if problem is None and name not in self.chosen:
                    assert version is not None
                    self.chosen[name] = Tool(name, exe, version)
                    note = spec.note(version)
                    range_text = spec.supported()
                    if spec.newest_tested:
                        range_text += f"; newest tested {format_version(spec.newest_tested)}"
                    detail = f"{shown} at {exe}: supported ({range_text})" + (f"; {note}" if note else "")
                    self.add("tools", name, "warn" if note else "ok", detail, path=str(exe), version=shown)
                elif problem is None:
                    self.add(
                        "tools",
                        name,
                        "skip",
                        f"{shown} at {exe}: supported, not used (an earlier one wins)",
                        path=str(exe),
                        version=shown,
                    )
                elif usable:
                    self.add(
                        "tools",
                        name,
                        "skip",
                        f"{shown or 'unknown version'} at {exe}: not used: {problem}",
                        path=str(exe),
                        version=shown,
                    )
                else:
                    self.add(
                        "tools",
                        name,
                        "fail",
                        f"{shown or 'unknown version'} at {exe}: {problem}",
                        hint=install,
                        path=str(exe),
                        version=shown,
                    )

    # ----------------------------------------------------------------- docker and host
    def check_docker(self) -> None:
        """Whether the daemon answers, and its version."""
        docker = self.chosen.get("docker")
        if docker is None:
            self.add("docker", "daemon", "skip", "not checked: no usable docker client")
            return
        version, problem = docker_daemon(self.runner, str(docker.path))
        if problem is not None:
            self.add(
                "docker",
                "daemon",
                "fail",
                problem,
                hint="start dockerd and make sure `docker info` works for this user (the docker "
                "group, or DOCKER_HOST for a remote or rootless daemon)",
            )
            return
        self.docker_ok = True
        self.add("docker", "daemon", "ok", f"reachable, server {version}", version=version)

    def check_cgroup(self) -> None:
        """The cgroup version, from the files the kernel exposes, and what v1 means for kind nodes."""
        version = cgroup_version(self.cgroup_root)
        if version == 2:
            self.add("host", "cgroup", "ok", f"cgroup v2 ({self.cgroup_root}/cgroup.controllers present)")
        elif version == 1:
            self.add(
                "host",
                "cgroup",
                "warn",
                CGROUP_V1_MEANING,
                hint="use a cgroup v2 host, or set failCgroupV1: false for 1.35+ nodes",
            )
        else:
            self.add("host", "cgroup", "warn", f"unknown: {self.cgroup_root} does not exist")

    def check_privileged(self) -> None:
        """Kind nodes are privileged containers: start one from a local image, never pulling."""
        docker = self.chosen.get("docker")
        if docker is None or not self.docker_ok:
            self.add("docker", "privileged", "skip", "not checked: the Docker daemon is not usable")
            return
        image = None
        for ref in PROBE_IMAGES:
            got = self._try([str(docker.path), "image", "inspect", "--format", "{{.Id}}", ref], 30)
            if isinstance(got, Completed) and got.returncode == 0:
                image = ref
                break
        if image is None:
            self.add(
                "docker",
                "privileged",
                "skip",
                "not checked: no local image (doctor never pulls one); kind will tell when it starts a node",
            )
            return
        argv = [
            str(docker.path),
            "run",
            "--rm",
            "--privileged",
            "--pull=never",
            "--network",
            "none",
            image,
            "true",
        ]
        got = self._try(argv, 120)
        if isinstance(got, Completed) and got.returncode == 0:
            self.add("docker", "privileged", "ok", f"a privileged container starts ({image})")
            return
        detail = got if isinstance(got, str) else got.last_line
        output = got if isinstance(got, str) else got.stderr + got.stdout
        in_set = cap_in_bounding_set(CAP_SYS_RESOURCE, read_or_empty(self.status_path))
        hint = (
            CI_WRAPPER_HINT
            if in_set is False or "unable to apply caps" in output
            else (
                "kind needs privileged containers: check dockerd's logs and that it is not running "
                "rootless or under a restricted seccomp/AppArmor profile"
            )
        )
        self.add(
            "docker",
            "privileged",
            "fail",
            f"a privileged container does not start ({image}): {detail}",
            hint=hint,
        )

    # ----------------------------------------------------------------- cluster
    def check_cluster(self) -> None:
        """Reachability and version of the cluster in ``--kubeconfig``, and kubectl's skew to it."""
        if self.kubeconfig is None:
            self.add(
                "cluster", "api server", "skip", "not checked: pass --kubeconfig FILE to check a cluster"
            )
            return
        kubectl = self.chosen.get("kubectl")
        if kubectl is None:
            self.add(
                "cluster",
                "api server",
                "fail",
                "not checked: no usable kubectl",
                hint="install a supported kubectl first (see the kubectl line)",
            )
            return
        got = self._try(
            [
                str(kubectl.path),
                "--kubeconfig",
                str(self.kubeconfig),
                "version",
                "-o",
                "json",
                "--request-timeout=15s",
            ],
            60,
        )
        server = kubectl_server_version(got.stdout) if isinstance(got, Completed) else None
        if server is None:
            detail = got if isinstance(got, str) else got.last_line
            self.add(
                "cluster",
                "api server",
                "fail",
                f"{self.kubeconfig}: not reachable: {detail}",
                hint=f"check the kubeconfig's current context and that its API server is up "
                f"(`kubectl --kubeconfig {self.kubeconfig} get nodes` shows the same error)",
            )
            return
        self.add(
            "cluster",
            "api server",
            "ok",
            f"reachable, Kubernetes {format_version(server)}",
            version=format_version(server),
        )
        skew = kubectl_skew_problem(kubectl.version, server)
        if skew is None:
            self.add(
                "cluster",
                "kubectl skew",
                "ok",
                f"kubectl {format_version(kubectl.version)} is within "
                f"one minor of the API server {format_version(server)}",
            )
        else:
            self.add(
                "cluster",
                "kubectl skew",
                "fail",
                skew,
                hint=f"put a kubectl 1.{server[1]} first in --tools-dir or PATH "
                "(https://kubernetes.io/docs/tasks/tools/)",
            )

    # ----------------------------------------------------------------- cache
    def check_cache(self) -> None:
        """Which pinned artefacts the bootstrap cache holds; information only, never a failure."""
        if not self.cache.is_dir():
            self.add(
                "cache",
                "folder",
                "info",
                f"{self.cache}: not created yet (`pytest-jitera bootstrap` makes it)",
            )
            return
        self.add("cache", "folder", "info", str(self.cache))
        stamps = self.cache / "stamps"
        for tool in ("kind", "helm", "kubectl"):
            self.add("cache", f"bin/{tool}", "info", self._cached_tool(tool, stamps))
        current = [n for n, pin in AIRGAPPED_STAMPS.items() if _stamp_at(stamps, n, pin)]
        missing = [n for n in AIRGAPPED_STAMPS if n not in current]
        detail = f"{len(current)} of {len(AIRGAPPED_STAMPS)} node components at their pins"
        if missing and current:
            detail += f" (missing or outdated: {', '.join(missing)})"
        elif not current:
            detail = "none (only `pytest-jitera bootstrap --air-gapped` builds them)"
        self.add("cache", "air-gapped builds", "info", detail)
        if self.docker_ok and "docker" in self.chosen:
            got = self._try(
                [str(self.chosen["docker"].path), "image", "inspect", "--format", "{{.Id}}", IMAGES.node], 30
            )
            present = isinstance(got, Completed) and got.returncode == 0
            self.add(
                "cache",
                "node image",
                "info",
                f"{IMAGES.node}: "
                + ("present" if present else "absent (kind pulls kindest/node unless --air-gapped built it)"),
            )

    def _cached_tool(self, tool: str, stamps: Path) -> str:
        # Imported here: the download module needs httpx, which the rest of doctor does not.
        from pytest_jitera.bootstrap.download import read_official_stamp, sha256_file

        path = self.cache / "bin" / tool
        if not path.is_file():
            return "absent"
        official = read_official_stamp(stamps, tool)
        if official and sha256_file(path) == official["sha256"]:
            pinned = OFFICIAL.version(tool)
            if official["version"] == pinned:
                return f"official {pinned} (sha256 verified when downloaded)"
            return f"official {official['version']}; pinned is {pinned}: `pytest-jitera bootstrap` updates it"
        pin = AIRGAPPED_TOOL_PINS[tool]
        if _stamp_at(stamps, tool, pin):
            return f"air-gapped build {pin}"
        return "present, not installed by the bootstrap at a current pin"


# --------------------------------------------------------------------- helpers
def cgroup_version(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """2 when the unified hierarchy is mounted (``cgroup.controllers`` at its root), 1 when not."""
    if (root / "cgroup.controllers").is_file():
        return 2
    if root.is_dir():
        return 1
    return None


def _stamp_at(stamps: Path, name: str, pin: str) -> bool:
    try:
        fields = (stamps / f"{name}.stamp").read_text().split()
    except OSError:
        return False
    return fields[:2] == [name, pin]


def render_table(findings: Sequence[DoctorCheck]) -> list[str]:
    """Aligned columns, each failure's hint on the line below it."""
    rows = [
        (f.section, f.name, f.status.upper() if f.status == "fail" else f.status, f.detail) for f in findings
    ]
    widths = [max(len(r[i]) for r in [("SECTION", "CHECK", "STATUS", ""), *rows]) for i in range(3)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(("SECTION", "CHECK", "STATUS"), widths, strict=True))
        + "  DETAIL"
    ]
    indent = " " * (sum(widths) + 6)
    for finding, row in zip(findings, rows, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
        if finding.hint and finding.status in ("fail", "warn"):
            lines.append(f"{indent}hint: {finding.hint}")
    return lines


# --------------------------------------------------------------------- command
def _spelled(exc: JiteraError) -> OptionError:
    message, hint = exc.render(_OPTION_NAMES)
    return OptionError(message, hint)


def _kubeconfig(text: str) -> Path:
    try:
        return check_input_file(Path(text).expanduser(), "kubeconfig")
    except OptionError as exc:
        raise _spelled(exc) from None


def _tools_dir(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_dir():
        raise OptionError(
            f"--tools-dir {path}: " + ("is not a folder" if path.exists() else "no such folder"),
            hint="pass the folder that holds kind, helm and kubectl (e.g. the bootstrap's <cache>/bin)",
            option="tools-dir",
        )
    return path


def register(subparsers: Any) -> None:
    """Add the ``doctor`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="check the tools, Docker, the host and the cache a rehearsal needs",
        description="Find every docker, kind, helm and kubectl (in --tools-dir, the bootstrap cache, "
        "then PATH) and say which are supported and why not; check the Docker daemon, the cgroup "
        "version, that privileged containers start (from a local image, never pulling), a cluster "
        "given by --kubeconfig and kubectl's version skew to it, and the bootstrap cache. "
        "Exit 0 when a rehearsal can run, 1 when something is missing or unsupported.",
    )
    parser.add_argument(
        "--kubeconfig",
        type=_kubeconfig,
        default=None,
        metavar="FILE",
        help="also check this cluster: reachable, its version, kubectl's skew to it",
    )
    parser.add_argument(
        "--tools-dir",
        type=_tools_dir,
        default=None,
        metavar="DIR",
        help="folder searched first for the tools (as --jitera-tools-dir)",
    )
    parser.add_argument(
        "--cache-dir",
        type=lambda t: Path(t).expanduser(),
        default=None,
        metavar="DIR",
        help="bootstrap cache (default: $JITERA_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/pytest-jitera)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check and report; 0 when ready for a rehearsal, 1 when not."""
    doctor = Doctor(
        runner=session_runner(),
        cache=(args.cache_dir or default_cache_dir()).resolve(),
        tools_dir=args.tools_dir.resolve() if args.tools_dir else None,
        kubeconfig=args.kubeconfig,
        path_env=os.environ.get("PATH", ""),
    )
    findings = doctor.run()
    problems = doctor.problems
    if args.json:
        emit_json(
            {
                "ready": not problems,
                "problems": [f"{p.name}: {p.detail}" for p in problems],
                "checks": [f.to_json() for f in findings],
            }
        )
    else:
        summary = (
            "ready for a rehearsal"
            if not problems
            else "not ready: " + ", ".join(dict.fromkeys(p.name for p in problems))
        )
        emit_lines(["pytest-jitera doctor", "", *render_table(findings), "", summary])
    return 1 if problems else 0
