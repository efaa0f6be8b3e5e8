"""Repository-level collection rule.

``pytest`` alone runs the project's own tests (``tests/``, the ``testpaths``). A rehearsal
(``pytest --jitera-from=A --jitera-to=B``) runs the user-facing suites in ``suites/`` instead,
unless paths are named explicitly on the command line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SUITES = Path(__file__).parent / "suites"


def pytest_configure(config: pytest.Config) -> None:
    """Point a rehearsal without explicit paths at the suites."""
    rehearsal = config.getoption("jitera_from") or config.getini("jitera_from")
    if rehearsal and config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(SUITES)]
