"""The layout is the architecture: these rules hold for every module, not a hand-picked list.

Only the pytest layer (``plugin.py`` and ``fixtures/``) imports pytest, so the library works
from a plain script or the CLI. The pure-logic packages (release planning, charts, the
decision) reach no cluster, database or process, so they can be reasoned about and tested
without one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_jitera

PACKAGE = Path(pytest_jitera.__file__).parent
PYTEST_LAYER = ("plugin.py", "fixtures")
PURE_LOGIC = (
    "release", "charts", "profile", "report", "yamlfile.py", "redact.py", "errors.py", "config.py",
    "digest.py",
)
# the decision reads Rails trees; only its image inventory shells out (through the runner)
PURE_LOGIC_EXCEPT = {"decision/migrations/inventory.py"}
CLIENTS = {"kubernetes", "docker", "psycopg", "pymongo", "subprocess", "pytest_jitera.runner"}


def _library_modules() -> list[Path]:
    """Every Python module of the package, apps shipped as reference data excepted."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "app" not in p.relative_to(PACKAGE).parts)


def _imports(path: Path) -> set[str]:
    """Every module name an import statement names, at its full dotted length and its top."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.update({alias.name, alias.name.split(".")[0]})
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update({node.module, node.module.split(".")[0]})
    return names


def test_the_package_has_the_domain_layout() -> None:
    for folder in (
        "release",
        "charts",
        "decision",
        "cluster",
        "datastores/postgres",
        "datastores/mongo",
        "runbook",
    ):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder


def test_no_library_module_imports_pytest() -> None:
    offenders = []
    for path in _library_modules():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in PYTEST_LAYER:
            continue
        if {"pytest", "_pytest"} & _imports(path):
            offenders.append(rel.as_posix())
    assert offenders == []


@pytest.mark.parametrize("place", PURE_LOGIC)
def test_pure_logic_reaches_no_cluster_database_or_process(place: str) -> None:
    target = PACKAGE / place
    modules = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert modules, place
    for path in modules:
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in PURE_LOGIC_EXCEPT:
            continue
        assert not _imports(path) & CLIENTS, rel


def test_decision_reaches_no_cluster_except_its_image_inventory() -> None:
    for path in sorted((PACKAGE / "decision").rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel not in PURE_LOGIC_EXCEPT:
            assert not _imports(path) & CLIENTS, rel
