"""pytest entry point: registers ``--jitera-*`` options and ini keys, and exposes fixtures.

This module only wires. Options are declared once in :mod:`pytest_jitera.config`, validated
here before collection (a bad version stops the run with the expected form, not a failing
test an hour later), and the fixtures themselves live in :mod:`pytest_jitera.fixtures`.
"""

from __future__ import annotations

import pytest

from pytest_jitera.catalog import load_catalog
from pytest_jitera.config import SETTINGS, JiteraConfig, Setting, resolve
from pytest_jitera.errors import JiteraError
from pytest_jitera.fixtures._keys import CONFIG_KEY, PLAN_KEY
from pytest_jitera.fixtures.charts import (  # noqa: F401  (fixtures are found by attribute)
    default_charts_source,
    jitera_catalog,
    jitera_chart,
    jitera_chart_diff,
    jitera_config,
    jitera_plan,
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
from pytest_jitera.planner import UpgradePlan, plan_upgrade
from pytest_jitera.versions import Version


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
    """Resolve and validate settings once, before collection."""
    try:
        jitera = _resolve(config)
        for text in (jitera.from_version, jitera.to_version):
            if text:
                Version.parse(text)
    except (JiteraError, ValueError) as exc:
        raise pytest.UsageError(f"pytest-jitera: {exc}") from exc
    if bool(jitera.from_version) != bool(jitera.to_version):
        raise pytest.UsageError(
            "pytest-jitera: --jitera-from and --jitera-to go together; "
            "pass both (e.g. --jitera-from=v24.05.01 --jitera-to=v24.06.01)"
        )
    config.stash[CONFIG_KEY] = jitera
    config.stash[PLAN_KEY] = _plan(jitera) if jitera.from_version and jitera.to_version else None


def _plan(jitera: JiteraConfig) -> UpgradePlan:
    """Plan before collection, so a refused path stops the run with its reason."""
    assert jitera.from_version
    assert jitera.to_version
    source = jitera.charts or default_charts_source()
    if source is None:
        raise pytest.UsageError(
            "pytest-jitera: no --jitera-charts given and no reference series is built; "
            "pass --jitera-charts=FOLDER_OR_INDEX"
        )
    try:
        return plan_upgrade(
            load_catalog(source), Version.parse(jitera.from_version), Version.parse(jitera.to_version)
        )
    except JiteraError as exc:
        raise pytest.UsageError(f"pytest-jitera: {exc}") from exc


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
