"""Run the release images (not the source trees) against the test PostgreSQL server.

The chart's hook and an admin task run inside the automation image, with that image's Ruby,
gems and WORKDIR; running the same command through ``docker run`` is the closest thing to the
pod without a cluster. ``--network host`` lets the container reach the server at the address
``JITERA_TEST_POSTGRES_DSN`` gives (usually 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_jitera.reference.build import BuildResult, build_reference
from pytest_jitera.runner import Completed, Runner


def build_images(out: Path, versions: Sequence[str]) -> tuple[Runner, BuildResult]:
    """The release images of ``versions`` (cached layers make a rebuild quick); skip without Docker."""
    runner = Runner()
    try:
        runner.run(["docker", "info"], timeout=30)
        runner.run(["docker", "image", "inspect", "debian:bookworm-slim"], timeout=30)
    except Exception as exc:  # ToolError or RunError: either way there is nothing to build on
        pytest.skip(f"no usable Docker daemon with debian:bookworm-slim: {exc}")
    return runner, build_reference(out, versions=list(versions), images=True, runner=runner)


def run_automation(
    runner: Runner,
    version: str,
    database_url: str,
    argv: Sequence[str],
    *,
    entrypoint: str | None = None,
    check: bool = False,
) -> Completed:
    """``argv`` in ``jitera/automation:<version>``, with the environment the chart gives it.

    DATABASE_URL travels in the environment (``-e NAME`` without a value), so the password
    never appears on a command line or in an error message.
    """
    command = ["docker", "run", "--rm", "--network", "host"]
    command += ["-e", "DATABASE_URL", "-e", "RAILS_ENV=production", "-e", "SECRET_KEY_BASE=test-secret"]
    command += ["-e", f"JITERA_RELEASE={version}"]
    if entrypoint is not None:
        command += ["--entrypoint", entrypoint]
    command += [f"jitera/automation:{version}", *argv]
    return runner.run(command, env={"DATABASE_URL": database_url}, check=check, timeout=600)


def migrate(runner: Runner, version: str, database_url: str) -> None:
    """The hook of a normal install or upgrade to ``version``."""
    run_automation(
        runner, version, database_url, ["bin/rails", "db:create", "db:migrate", "data:migrate"], check=True
    )
