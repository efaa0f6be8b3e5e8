"""Merging report folders into one matrix folder, and ``pytest-jitera report merge``.

Shards of a nightly matrix upload their folders separately; the merge must give the same
matrix as one unsharded run, fail the matrix for a case that left no report, and refuse
input it would misread or that could publish something outside the report (a link, an
output folder nested in a source) before it writes anything.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pytest_jitera.cli import main
from pytest_jitera.errors import InputError
from pytest_jitera.report import INDEX, SUMMARY, RunReport, StepResult, write_report
from pytest_jitera.report.matrix import MatrixSummary, case_folder
from pytest_jitera.report.merge import merge_reports, write_matrix

TARGET = "v24.08.01"


def _label(start: str, target: str = TARGET) -> str:
    return f"{start}=>{target}"


def _case(
    folder: Path, start: str, target: str = TARGET, *, status: str = "passed", seconds: float = 300.0
) -> Path:
    """A rehearsal's report folder, written the way the plugin writes it, with one artifact."""
    hop = f"{start}->{target}"
    log = f"{hop}/helm.log"
    report = RunReport(
        product="jitera",
        path=(start, target),
        started=1_720_000_000.0,
        finished=1_720_000_000.0 + seconds,
        cluster="kind",
        namespace="jitera",
        helm="helm 3",
        steps=(
            StepResult("", "install source release", "t::install", "passed", 5.0),
            StepResult(hop, "helm upgrade", f"t::upgrade[{hop}]", status, 9.0, artifacts=(log,)),
        ),
    )
    write_report(folder, report)
    (folder / hop).mkdir()
    (folder / hop / "helm.log").write_text("upgraded\n")
    return folder


def _shard(root: Path, starts: list[str], shard: str, *, written: list[str] | None = None) -> Path:
    """A shard's matrix folder: its planned cases, of which ``written`` (all by default) finished."""
    labels = [_label(start) for start in starts]
    for start in starts if written is None else written:
        _case(root / case_folder(_label(start)), start)
    write_matrix(root, labels, shards=(shard,) if shard else ())
    return root


def _summary(folder: Path) -> MatrixSummary:
    return MatrixSummary.from_json((folder / SUMMARY).read_text())


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- what a merge gives --------------------------------------------------------------------


def test_two_shards_merge_into_the_same_cases_as_one_unsharded_run(tmp_path: Path) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01", "v24.07.01"], "1/2")
    two = _shard(tmp_path / "shard-2", ["v24.06.01"], "2/2")
    whole = _shard(tmp_path / "whole", ["v24.05.01", "v24.06.01", "v24.07.01"], "")

    sharded = merge_reports([one, two], tmp_path / "merged")
    unsharded = merge_reports([whole], tmp_path / "merged-whole")

    assert sharded.cases == unsharded.cases
    assert [c.start for c in sharded.cases] == ["v24.05.01", "v24.06.01", "v24.07.01"]
    assert sharded.shards == ("1/2", "2/2")
    assert unsharded.shards == ()
    assert sharded.outcome == "passed"
    assert _summary(tmp_path / "merged") == sharded


def test_each_case_folder_is_copied_whole_under_its_case_name(tmp_path: Path) -> None:
    source = _case(tmp_path / "downloaded-artifact-17", "v24.06.01")
    out = tmp_path / "matrix"
    merge_reports([source], out)
    copied = out / f"v24.06.01-to-{TARGET}"
    assert _tree(copied) == _tree(source)
    assert (copied / f"v24.06.01->{TARGET}" / "helm.log").read_text() == "upgraded\n"
    assert (out / INDEX).is_file()
    assert json.loads((out / SUMMARY).read_text())["kind"] == "matrix"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_a_single_case_folder_is_labelled_by_its_path(tmp_path: Path) -> None:
    summary = merge_reports([_case(tmp_path / "a", "v24.06.01")], tmp_path / "out")
    assert [c.label for c in summary.cases] == [_label("v24.06.01")]


def test_merging_again_replaces_the_old_copies(tmp_path: Path) -> None:
    out = tmp_path / "out"
    merge_reports([_case(tmp_path / "a", "v24.06.01", status="failed")], out)
    shutil.rmtree(tmp_path / "a")
    summary = merge_reports([_case(tmp_path / "a", "v24.06.01")], out)
    assert summary.outcome == "passed"
    copied = out / case_folder(_label("v24.06.01")) / SUMMARY
    assert RunReport.from_json(copied.read_text()).outcome == "passed"


def test_an_output_that_is_a_matrix_source_is_merged_in_place(tmp_path: Path) -> None:
    out = _shard(tmp_path / "shard-1", ["v24.05.01"], "1/2")
    two = _shard(tmp_path / "shard-2", ["v24.06.01"], "2/2")
    summary = merge_reports([out, two], out)
    assert [c.start for c in summary.cases] == ["v24.05.01", "v24.06.01"]
    assert (out / case_folder(_label("v24.06.01")) / INDEX).is_file()


def test_case_folders_already_in_the_output_are_left_where_they_are(tmp_path: Path) -> None:
    """How a run writes its own matrix: the cases are in place, only the top is new."""
    out = tmp_path / "report"
    folders = [_case(out / case_folder(_label(s)), s) for s in ("v24.05.01", "v24.06.01")]
    before = [_tree(folder) for folder in folders]
    summary = merge_reports(folders, out, expected=[_label("v24.05.01"), _label("v24.06.01")])
    assert summary.outcome == "passed"
    assert [_tree(folder) for folder in folders] == before


# --- missing cases -------------------------------------------------------------------------


def test_an_expected_case_without_a_report_is_missing_and_fails_the_matrix(tmp_path: Path) -> None:
    expected = [_label("v24.05.01"), _label("v24.06.01")]
    summary = merge_reports([_case(tmp_path / "a", "v24.06.01")], tmp_path / "out", expected=expected)
    assert [(c.start, c.outcome) for c in summary.cases] == [
        ("v24.05.01", "missing"),
        ("v24.06.01", "passed"),
    ]
    assert summary.outcome == "failed"
    assert "missing: no report for" in (tmp_path / "out" / INDEX).read_text()


def test_a_crashed_worker_in_a_shard_stays_missing_through_the_merge(tmp_path: Path) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01", "v24.07.01"], "1/2", written=["v24.07.01"])
    two = _shard(tmp_path / "shard-2", ["v24.06.01"], "2/2")
    summary = merge_reports([one, two], tmp_path / "out")
    assert summary.counts() == {"passed": 2, "failed": 0, "missing": 1}
    assert summary.outcome == "failed"


def test_a_case_folder_that_lost_its_summary_is_missing(tmp_path: Path) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01"], "1/1")
    (one / case_folder(_label("v24.05.01")) / SUMMARY).unlink()
    assert merge_reports([one], tmp_path / "out").cases[0].outcome == "missing"


def test_a_rerun_of_the_missing_case_fills_the_gap(tmp_path: Path) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01", "v24.07.01"], "1/2", written=["v24.07.01"])
    rerun = _case(tmp_path / "rerun", "v24.05.01")
    summary = merge_reports([one, rerun], tmp_path / "out")
    assert summary.outcome == "passed"


# --- refused input -------------------------------------------------------------------------


def _refused(sources: list[Path], out: Path, *match: str) -> InputError:
    with pytest.raises(InputError) as caught:
        merge_reports(sources, out)
    for text in match:
        assert text in str(caught.value)
    assert caught.value.hint
    return caught.value


def test_the_same_case_in_two_sources_is_refused_naming_both(tmp_path: Path) -> None:
    a, b = _case(tmp_path / "a", "v24.06.01"), _case(tmp_path / "b", "v24.06.01")
    _refused([a, b], tmp_path / "out", "reported twice", str(a), str(b))
    assert not (tmp_path / "out").exists()


def test_overlapping_shards_are_refused(tmp_path: Path) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01"], "1/2")
    two = _shard(tmp_path / "shard-2", ["v24.05.01"], "2/2")
    _refused([one, two], tmp_path / "out", "reported twice")


def test_reports_for_different_targets_are_refused(tmp_path: Path) -> None:
    a = _case(tmp_path / "a", "v24.06.01")
    b = _case(tmp_path / "b", "v24.06.01", target="v24.09.01")
    _refused([a, b], tmp_path / "out", "different targets", TARGET, "v24.09.01")


def test_a_symlink_in_a_case_folder_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("not part of the report\n")
    a = _case(tmp_path / "a", "v24.06.01")
    (a / "leak.txt").symlink_to(secret)
    _refused([a], tmp_path / "out", "symbolic link", "leak.txt")
    assert not (tmp_path / "out").exists()


def test_a_symlinked_folder_in_a_case_folder_is_refused(tmp_path: Path) -> None:
    a = _case(tmp_path / "a", "v24.06.01")
    (a / "etc").symlink_to("/etc")
    _refused([a], tmp_path / "out", "symbolic link")


def test_a_symlinked_case_folder_in_a_matrix_is_refused(tmp_path: Path) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01"], "1/1")
    name = case_folder(_label("v24.05.01"))
    shutil.move(one / name, tmp_path / "real")
    (one / name).symlink_to(tmp_path / "real")
    _refused([one], tmp_path / "out", "symbolic link")


def test_a_symlinked_summary_is_refused(tmp_path: Path) -> None:
    a = _case(tmp_path / "a", "v24.06.01")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / SUMMARY).symlink_to(a / SUMMARY)
    _refused([tmp_path / "b"], tmp_path / "out", "not a plain file")


def test_an_output_inside_a_source_is_refused(tmp_path: Path) -> None:
    a = _case(tmp_path / "a", "v24.06.01")
    _refused([a], a / "merged", "inside the source")
    one = _shard(tmp_path / "shard-1", ["v24.05.01"], "1/1")
    _refused([one], one / case_folder(_label("v24.05.01")) / "x", "inside the source")


def test_a_source_inside_the_output_is_refused_unless_it_is_the_case_own_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stray = _case(out / "some-folder", "v24.06.01")
    _refused([stray], out, "inside the output")
    one = _shard(out / "shard-1", ["v24.05.01"], "1/1")
    _refused([one], out, "inside the output")


def test_an_output_that_is_a_single_rehearsal_folder_is_refused(tmp_path: Path) -> None:
    a = _case(tmp_path / "a", "v24.06.01")
    _refused([a], a, "single rehearsal's report folder")
    assert RunReport.from_json((a / SUMMARY).read_text()).path == ("v24.06.01", TARGET)


def test_an_output_left_by_an_earlier_single_rehearsal_is_taken_over(tmp_path: Path) -> None:
    """As a rerun overwrites its report folder: switching the same folder to a matrix must work."""
    out = _case(tmp_path / "jitera-report", "v24.05.01")
    summary = merge_reports([_case(tmp_path / "a", "v24.06.01")], out)
    assert _summary(out) == summary


def test_a_source_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    _refused([tmp_path / "nope"], tmp_path / "out", "does not exist")


def test_a_source_without_a_summary_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _refused([tmp_path / "empty"], tmp_path / "out", "has no summary.json")


@pytest.mark.parametrize(
    ("text", "match"),
    [("{\"format\": 1", "is not valid JSON"), ("[]", "is not an object"), ("\xff", "not valid JSON")],
)
def test_an_unreadable_summary_is_refused_naming_the_file(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / SUMMARY).write_text(text)
    _refused([tmp_path / "bad"], tmp_path / "out", str(tmp_path / "bad" / SUMMARY), match)


def test_a_summary_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / SUMMARY).write_bytes(b"\xff\xfe{")
    _refused([tmp_path / "bad"], tmp_path / "out", "not UTF-8")


def test_a_matrix_folder_that_names_a_case_by_another_label_is_refused(tmp_path: Path) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01"], "1/1")
    folder = one / case_folder(_label("v24.05.01"))
    shutil.rmtree(folder)
    _case(folder, "v24.06.01")
    _refused([one], tmp_path / "out", "holds the report of v24.06.01=>v24.08.01")


def test_an_expected_label_must_be_a_case_label(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="START=>TARGET"):
        merge_reports([_case(tmp_path / "a", "v24.06.01")], tmp_path / "out", expected=["v24.05.01"])


def test_nothing_to_merge_is_refused(tmp_path: Path) -> None:
    _refused([], tmp_path / "out", "no case to merge")


# --- the previous run ----------------------------------------------------------------------


def test_previous_adds_the_trend_to_the_page(tmp_path: Path) -> None:
    old = _case(tmp_path / "old", "v24.06.01", status="failed", seconds=200.0)
    assert merge_reports([old], tmp_path / "m1").outcome == "failed"
    new = _case(tmp_path / "new", "v24.06.01", seconds=250.0)
    merge_reports([new], tmp_path / "m2", previous=tmp_path / "m1" / SUMMARY)
    page = (tmp_path / "m2" / INDEX).read_text()
    assert "was failed, now passed, +25%" in page


def test_previous_may_be_the_output_summary_itself(tmp_path: Path) -> None:
    out = tmp_path / "m"
    merge_reports([_case(tmp_path / "old", "v24.06.01", seconds=200.0)], out)
    shutil.rmtree(tmp_path / "old")
    merge_reports([_case(tmp_path / "old", "v24.06.01", seconds=100.0)], out, previous=out / SUMMARY)
    assert "still passed, -50%" in (out / INDEX).read_text()


def test_a_missing_previous_summary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="previous summary"):
        merge_reports([_case(tmp_path / "a", "v24.06.01")], tmp_path / "out", previous=tmp_path / "none.json")
    assert not (tmp_path / "out").exists()


# --- the command ---------------------------------------------------------------------------


def _clean_error(err: str, *expected: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: ")
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in err
    for text in expected:
        assert text in err


def test_cli_merges_prints_a_line_per_case_and_exits_0_when_all_passed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01"], "1/2")
    two = _shard(tmp_path / "shard-2", ["v24.06.01"], "2/2")
    out = tmp_path / "merged"
    assert main(["report", "merge", str(one), str(two), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [_label("v24.05.01"), "passed", "5", "min", "00", "s"]
    assert lines[1].split()[:2] == [_label("v24.06.01"), "passed"]
    assert lines[-1] == f"report (passed): {out.resolve() / INDEX}"
    assert _summary(out).shards == ("1/2", "2/2")


def test_cli_exits_1_when_a_case_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _case(tmp_path / "a", "v24.06.01", status="failed")
    assert main(["report", "merge", str(a), "--out", str(tmp_path / "out")]) == 1
    assert f"{_label('v24.06.01')}  failed" in capsys.readouterr().out


def test_cli_exits_1_when_a_case_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = _shard(tmp_path / "shard-1", ["v24.05.01", "v24.07.01"], "1/2", written=["v24.07.01"])
    assert main(["report", "merge", str(one), "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert f"{_label('v24.05.01')}  missing  no report" in out
    assert "1 passed, 1 missing" in out


@pytest.mark.parametrize("case", ["duplicate", "targets", "symlink", "inside", "absent"])
def test_cli_bad_input_exits_2_with_error_and_hint_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    a = _case(tmp_path / "a", "v24.06.01")
    out = tmp_path / "out"
    sources = {
        "duplicate": [a, _case(tmp_path / "b", "v24.06.01")],
        "targets": [a, _case(tmp_path / "b", "v24.06.01", target="v24.09.01")],
        "symlink": [a],
        "inside": [a],
        "absent": [tmp_path / "nope"],
    }[case]
    if case == "symlink":
        os.symlink("/etc/hostname", a / "hostname")
    if case == "inside":
        out = a / "out"
    assert main(["report", "merge", *map(str, sources), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    _clean_error(captured.err)


def test_cli_out_that_is_a_file_is_refused_as_an_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    source = _case(tmp_path / "a", "v24.06.01")
    assert main(["report", "merge", str(source), "--out", str(tmp_path / "file")]) == 2
    _clean_error(capsys.readouterr().err, "--out")


def test_cli_needs_an_action_and_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["report"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["report", "merge", "--out", "x"])
    assert caught.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_page_links_each_cell_to_its_case_and_shows_the_trend_with_previous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _shard(tmp_path / "old", ["v24.05.01", "v24.06.01"], "")
    new = tmp_path / "new"
    _case(tmp_path / "n1", "v24.05.01", status="failed", seconds=330.0)
    _case(tmp_path / "n2", "v24.06.01")
    code = main(
        ["report", "merge", str(tmp_path / "n1"), str(tmp_path / "n2"), "--out", str(new),
         "--previous", str(old / SUMMARY)]
    )
    assert code == 1
    page = (new / INDEX).read_text()
    for start in ("v24.05.01", "v24.06.01"):
        href = f'href="./{start}-to-{TARGET}/index.html"'
        assert page.count(href) == 2  # the case cell and its one hop
        assert (new / f"{start}-to-{TARGET}" / INDEX).is_file()
    assert "was passed, now failed, +10%" in page
    assert "still passed, ±0%" in page
    assert capsys.readouterr().out.splitlines()[-1].startswith("report (failed): ")


def test_cli_previous_that_does_not_exist_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _case(tmp_path / "a", "v24.06.01")
    args = ["report", "merge", str(a), "--out", str(tmp_path / "out"), "--previous", str(tmp_path / "x.json")]
    assert main(args) == 2
    _clean_error(capsys.readouterr().err, "previous summary")


def test_cli_help_lists_the_report_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "merge", "--help"])
    assert "--previous SUMMARY_JSON" in capsys.readouterr().out
