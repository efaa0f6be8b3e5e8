"""Tool lookup and version checks, with a fake runner and fake executables (no real tools)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from pytest_jitera.cluster.tools import (
    SPECS,
    docker_daemon,
    docker_daemon_problem,
    find_tool,
    find_tools,
    format_version,
    kubectl_server_version,
    kubectl_skew_problem,
    parse_version,
)
from pytest_jitera.errors import ToolError
from tests.fakes import FakeRunner, by_executable


def fake(answers: Mapping[str, tuple[int, str]]) -> FakeRunner:
    """A runner answering version commands by executable path."""
    return FakeRunner(by_executable(answers))


def exe(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind v0.30.0 go1.26.8 linux/amd64", (0, 30, 0)),
        ("v3.19.5+g1a2b3c4", (3, 19, 5)),
        ("28.5.1", (28, 5, 1)),
        ("20.10.24+dfsg1", (20, 10, 24)),
        ("v1.34.4-rc.1", (1, 34, 4)),
        ("v1.35", (1, 35, 0)),
        ("no digits here", None),
    ],
)
def test_parse_version(text: str, expected: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == expected


def test_kubectl_json_version_and_stub_is_rejected() -> None:
    spec = SPECS["kubectl"]
    good = json.dumps({"clientVersion": {"gitVersion": "v1.34.4"}})
    assert spec.parse(good) == (1, 34, 4)
    # The Google Cloud SDK dispatcher reports its own version, not the kubectl it will run.
    stub = json.dumps({"clientVersion": {"gitVersion": "v1.32.4-dispatcher"}})
    assert spec.parse(stub) is None
    assert not spec.accepts(spec.parse(stub))
    assert "dispatcher" in (spec.problem(None) or "")
    assert not spec.accepts(None)


@pytest.mark.parametrize(
    ("tool", "version", "accepted"),
    [
        ("kind", (0, 26, 9), False),
        ("kind", (0, 27, 0), True),
        ("kind", (0, 30, 0), True),
        ("kind", (0, 33, 0), True),
        ("kind", (0, 33, 4), True),
        ("kind", (0, 40, 0), True),  # no ceiling; newer than tested gets a note
        ("helm", (3, 13, 9), False),
        ("helm", (3, 14, 0), True),
        ("helm", (3, 22, 1), True),
        ("helm", (4, 0, 0), True),
        ("helm", (4, 3, 2), True),
        ("helm", (4, 99, 0), True),
        ("helm", (5, 0, 0), False),
        ("kubectl", (1, 29, 9), False),
        ("kubectl", (1, 30, 0), True),
        ("kubectl", (1, 37, 2), True),
        ("kubectl", (1, 40, 0), True),
        ("docker", (20, 10, 0), True),
        ("docker", (19, 3, 15), False),
    ],
)
def test_supported_ranges(tool: str, version: tuple[int, int, int], accepted: bool) -> None:
    assert SPECS[tool].accepts(version) is accepted


def test_refusals_say_why() -> None:
    helm = SPECS["helm"]
    assert helm.problem((3, 13, 0)) == "too old: helm 3.14.0 or newer is required"
    assert "< 5.0.0" in (helm.problem((5, 0, 0)) or "")
    assert helm.problem((4, 3, 2)) is None
    assert "helm 4" in helm.install
    assert "helm.sh/docs/intro/install" in helm.install


def test_newer_than_tested_is_a_note_not_a_refusal() -> None:
    kind = SPECS["kind"]
    assert kind.note((0, 33, 9)) is None
    assert kind.note((0, 34, 0)) == "newer than the newest tested (0.33.0)"
    assert SPECS["helm"].note((4, 3, 9)) is None
    assert SPECS["kubectl"].note((1, 38, 0)) is not None


@pytest.mark.parametrize(
    ("client", "server", "ok"),
    [
        ((1, 37, 2), (1, 37, 0), True),
        ((1, 37, 2), (1, 36, 5), True),
        ((1, 36, 0), (1, 37, 0), True),
        ((1, 37, 2), (1, 35, 0), False),
        ((1, 34, 4), (1, 37, 0), False),
        ((1, 37, 2), (2, 0, 0), False),
    ],
)
def test_kubectl_skew(client: tuple[int, int, int], server: tuple[int, int, int], ok: bool) -> None:
    assert (kubectl_skew_problem(client, server) is None) is ok


def test_kubectl_skew_message_names_both_and_the_allowed_range() -> None:
    problem = kubectl_skew_problem((1, 37, 2), (1, 34, 4))
    assert problem is not None
    assert "1.37.2" in problem
    assert "1.34.4" in problem
    assert "3 minor versions newer" in problem
    assert "1.33 to 1.35" in problem


def test_kubectl_server_version() -> None:
    both = json.dumps({"clientVersion": {"gitVersion": "v1.37.2"},
                       "serverVersion": {"gitVersion": "v1.37.0"}})
    assert kubectl_server_version(both) == (1, 37, 0)
    assert kubectl_server_version(json.dumps({"clientVersion": {"gitVersion": "v1.37.2"}})) is None
    assert kubectl_server_version("not json") is None


def test_tools_dir_wins_over_path(tmp_path: Path) -> None:
    good = exe(tmp_path / "tools", "kind")
    on_path = exe(tmp_path / "path", "kind")
    runner = fake({str(good): (0, "kind v0.30.0"), str(on_path): (0, "kind v0.29.0")})
    tool = find_tool("kind", runner, search_dirs=[tmp_path / "tools"],
                     path_env=str(tmp_path / "path"))
    assert tool.path == good
    assert tool.version == (0, 30, 0)


def test_bad_first_candidate_falls_through_to_a_good_one(tmp_path: Path) -> None:
    stub = exe(tmp_path / "a", "kubectl")
    real = exe(tmp_path / "b", "kubectl")
    runner = fake({
        str(stub): (0, json.dumps({"clientVersion": {"gitVersion": "v1.32.4-dispatcher"}})),
        str(real): (0, json.dumps({"clientVersion": {"gitVersion": "v1.34.4"}})),
    })
    tool = find_tool("kubectl", runner, path_env=f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert tool.path == real


def test_too_old_tool_message_names_tool_version_and_install(tmp_path: Path) -> None:
    old = exe(tmp_path, "helm")
    runner = fake({str(old): (0, "v3.10.0+gabc")})
    with pytest.raises(ToolError) as info:
        find_tool("helm", runner, path_env=str(tmp_path))
    err = info.value
    assert "helm >= 3.14.0" in err.message
    assert f"3.10.0 at {old}" in err.message
    assert "too old" in err.message
    assert err.hint is not None
    assert "helm.sh/docs/intro/install" in err.hint
    assert "pytest-jitera bootstrap --air-gapped" in err.hint
    assert "pytest-jitera doctor" in err.hint


def test_helm_4_is_found(tmp_path: Path) -> None:
    helm = exe(tmp_path, "helm")
    tool = find_tool("helm", fake({str(helm): (0, "v4.3.2+g0123abc")}), path_env=str(tmp_path))
    assert tool.version == (4, 3, 2)


def test_helm_5_is_refused_as_unsupported(tmp_path: Path) -> None:
    helm = exe(tmp_path, "helm")
    with pytest.raises(ToolError) as info:
        find_tool("helm", fake({str(helm): (0, "v5.0.0+gabc")}), path_env=str(tmp_path))
    assert "(unsupported)" in info.value.message
    assert "< 5.0.0" in info.value.message


def test_missing_tool_says_not_found(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"kind .* is required; not found"):
        find_tool("kind", fake({}), path_env=str(tmp_path))


def test_find_tools_reports_every_bad_tool_at_once(tmp_path: Path) -> None:
    docker = exe(tmp_path, "docker")
    runner = fake({str(docker): (0, "28.5.1")})
    with pytest.raises(ToolError) as info:
        find_tools(runner, ["docker", "kind", "helm"], path_env=str(tmp_path))
    assert "kind" in info.value.message
    assert "helm" in info.value.message
    assert "docker" not in info.value.message


def test_toolset_env_puts_tool_folders_first(tmp_path: Path) -> None:
    folders = {n: tmp_path / n for n in ("docker", "kind")}
    answers = {str(exe(folders["docker"], "docker")): (0, "28.5.1"),
               str(exe(folders["kind"], "kind")): (0, "kind v0.30.0")}
    tools = find_tools(fake(answers), ["docker", "kind"],
                       path_env=f"{folders['docker']}:{folders['kind']}")
    path = tools.env({"PATH": "/usr/bin"})["PATH"].split(":")
    assert path == [str(folders["docker"]), str(folders["kind"]), "/usr/bin"]
    assert tools["kind"] == str(folders["kind"] / "kind")


def test_docker_daemon_problem() -> None:
    assert docker_daemon_problem(fake({"docker": (0, "20.10.24")})) is None
    problem = docker_daemon_problem(fake({"docker": (1, "")}))
    assert problem is not None
    assert "does not answer" in problem
    assert docker_daemon(fake({"docker": (0, "28.5.1\n")})) == ("28.5.1", None)


def test_format_version() -> None:
    assert format_version((1, 34, 4)) == "1.34.4"
    assert format_version(None) == "unknown"
