"""Tool lookup and version checks, with a fake runner and fake executables (no real tools)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from pytest_jitera.cluster.tools import (
    SPECS,
    docker_daemon_problem,
    find_tool,
    find_tools,
    format_version,
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
    stub = json.dumps({"clientVersion": {"gitVersion": "v1.32.4-dispatcher"}})
    assert not spec.accepts(spec.parse(stub))
    assert spec.accepts((1, 34, 4))
    assert not spec.accepts((1, 36, 0))
    assert not spec.accepts(None)


def test_helm_4_is_outside_the_range() -> None:
    assert SPECS["helm"].accepts((3, 19, 5))
    assert not SPECS["helm"].accepts((4, 0, 0))
    assert "< 4.0.0" in SPECS["helm"].supported()


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


def test_format_version() -> None:
    assert format_version((1, 34, 4)) == "1.34.4"
    assert format_version(None) == "unknown"
