"""The headline command needs no clone: the suites ship inside the package.

Builds the wheel a plain ``pip install`` would install and checks what it carries, then runs
a rehearsal from an empty folder outside the clone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import cluster_steps, rollback_deselected

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_the_suites_as_a_subpackage(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("pytest_jitera-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pytest_jitera/suites/__init__.py" in names
    assert "pytest_jitera/suites/test_before_upgrade.py" in names
    assert not any(name.startswith("suites/") for name in names), "no top-level 'suites' package"


def test_rehearsal_from_an_empty_folder_runs_the_shipped_suites(tmp_path: Path) -> None:
    # the caller's rehearsal settings must not leak in; the cache folder may (it is only a cache)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JITERA_", "PYTEST_")) or k == "JITERA_CACHE_DIR"
    }
    env["JITERA_NO_CLUSTER"] = "1"  # the cluster rehearsal from an empty folder runs in tests/e2e and CI
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-v",
            "--jitera-from=v24.05.01",
            "--jitera-to=v24.06.01",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_overrides_still_apply[v24.05.01->v24.06.01] PASSED" in done.stdout
    # the two chart checks and the hop's rollback classification need no cluster
    assert f"3 passed, {1 + cluster_steps(1) + rollback_deselected(1)} deselected" in done.stdout
    quiet = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert "jitera" not in quiet.stdout.replace("plugins: jitera", "")
