"""pytest entry point: registers ``--jitera-*`` options and ini keys, and exposes fixtures.

This module only wires. Options are declared once in :mod:`pytest_jitera.config`, validated
here before collection (a bad version, an empty option, a values file that is not there stop
the run with one usage error, not a failing test an hour later or a setup error per test), and
the fixtures themselves live in :mod:`pytest_jitera.fixtures`.

A rehearsal without explicit paths runs the shipped suites (``pytest_jitera.suites``) in any
folder, an empty one after ``pip install`` included; paths on the command line always win. The
redirect lives here, not in a ``conftest.py``, so ``pytest -p no:jitera`` (plugin disabled, its
options unregistered) still works in this repository's clone.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Generator
from pathlib import Path

import pytest

from pytest_jitera.charts.chart import check_charts_open
from pytest_jitera.config import SETTINGS, JiteraConfig, Setting, check_rehearsal, resolve
from pytest_jitera.decision.hop_classification import demo_applies, rollback_cases
from pytest_jitera.decision.procedures import HopClassification
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
from pytest_jitera.fixtures.classification import (  # noqa: F401
    classifications_while_collecting,
    jitera_hop_classification,
    raise_deferred,
    run_classifications,
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
    refuse_missing_tools,
)
from pytest_jitera.fixtures.profile import jitera_profile, run_profile  # noqa: F401
from pytest_jitera.fixtures.rehearsal import jitera_upgrade  # noqa: F401
from pytest_jitera.fixtures.report import report_line, write_run_report
from pytest_jitera.fixtures.steps import STEP_LOG, StepLog, gate, hop_label, item_hop, order_items, record
from pytest_jitera.release.catalog import Catalog
from pytest_jitera.release.planner import UpgradePlan, plan_upgrade
from pytest_jitera.release.versions import Version
from pytest_jitera.yamlfile import load_yaml_mapping

# A source checkout used without installing (PYTHONPATH=.) has no mapped subpackage.
_CHECKOUT_SUITES = Path(__file__).resolve().parent.parent / "suites"


def suites_dir() -> Path | None:
    """Where the installed ``pytest_jitera.suites`` lives (site-packages, or the clone's ``suites/``)."""
    spec = importlib.util.find_spec("pytest_jitera.suites")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(location).is_dir():
            return Path(location)
    return _CHECKOUT_SUITES if _CHECKOUT_SUITES.is_dir() else None


def pytest_addoption(parser: pytest.Parser) -> None:
    """Each setting as ``--jitera-X`` and ini key ``jitera_X``; no CLI default hides the ini."""
    group = parser.getgroup("jitera", "Helm upgrade and rollback rehearsal (pytest-jitera)")
    for setting in SETTINGS:
        default = f" (default {setting.default})" if setting.choices else ""
        help_text = f"{setting.help}{default} [ini: {setting.ini}, env: {setting.env}]"
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
            # A choice shows its values in place of a placeholder; they are checked in
            # config.resolve, so the environment and the ini file get the same message.
            metavar = "|".join(setting.choices) or setting.name.split("-")[-1].upper()
            group.addoption(
                setting.flag,
                action="store",
                default=None,
                dest=setting.dest,
                metavar=metavar,
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
    """Resolve and validate settings once, before collection; load the profile and plan for an upgrade."""
    config.addinivalue_line(
        "markers", "jitera_hop_kinds(*kinds): run this per-hop check only on hops of these StepKinds"
    )
    config.addinivalue_line(
        "markers", "jitera_step(title): this test is the rehearsal step of that title (runbook order)"
    )
    config.addinivalue_line(
        "markers", "jitera_cluster: a rehearsal step that needs a cluster (left out by --jitera-no-cluster)"
    )
    config.addinivalue_line(
        "markers",
        "jitera_rollback_demo: a per-hop Risk A/B/C demonstration, kept only on the reference "
        "stack's Scenario 3 hops with --jitera-rollback-strategy=both",
    )
    try:
        jitera = _resolve(config)
        check_rehearsal(jitera)
        plan = None
        if jitera.from_version is not None and jitera.to_version is not None:
            run_profile(config, jitera)  # cheap, and names the product everything else is about
            catalog = run_catalog(config, jitera)
            plan = _plan(jitera, catalog, jitera.from_version, jitera.to_version)
    except JiteraError as exc:
        raise usage_error(exc) from exc
    config.stash[CONFIG_KEY] = jitera
    config.stash[PLAN_KEY] = plan
    config.stash[STEP_LOG] = StepLog()
    if plan is not None:
        if not jitera.no_cluster:
            refuse_missing_tools(config)
        _point_rehearsal_at_suites(config)


def _plan(jitera: JiteraConfig, catalog: Catalog, source: Version, target: Version) -> UpgradePlan:
    """Plan before collection, so a refused path stops the run with its reason."""
    plan = plan_upgrade(catalog, source, target)
    check_charts_open(release.path for release in plan.releases if release.path is not None)
    for values in jitera.values:
        load_yaml_mapping(values, what="values file")
    return plan


_NEEDS_CLASSIFICATION = frozenset({"jitera_rollback", "jitera_hop_classification"})


def _rollback_applies(config: pytest.Config, jitera: JiteraConfig | None, item: pytest.Item) -> bool:
    """Whether a rollback test, a Risk demonstration or a test of the classification exists here.

    ``--jitera-rollback=none`` classifies nothing, so every test that needs the classification
    is left out rather than skipped: the report counts a skipped step as a failed run.
    """
    is_rollback = not _NEEDS_CLASSIFICATION.isdisjoint(getattr(item, "fixturenames", ()))
    is_demo = item.get_closest_marker("jitera_rollback_demo") is not None
    if jitera is None or not (is_rollback or is_demo):
        return True
    if jitera.rollback == "none":
        return False
    hop = item_hop(item)
    if not is_demo or hop is None:
        return True  # a rollback case, or the no-plan placeholder that reports the skip

    def classified() -> HopClassification | None:
        try:
            return run_classifications(config).get(hop_label(hop))
        except JiteraError as exc:
            raise usage_error(exc) from exc

    return demo_applies(
        classified, rollback=jitera.rollback, strategy=jitera.rollback_strategy,
        reference_stack=jitera.charts is None,
    )


def _point_rehearsal_at_suites(config: pytest.Config) -> None:
    """A rehearsal without explicit paths runs the shipped suites, not ``testpaths`` or the cwd.

    The current folder's tests (or a project's ``testpaths``) know nothing of the requested
    hops; paths on the command line always win.
    """
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    suites = suites_dir()
    if suites is None:
        raise pytest.UsageError(
            "pytest-jitera: the rehearsal suites are not installed (pytest_jitera.suites is missing)\n"
            "  hint: reinstall the package: pip install --force-reinstall pytest-jitera"
        )
    config.args[:] = [str(suites)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect a per-hop check on hops of a kind it does not apply to.

    A patch-only check on a minor hop is not a skipped check (which a pre-release gate would
    read as "not verified"); it does not exist for that hop, and the summary says so as
    "deselected". The same holds for rollback tests under ``--jitera-rollback=none`` and for
    Risk demonstrations on hops they do not apply to.
    """
    raise_deferred(config)  # a classification failure met while parametrizing
    jitera = config.stash.get(CONFIG_KEY, None)
    no_cluster = jitera is not None and jitera.no_cluster
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("jitera_hop_kinds")
        hop = item_hop(item)
        not_this_kind = marker is not None and hop is not None and hop.kind not in marker.args
        needs_cluster = no_cluster and item.get_closest_marker("jitera_cluster") is not None
        if not_this_kind or needs_cluster or not _rollback_applies(config, jitera, item):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    plan = config.stash.get(PLAN_KEY, None)
    if plan is not None:
        order_items(items, plan)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A rehearsal step after a failed one is not run (reported with the reason)."""
    jitera = item.config.stash.get(CONFIG_KEY, None)
    gate(item, item.config.stash[STEP_LOG], on_cluster=jitera is not None and not jitera.no_cluster)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record each rehearsal step's outcome for the report folder."""
    report: pytest.TestReport = yield
    record(item, report, item.config.stash[STEP_LOG])
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report folder of a rehearsal (``summary.json``, ``index.html``)."""
    # A usage error met in collection ran nothing: no report that could read as a result.
    if session.config.stash.get(PLAN_KEY, None) is not None and exitstatus != pytest.ExitCode.USAGE_ERROR:
        write_run_report(session.config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Say where the report folder is, last, where a release engineer looks."""
    line = report_line(config)
    if line is not None:
        terminalreporter.write_sep("-", "jitera")
        terminalreporter.write_line(line)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """In a rehearsal, show every ``--jitera-*`` value and where it came from; else stay silent.

    A project that merely has the plugin installed must see no change in its test runs.
    """
    jitera = config.stash.get(CONFIG_KEY, None)
    if jitera is None or config.stash.get(PLAN_KEY, None) is None:
        return []
    lines = jitera.describe()
    return ["jitera: " + line for line in lines] if lines else []


_NO_PLAN = "no upgrade requested: pass --jitera-from and --jitera-to"


def _placeholder(metafunc: pytest.Metafunc, argname: str, test_id: str, reason: str) -> None:
    """One skipped case, so a test with nothing to run for shows why instead of vanishing."""
    metafunc.parametrize(argname, [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=[test_id])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One case per planned hop for ``jitera_hop``, one per (hop, procedure) for ``jitera_rollback``."""
    if "jitera_rollback" in metafunc.fixturenames:
        _parametrize_rollback(metafunc)
    if "jitera_hop" not in metafunc.fixturenames:
        return
    plan = metafunc.config.stash.get(PLAN_KEY, None)
    if plan is None:
        _placeholder(metafunc, "jitera_hop", "no-plan", _NO_PLAN)
        return
    metafunc.parametrize(
        "jitera_hop",
        list(plan.hops),
        ids=[hop_label(h) for h in plan.hops],
        scope="session",
    )


def _parametrize_rollback(metafunc: pytest.Metafunc) -> None:
    """The procedures each hop's classification calls for, hops in plan order."""
    config = metafunc.config
    plan = config.stash.get(PLAN_KEY, None)
    jitera = config.stash.get(CONFIG_KEY, None)
    if plan is None or jitera is None:
        _placeholder(metafunc, "jitera_rollback", "no-plan", _NO_PLAN)
        return
    # Both are deselected in pytest_collection_modifyitems; classifying for them would be wasted
    # (and, for an operator's charts, would need Docker for tests that never run).
    if jitera.rollback == "none":
        _placeholder(metafunc, "jitera_rollback", "no-rollback", "--jitera-rollback=none")
        return
    if jitera.no_cluster and metafunc.definition.get_closest_marker("jitera_cluster") is not None:
        _placeholder(metafunc, "jitera_rollback", "needs-cluster", "--jitera-no-cluster")
        return
    table = classifications_while_collecting(config)
    if table is None:
        # The failure stops the run as a usage error once collection ends.
        _placeholder(metafunc, "jitera_rollback", "unclassified", "the hops could not be classified")
        return
    cases = rollback_cases(plan.hops, table)
    metafunc.parametrize("jitera_rollback", cases, ids=[case.id for case in cases], scope="session")
