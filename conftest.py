"""Repository-level collection rules.

``pytest`` alone runs the project's own tests (``tests/``). A rehearsal
(``pytest --jitera-from=A --jitera-to=B``) runs the user-facing suites in ``suites/`` instead,
unless paths are named explicitly on the command line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parent


def _rehearsal_requested(config: pytest.Config) -> bool:
    return bool(config.getoption("jitera_from") or config.getini("jitera_from"))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Keep the suites and the project's tests apart unless the user names paths."""
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    if explicit:
        return None
    rehearsal = _rehearsal_requested(config)
    if collection_path == ROOT / "suites" and not rehearsal:
        return True
    if collection_path == ROOT / "tests" and rehearsal:
        return True
    return None
