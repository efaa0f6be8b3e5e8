"""The library must stay usable from plain scripts: only the pytest layer imports pytest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_jitera

PACKAGE = Path(pytest_jitera.__file__).parent
PYTEST_LAYER = {"plugin.py", "fixtures"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_library_modules_do_not_import_pytest() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in PYTEST_LAYER or "app" in rel.parts:
            continue
        if {"pytest", "_pytest"} & _imports(path):
            offenders.append(str(rel))
    assert offenders == []


def test_pure_logic_modules_import_no_cluster_client() -> None:
    pure = ["versions.py", "planner.py", "catalog.py", "charts.py", "values_diff.py", "chart_diff.py"]
    for name in pure:
        imported = _imports(PACKAGE / name)
        assert not imported & {"kubernetes", "docker", "psycopg", "pymongo", "subprocess"}, name
