"""KindCluster naming, readiness and cleanup logic with a fake runner (no Docker, no kind)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_jitera.bootstrap.airgapped import (
    Bootstrap,
    cap_in_bounding_set,
    default_cache_dir,
    render,
)
from pytest_jitera.bootstrap.pins import IMAGES
from pytest_jitera.cluster.kind import (
    MAX_NAME,
    ClusterError,
    KindCluster,
    OwnerRecord,
    cluster_name,
    is_leftover,
    reap_leftovers,
    remove_kind_network_if_unused,
    system_pods_status,
)
from pytest_jitera.runner import Completed
from tests.fakes import FakeRunner, Rule

READY_PODS = (
    '{"items": [{"metadata": {"namespace": "kube-system", "name": "coredns-1"},'
    ' "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}]}'
)


def ready_pods(argv: list[str]) -> tuple[int, str] | None:
    return (0, READY_PODS) if "pods" in argv and "json" in argv else None


def fail_on(*words: str) -> Rule:
    def rule(argv: list[str]) -> tuple[int, str] | None:
        return (1, "failed: " + " ".join(words)) if all(w in argv for w in words) else None
    return rule


def docker_cgroup(version: int) -> Rule:
    """Docker reports this cgroup version; the system pods are Ready."""
    def rule(argv: list[str]) -> tuple[int, str] | None:
        return (0, f"{version}\n") if argv[:2] == ["docker", "info"] else ready_pods(argv)
    return rule


def make(tmp_path: Path, runner: FakeRunner, **kw: Any) -> KindCluster:
    return KindCluster(name="jitera-abc123-gw0", workdir=tmp_path / "work", runner=runner,
                       registry=tmp_path / "registry", logs_dir=tmp_path / "logs",
                       ready_timeout=1, **kw)


# ------------------------------------------------------------------ naming
def test_cluster_name_is_unique_per_worker_and_dns_safe() -> None:
    assert cluster_name("abc123", "gw0") == "jitera-abc123-gw0"
    assert cluster_name("abc123", None) == "jitera-abc123"
    assert cluster_name("abc123", "gw1") != cluster_name("abc123", "gw0")
    assert cluster_name("ABC_123", "Worker 7", "big") == "jitera-abc-123-worker-7-big"
    long = cluster_name("a" * 30, "gw12", "some-very-long-suffix")
    assert len(long) <= MAX_NAME
    assert not long.endswith("-")
    with pytest.raises(ValueError, match="run id"):
        cluster_name("")


# ------------------------------------------------------------------ readiness
def test_system_pods_status() -> None:
    assert system_pods_status({"items": []}) == (False, [])
    ok, waiting = system_pods_status({"items": [
        {"metadata": {"namespace": "kube-system", "name": "a"},
         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
        {"metadata": {"namespace": "kube-system", "name": "job"}, "status": {"phase": "Succeeded"}},
        {"metadata": {"namespace": "local-path-storage", "name": "lpp"},
         "status": {"phase": "Pending", "conditions": []}},
    ]})
    assert not ok
    assert waiting == ["local-path-storage/lpp (Pending)"]


# ------------------------------------------------------------------ lifecycle
def test_enter_creates_waits_and_exit_deletes(tmp_path: Path) -> None:
    runner = FakeRunner(ready_pods)
    with make(tmp_path, runner, image="localhost/jitera/kind-node:v1.34.4-n3",
              config=tmp_path / "cluster.yaml") as cluster:
        create = runner.commands("kind", "create", "cluster")[0]
        assert create[create.index("--name") + 1] == "jitera-abc123-gw0"
        kubeconfig = create[create.index("--kubeconfig") + 1]
        assert kubeconfig == str(tmp_path / "work" / "jitera-abc123-gw0.kubeconfig")
        assert "/.kube/" not in kubeconfig
        assert create[create.index("--image") + 1].startswith("localhost/jitera/kind-node")
        assert "--retain" in create
        assert (tmp_path / "registry" / "jitera-abc123-gw0.json").is_file()
        assert all(c[1:3] == ["--kubeconfig", kubeconfig]
                   for c in runner.calls if c[0] == "kubectl")
        assert cluster.created
    assert runner.commands("kind", "delete", "cluster")
    assert not (tmp_path / "registry" / "jitera-abc123-gw0.json").exists()


def test_cgroup_v1_docker_host_creates_with_the_kubelet_allowance(tmp_path: Path) -> None:
    given = tmp_path / "cluster.yaml"
    given.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    runner = FakeRunner(docker_cgroup(1))
    with make(tmp_path, runner, config=given):
        create = runner.commands("kind", "create", "cluster")[0]
        used = Path(create[create.index("--config") + 1])
        assert used.parent == tmp_path / "work"
        assert used != given
        assert "failCgroupV1: false" in used.read_text()
    assert "failCgroupV1" not in given.read_text()


def test_cgroup_v1_host_refuses_a_configuration_that_is_not_a_cluster(tmp_path: Path) -> None:
    given = tmp_path / "pod.yaml"
    given.write_text("kind: Pod\n")
    runner = FakeRunner(docker_cgroup(1))
    with pytest.raises(ClusterError, match="cannot be used") as caught:
        make(tmp_path, runner, config=given).__enter__()
    assert "kind-config/cluster.yaml" in (caught.value.hint or "")
    assert not runner.commands("kind", "create", "cluster")


def test_cgroup_v2_docker_host_creates_with_the_given_configuration(tmp_path: Path) -> None:
    runner = FakeRunner(docker_cgroup(2))
    with make(tmp_path, runner, config=tmp_path / "cluster.yaml"):
        create = runner.commands("kind", "create", "cluster")[0]
        assert create[create.index("--config") + 1] == str(tmp_path / "cluster.yaml")
    with make(tmp_path, FakeRunner(docker_cgroup(2))) as cluster:
        assert cluster.effective_config() is None


def test_failed_create_exports_logs_then_deletes(tmp_path: Path) -> None:
    runner = FakeRunner(fail_on("create", "cluster"))
    with pytest.raises(ClusterError, match="could not create"):
        make(tmp_path, runner).__enter__()
    names = [c[:3] for c in runner.calls if c[0] == "kind"]
    assert names.index(["kind", "export", "logs"]) < names.index(["kind", "delete", "cluster"])


def test_ctrl_c_while_waiting_deletes(tmp_path: Path) -> None:
    def interrupt(argv: list[str]) -> tuple[int, str] | None:
        if "wait" in argv:
            raise KeyboardInterrupt
        return None

    runner = FakeRunner(interrupt)
    with pytest.raises(KeyboardInterrupt):
        make(tmp_path, runner).__enter__()
    assert runner.commands("kind", "delete", "cluster")


def test_not_ready_in_time_names_the_waiting_pods(tmp_path: Path) -> None:
    pending = ('{"items": [{"metadata": {"namespace": "kube-system", "name": "coredns-x"},'
               ' "status": {"phase": "Pending"}}]}')
    runner = FakeRunner(lambda a: (0, pending) if "pods" in a else None)
    with pytest.raises(ClusterError, match=r"kube-system/coredns-x \(Pending\)"):
        make(tmp_path, runner).__enter__()
    assert runner.commands("kind", "delete", "cluster")


def test_keep_skips_deletion_everywhere(tmp_path: Path) -> None:
    runner = FakeRunner(ready_pods)
    with make(tmp_path, runner, keep=True):
        pass
    assert not runner.commands("kind", "delete", "cluster")
    record = OwnerRecord.from_json(
        (tmp_path / "registry" / "jitera-abc123-gw0.json").read_text())
    assert record.keep

    runner = FakeRunner(fail_on("create", "cluster"))
    with pytest.raises(ClusterError):
        make(tmp_path, runner, keep=True).__enter__()
    assert not runner.commands("kind", "delete", "cluster")


def test_teardown_error_becomes_a_warning(tmp_path: Path) -> None:
    runner = FakeRunner(ready_pods, fail_on("delete", "cluster"))
    with pytest.warns(UserWarning, match="could not delete kind cluster"), \
            make(tmp_path, runner):
        pass


def test_existing_kubeconfig_creates_and_deletes_nothing(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "admin.conf"
    kubeconfig.write_text("apiVersion: v1\n")
    runner = FakeRunner()
    with make(tmp_path, runner, existing_kubeconfig=kubeconfig) as cluster:
        assert cluster.kubeconfig == kubeconfig
    assert not [c for c in runner.calls if c[0] == "kind"]
    assert runner.calls == [["kubectl", "--kubeconfig", str(kubeconfig), "get", "nodes",
                             "-o", "name"]]


def test_existing_kubeconfig_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="does not exist"):
        make(tmp_path, FakeRunner(), existing_kubeconfig=tmp_path / "nope").__enter__()


# ------------------------------------------------------------------ network and reaping
def test_kind_network_removed_only_when_unused() -> None:
    busy = FakeRunner(lambda a: (0, "1\n") if "inspect" in a else None)
    assert not remove_kind_network_if_unused(busy)
    assert not busy.commands("docker", "network", "rm")
    free = FakeRunner(lambda a: (0, "0\n") if "inspect" in a else None)
    assert remove_kind_network_if_unused(free)
    assert free.commands("docker", "network", "rm", "kind")


def test_leftover_rules() -> None:
    def dead(pid: int) -> bool:
        return False

    def alive(pid: int) -> bool:
        return True

    record = OwnerRecord("jitera-x", 123, "host-a", 0.0)
    assert is_leftover(record, "host-a", dead)
    assert not is_leftover(record, "host-a", alive)
    assert not is_leftover(record, "host-b", dead)
    assert not is_leftover(OwnerRecord("jitera-x", 123, "host-a", 0.0, keep=True), "host-a", dead)


def test_reap_deletes_only_dead_owners_clusters(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    registry.mkdir()
    for name, pid in (("jitera-dead", 1), ("jitera-live", 2)):
        (registry / f"{name}.json").write_text(OwnerRecord(name, pid, "h", 0.0).to_json())
    (registry / "jitera-broken.json").write_text("{not json")
    runner = FakeRunner(lambda a: (0, "jitera-dead\njitera-live\nother\n")
                        if a[1:3] == ["get", "clusters"] else None)
    reaped = reap_leftovers(runner, registry, host="h", alive=lambda pid: pid == 2)
    assert reaped == ["jitera-dead"]
    assert runner.commands("kind", "delete", "cluster", "--name", "jitera-dead")
    assert not runner.commands("kind", "delete", "cluster", "--name", "jitera-live")
    assert (registry / "jitera-live.json").exists()
    assert not (registry / "jitera-dead.json").exists()


# ------------------------------------------------------------------ bootstrap helpers
def test_cap_sys_resource_detection() -> None:
    assert cap_in_bounding_set(24, "CapBnd:\t000001fffeffffff\n") is False
    assert cap_in_bounding_set(24, "CapBnd:\t000001ffffffffff\n") is True
    assert cap_in_bounding_set(24, "Name: x\n") is None


def test_cache_dir_resolution(tmp_path: Path) -> None:
    assert default_cache_dir({"JITERA_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "pytest-jitera"


def test_stamps_gate_rebuilds(tmp_path: Path) -> None:
    boot = Bootstrap(cache=tmp_path, runner=FakeRunner())
    out = tmp_path / "bin" / "kind"
    assert not boot.stamped("kind", "kind v0.30.0 j1", [out])
    boot._write_stamp("kind", "kind v0.30.0 j1")
    assert not boot.stamped("kind", "kind v0.30.0 j1", [out])  # output missing
    out.parent.mkdir(parents=True)
    out.write_text("")
    assert boot.stamped("kind", "kind v0.30.0 j1", [out])
    assert not boot.stamped("kind", "kind v0.31.0 j1", [out])  # pin changed


def test_warm_go_install_runs_nothing(tmp_path: Path) -> None:
    runner = FakeRunner()
    boot = Bootstrap(cache=tmp_path, runner=runner, out=sys.stderr)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "kind").write_text("")
    boot._write_stamp("kind", "kind v0.30.0 j1")
    boot.go_install("kind", ["sigs.k8s.io/kind"], "v0.30.0", tmp_path / "bin", ["kind"])
    assert runner.calls == []
    assert boot.results[-1].cached


def test_node_templates_render_completely() -> None:
    from pytest_jitera.bootstrap.airgapped import data_path

    values = {"NETD_IMAGE": IMAGES.netd, "LOCAL_PATH_IMAGE": IMAGES.local_path,
              "LOCAL_PATH_HELPER_IMAGE": IMAGES.local_path_helper,
              "KUBERNETES_VERSION": "v1.37.2", "GO_VERSION": "1.26.0",
              "GODEBUG": "default=go1.26", "STAGING_REPLACES": "\tk8s.io/api => k8s.io/api v0.37.2"}
    for parts in (("node", "default-cni.yaml"), ("node", "default-storage.yaml"),
                  ("templates", "kubernetes", "go.mod.tpl")):
        text = render(data_path(*parts).read_text(), values)
        assert "{{" not in text.replace("{{ .PodSubnet }}", "")
    assert IMAGES.node not in IMAGES.preloaded()
    assert IMAGES.pause in IMAGES.preloaded()


def test_network_lock_wraps_create_and_network_removal(tmp_path: Path) -> None:
    events: list[str] = []

    class Lock:
        def __enter__(self) -> None:
            events.append("lock")

        def __exit__(self, *exc: object) -> None:
            events.append("unlock")

    def record(argv: list[str]) -> tuple[int, str] | None:
        if argv[:3] == ["kind", "create", "cluster"] or argv[:3] == ["docker", "network", "rm"]:
            events.append(argv[1] + " " + argv[2])
        if "inspect" in argv:
            return (0, "0\n")
        return ready_pods(argv)

    with make(tmp_path, FakeRunner(record), network_lock=Lock):
        pass
    assert events == ["lock", "create cluster", "unlock", "lock", "network rm", "unlock"]


def test_privileged_failure_explains_the_missing_capability(tmp_path: Path) -> None:
    from pytest_jitera.bootstrap.airgapped import BootstrapError

    status = tmp_path / "status"
    status.write_text("CapBnd:\t000001fffeffffff\n")

    class Denied(FakeRunner):
        def run(self, argv: Sequence[str], **kw: Any) -> Completed:
            self.calls.append(list(argv))
            return Completed(tuple(argv), 126, "", "OCI runtime create failed: unable to apply "
                             "caps: operation not permitted", 0.0)

    boot = Bootstrap(cache=tmp_path, runner=Denied(), out=sys.stderr)
    with pytest.raises(BootstrapError) as info:
        boot.check_privileged(status_path=status)
    assert "privileged containers cannot start" in info.value.message
    assert info.value.hint is not None
    assert "CAP_SYS_RESOURCE" in info.value.hint
    assert ".ci/docker-env.sh" in info.value.hint


def test_fresh_context_holds_exactly_the_given_files(tmp_path: Path) -> None:
    boot = Bootstrap(cache=tmp_path / "cache", runner=FakeRunner())
    src = tmp_path / "src"
    (src / "tree").mkdir(parents=True)
    (src / "tree" / "a.txt").write_text("a")
    (src / "kubelet").write_text("binary")
    stale = boot.fresh_context("node", {"bin/kubelet": src / "kubelet"}, "Dockerfile.node")
    (stale / "leftover").write_text("old")
    wanted = {"bin/kubelet": src / "kubelet", "etc": src / "tree"}
    context = boot.fresh_context("node", wanted, "Dockerfile.node")
    assert context == stale
    files = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
    assert files == ["Dockerfile", "bin/kubelet", "etc/a.txt"]
    assert (context / "Dockerfile").read_text().startswith(("#", "ARG", "FROM"))


def test_images_are_loaded_once_per_cluster(tmp_path: Path) -> None:
    runner = FakeRunner(ready_pods)
    with make(tmp_path, runner, config=tmp_path / "cluster.yaml") as cluster:
        assert cluster.ensure_images(["app:v1", "mail:1"]) == ["app:v1", "mail:1"]
        assert cluster.ensure_images(["mail:1", "app:v2"]) == ["app:v2"]
        assert cluster.ensure_images(["app:v1"]) == []
        loads = runner.commands("kind", "load", "docker-image")
        assert [load[3:-2] for load in loads] == [["app:v1", "mail:1"], ["app:v2"]]


def test_a_reused_cluster_is_attached_when_kind_has_it(tmp_path: Path) -> None:
    def kind_has_it(argv: list[str]) -> tuple[int, str] | None:
        if argv[1:3] == ["get", "clusters"]:
            return 0, "other\njitera-dev\n"
        if argv[1:3] == ["get", "kubeconfig"]:
            return 0, "apiVersion: v1\ncurrent-context: kind-jitera-dev\n"
        return None

    runner = FakeRunner(kind_has_it)
    cluster = KindCluster(name="jitera-dev", workdir=tmp_path / "work", runner=runner, keep=True)
    assert cluster.attach_if_exists()
    assert cluster.kubeconfig == tmp_path / "work" / "jitera-dev.kubeconfig"
    assert "kind-jitera-dev" in cluster.kubeconfig.read_text()
    assert cluster.kubeconfig.stat().st_mode & 0o077 == 0
    absent = KindCluster(name="jitera-new", workdir=tmp_path / "new", runner=runner, keep=True)
    assert not absent.attach_if_exists()
    assert absent.existing_kubeconfig is None
