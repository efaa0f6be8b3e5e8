"""The classifier is a library: importing it (and running it) must not pull in pytest."""

from __future__ import annotations

import subprocess
import sys

from .conftest import FIXTURES


def test_classifier_runs_without_pytest_loaded() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import pytest_jitera.commands.classify\n"
        "from pytest_jitera.decision.classify import classify_release\n"
        f"base = Path({str(FIXTURES / 'scenario2')!r})\n"
        "result = classify_release(base / 'old' / 'app', base / 'new' / 'app')\n"
        "assert result.scenario == 2, result.scenario\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest'))\n"
        "assert not loaded, loaded\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
