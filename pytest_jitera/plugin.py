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
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_jitera.charts.chart import check_charts_open
from pytest_jitera.config import SETTINGS, JiteraConfig, Setting, check_rehearsal, resolve
from pytest_jitera.decision.hop_classification import demo_applies, rollback_cases
from pytest_jitera.decision.procedures import HopClassification
from pytest_jitera.errors import JiteraError
from pytest_jitera.fixtures._keys import CASES_KEY, CONFIG_KEY, PLAN_KEY, is_matrix_run
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
    SHARED_KUBECONFIG,
    jitera_tools,
    kind_cluster,
    kind_toolbox_image,
    refuse_missing_tools,
    shared_cluster_kubeconfig,
    start_shared_cluster,
    stop_shared_cluster,
)
from pytest_jitera.fixtures.profile import jitera_profile, run_profile  # noqa: F401
from pytest_jitera.fixtures.rehearsal import jitera_case, jitera_upgrade  # noqa: F401
from pytest_jitera.fixtures.report import forget_case_reports, report_line, write_run_report
from pytest_jitera.fixtures.seed import check_seeds
from pytest_jitera.fixtures.steps import (
    CASE_MARKER,
    case_mark,
    gate,
    hop_label,
    item_case,
    item_hop,
    order_items,
    record,
    step_log,
)
from pytest_jitera.release.catalog import Catalog
from pytest_jitera.release.matrix import (
    MatrixCase,
    MatrixError,
    PlannedCase,
    is_matrix,
    matrix,
    parse_shard,
    shard,
    union_plan,
)
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
    config.addinivalue_line("markers", f"{CASE_MARKER}(label): the matrix case a rehearsal test belongs to")
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
        cases: tuple[PlannedCase, ...] = ()
        if jitera.starts and jitera.to_version is not None:
            run_profile(config, jitera)  # cheap, and names the product everything else is about
            catalog = run_catalog(config, jitera)
            cases = _cases(jitera, catalog, jitera.to_version)
            plan = _check_plan(jitera, union_plan([case.plan for case in cases]))
            check_seeds(jitera, cases, run_profile(config, jitera))
        _keep_cases_together(config, plan is not None)
    except JiteraError as exc:
        raise usage_error(exc) from exc
    config.stash[CONFIG_KEY] = jitera
    config.stash[PLAN_KEY] = plan
    config.stash[CASES_KEY] = cases
    if plan is not None:
        if not jitera.no_cluster:
            refuse_missing_tools(config)
            start_shared_cluster(config)
        _point_rehearsal_at_suites(config)
        step_log(config, "")  # a one-path run's wall time starts here, cluster creation included
        if is_matrix_run(config) and not hasattr(config, "workerinput"):
            forget_case_reports(jitera.report, [case.label for case in cases])


def _cases(jitera: JiteraConfig, catalog: Catalog, target: Version) -> tuple[PlannedCase, ...]:
    """The run's rehearsals (this shard's, with ``--jitera-shard``), each planned before collection."""
    if is_matrix(jitera.starts):
        chosen = list(matrix(catalog, target, jitera.starts))
    else:
        chosen = [MatrixCase(Version.parse(jitera.starts[0]), target)]
    if jitera.shard is not None:
        index, total = parse_shard(jitera.shard)
        everything = len(chosen)
        chosen = shard(chosen, index, total)
        if not chosen:
            raise MatrixError(
                f"--jitera-shard={jitera.shard} holds no rehearsal: the matrix has {everything}",
                hint=f"split it into at most {everything} shard(s)",
            )
    return tuple(PlannedCase(case, plan_upgrade(catalog, case.start, case.target)) for case in chosen)


def _check_plan(jitera: JiteraConfig, plan: UpgradePlan) -> UpgradePlan:
    """Open every chart and values file now, so a bad input stops the run before any cluster work."""
    check_charts_open(release.path for release in plan.releases if release.path is not None)
    for values in jitera.values:
        load_yaml_mapping(values, what="values file")
    return plan


# --dist modes a rehearsal accepts (the plugin's scheduler replaces them; "no" is no xdist).
_GROUPING_DIST = ("no", "load", "loadgroup", "loadscope", "loadfile")


def _keep_cases_together(config: pytest.Config, rehearsal: bool) -> None:
    """Under ``-n N``, refuse a ``--dist`` mode that promises what a rehearsal cannot give.

    Each case runs whole on one worker (:func:`pytest_xdist_make_scheduler`); ``each`` would
    run every case on every worker and ``worksteal`` would move steps between workers.
    """
    dist = getattr(config.option, "dist", "no")
    if not rehearsal or hasattr(config, "workerinput") or dist in _GROUPING_DIST:
        return
    raise MatrixError(
        f"--dist={dist} would split a rehearsal's steps across workers",
        hint="leave --dist out: with -n N each rehearsal runs whole on one worker",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Hand each xdist worker the shared cluster's kubeconfig (``--jitera-cluster=shared``)."""
    kubeconfig = shared_cluster_kubeconfig(node.config)
    if kubeconfig is not None:
        node.workerinput[SHARED_KUBECONFIG] = str(kubeconfig)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Delete the shared cluster last, after every worker is done (Ctrl-C included)."""
    stop_shared_cluster(config, failed=config.stash.get(_FAILED, False))


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``-n N``, each rehearsal (matrix case) goes whole to one worker."""
    if config.stash.get(PLAN_KEY, None) is None:
        return None
    from pytest_jitera.fixtures.scheduling import case_scheduler

    return case_scheduler(config, log)


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
        cases = config.stash[CASES_KEY]
        order_items(items, cases)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A rehearsal step after a failed one is not run (reported with the reason)."""
    jitera = item.config.stash.get(CONFIG_KEY, None)
    on_cluster = jitera is not None and not jitera.no_cluster
    gate(item, step_log(item.config, item_case(item)), on_cluster=on_cluster)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record each rehearsal step's outcome for the report folder."""
    report: pytest.TestReport = yield
    record(item, report, step_log(item.config, item_case(item)))
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report folder of a rehearsal (``summary.json``, ``index.html``)."""
    session.config.stash[_FAILED] = session.testsfailed > 0 or exitstatus not in (0, 5)
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
    """One case per planned hop for ``jitera_hop``, one per (hop, procedure) for ``jitera_rollback``.

    In a matrix run every rehearsal test is also parametrized by ``jitera_case``, and its id
    carries both: ``[v24.05.01=>v24.08.01][v24.06.01->v24.07.01]``.
    """
    config = metafunc.config
    names = metafunc.fixturenames
    if "jitera_rollback" in names:
        _parametrize_rollback(metafunc)
    elif "jitera_hop" in names:
        plan = config.stash.get(PLAN_KEY, None)
        if plan is None:
            _placeholder(metafunc, "jitera_hop", "no-plan", _NO_PLAN)
            return
        pairs = [(case, hop) for case in config.stash[CASES_KEY] for hop in case.plan.hops]
        _parametrize_per_case(metafunc, "jitera_hop", pairs, hop_label)
    elif "jitera_case" in names and is_matrix_run(config):
        cases = config.stash[CASES_KEY]
        params = [pytest.param(case, id=case.label, marks=case_mark(case.label)) for case in cases]
        metafunc.parametrize("jitera_case", params, scope="session")


def _parametrize_per_case(
    metafunc: pytest.Metafunc, argname: str, pairs: list[tuple[PlannedCase, Any]], label: Callable[[Any], str]
) -> None:
    """``argname`` per value; in a matrix run, together with the value's case."""
    if not is_matrix_run(metafunc.config):
        values = [value for _, value in pairs]
        metafunc.parametrize(argname, values, ids=[label(v) for v in values], scope="session")
        return
    # pytest puts the id in one pair of brackets; "][" makes the case and the value two. The
    # marker names the case for tests that do not use the case's rehearsal (a chart check).
    if "jitera_case" in metafunc.fixturenames:
        params = [
            pytest.param(case, value, id=f"{case.label}][{label(value)}", marks=case_mark(case.label))
            for case, value in pairs
        ]
        metafunc.parametrize(["jitera_case", argname], params, scope="session")
        return
    metafunc.parametrize(
        argname,
        [
            pytest.param(value, id=f"{case.label}][{label(value)}", marks=case_mark(case.label))
            for case, value in pairs
        ],
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
    pairs = [
        (case, rollback)
        for case in config.stash[CASES_KEY]
        for rollback in rollback_cases(case.plan.hops, table)
    ]
    _parametrize_per_case(metafunc, "jitera_rollback", pairs, lambda rollback: str(rollback.id))
