"""Matrix runs as users meet them: several start versions against one target, shards, xdist.

The suite here is the shipped chart checks (no cluster needed), so every case really runs:
its charts are opened and diffed per hop, its report folder written, the matrix merged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_jitera.cli import main

SUITE = Path(__file__).parents[1] / "suites" / "test_before_upgrade.py"
CHECKS_PER_HOP = 2  # the chart checks of test_before_upgrade.py that run on every hop


def _run(pytester: pytest.Pytester, charts: Path, report: Path, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    return pytester.runpytest(
        "--jitera-to=v24.07.01",
        "--jitera-rollback=none",  # fake charts name no image to classify from
        f"--jitera-charts={charts}",
        f"--jitera-report={report}",
        "-p", "no:cacheprovider",
        *args,
    )


def _summary(report: Path) -> dict[str, object]:
    data = json.loads((report / "summary.json").read_text())
    assert isinstance(data, dict)
    return data


def _cases(report: Path) -> list[tuple[str, str]]:
    cases = _summary(report)["cases"]
    assert isinstance(cases, list)
    return [(case["label"], case["outcome"]) for case in cases]


def test_ids_carry_the_case_and_the_hop(pytester: pytest.Pytester, charts: Path) -> None:
    starts = "--jitera-from=v24.06.01,v24.05.01.1"
    result = _run(pytester, charts, pytester.path / "r", starts, "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "*test_chart_of_each_release_opens?v24.05.01.1=>v24.07.01??v24.05.01.1->v24.06.01?",
        "*test_chart_of_each_release_opens?v24.05.01.1=>v24.07.01??v24.06.15->v24.07.01?",
        "*test_chart_of_each_release_opens?v24.06.01=>v24.07.01??v24.06.01->v24.06.15?",
    ])
    assert not (pytester.path / "r").exists()  # collecting rehearses nothing: no report
    # oldest start first, each case's hops in path order
    ids = [line for line in result.stdout.lines if "test_chart_of_each_release_opens" in line]
    assert ids == sorted(ids, key=lambda line: ("v24.06.01=>" in line, "v24.06.15->" in line))


def test_each_case_gets_a_report_folder_and_the_matrix_page(pytester: pytest.Pytester, charts: Path) -> None:
    report = pytester.path / "r"
    result = _run(pytester, charts, report, "--jitera-from=last:2")
    result.assert_outcomes(passed=CHECKS_PER_HOP * (2 + 1))
    # v24.06.01 and v24.06.15 are the two minors before v24.07.01 (each dated release is one)
    assert _cases(report) == [("v24.06.01=>v24.07.01", "passed"), ("v24.06.15=>v24.07.01", "passed")]
    assert _summary(report)["kind"] == "matrix"
    for folder in ("v24.06.01-to-v24.07.01", "v24.06.15-to-v24.07.01"):
        case = json.loads((report / folder / "summary.json").read_text())
        assert case["outcome"] == "passed"
        assert f'href="./{folder}/index.html"' in (report / "index.html").read_text()
    result.stdout.fnmatch_lines(["*matrix report (passed): *index.html"])


def test_more_minors_than_exist_is_a_usage_error(pytester: pytest.Pytester, charts: Path) -> None:
    result = _run(pytester, charts, pytester.path / "r", "--jitera-from=last:4")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--jitera-from=last:4 asks for 4 minors before v24.07.01*has 3*"])
    assert "Traceback" not in result.stderr.str()
    assert not (pytester.path / "r").exists()


@pytest.mark.parametrize(
    ("shard", "message"),
    [
        ("3/2", "*K must be between 1 and N*"),
        ("half", "*--jitera-shard='half' is not K/N*"),
        ("3/3", "*--jitera-shard=3/3 holds no rehearsal: the matrix has 2*"),
    ],
)
def test_bad_shard_is_a_usage_error(
    pytester: pytest.Pytester, charts: Path, shard: str, message: str
) -> None:
    result = _run(pytester, charts, pytester.path / "r", "--jitera-from=last:2", f"--jitera-shard={shard}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_two_shards_merged_equal_the_unsharded_run(
    pytester: pytest.Pytester, charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    starts = "--jitera-from=v24.05.01,v24.05.01.1,v24.06.01"
    whole = pytester.path / "whole"
    # v24.05.01 goes straight to v24.06.01 (the patch is not a stop on the way): 3, 3 and 2 hops
    _run(pytester, charts, whole, starts).assert_outcomes(passed=CHECKS_PER_HOP * (3 + 3 + 2))
    one, two = pytester.path / "shard1", pytester.path / "shard2"
    _run(pytester, charts, one, starts, "--jitera-shard=1/2").assert_outcomes(passed=CHECKS_PER_HOP * (3 + 2))
    _run(pytester, charts, two, starts, "--jitera-shard=2/2").assert_outcomes(passed=CHECKS_PER_HOP * 3)
    assert [label for label, _ in _cases(one)] == ["v24.05.01=>v24.07.01", "v24.06.01=>v24.07.01"]
    merged = pytester.path / "merged"
    assert main(["report", "merge", str(one), str(two), "--out", str(merged)]) == 0
    assert _cases(merged) == _cases(whole)
    assert "v24.05.01.1=>v24.07.01" in capsys.readouterr().out


def test_matrix_under_xdist_keeps_each_case_on_one_worker(pytester: pytest.Pytester, charts: Path) -> None:
    pytest.importorskip("xdist")
    report = pytester.path / "r"
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    result = pytester.runpytest_subprocess(
        "-n2", "--jitera-from=last:2", "--jitera-to=v24.07.01", "--jitera-rollback=none",
        f"--jitera-charts={charts}", f"--jitera-report={report}", "-p", "no:cacheprovider", "-v",
    )
    result.assert_outcomes(passed=CHECKS_PER_HOP * 3)
    assert _cases(report) == [("v24.06.01=>v24.07.01", "passed"), ("v24.06.15=>v24.07.01", "passed")]
    workers: dict[str, set[str]] = {}
    for line in result.stdout.lines:
        found = re.match(r"\[(gw\d+)\] .* PASSED \S+?\[([^\]]+=>[^\]]+)\]", line)
        if found:
            workers.setdefault(found.group(2), set()).add(found.group(1))
    assert set(workers) == {"v24.06.01=>v24.07.01", "v24.06.15=>v24.07.01"}
    assert all(len(ran_on) == 1 for ran_on in workers.values()), workers


def test_a_dist_mode_that_splits_rehearsals_is_refused(pytester: pytest.Pytester, charts: Path) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    result = pytester.runpytest_subprocess(
        "-n2", "--dist=each", "--jitera-from=last:2", "--jitera-to=v24.07.01",
        f"--jitera-charts={charts}", f"--jitera-report={pytester.path / 'r'}",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--dist=each would split a rehearsal's steps across workers*"])


def test_the_ci_example_shards_the_matrix_and_merges_the_reports() -> None:
    import yaml

    example = Path(__file__).parents[1] / "examples" / "github-actions-matrix.yml"
    workflow = yaml.safe_load(example.read_text())
    rehearse, merge = workflow["jobs"]["rehearse"], workflow["jobs"]["merge"]
    shards = rehearse["strategy"]["matrix"]["shard"]
    run = "\n".join(step.get("run", "") for step in rehearse["steps"])
    assert f"--jitera-shard=${{{{ matrix.shard }}}}/{len(shards)}" in run
    assert "--jitera-report=report" in run
    uploads = [s for s in rehearse["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads
    assert uploads[0]["with"]["path"] == "rehearsal/report"
    assert merge["needs"] == "rehearse"
    assert any("pytest-jitera report merge shards/* --out" in step.get("run", "") for step in merge["steps"])


def test_an_unknown_cluster_mode_is_a_usage_error(pytester: pytest.Pytester, charts: Path) -> None:
    result = _run(pytester, charts, pytester.path / "r", "--jitera-from=last:2", "--jitera-cluster=one")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--jitera-cluster: 'one' is not one of per-worker, shared*"])


def test_a_shared_cluster_is_made_only_for_a_rehearsal_on_a_cluster(
    pytester: pytest.Pytester, charts: Path
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_before_upgrade=SUITE.read_text())
    # --jitera-no-cluster (set for every pytester run here): the chart checks pass, no cluster is made
    result = pytester.runpytest_subprocess(
        "-n2", "--jitera-cluster=shared", "--jitera-from=last:2", "--jitera-to=v24.07.01",
        "--jitera-rollback=none", f"--jitera-charts={charts}", f"--jitera-report={pytester.path / 'r'}",
    )
    result.assert_outcomes(passed=CHECKS_PER_HOP * 3)
    assert "shared kind cluster" not in result.stdout.str() + result.stderr.str()
