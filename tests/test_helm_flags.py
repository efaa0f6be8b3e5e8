"""Helm 3 and Helm 4 command lines: the major is asked of the binary once and picks the flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.cluster.helm import Helm
from pytest_jitera.errors import ToolError
from tests.fakes import FakeRunner, Rule

HELM_4 = "v4.3.2+g7c9d4a1"
HELM_3 = "v3.19.5+g2b7f4c0"
CHART = Path("/charts/jitera")


def answering(version_text: str, code: int = 0) -> Rule:
    """Answer ``helm version --short`` only; everything else falls through (exit 0)."""
    return lambda argv: (code, version_text) if argv[1:] == ["version", "--short"] else None


def helm_with(*rules: Rule) -> tuple[Helm, FakeRunner]:
    runner = FakeRunner(*rules)
    access = ClusterAccess(
        kubeconfig=Path("/kube/config"), namespace="ns", runner=runner, helm_bin="/opt/helm"
    )
    return access.helm, runner


def operations(runner: FakeRunner) -> list[list[str]]:
    """Calls other than the version probe, with the helm/kubeconfig/namespace prefix removed."""
    prefix = ["/opt/helm", "--kubeconfig", "/kube/config", "--namespace", "ns"]
    return [c[len(prefix) :] for c in runner.calls if c[: len(prefix)] == prefix]


@pytest.mark.parametrize(
    ("version", "flag", "absent"),
    [
        (HELM_4, "--rollback-on-failure", "--atomic"),
        (HELM_3, "--atomic", "--rollback-on-failure"),
    ],
)
def test_atomic_upgrade_uses_the_majors_spelling(version: str, flag: str, absent: str) -> None:
    helm, runner = helm_with(answering(version))
    helm.upgrade("jitera", CHART, atomic=True)
    (upgrade,) = operations(runner)
    assert upgrade[:3] == ["upgrade", "jitera", str(CHART)]
    assert flag in upgrade
    assert absent not in upgrade


@pytest.mark.parametrize("version", [HELM_4, HELM_3])
def test_wait_also_waits_for_jobs_on_both_majors(version: str) -> None:
    helm, runner = helm_with(answering(version))
    helm.install("jitera", CHART, wait=True)
    helm.upgrade("jitera", CHART, wait=True)
    helm.rollback("jitera", 3, wait=True)
    install, upgrade, rollback = operations(runner)
    for argv in (install, upgrade, rollback):
        assert argv[argv.index("--wait") + 1] == "--wait-for-jobs", argv


def test_without_wait_there_is_no_wait_flag() -> None:
    helm, runner = helm_with(answering(HELM_4))
    helm.install("jitera", CHART)
    helm.upgrade("jitera", CHART)
    assert not any("--wait" in a or "--wait-for-jobs" in a for a in operations(runner))


def test_the_major_is_asked_once_per_instance_and_only_when_needed() -> None:
    helm, runner = helm_with(answering(HELM_4))
    helm.upgrade("jitera", CHART)  # no flag depends on the major
    helm.install("jitera", CHART, wait=True)  # neither
    assert runner.commands("/opt/helm", "version") == []
    helm.upgrade("jitera", CHART, atomic=True)
    helm.upgrade("jitera", CHART, atomic=True, wait=True)
    assert runner.commands("/opt/helm", "version") == [["/opt/helm", "version", "--short"]]
    assert helm.major == 4


def test_the_version_probe_uses_the_access_environment() -> None:
    runner = FakeRunner(answering(HELM_3))
    access = ClusterAccess(
        kubeconfig=Path("/k"),
        namespace="ns",
        runner=runner,
        helm_bin="/opt/helm",
        env={"PATH": "/tools:/usr/bin"},
    )
    assert access.helm.major == 3
    (probe,) = [i for i in runner.invocations if i.argv[1:] == ("version", "--short")]
    assert probe.env == {"PATH": "/tools:/usr/bin"}


def test_an_injected_major_is_not_asked_for() -> None:
    runner = FakeRunner()
    access = ClusterAccess(
        kubeconfig=Path("/kube/config"), namespace="ns", runner=runner, helm_bin="/opt/helm"
    )
    Helm(access, major=4).upgrade("jitera", CHART, atomic=True)
    Helm(access, major=3).upgrade("jitera", CHART, atomic=True)
    four, three = operations(runner)
    assert "--rollback-on-failure" in four
    assert "--atomic" in three
    assert runner.commands("/opt/helm", "version") == []


@pytest.mark.parametrize(
    ("version", "extra", "expected"),
    [
        (HELM_4, ["--atomic", "--force"], ["--rollback-on-failure", "--force-replace"]),
        (HELM_3, ["--rollback-on-failure", "--force-replace"], ["--atomic", "--force"]),
        (
            HELM_4,
            ["--rollback-on-failure", "--description", "x"],
            ["--rollback-on-failure", "--description", "x"],
        ),
    ],
)
def test_renamed_extra_flags_are_spelled_for_the_running_helm(
    version: str, extra: list[str], expected: list[str]
) -> None:
    helm, runner = helm_with(answering(version))
    helm.upgrade("jitera", CHART, extra=extra)
    (upgrade,) = operations(runner)
    assert upgrade[-len(expected) :] == expected


def test_install_on_helm_4_never_passes_atomic() -> None:
    """Early Helm 4 releases refused --atomic on install; an extra one is renamed."""
    helm, runner = helm_with(answering(HELM_4))
    helm.install("jitera", CHART, extra=["--atomic"])
    (install,) = operations(runner)
    assert "--atomic" not in install
    assert "--rollback-on-failure" in install


def test_extra_flags_without_renames_do_not_ask_for_the_major() -> None:
    helm, runner = helm_with(answering(HELM_4))
    helm.upgrade("jitera", CHART, extra=["--description", "hop 1"])
    assert runner.commands("/opt/helm", "version") == []


@pytest.mark.parametrize(
    ("answer", "code", "words"),
    [
        ("v5.0.0+gabc", 0, "not helm 3 or 4"),
        ("v2.17.0+ga690bad", 0, "not helm 3 or 4"),
        ("garbage", 0, "not helm 3 or 4"),
        ("", 1, "exit code 1"),
    ],
)
def test_an_unusable_helm_is_one_clear_error(answer: str, code: int, words: str) -> None:
    helm, _ = helm_with(answering(answer, code))
    with pytest.raises(ToolError, match=words) as info:
        helm.upgrade("jitera", CHART, atomic=True)
    assert "pytest-jitera doctor" in (info.value.hint or "")


def test_values_and_set_values_are_unchanged_by_the_major() -> None:
    helm, runner = helm_with(answering(HELM_4))
    helm.upgrade("jitera", CHART, [Path("/v/a.yaml")], {"image.tag": "v1"}, atomic=True, wait=True)
    (upgrade,) = operations(runner)
    assert upgrade == [
        "upgrade",
        "jitera",
        str(CHART),
        "--timeout",
        "15m",
        "--rollback-on-failure",
        "--wait",
        "--wait-for-jobs",
        "--values",
        "/v/a.yaml",
        "--set-string",
        "image.tag=v1",
    ]
