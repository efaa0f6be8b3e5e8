"""pytest entry point: registers ``--jitera-*`` options and ini keys, and exposes fixtures.

This module only wires. Options are declared once in :mod:`pytest_jitera.config`, validated
here before collection (a bad version, an empty option, a values file that is not there stop
the run with one usage error, not a failing test an hour later or a setup error per test), and
the fixtures themselves live in :mod:`pytest_jitera.fixtures`.

A rehearsal in this repository's clone runs the user-facing suites instead of the project's own
tests; that redirect lives here, not in the clone's ``conftest.py``, so that ``pytest -p
no:jitera`` (plugin disabled, its options unregistered) still works there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jitera.charts.chart import check_charts_open
from pytest_jitera.config import SETTINGS, JiteraConfig, Setting, check_rehearsal, resolve
from pytest_jitera.errors import JiteraError
from pytest_jitera.fixtures._keys import CONFIG_KEY, PLAN_KEY
from pytest_jitera.fixtures._usage import usage_error
from pytest_jitera.fixtures.charts import (  # noqa: F401  (fixtures are found by attribute)
    jitera_catalog,
    jitera_chart,
    jitera_chart_diff,
    jitera_config,
    jitera_plan,
    run_catalog,
)
from pytest_jitera.fixtures.datastores import (  # noqa: F401
    jitera_postgres_database,
    jitera_test_mongo_uri,
    jitera_test_postgres,
)
from pytest_jitera.fixtures.kind import (  # noqa: F401
    jitera_tools,
    kind_cluster,
    kind_toolbox_image,
)
from pytest_jitera.release.catalog import Catalog
from pytest_jitera.release.planner import UpgradePlan, plan_upgrade
from pytest_jitera.release.versions import Version
from pytest_jitera.yamlfile import load_yaml_mapping

_PACKAGE = Path(__file__).resolve().parent
# The clone's root: the folder holding the package and pyproject.toml. Only a run rooted here
# is redirected; in any other project the user's own paths and testpaths decide what runs.
_CLONE = _PACKAGE.parent


def suites_dir() -> Path | None:
    """The rehearsal suites: shipped inside the package if they are, else the clone's ``suites/``."""
    for candidate in (_PACKAGE / "suites", _CLONE / "suites"):
        if candidate.is_dir():
            return candidate
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    """Each setting as ``--jitera-X`` and ini key ``jitera_X``; no CLI default hides the ini."""
    group = parser.getgroup("jitera", "Helm upgrade and rollback rehearsal (pytest-jitera)")
    for setting in SETTINGS:
        help_text = f"{setting.help} [ini: {setting.ini}, env: {setting.env}]"
        if setting.kind == "bool":
            group.addoption(
                setting.flag,
                action="store_const",
                const=True,
                default=None,
                dest=setting.dest,
                help=help_text,
            )
            parser.addini(setting.ini, setting.help, type="bool", default=None)
        elif setting.kind == "paths":
            group.addoption(
                setting.flag, action="append", default=None, dest=setting.dest, metavar="FILE", help=help_text
            )
            parser.addini(setting.ini, setting.help, type="paths", default=[])
        else:
            group.addoption(
                setting.flag,
                action="store",
                default=None,
                dest=setting.dest,
                metavar=setting.name.split("-")[-1].upper(),
                help=help_text,
            )
            parser.addini(setting.ini, setting.help, default=None)


def _resolve(config: pytest.Config) -> JiteraConfig:
    def cli(setting: Setting) -> object:
        return config.getoption(setting.dest)

    def ini(setting: Setting) -> object:
        return config.getini(setting.ini)

    inipath = config.inipath.parent if config.inipath else config.rootpath
    return resolve(cli, ini, cwd=config.invocation_params.dir, inipath_dir=inipath)


def pytest_configure(config: pytest.Config) -> None:
    """Resolve and validate settings once, before collection; plan when an upgrade is asked for."""
    try:
        jitera = _resolve(config)
        check_rehearsal(jitera)
        plan = None
        if jitera.from_version is not None and jitera.to_version is not None:
            catalog = run_catalog(config, jitera)
            plan = _plan(jitera, catalog, jitera.from_version, jitera.to_version)
    except JiteraError as exc:
        raise usage_error(exc) from exc
    config.stash[CONFIG_KEY] = jitera
    config.stash[PLAN_KEY] = plan
    if plan is not None:
        _point_rehearsal_at_suites(config)


def _plan(jitera: JiteraConfig, catalog: Catalog, source: Version, target: Version) -> UpgradePlan:
    """Plan before collection, so a refused path stops the run with its reason."""
    plan = plan_upgrade(catalog, source, target)
    check_charts_open(release.path for release in plan.releases if release.path is not None)
    for values in jitera.values:
        load_yaml_mapping(values, what="values file")
    return plan


def _point_rehearsal_at_suites(config: pytest.Config) -> None:
    """In the clone, a rehearsal without explicit paths runs the suites, not ``tests/``.

    ``testpaths`` names the project's own tests, which know nothing of the requested hops;
    paths on the command line always win.
    """
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    suites = suites_dir()
    if suites is None or config.rootpath.resolve() != _CLONE:
        return
    config.args[:] = [str(suites)]


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Show every set ``--jitera-*`` value and where it came from."""
    jitera = config.stash.get(CONFIG_KEY, None)
    if jitera is None:
        return []
    lines = jitera.describe()
    return ["jitera: " + line for line in lines] if lines else []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give every test that asks for ``jitera_hop`` one parametrized case per planned hop."""
    if "jitera_hop" not in metafunc.fixturenames:
        return
    plan = metafunc.config.stash.get(PLAN_KEY, None)
    if plan is None:
        metafunc.parametrize(
            "jitera_hop",
            [
                pytest.param(
                    None,
                    marks=pytest.mark.skip(reason="no upgrade requested: pass --jitera-from and --jitera-to"),
                )
            ],
            ids=["no-plan"],
        )
        return
    metafunc.parametrize(
        "jitera_hop",
        list(plan.hops),
        ids=[f"{h.old.version}->{h.new.version}" for h in plan.hops],
        scope="session",
    )
