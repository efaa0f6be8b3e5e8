"""The plugin as users meet it, driven through pytester."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import BASE_VALUES, cluster_steps, rollback_deselected

SUITE = Path(__file__).parents[1] / "suites" / "test_before_upgrade.py"


@pytest.fixture
def catalog(make_chart: Callable[..., Path], tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    folder.mkdir()
    patch_values = copy.deepcopy(BASE_VALUES)
    patch_values["image"]["tag"] = "v24.05.01.1"
    moved = copy.deepcopy(BASE_VALUES)
    moved["externalPostgres"] = {"primary": {"host": "db.internal"}, "port": 5432, "database": "jitera"}
    for version, values in (("v24.05.01", BASE_VALUES), ("v24.05.01.1", patch_values), ("v24.06.01", moved)):
        shutil.move(make_chart(version, values=values, zipped=True), folder / f"jitera-helm-{version}.zip")
    return folder


def test_help_lists_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for option in (
        "--jitera-from",
        "--jitera-to",
        "--jitera-charts",
        "--jitera-values",
        "--jitera-kubeconfig",
        "--jitera-keep-cluster",
        "--jitera-report",
        "--jitera-kind-image",
        "--jitera-tools-dir",
    ):
        result.stdout.fnmatch_lines([f"*{option}*"])


def test_malformed_version_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--jitera-from=v24.5.1", "--jitera-to=v24.06.01")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*not a release version: 'v24.5.1'*", "*vYY.MM.DD*"])


def test_from_without_to_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--jitera-from=v24.05.01")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--jitera-from and --jitera-to go together*"])


def test_ini_values_and_sources_in_header(pytester: pytest.Pytester, catalog: Path) -> None:
    pytester.makeini(f"[pytest]\njitera_from = v24.05.01\njitera_to = v24.06.01\njitera_charts = {catalog}\n")
    pytester.makepyfile(
        """
        from pytest_jitera.release.versions import Version

        def test_config(jitera_config):
            assert jitera_config.starts == ("v24.05.01",)
            assert jitera_config.to_version == Version.parse("v24.06.01")
        """
    )
    result = pytester.runpytest("--jitera-to=v24.05.01.1", str(pytester.path))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["jitera: --jitera-from=v24.05.01 (ini file)", "jitera: --jitera-to=v24.05.01.1 (command line)"]
    )


def test_environment_beats_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\njitera_keep_cluster = false\n")
    monkeypatch.setenv("JITERA_KEEP_CLUSTER", "yes")
    pytester.makepyfile("def test_k(jitera_config):\n    assert jitera_config.keep_cluster is True\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_suite_passes_for_patch_hop(pytester: pytest.Pytester, catalog: Path) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    report = pytester.path / "report"
    result = pytester.runpytest(
        "--jitera-from=v24.05.01",
        "--jitera-to=v24.05.01.1",
        "--jitera-rollback=none",  # fake charts name no image to classify from
        f"--jitera-charts={catalog}",
        f"--jitera-report={report}",
        "-v",
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_chart_of_each_release_opens?v24.05.01->v24.05.01.1? PASSED*"])
    assert (report / "charts" / "v24.05.01" / "charts" / "jitera" / "Chart.yaml").exists()
    assert (report / "charts" / "v24.05.01.1" / "charts" / "jitera" / "Chart.yaml").exists()


def test_suite_fails_on_moved_override(pytester: pytest.Pytester, catalog: Path) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    values = pytester.path / "prod-values.yaml"
    values.write_text(yaml.safe_dump({"externalPostgres": {"host": "prod-db.internal"}}))
    result = pytester.runpytest(
        "--jitera-from=v24.05.01",
        "--jitera-to=v24.06.01",
        "--jitera-rollback=none",  # fake charts name no image to classify from
        f"--jitera-charts={catalog}",
        f"--jitera-values={values}",
        f"--jitera-report={pytester.path / 'r'}",
    )
    # a rehearsal without paths runs the shipped suites; the patch-only check is deselected
    result.assert_outcomes(
        passed=1, failed=1, deselected=1 + cluster_steps(1) + rollback_deselected(1, rollback="none")
    )
    result.stdout.fnmatch_lines(["*externalPostgres.host*moved to externalPostgres.primary.host*"])
    assert "prod-db.internal" not in result.stdout.str()


def test_skip_version_request_is_a_usage_error(pytester: pytest.Pytester, catalog: Path) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    result = pytester.runpytest(
        "--jitera-from=v24.06.01", "--jitera-to=v24.05.01", f"--jitera-charts={catalog}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*downgrade*"])


def test_catalog_is_loaded_once_per_run(
    pytester: pytest.Pytester, catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning loads the catalog before collection; the fixtures reuse that very one."""
    import pytest_jitera.release.catalog

    loaded: list[Path] = []
    real = pytest_jitera.release.catalog._from_folder

    def counting(folder: Path) -> object:
        loaded.append(folder)
        return real(folder)

    # Below load_catalog, so every caller is counted however it imported the function.
    monkeypatch.setattr(pytest_jitera.release.catalog, "_from_folder", counting)
    pytester.makepyfile(
        test_before_upgrade=SUITE.read_text(),
        test_catalog_use="""
        def test_plan_comes_from_the_catalog(jitera_catalog, jitera_plan):
            assert jitera_plan.hops[0].new in jitera_catalog.releases
        """,
    )
    result = pytester.runpytest(
        "--jitera-from=v24.05.01",
        "--jitera-to=v24.05.01.1",
        f"--jitera-charts={catalog}",
        f"--jitera-report={pytester.path / 'r'}",
        str(pytester.path),
    )
    result.assert_outcomes(passed=4)
    assert loaded == [catalog]


def test_suite_without_plan_is_skipped_with_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*pass --jitera-from and --jitera-to*"])


def test_suite_under_xdist(pytester: pytest.Pytester, catalog: Path) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    result = pytester.runpytest_subprocess(
        "-n2",
        "--jitera-from=v24.05.01",
        "--jitera-to=v24.05.01.1",
        "--jitera-rollback=none",  # fake charts name no image to classify from
        f"--jitera-charts={catalog}",
        f"--jitera-report={pytester.path / 'r'}",
    )
    result.assert_outcomes(passed=3)


def test_embedded_reference_series_is_the_default_catalog(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    values = pytester.path / "prod.yaml"
    values.write_text(yaml.safe_dump({"externalPostgres": {"host": "prod-db.internal"}}))
    result = pytester.runpytest(
        "--jitera-from=v24.05.01", "--jitera-to=v24.07.01", f"--jitera-values={values}",
        f"--jitera-report={pytester.path / 'r'}", "-v",
    )
    # each hop's rollback scenario is classified too (no cluster needed)
    result.assert_outcomes(passed=5, failed=1, deselected=2 + cluster_steps(2) + rollback_deselected(2))
    result.stdout.fnmatch_lines([
        "*test_overrides_still_apply?v24.05.01->v24.06.01? FAILED*",
        "*test_overrides_still_apply?v24.06.01->v24.07.01? PASSED*",
    ])
