"""Bad settings under pytest: one usage error before collection, never a setup error per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import pytest_jitera.plugin
from pytest_jitera.config import (
    SETTINGS,
    JiteraConfig,
    Setting,
    check_rehearsal,
    check_reuse_cluster,
    resolve,
)
from pytest_jitera.errors import OptionError, VersionError
from pytest_jitera.release.versions import Version

ROOT = Path(__file__).parents[1]
SUITE = ROOT / "suites" / "test_before_upgrade.py"
ROOT_CONFTEST = ROOT / "conftest.py"


@pytest.fixture
def catalog(make_chart: Callable[..., Path], tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    folder.mkdir()
    for version in ("v24.05.01", "v24.05.01.1", "v24.06.01"):
        shutil.move(make_chart(version, zipped=True), folder / f"jitera-helm-{version}.zip")
    return folder


def _assert_one_usage_error(result: pytest.RunResult, *patterns: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(list(patterns))
    # The message and its hint, not a setup error (and traceback) per test.
    assert len([line for line in result.stderr.lines if line.strip()]) <= 3, result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


# 5. Paths are checked when a rehearsal is requested.


def test_missing_values_file_is_a_usage_error(pytester: pytest.Pytester, catalog: Path) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    result = pytester.runpytest(
        "--jitera-from=v24.05.01", "--jitera-to=v24.06.01", f"--jitera-charts={catalog}",
        "--jitera-values=prod-values.yaml", f"--jitera-report={pytester.path / 'r'}",
    )
    _assert_one_usage_error(
        result, f"ERROR: pytest-jitera: --jitera-values {pytester.path / 'prod-values.yaml'}: no such file",
        "*hint: check the path*",
    )


def test_values_folder_is_a_usage_error(pytester: pytest.Pytester, catalog: Path) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    (pytester.path / "values").mkdir()
    result = pytester.runpytest(
        "--jitera-from=v24.05.01", "--jitera-to=v24.06.01", f"--jitera-charts={catalog}",
        "--jitera-values=values", f"--jitera-report={pytester.path / 'r'}",
    )
    _assert_one_usage_error(result, "*--jitera-values *values is a folder, not a file*", "*hint:*")


def test_report_that_is_a_file_is_a_usage_error(pytester: pytest.Pytester, catalog: Path) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    report = pytester.path / "report.txt"
    report.write_text("")
    result = pytester.runpytest(
        "--jitera-from=v24.05.01", "--jitera-to=v24.05.01.1", f"--jitera-charts={catalog}",
        f"--jitera-report={report}",
    )
    _assert_one_usage_error(result, f"*--jitera-report {report} exists and is not a folder*", "*hint:*")


def test_paths_are_not_checked_without_a_rehearsal(pytester: pytest.Pytester) -> None:
    """An ini file may name values files that only exist on the release engineer's machine."""
    pytester.makeini("[pytest]\njitera_values = /nowhere/prod.yaml\n")
    pytester.makepyfile("def test_x(): pass")
    pytester.runpytest().assert_outcomes(passed=1)


# 6. Given but blank is an error; not given at all means no rehearsal.


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--jitera-from=", "--jitera-to=v24.06.01"], "*--jitera-from is empty*"),
        (["--jitera-from=   "], "*--jitera-from is empty*"),
        (["--jitera-from=v24.05.01", "--jitera-to="], "*--jitera-to is empty*"),
        (["--jitera-to="], "*--jitera-to is empty*"),
    ],
)
def test_blank_version_option_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], expected: str
) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*args)
    _assert_one_usage_error(result, expected, "*hint: give a release like v24.0*")


def test_blank_environment_variable_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JITERA_FROM", "")
    pytester.makepyfile("def test_x(): pass")
    _assert_one_usage_error(
        pytester.runpytest(), "*environment variable JITERA_FROM is empty*", "*unset JITERA_FROM*"
    )


def test_blank_ini_key_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\njitera_from =\n")
    pytester.makepyfile("def test_x(): pass")
    _assert_one_usage_error(pytester.runpytest(), "*ini key jitera_from is empty*", "*remove the line*")


def test_to_without_from_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    _assert_one_usage_error(
        pytester.runpytest("--jitera-to=v24.06.01"),
        "*--jitera-from and --jitera-to go together; only --jitera-to was given*",
        "*hint: pass both*",
    )


def _settings(given: dict[str, object]) -> JiteraConfig:
    return resolve(lambda s: given.get(s.name), lambda s: None, env={}, cwd=Path("/work"))


def test_resolve_tells_not_given_from_blank() -> None:
    assert _settings({}).starts == ()
    with pytest.raises(OptionError) as info:
        _settings({"from": ""})
    assert info.value.option == "from"
    assert info.value.render({"from": "--from"})[0] == "--from is empty"


def test_resolve_parses_the_releases_once() -> None:
    cfg = _settings({"from": " v24.05.01 ", "to": "v24.05.01.1"})
    assert cfg.starts == ("v24.05.01",)
    assert cfg.to_version == Version(24, 5, 1, 1)
    assert cfg.describe()[:2] == [
        "--jitera-from=v24.05.01 (command line)",
        "--jitera-to=v24.05.01.1 (command line)",
    ]


def test_resolve_names_the_option_of_a_malformed_release() -> None:
    with pytest.raises(VersionError) as info:
        _settings({"from": "v24.05.01", "to": "v24.6.1"})
    message, hint = info.value.render({"to": "--jitera-to"})
    assert message == "--jitera-to: not a release version: 'v24.6.1'"
    assert hint is not None
    assert "did you mean v24.06.01?" in hint


def test_resolve_refuses_blank_path_options() -> None:
    with pytest.raises(OptionError, match="charts is empty"):
        _settings({"charts": ""})
    with pytest.raises(OptionError, match="values is empty"):
        _settings({"values": ["a.yaml", ""]})


def test_check_rehearsal_refuses_one_version_without_the_other() -> None:
    with pytest.raises(OptionError, match="go together"):
        check_rehearsal(JiteraConfig(to_version=Version.parse("v24.06.01")))


def test_every_valued_setting_has_an_example_for_its_blank_hint() -> None:
    valued: list[Setting] = [s for s in SETTINGS if s.kind != "bool"]
    assert [s.name for s in valued if s.example == "a value"] == []


# 8. The redirect to the suites lives in the plugin; the root conftest is harmless.


def test_plugin_disabled_with_the_repository_conftest(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(ROOT_CONFTEST.read_text())
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:jitera")
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1)


def test_plugin_points_a_rehearsal_at_the_suites(
    pytester: pytest.Pytester, catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No conftest here: the plugin alone sends a rehearsal to the suites instead of testpaths."""
    monkeypatch.setattr(pytest_jitera.plugin, "suites_dir", lambda: pytester.path / "suites")
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_own.py").write_text("def test_own(): pass\n")
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "test_suite.py").write_text("def test_hop(jitera_hop): pass\n")
    rehearsal = ["--jitera-from=v24.05.01", "--jitera-to=v24.05.01.1", f"--jitera-charts={catalog}"]

    result = pytester.runpytest(*rehearsal, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*suites/test_suite.py::test_hop?v24.05.01->v24.05.01.1? PASSED*"])

    pytester.runpytest("-v").stdout.fnmatch_lines(["*tests/test_own.py::test_own PASSED*"])
    explicit = pytester.runpytest(*rehearsal, "tests", "-v")
    explicit.stdout.fnmatch_lines(["*tests/test_own.py::test_own PASSED*"])


def _collect_in_clone(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITERA_") or k == "JITERA_CACHE_DIR"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )


@pytest.mark.skipif(not (ROOT / "suites").is_dir(), reason="needs the repository clone")
def test_clone_keeps_its_collection_rules() -> None:
    rehearsal = _collect_in_clone("--jitera-from=v24.05.01", "--jitera-to=v24.06.01")
    assert rehearsal.returncode == 0, rehearsal.stdout + rehearsal.stderr
    items = [line for line in rehearsal.stdout.splitlines() if "::" in line]
    assert items
    assert all(line.startswith("suites/") for line in items)

    explicit = _collect_in_clone("--jitera-from=v24.05.01", "--jitera-to=v24.06.01", "tests/test_versions.py")
    assert explicit.returncode == 0, explicit.stdout + explicit.stderr
    explicit_items = [line for line in explicit.stdout.splitlines() if "::" in line]
    assert explicit_items
    assert all(line.startswith("tests/test_versions.py") for line in explicit_items)

    disabled = _collect_in_clone("-p", "no:jitera", "tests/test_versions.py")
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    assert "INTERNALERROR" not in disabled.stdout + disabled.stderr


# 9. The planner's messages are spelled with the plugin's flags.


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("v24.06.01", "v24.05.01", "*(--jitera-to is older than --jitera-from)*"),
        ("v24.05.01", "v24.05.01", "*nothing to do: --jitera-from and --jitera-to are both v24.05.01"),
        ("v24.05.02", "v24.06.01", "*--jitera-from v24.05.02 is not a released version*"),
        ("v24.05.01", "v24.06.02", "*--jitera-to v24.06.02 is not a released version*"),
    ],
    ids=["downgrade", "same", "unknown-from", "unknown-to"],
)
def test_plan_refusals_name_plugin_flags(
    pytester: pytest.Pytester, catalog: Path, source: str, target: str, expected: str
) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(
        f"--jitera-from={source}", f"--jitera-to={target}", f"--jitera-charts={catalog}"
    )
    _assert_one_usage_error(result, expected, "*hint:*")


# 9. Choice settings: the rollback rehearsal's scenario, strategy and mode.


def test_rollback_settings_default_to_the_classified_scenario() -> None:
    cfg = _settings({})
    assert (cfg.scenario, cfg.rollback_strategy, cfg.rollback) == ("auto", "new-instance", "auto")
    assert (cfg.full_consistency, cfg.skip_second_scale_down) == (False, False)
    # what ran is in the header even when left at the default
    assert "--jitera-rollback-strategy=new-instance (default)" in cfg.describe()


def test_a_choice_is_read_from_any_source_and_ignores_case() -> None:
    cfg = _settings({"scenario": "3", "rollback-strategy": " In-Place ", "full-consistency": True})
    assert (cfg.scenario, cfg.rollback_strategy, cfg.full_consistency) == ("3", "in-place", True)
    from_env = resolve(lambda s: None, lambda s: None, env={"JITERA_ROLLBACK": "NONE",
                                                           "JITERA_SKIP_SECOND_SCALE_DOWN": "yes"})
    assert (from_env.rollback, from_env.skip_second_scale_down) == ("none", True)


@pytest.mark.parametrize(
    ("given", "env", "expected"),
    [
        ({"scenario": "4"}, {}, "--jitera-scenario: '4' is not one of auto, 1, 2, 3"),
        ({"rollback-strategy": "sideways"}, {},
         "--jitera-rollback-strategy: 'sideways' is not one of new-instance, in-place, both"),
        ({}, {"JITERA_ROLLBACK": "never"},
         "environment variable JITERA_ROLLBACK: 'never' is not one of auto, none"),
    ],
)
def test_a_bad_choice_names_where_it_was_given_and_every_choice(
    given: dict[str, object], env: dict[str, str], expected: str
) -> None:
    with pytest.raises(OptionError) as info:
        resolve(lambda s: given.get(s.name), lambda s: None, env=env, cwd=Path("/work"))
    names = {s.name: s.flag for s in SETTINGS}
    message, hint = info.value.render(names)
    assert message == expected
    assert hint is not None
    assert hint.startswith("use one of ")


def test_a_blank_choice_is_refused_like_any_blank_setting() -> None:
    with pytest.raises(OptionError, match="scenario is empty") as info:
        _settings({"scenario": " "})
    assert info.value.hint is not None
    assert "auto, 1, 2 or 3" in info.value.hint


def test_a_choice_declaration_must_list_its_default() -> None:
    with pytest.raises(ValueError, match="choices go with kind='choice'"):
        Setting("mode", "", kind="choice")
    with pytest.raises(ValueError, match="default 'c' is not one of its choices"):
        Setting("mode", "", kind="choice", default="c", choices=("a", "b"))


def test_install_helm_that_is_not_executable_is_a_usage_error(
    pytester: pytest.Pytester, catalog: Path
) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    (pytester.path / "helm3").write_text("not a program\n")
    result = pytester.runpytest(
        "--jitera-from=v24.05.01", "--jitera-to=v24.06.01", f"--jitera-charts={catalog}",
        "--jitera-install-helm=helm3", f"--jitera-report={pytester.path / 'r'}",
    )
    _assert_one_usage_error(result, "*--jitera-install-helm *helm3 is not executable*", "*hint:*helm3/helm*")


def test_missing_install_helm_is_a_usage_error(pytester: pytest.Pytester, catalog: Path) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    result = pytester.runpytest(
        "--jitera-from=v24.05.01", "--jitera-to=v24.06.01", f"--jitera-charts={catalog}",
        "--jitera-install-helm=nowhere/helm", f"--jitera-report={pytester.path / 'r'}",
    )
    _assert_one_usage_error(result, "*--jitera-install-helm *nowhere/helm: no such file*", "*hint:*")


# 10. The starting-state cache and a kept cluster.


def test_the_starting_state_is_used_by_default_and_can_be_refreshed_or_off() -> None:
    assert _settings({}).starting_state == "use"
    assert _settings({"starting-state": "Refresh"}).starting_state == "refresh"
    with pytest.raises(OptionError, match="'sometimes' is not one of use, refresh, off"):
        _settings({"starting-state": "sometimes"})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"reuse-cluster": "Jitera_Dev"}, "is not a usable kind cluster name"),
        ({"reuse-cluster": "jitera-dev", "kubeconfig": "/dev/null"}, "both name the cluster to use"),
    ],
)
def test_a_reused_cluster_needs_a_kind_name_and_no_kubeconfig(
    given: dict[str, object], expected: str
) -> None:
    cfg = _settings({"from": "v24.05.01", "to": "v24.06.01", **given})
    with pytest.raises(OptionError, match=expected) as info:
        check_reuse_cluster(cfg)
    assert info.value.hint
