"""``pytest-jitera doctor`` against small shell-script stubs that print what the real tools print.

PATH is pointed at an empty folder and the cache at a temporary one, so neither the host's real
tools nor its real cache take part; docker is a stub too (or absent), so the result does not
depend on whether this machine runs a Docker daemon. The stubs use only shell builtins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_jitera.bootstrap.download import sha256_file
from pytest_jitera.bootstrap.pins import PINS, RECIPE
from pytest_jitera.cli import main
from pytest_jitera.commands.doctor import Doctor, cgroup_version
from pytest_jitera.runner import Runner


def stub(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def kind_stub(folder: Path, version: str = "v0.33.0") -> Path:
    return stub(folder, "kind", f'echo "kind {version} go1.24.6 linux/amd64"')


def helm_stub(folder: Path, version: str = "v4.3.2") -> Path:
    return stub(folder, "helm", f'echo "{version}+g1e2d3c4"')


def kubectl_stub(folder: Path, client: str = "v1.37.2", server: str | None = None) -> Path:
    client_json = json.dumps({"clientVersion": {"gitVersion": client}})
    if server is None:
        answer = "echo 'The connection to the server 127.0.0.1:6443 was refused' >&2; exit 1"
    else:
        both = {"clientVersion": {"gitVersion": client}, "serverVersion": {"gitVersion": server}}
        answer = f"echo '{json.dumps(both)}'"
    return stub(
        folder,
        "kubectl",
        f"""case "$1" in
  --kubeconfig) {answer} ;;
  *) echo '{client_json}' ;;
esac""",
    )


def docker_stub(folder: Path, *, daemon: bool = True, image: str | None = None, run_code: int = 0) -> Path:
    log = folder / "docker.log"
    inspect = f'[ "$5" = "{image}" ] && exit 0; exit 1' if image else "exit 1"
    info = "echo 28.5.1" if daemon else "echo 'Cannot connect to the Docker daemon' >&2; exit 1"
    return stub(
        folder,
        "docker",
        f"""echo "$@" >> {log}
case "$1" in
  version) echo 28.5.1 ;;
  info) {info} ;;
  image) {inspect} ;;
  run) echo 'docker: Error response from daemon: operation not permitted' >&2; exit {run_code} ;;
  *) exit 2 ;;
esac""",
    )


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty PATH and an empty cache, so only the stubs are found."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("JITERA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "stubs"


def good_stubs(folder: Path, **docker: Any) -> Path:
    kind_stub(folder)
    helm_stub(folder)
    kubectl_stub(folder, server="v1.37.0")
    docker_stub(folder, **docker)
    return folder


def doctor_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def checks(report: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [c for c in report["checks"] if c["name"] == name]


def test_supported_kind_kubectl_and_helm_4_are_reported_supported(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = good_stubs(isolated)
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    for name, version in (("kind", "0.33.0"), ("kubectl", "1.37.2"), ("helm", "4.3.2")):
        (check,) = checks(report, name)
        assert check["status"] == "ok", check
        assert check["version"] == version
        assert check["path"] == str(stubs / name)
        assert "supported" in check["detail"]
    assert code == 0
    assert report["ready"] is True
    assert report["problems"] == []


def test_table_output_lists_each_tool_and_the_verdict(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = good_stubs(isolated)
    assert main(["doctor", "--tools-dir", str(stubs)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2].split() == ["SECTION", "CHECK", "STATUS", "DETAIL"]
    assert f"4.3.2 at {stubs / 'helm'}: supported" in out
    assert f"0.33.0 at {stubs / 'kind'}: supported" in out
    assert f"1.37.2 at {stubs / 'kubectl'}: supported" in out
    assert out.rstrip().endswith("ready for a rehearsal")


def test_helm_3_13_reports_the_minimum_and_how_to_get_it(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = good_stubs(isolated)
    helm_stub(stubs, "v3.13.3")
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    assert code == 1
    (helm,) = checks(report, "helm")
    assert helm["status"] == "fail"
    assert helm["version"] == "3.13.3"
    assert "too old: helm 3.14.0 or newer is required" in helm["detail"]
    assert "https://helm.sh/docs/intro/install/" in helm["hint"]
    assert "pytest-jitera bootstrap" in helm["hint"]
    assert report["ready"] is False
    assert any(p.startswith("helm:") for p in report["problems"])

    assert main(["doctor", "--tools-dir", str(stubs)]) == 1
    out = capsys.readouterr().out
    assert "too old: helm 3.14.0 or newer is required" in out
    assert "hint: install helm 3.14 or newer, or helm 4" in out
    assert "not ready: helm" in out


def test_helm_5_is_unsupported(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stubs = good_stubs(isolated)
    helm_stub(stubs, "v5.0.1")
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    assert code == 1
    (helm,) = checks(report, "helm")
    assert "unsupported" in helm["detail"]
    assert "< 5.0.0" in helm["detail"]


def test_an_unusable_candidate_is_shown_but_a_later_good_one_is_used(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubs = good_stubs(isolated)
    old = kind_stub(tmp_path / "first", "v0.20.0")
    (stubs / "kind").unlink()
    good = kind_stub(tmp_path / "second")
    monkeypatch.setenv("PATH", f"{old.parent}:{good.parent}")
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    assert code == 0
    first, second = checks(report, "kind")
    assert first["status"] == "skip"
    assert "not used: too old" in first["detail"]
    assert second["status"] == "ok"
    assert second["path"] == str(good)


def test_missing_docker_fails_without_hiding_the_tools(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = good_stubs(isolated)
    (stubs / "docker").unlink()
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    assert code == 1
    (docker,) = checks(report, "docker")
    assert docker["status"] == "fail"
    assert "not found" in docker["detail"]
    assert checks(report, "daemon")[0]["status"] == "skip"
    assert all(checks(report, n)[0]["status"] == "ok" for n in ("kind", "helm", "kubectl"))


def test_a_daemon_that_does_not_answer_is_a_failure(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = good_stubs(isolated, daemon=False)
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    assert code == 1
    (daemon,) = checks(report, "daemon")
    assert daemon["status"] == "fail"
    assert "Cannot connect to the Docker daemon" in daemon["detail"]
    assert checks(report, "privileged")[0]["status"] == "skip"


def test_privileged_check_is_skipped_without_a_local_image_and_never_pulls(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = good_stubs(isolated)
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    assert code == 0
    (privileged,) = checks(report, "privileged")
    assert privileged["status"] == "skip"
    assert "no local image" in privileged["detail"]
    calls = (stubs / "docker.log").read_text().splitlines()
    assert not [c for c in calls if c.startswith(("pull", "run"))]


def test_privileged_container_from_a_local_image(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stubs = good_stubs(isolated, image="busybox")
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    assert code == 0
    assert checks(report, "privileged")[0]["status"] == "ok"
    (run,) = [c for c in (stubs / "docker.log").read_text().splitlines() if c.startswith("run")]
    assert run.split() == [
        "run",
        "--rm",
        "--privileged",
        "--pull=never",
        "--network",
        "none",
        "busybox",
        "true",
    ]


def test_privileged_container_that_fails_to_start(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stubs = good_stubs(isolated, image="busybox", run_code=125)
    code, report = doctor_json(capsys, "--tools-dir", str(stubs))
    assert code == 1
    (privileged,) = checks(report, "privileged")
    assert privileged["status"] == "fail"
    assert "operation not permitted" in privileged["detail"]
    assert "privileged" in privileged["hint"]


def test_kubeconfig_cluster_version_and_skew_are_checked(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = good_stubs(isolated)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    code, report = doctor_json(capsys, "--tools-dir", str(stubs), "--kubeconfig", str(kubeconfig))
    assert code == 0
    assert checks(report, "api server")[0]["version"] == "1.37.0"
    assert checks(report, "kubectl skew")[0]["status"] == "ok"

    kubectl_stub(stubs, server="v1.34.4")
    code, report = doctor_json(capsys, "--tools-dir", str(stubs), "--kubeconfig", str(kubeconfig))
    assert code == 1
    (skew,) = checks(report, "kubectl skew")
    assert skew["status"] == "fail"
    assert "3 minor versions newer than the API server 1.34.4" in skew["detail"]
    assert "kubectl 1.34" in skew["hint"]


def test_an_unreachable_cluster_is_a_failure(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = good_stubs(isolated)
    kubectl_stub(stubs, server=None)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}")
    code, report = doctor_json(capsys, "--tools-dir", str(stubs), "--kubeconfig", str(kubeconfig))
    assert code == 1
    (api,) = checks(report, "api server")
    assert api["status"] == "fail"
    assert "not reachable" in api["detail"]
    assert "connection to the server 127.0.0.1:6443 was refused" in api["detail"]
    assert not checks(report, "kubectl skew")


def test_without_kubeconfig_the_cluster_is_not_checked(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = doctor_json(capsys, "--tools-dir", str(good_stubs(isolated)))
    (api,) = checks(report, "api server")
    assert api["status"] == "skip"
    assert "--kubeconfig" in api["detail"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--kubeconfig", "/nonexistent/kubeconfig"],
            "error: --kubeconfig /nonexistent/kubeconfig: no such file",
        ),
        (["--tools-dir", "/nonexistent/tools"], "error: --tools-dir /nonexistent/tools: no such folder"),
    ],
)
def test_bad_input_exits_2(args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", *args]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "hint:" in err


def test_cgroup_version(tmp_path: Path) -> None:
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpu memory pids\n")
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    assert cgroup_version(v2) == 2
    assert cgroup_version(v1) == 1
    assert cgroup_version(tmp_path / "absent") is None


def test_cgroup_v1_is_a_warning_that_names_fail_cgroup_v1(tmp_path: Path) -> None:
    (tmp_path / "cgroup" / "memory").mkdir(parents=True)
    doctor = Doctor(runner=Runner(), cache=tmp_path / "cache", cgroup_root=tmp_path / "cgroup")
    doctor.check_cgroup()
    (finding,) = doctor.findings
    assert finding.status == "warn"
    assert "failCgroupV1: false" in finding.detail
    assert "1.35" in finding.detail
    assert doctor.problems == []


def test_cache_state_names_official_and_air_gapped_binaries(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    kind = kind_stub(cache / "bin")
    helm_stub(cache / "bin", "v4.3.2")
    stamps = cache / "stamps"
    stamps.mkdir()
    (stamps / "official-kind.stamp").write_text(f"kind v0.33.0 linux-amd64 sha256={sha256_file(kind)}\n")
    (stamps / "helm.stamp").write_text("helm v4.3.2 j1\n")
    (stamps / "etcd.stamp").write_text(f"etcd {PINS.etcd} {RECIPE}\n")
    doctor = Doctor(runner=Runner(), cache=cache)
    doctor.check_cache()
    details = {f.name: f.detail for f in doctor.findings}
    assert details["bin/kind"] == "official v0.33.0 (sha256 verified when downloaded)"
    assert details["bin/helm"] == "air-gapped build v4.3.2"
    assert details["bin/kubectl"] == "absent"
    assert details["air-gapped builds"].startswith("1 of 9 node components at their pins")
    assert all(f.status == "info" for f in doctor.findings)

    kind.write_text("#!/bin/sh\necho changed\n")  # replaced behind the stamp's back
    doctor = Doctor(runner=Runner(), cache=cache)
    doctor.check_cache()
    assert {f.name: f.detail for f in doctor.findings}["bin/kind"].startswith("present, not installed")


def test_missing_cache_is_information_only(tmp_path: Path) -> None:
    doctor = Doctor(runner=Runner(), cache=tmp_path / "nothing")
    doctor.check_cache()
    (finding,) = doctor.findings
    assert finding.status == "info"
    assert "not created yet" in finding.detail
