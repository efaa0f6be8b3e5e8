"""A password registered once on the runner is masked in the failure text of every real tool.

Each call below really fails, and each tool really prints the password back (in a path, a
database name or a value it rejects); the error that reaches the user must show the mask.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.cluster.tools import Toolset
from pytest_jitera.datastores.connection import PgConnInfo
from pytest_jitera.redact import MASK
from pytest_jitera.runner import RunError, Runner

PASSWORD = "Zq81-hunter2-" + "x7Kp"  # built, so a grep of the source does not find it whole


@pytest.fixture
def runner() -> Runner:
    registered = Runner()
    registered.add_secret(PASSWORD)
    return registered


def _failure(call: object) -> RunError:
    with pytest.raises(RunError) as info:
        call()  # type: ignore[operator]
    return info.value


def _assert_masked(error: RunError) -> None:
    text = str(error)
    assert PASSWORD not in text
    assert PASSWORD not in error.output
    assert PASSWORD not in error.command_line
    assert MASK in text


@pytest.mark.e2e
def test_helm_and_kubectl_errors_are_masked(jitera_tools: Toolset, runner: Runner, tmp_path: Path) -> None:
    # a kubeconfig path holding the password: both tools print the path they could not read
    access = ClusterAccess.for_tools(tmp_path / PASSWORD / "config", "default", jitera_tools, runner)
    helm_error = _failure(lambda: access.helm.lint(tmp_path / PASSWORD / "chart"))
    assert "chart" in helm_error.output
    _assert_masked(helm_error)
    kubectl_error = _failure(lambda: access.kubectl.run("get", "pods"))
    assert "config" in kubectl_error.output
    _assert_masked(kubectl_error)


@pytest.mark.postgres
@pytest.mark.parametrize("tool", ["pg_dump", "psql"])
def test_pg_dump_and_psql_errors_are_masked(
    jitera_test_postgres: PgConnInfo, runner: Runner, tool: str
) -> None:
    exe = shutil.which(tool)
    assert exe, f"{tool} must be installed for this test (CI installs PostgreSQL client tools)"
    server = jitera_test_postgres
    if tool == "pg_dump":
        argv = [exe, *server.client_args(), "-d", PASSWORD]
    else:
        argv = [exe, *server.client_args(), "-d", server.dbname, "-c", f"SELECT '{PASSWORD}'::int"]
    error = _failure(lambda: runner.run(argv, env=server.client_env()))
    assert "does not exist" in error.output or "invalid input syntax" in error.output
    _assert_masked(error)
