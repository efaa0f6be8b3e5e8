"""Build kind, helm, kubectl and a complete kind node image without any container registry.

Hosts that reach only a Go module proxy and a Debian mirror cannot pull ``kindest/node`` or
any ``registry.k8s.io`` image, so everything is built from source here: Go programs from the
module proxy, Debian trees with ``debootstrap``, images with ``docker import``/``docker build``,
and the node's containerd is preloaded with every image it references at start.

Each step is cached by its pinned version (stamp files for binaries, ``docker image inspect``
for images), so a warm run only checks and takes seconds. Each step prints its duration; long
builds write to a log file under the cache and print a heartbeat.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TextIO

from pytest_jitera.bootstrap.kubernetes_module import parse_upstream
from pytest_jitera.bootstrap.pins import IMAGES, NODE_RECIPE, PINS, RECIPE, Images, Pins
from pytest_jitera.errors import JiteraError, ToolError
from pytest_jitera.runner import CommandRunner, RunError, Runner
from pytest_jitera.waiting import Observation, WaitTimeout, wait_for

CAP_SYS_RESOURCE = 24
# Images built from this package's Dockerfiles carry the recipe they were built from; kubeadm's
# image names are fixed, so the tag alone cannot tell an outdated build from a current one.
RECIPE_LABEL = "io.x-k8s.jitera.recipe"

CI_WRAPPER_HINT = (
    "this host's capability bounding set lacks CAP_SYS_RESOURCE, which runc asks for in every "
    "privileged container; register a runc wrapper that removes it from the OCI spec as "
    "dockerd's default runtime (pytest-jitera's repository does this in .ci/docker-env.sh), "
    "or run on a host whose container runtime can start privileged containers"
)


class BootstrapError(JiteraError):
    """A bootstrap step could not complete; the hint says what to install or fix."""


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$JITERA_CACHE_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/pytest-jitera``."""
    env = os.environ if env is None else env
    if env.get("JITERA_CACHE_DIR"):
        return Path(env["JITERA_CACHE_DIR"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "pytest-jitera"


def cap_in_bounding_set(capability: int, status_text: str) -> bool | None:
    """Whether ``capability`` is in the ``CapBnd`` mask of a ``/proc/<pid>/status`` text."""
    for line in status_text.splitlines():
        if line.startswith("CapBnd:"):
            return bool((int(line.split()[1], 16) >> capability) & 1)
    return None


def data_path(*parts: str) -> Path:
    """A file shipped inside this package (scripts, templates, Dockerfiles, node files)."""
    ref = resources.files("pytest_jitera.bootstrap").joinpath(*parts)
    return Path(str(ref))


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{{NAME}}`` placeholders; refuses to leave any of ours unfilled."""
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


@dataclass
class StepResult:
    """One line of the final summary."""

    name: str
    seconds: float
    cached: bool


def helm3_dir(cache: Path) -> Path:
    """The folder holding the air-gapped Helm 3 build of ``cache`` (the compatibility major)."""
    return cache / "helm3"


@dataclass
class Bootstrap:
    """The air-gapped bootstrap; ``run()`` performs every step in order."""

    cache: Path
    runner: CommandRunner = field(default_factory=Runner)
    pins: Pins = PINS
    images: Images = IMAGES
    out: TextIO | None = None
    heartbeat_seconds: float = 60.0
    go: str = "go"
    results: list[StepResult] = field(default_factory=list)

    # ----------------------------------------------------------------- layout
    @property
    def bin_dir(self) -> Path:
        """kind, helm and kubectl for users and for pytest-jitera's tool lookup."""
        return self.cache / "bin"

    @property
    def helm3_dir(self) -> Path:
        """Helm 3, kept out of ``bin`` so the tool lookup's ``helm`` is the Helm 4 build."""
        return helm3_dir(self.cache)

    def build_dir(self, name: str, version: str) -> Path:
        """Where the binaries of one pinned program go."""
        return self.cache / "build" / f"{name}-{version}"

    def _stamp(self, name: str) -> Path:
        return self.cache / "stamps" / f"{name}.stamp"

    def _log(self, name: str) -> Path:
        return self.cache / "logs" / f"{name}.log"

    def stamped(self, name: str, value: str, outputs: Sequence[Path]) -> bool:
        """True when ``name`` was built at ``value`` and all its outputs still exist."""
        stamp = self._stamp(name)
        if not stamp.is_file() or stamp.read_text().strip() != value:
            return False
        return all(p.exists() for p in outputs)

    def _write_stamp(self, name: str, value: str) -> None:
        stamp = self._stamp(name)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(value + "\n")

    # ----------------------------------------------------------------- output
    def say(self, message: str) -> None:
        """Progress goes to stderr-like output immediately: builds take minutes."""
        print(f"[bootstrap] {message}", file=self.out, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[Callable[[], None]]:
        """Time one step; the yielded callable marks it as satisfied from the cache."""
        started = time.monotonic()
        cached = False

        def mark_cached() -> None:
            nonlocal cached
            cached = True

        self.say(f"{name} ...")
        try:
            yield mark_cached
        except BaseException:
            self.say(f"{name}: FAILED after {_duration(time.monotonic() - started)}")
            raise
        seconds = time.monotonic() - started
        self.results.append(StepResult(name, seconds, cached))
        self.say(f"{name}: {'cached' if cached else 'done'} in {_duration(seconds)}")

    @contextmanager
    def _heartbeat(self, what: str, log: Path) -> Iterator[None]:
        stop = threading.Event()
        started = time.monotonic()

        def beat() -> None:
            while not stop.wait(self.heartbeat_seconds):
                elapsed = _duration(time.monotonic() - started)
                self.say(f"  still {what} ({elapsed} so far; log: {log})")

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _logged(
        self,
        what: str,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """Run a long command with its output in a log file, failing with the log's tail."""
        log = self._log(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink, self._heartbeat(what, log):
            result = self.runner.run(
                ["sh", "-c", 'exec "$@" 2>&1', "sh", *argv],
                env=env, cwd=cwd, stdout=sink, check=False,
            )
        if result.returncode != 0:
            tail = log.read_text(errors="replace").splitlines()[-30:]
            raise RunError(argv, result.returncode, "\n".join(tail))

    # ----------------------------------------------------------------- checks
    def check_docker(self) -> None:
        """The daemon must answer before anything else is attempted."""
        with self.step("docker daemon"):
            try:
                got = self.runner.run(
                    ["docker", "version", "--format", "{{.Server.Version}}"],
                    check=False, timeout=30,
                )
            except RunError as exc:
                raise BootstrapError(
                    "docker did not answer within 30 s", hint="start dockerd and retry"
                ) from exc
            if got.returncode != 0 or not got.stdout.strip():
                raise BootstrapError(
                    "the Docker daemon does not answer: " + got.last_line,
                    hint="install Docker (Debian: apt-get install docker.io), start dockerd, "
                    "and make sure `docker info` works for this user",
                )
            self.say(f"  docker server {got.stdout.strip()}")

    def check_host_tools(self) -> None:
        """Go, debootstrap, a C compiler and libseccomp headers are the only host needs."""
        with self.step("host tools"):
            missing = [
                (tool, how)
                for tool, how in (
                    (self.go, "Go 1.24 or newer from go.dev or your distribution"),
                    ("debootstrap", "apt-get install debootstrap"),
                    ("gcc", "apt-get install gcc libc6-dev"),
                    ("tar", "apt-get install tar"),
                )
                if shutil.which(tool) is None
            ]
            if not Path("/usr/include/seccomp.h").exists():
                missing.append(("libseccomp headers", "apt-get install libseccomp-dev"))
            if missing:
                raise ToolError(
                    "missing on this host: " + ", ".join(t for t, _ in missing),
                    hint="; ".join(f"{t}: {h}" for t, h in missing),
                )
            got = self.runner.run([self.go, "env", "GOVERSION", "GOPROXY"])
            self.say("  go " + " / GOPROXY=".join(got.stdout.split()))

    def check_privileged(self, status_path: Path = Path("/proc/self/status")) -> None:
        """Kind nodes are privileged containers; say why they fail here, if they do."""
        with self.step("privileged containers"):
            got = self.runner.run(
                ["docker", "run", "--rm", "--privileged", "--network", "none",
                 self.images.debian, "true"],
                check=False, timeout=120,
            )
            if got.returncode == 0:
                return
            in_set = cap_in_bounding_set(CAP_SYS_RESOURCE, read_or_empty(status_path))
            detail = got.last_line
            if in_set is False or "unable to apply caps" in got.stderr:
                raise BootstrapError(
                    f"privileged containers cannot start here ({detail})", hint=CI_WRAPPER_HINT
                )
            raise BootstrapError(
                f"privileged containers cannot start here ({detail})",
                hint="kind needs privileged containers: check dockerd's logs and that it is "
                "not running rootless or under a restricted seccomp/AppArmor profile",
            )

    # ----------------------------------------------------------------- images from debootstrap
    def _image_exists(self, ref: str) -> bool:
        return self.runner.run(["docker", "image", "inspect", ref], check=False).returncode == 0

    def _image_current(self, ref: str) -> bool:
        """The image exists and was built from the current node recipe."""
        got = self.runner.run(
            ["docker", "image", "inspect", "--format",
             "{{index .Config.Labels \"" + RECIPE_LABEL + "\"}}", ref],
            check=False,
        )
        return got.returncode == 0 and got.stdout.strip() == NODE_RECIPE

    def rootfs_image(self, name: str, tag: str, packages: Sequence[str] = ()) -> None:
        """A Debian tree from ``debootstrap --variant=minbase``, imported as an image."""
        with self.step(f"image {tag}") as cached:
            if self._image_exists(tag):
                cached()
                return
            work = self.cache / "work" / name
            self._logged(
                f"bootstrapping Debian for {tag}", f"rootfs-{name}",
                ["bash", str(data_path("scripts", "rootfs-image.sh")), tag, str(work),
                 self.pins.debian_suite, ",".join(packages)],
            )

    # ----------------------------------------------------------------- Go builds
    def _go_env(self, *, cgo: bool = False, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "CGO_ENABLED": "1" if cgo else "0",
            "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"),
            "GOFLAGS": "-mod=mod",
        }
        env.update(extra or {})
        return env

    def go_install(
        self,
        name: str,
        packages: Sequence[str],
        version: str,
        outdir: Path,
        binaries: Sequence[str],
        *,
        cgo: bool = False,
        tags: str = "",
        ldflags: str = "",
    ) -> None:
        """``go install pkg@version`` into ``outdir``, skipped when the stamp matches."""
        outputs = [outdir / b for b in binaries]
        stamp_value = f"{name} {version} {RECIPE}"
        with self.step(f"build {name} {version}") as cached:
            if self.stamped(name, stamp_value, outputs):
                cached()
                return
            outdir.mkdir(parents=True, exist_ok=True)
            argv = [self.go, "install", "-p", "2", "-trimpath"]
            if tags:
                argv += ["-tags", tags]
            argv += ["-ldflags", f"-s -w {ldflags}".strip()]
            argv += [f"{p}@{version}" for p in packages]
            env = self._go_env(cgo=cgo, extra={"GOBIN": str(outdir), "GOFLAGS": ""})
            with tempfile.TemporaryDirectory() as tmp:
                self._logged(f"building {name}", f"go-{name}", argv, env=env, cwd=Path(tmp))
            self._write_stamp(name, stamp_value)

    def go_wrapper_build(
        self,
        name: str,
        template: str,
        values: Mapping[str, str] | Callable[[], Mapping[str, str]],
        version: str,
        targets: Mapping[str, str],
        *,
        ldflags: str = "",
        tags: str = "",
    ) -> Path:
        """Build from a wrapper module (for modules whose go.mod ``go install`` refuses).

        ``targets`` maps output binary name to package path. ``values`` may be a callable when
        computing them costs something (a module download): it is called only for a build.
        """
        outdir = self.build_dir(name, version)
        stamp_value = f"{name} {version} {RECIPE}"
        with self.step(f"build {name} {version}") as cached:
            if self.stamped(name, stamp_value, [outdir / b for b in targets]):
                cached()
                return outdir
            src = self.cache / "src" / f"{name}-{version}"
            src.mkdir(parents=True, exist_ok=True)
            filled = values() if callable(values) else values
            gomod = render(data_path("templates", template, "go.mod.tpl").read_text(), filled)
            if "{{" in gomod:
                raise BootstrapError(f"unfilled placeholder in the {template} wrapper module")
            # go itself adds indirect requirements to go.mod; keep its edits unless the
            # template (that is, a pin) changed.
            rendered = src / "go.mod.rendered"
            if not rendered.exists() or rendered.read_text() != gomod:
                (src / "go.mod").write_text(gomod)
                rendered.write_text(gomod)
            outdir.mkdir(parents=True, exist_ok=True)
            env = self._go_env()
            groups: dict[str, list[str]] = {}
            for binary, package in targets.items():
                groups.setdefault(binary, []).append(package)
            names_match = all(pkg.rsplit("/", 1)[-1] == b for b, pkg in targets.items())
            base = [self.go, "build", "-p", "2", "-trimpath"]
            if tags:
                base += ["-tags", tags]
            base += ["-ldflags", f"-s -w {ldflags}".strip()]
            if names_match:
                # One go build for all packages shares the compile work and the link queue.
                argv = [*base, "-o", str(outdir) + "/", *targets.values()]
                self._logged(f"building {name}", f"go-{name}", argv, env=env, cwd=src)
            else:
                for binary, package in targets.items():
                    argv = [*base, "-o", str(outdir / binary), package]
                    self._logged(
                        f"building {name} ({binary})", f"go-{name}-{binary}", argv,
                        env=env, cwd=src,
                    )
            self._write_stamp(name, stamp_value)
        return outdir

    def kubernetes_ldflags(self) -> str:
        """Version stamps kubeadm and ``kubectl version`` read; without them they see v0.0.0."""
        p = self.pins
        minor = str(p.kubernetes_minor)
        flags = []
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [
                f"-X {pkg}.gitVersion={p.kubernetes}",
                f"-X {pkg}.gitMajor=1",
                f"-X {pkg}.gitMinor={minor}",
                f"-X {pkg}.gitTreeState=clean",
                f"-X {pkg}.buildDate={p.kubernetes_date}",
            ]
        return " ".join(flags)

    def build_user_tools(self) -> None:
        """Kind and helm for the user (and pytest-jitera) into ``<cache>/bin``."""
        p = self.pins
        self.go_install("kind", ["sigs.k8s.io/kind"], p.kind, self.bin_dir, ["kind"])
        for major, version, outdir in (("v4", p.helm, self.bin_dir), ("v3", p.helm3, self.helm3_dir)):
            stamp_name = "helm" if major == "v4" else "helm3"
            helm_ver = f"helm.sh/helm/{major}/internal/version"
            self.go_install(
                stamp_name, [f"helm.sh/helm/{major}/cmd/helm"], version, outdir, ["helm"],
                ldflags=f"-X {helm_ver}.version={version} -X {helm_ver}.metadata= "
                f"-X {helm_ver}.gitTreeState=clean",
            )

    def build_kubernetes(self) -> Path:
        """The seven Kubernetes binaries, plus kubectl copied into ``<cache>/bin``."""
        p = self.pins
        cmds = ("kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager",
                "kube-scheduler", "kube-proxy")
        def values() -> dict[str, str]:
            # Read from the release's go.mod only when a build is due: a cached bootstrap
            # needs no module download.
            upstream = parse_upstream(
                Path(self._module_file(f"k8s.io/kubernetes@{p.kubernetes}", "GoMod")).read_text()
            )
            return {
                "KUBERNETES_VERSION": p.kubernetes,
                "GO_VERSION": upstream.go,
                "GODEBUG": upstream.godebug,
                "STAGING_REPLACES": upstream.replace_block(p.staging),
            }

        outdir = self.go_wrapper_build(
            "kubernetes", "kubernetes", values,
            p.kubernetes,
            {c: f"k8s.io/kubernetes/cmd/{c}" for c in cmds},
            ldflags=self.kubernetes_ldflags(),
        )
        kubectl = self.bin_dir / "kubectl"
        stamp_value = f"kubectl {p.kubernetes} {RECIPE}"
        if not self.stamped("kubectl", stamp_value, [kubectl]):
            self.bin_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(outdir / "kubectl", kubectl)
            self._write_stamp("kubectl", stamp_value)
        return outdir

    def build_node_programs(self) -> dict[str, Path]:
        """Everything else that runs in the node or its images."""
        p = self.pins
        dirs: dict[str, Path] = {}
        dirs["etcd"] = self.go_wrapper_build(
            "etcd", "etcd", {"ETCD_VERSION": p.etcd}, p.etcd,
            {"etcd": "go.etcd.io/etcd/server/v3"},
            ldflags="-X go.etcd.io/etcd/api/v3/version.GitSHA=jitera",
        )
        cver = "github.com/containerd/containerd/v2/version"
        dirs["containerd"] = self.go_wrapper_build(
            "containerd", "containerd", {"CONTAINERD_VERSION": p.containerd}, p.containerd,
            {b: f"github.com/containerd/containerd/v2/cmd/{b}"
             for b in ("containerd", "ctr", "containerd-shim-runc-v2")},
            ldflags=f"-X {cver}.Version={p.containerd} -X {cver}.Revision=jitera",
            tags="no_btrfs no_devmapper no_zfs no_aufs",
        )
        dirs["runc"] = self.build_dir("runc", p.runc)
        self.go_install(
            "runc", ["github.com/opencontainers/runc"], p.runc, dirs["runc"], ["runc"],
            cgo=True, tags="seccomp", ldflags=f"-X main.version={p.runc.removeprefix('v')}",
        )
        dirs["cni"] = self.build_dir("cni-plugins", p.cni_plugins)
        cni = {"ptp": "main", "bridge": "main", "loopback": "main", "host-local": "ipam",
               "portmap": "meta"}
        self.go_install(
            "cni-plugins",
            [f"github.com/containernetworking/plugins/plugins/{kind}/{name}"
             for name, kind in cni.items()],
            p.cni_plugins, dirs["cni"], list(cni),
        )
        dirs["crictl"] = self.build_dir("crictl", p.crictl)
        self.go_install(
            "crictl", ["sigs.k8s.io/cri-tools/cmd/crictl"], p.crictl, dirs["crictl"], ["crictl"],
            ldflags=f"-X sigs.k8s.io/cri-tools/pkg/version.Version={p.crictl}",
        )
        dirs["coredns"] = self.build_dir("coredns", p.coredns)
        self.go_install(
            "coredns", ["github.com/coredns/coredns"], p.coredns, dirs["coredns"], ["coredns"],
        )
        dirs["local-path"] = self.build_dir("local-path-provisioner", p.local_path_provisioner)
        self.go_install(
            "local-path-provisioner", ["github.com/rancher/local-path-provisioner"],
            p.local_path_provisioner, dirs["local-path"], ["local-path-provisioner"],
        )
        dirs["pause"] = self.build_pause()
        return dirs

    def _module_file(self, module: str, field: str) -> str:
        """A path ``go mod download -json`` reports for ``module`` (``Dir``, ``GoMod``, ...)."""
        got = self.runner.run(
            [self.go, "mod", "download", "-json", module],
            env=self._go_env(extra={"GOFLAGS": ""}),
        )
        return _json_field(got.stdout, field)

    def build_pause(self) -> Path:
        """The pod sandbox: kubernetes' pause.c, taken from the module zip, linked statically."""
        p = self.pins
        outdir = self.build_dir("pause", p.pause)
        stamp_value = f"pause {p.pause} {p.kubernetes} {RECIPE}"
        with self.step(f"build pause {p.pause}") as cached:
            if self.stamped("pause", stamp_value, [outdir / "pause"]):
                cached()
                return outdir
            module = Path(self._module_file(f"k8s.io/kubernetes@{p.kubernetes}", "Dir"))
            source = module / "build" / "pause" / "linux" / "pause.c"
            outdir.mkdir(parents=True, exist_ok=True)
            self.runner.run(
                ["gcc", "-Os", "-Wall", "-Werror", "-static",
                 f'-DVERSION=v{p.pause}-jitera', "-o", str(outdir / "pause"), str(source)]
            )
            self.runner.run(["strip", str(outdir / "pause")], check=False)
            self._write_stamp("pause", stamp_value)
        return outdir

    # ----------------------------------------------------------------- images
    def docker_build(
        self,
        tag: str,
        dockerfile: str,
        files: Mapping[str, Path],
        args: Mapping[str, str] | None = None,
        extra_tags: Sequence[str] = (),
    ) -> None:
        """``docker build`` in a fresh context holding exactly ``files`` (name -> source)."""
        with self.step(f"image {tag}") as cached:
            if self._image_current(tag) and all(self._image_current(t) for t in extra_tags):
                cached()
                return
            context = self.fresh_context(_safe(tag), files, dockerfile)
            argv = ["docker", "build", "--network", "none", "-t", tag,
                    "--label", f"{RECIPE_LABEL}={NODE_RECIPE}"]
            for t in extra_tags:
                argv += ["-t", t]
            for key, value in (args or {}).items():
                argv += ["--build-arg", f"{key}={value}"]
            argv.append(str(context))
            self._logged(f"building image {tag}", f"image-{_safe(tag)}", argv,
                         env={"DOCKER_BUILDKIT": "0"})
            shutil.rmtree(context, ignore_errors=True)

    def build_component_images(self, k8s: Path, dirs: Mapping[str, Path]) -> None:
        """Images named exactly as kubeadm and the node's manifests refer to them."""
        im = self.images
        debian = {"BASE": im.debian}
        for binary in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            self.docker_build(im.component(binary), "Dockerfile.binary",
                              {binary: k8s / binary}, {**debian, "BINARY": binary})
        self.docker_build(
            im.component("kube-proxy"), "Dockerfile.netbin",
            {"bin/kube-proxy": k8s / "kube-proxy",
             "iptables-detect.sh": data_path("node", "iptables-detect.sh")},
            {"BASE": im.netbase},
        )
        self.docker_build(im.etcd, "Dockerfile.binary", {"etcd": dirs["etcd"] / "etcd"},
                          {**debian, "BINARY": "etcd"})
        self.docker_build(im.coredns, "Dockerfile.coredns",
                          {"coredns": dirs["coredns"] / "coredns"}, debian)
        self.docker_build(im.pause, "Dockerfile.pause", {"pause": dirs["pause"] / "pause"},
                          extra_tags=[im.pause_kubeadm])
        self.docker_build(
            im.netd, "Dockerfile.netbin",
            {"bin/kubectl": k8s / "kubectl", "bin/jitera-netd": data_path("node", "netd.sh"),
             "iptables-detect.sh": data_path("node", "iptables-detect.sh")},
            {"BASE": im.netbase},
        )
        self.docker_build(
            im.local_path, "Dockerfile.binary",
            {"local-path-provisioner": dirs["local-path"] / "local-path-provisioner"},
            {**debian, "BINARY": "local-path-provisioner"},
        )
        with self.step(f"image {im.local_path_helper}") as cached:
            if self._image_exists(im.local_path_helper):
                cached()
            else:
                self.runner.run(["docker", "tag", im.debian, im.local_path_helper])
        with self.step(f"image {im.toolbox}") as cached:
            if self._image_exists(im.toolbox):
                cached()
            else:
                self.runner.run(["docker", "tag", im.netbase, im.toolbox])

    def build_node_image(self, k8s: Path, dirs: Mapping[str, Path]) -> None:
        """Node image = kind-base + binaries + config, then every image preloaded in containerd.

        The preload mirrors what ``kind build node-image`` does after its registry pulls:
        import the tars into the ``k8s.io`` namespace pinned and unpacked lazily, then commit.
        """
        im = self.images
        with self.step(f"image {im.node}") as cached:
            if self._image_current(im.node):
                cached()
                return
            manifests = self.cache / "work" / "node-manifests"
            manifests.mkdir(parents=True, exist_ok=True)
            values = {
                "NETD_IMAGE": im.netd,
                "LOCAL_PATH_IMAGE": im.local_path,
                "LOCAL_PATH_HELPER_IMAGE": im.local_path_helper,
            }
            for name in ("default-cni.yaml", "default-storage.yaml"):
                text = render(data_path("node", name).read_text(), values)
                (manifests / name).write_text(text)
            version = self.cache / "work" / "node-version"
            version.write_text(self.pins.kubernetes + "\n")
            files: dict[str, Path] = {"node": data_path("node"), "manifests": manifests,
                                      "version": version, "cni": dirs["cni"]}
            for b in ("kubeadm", "kubelet", "kubectl"):
                files[f"bin/{b}"] = k8s / b
            for b in ("containerd", "ctr", "containerd-shim-runc-v2"):
                files[f"bin/{b}"] = dirs["containerd"] / b
            files["bin/runc"] = dirs["runc"] / "runc"
            files["bin/crictl"] = dirs["crictl"] / "crictl"
            stage = f"{im.node}-stage"
            self._build_stage(stage, files)
            self._preload(stage, im.node)

    def fresh_context(self, name: str, files: Mapping[str, Path], dockerfile: str) -> Path:
        """A build context holding exactly ``files`` and the Dockerfile: stale files never leak in."""
        context = self.cache / "work" / "contexts" / name
        if context.exists():
            shutil.rmtree(context)
        context.mkdir(parents=True)
        for rel, source in files.items():
            target = context / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
        shutil.copy2(data_path("docker", dockerfile), context / "Dockerfile")
        return context

    def _build_stage(self, stage: str, files: Mapping[str, Path]) -> None:
        context = self.fresh_context("node", files, "Dockerfile.node")
        self._logged(
            "building the node stage image", "image-node-stage",
            ["docker", "build", "--network", "none", "--build-arg",
             f"BASE={self.images.node_base}", "-t", stage, str(context)],
            env={"DOCKER_BUILDKIT": "0"},
        )
        shutil.rmtree(context, ignore_errors=True)

    def _preload(self, stage: str, final: str) -> None:
        im = self.images
        name = f"jitera-node-build-{os.getpid()}"
        tar = self.cache / "work" / "node-images.tar"
        r = self.runner
        self.say(f"  saving {len(im.preloaded())} images for the node")
        r.run(["docker", "save", "-o", str(tar), *im.preloaded()], timeout=1800)
        r.run(["docker", "rm", "-f", name], check=False)
        try:
            r.run(["docker", "run", "-d", "--name", name, "--privileged", "--network", "none",
                   "--entrypoint", "sleep", "--label", "io.x-k8s.jitera.build=node",
                   stage, "infinity"])
            r.run(["docker", "exec", "-d", name, "sh", "-c",
                   "containerd >/var/log/containerd-preload.log 2>&1"])
            self._wait_for(name, ["ctr", "version"], "containerd in the build container")
            r.run(["docker", "cp", str(tar), f"{name}:/images.tar"], timeout=1800)
            self.say("  importing them into the node's containerd")
            r.run(["docker", "exec", name, "ctr", "-n", "k8s.io", "images", "import",
                   "--label=io.cri-containerd.pinned=pinned", "--all-platforms",
                   "--no-unpack", "--digests", "/images.tar"], timeout=1800)
            listed = r.run(["docker", "exec", name, "ctr", "-n", "k8s.io", "images", "ls", "-q"])
            missing = [i for i in im.preloaded() if _normalized(i) not in listed.stdout.split()]
            if missing:
                raise BootstrapError(
                    "images missing in the node's containerd after import: " + ", ".join(missing),
                    hint=f"see {tar} and `docker exec {name} ctr -n k8s.io images ls`",
                )
            r.run(["docker", "exec", name, "sh", "-c",
                   "rm -f /images.tar; pkill containerd; "
                   "for i in $(seq 50); do pgrep containerd >/dev/null || exit 0; sleep 0.2; done"])
            r.run(["docker", "stop", "-t", "2", name], check=False)
            r.run(["docker", "commit",
                   "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
                   "--change", "CMD []",
                   "--change", f"LABEL {RECIPE_LABEL}={NODE_RECIPE}",
                   name, final], timeout=1800)
        finally:
            r.run(["docker", "rm", "-f", name], check=False)
            r.run(["docker", "image", "rm", stage], check=False)
            tar.unlink(missing_ok=True)

    def _wait_for(self, container: str, argv: Sequence[str], what: str) -> None:
        def probe() -> Observation[None]:
            done = self.runner.run(["docker", "exec", container, *argv], check=False)
            return Observation.ready(None) if done.returncode == 0 else Observation.pending("not answering")

        try:
            wait_for(what, probe, timeout=30, interval=0.3)
        except WaitTimeout:
            raise BootstrapError(f"{what} did not start", hint=f"docker logs {container}") from None

    # ----------------------------------------------------------------- all
    def run(self) -> list[StepResult]:
        """Every step, in an order where each only needs what came before."""
        started = time.monotonic()
        self.say(f"cache: {self.cache}")
        self.cache.mkdir(parents=True, exist_ok=True)
        im = self.images
        self.check_docker()
        self.check_host_tools()
        self.rootfs_image("debian", im.debian)
        self.check_privileged()
        self.rootfs_image(
            "netbase", im.netbase,
            ["iptables", "nftables", "iproute2", "conntrack", "ipset", "kmod", "busybox",
             "ca-certificates"],
        )
        self.rootfs_image(
            "kind-base", im.node_base,
            ["systemd", "systemd-sysv", "dbus", "conntrack", "iptables", "nftables", "iproute2",
             "ethtool", "mount", "kmod", "libseccomp2", "pigz", "fuse-overlayfs", "e2fsprogs",
             "ca-certificates", "jq", "procps", "socat", "util-linux", "ipset", "ebtables"],
        )
        self.build_user_tools()
        k8s = self.build_kubernetes()
        dirs = self.build_node_programs()
        self.build_component_images(k8s, dirs)
        self.build_node_image(k8s, dirs)
        total = time.monotonic() - started
        self.say(f"all done in {_duration(total)}")
        self.say(f"  tools: {self.bin_dir} (kind, helm, kubectl)")
        self.say(f"  node image: {im.node}")
        self.say(f"  next: export PATH={self.bin_dir}:$PATH; "
                 f"kind create cluster --image {im.node}")
        return self.results


# --------------------------------------------------------------------- helpers
def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def read_or_empty(path: Path) -> str:
    """A file's text, or "" when it cannot be read (stamps and logs are best-effort)."""
    try:
        return path.read_text()
    except OSError:
        return ""


def _safe(tag: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in tag)


def _normalized(ref: str) -> str:
    """Containerd's fully qualified form of a Docker reference."""
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        return f"docker.io/library/{ref}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{ref}"
    return ref


def _json_field(text: str, key: str) -> str:
    import json

    value = json.loads(text).get(key)
    if not isinstance(value, str) or not value:
        raise BootstrapError(f"`go mod download -json` gave no {key}")
    return value
