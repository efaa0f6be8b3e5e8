"""The matrix summary: what it keeps of each case, its JSON, and the page a release engineer opens.

The matrix answers "is every supported start version safe to upgrade to the candidate?", so the
tests hold it to that: a missing or failed case never lets it read green, the JSON refuses what
it would misread, and every cell of the page leads to the case it summarises.
"""

from __future__ import annotations

import itertools
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from pytest_jitera.errors import InputError
from pytest_jitera.redact import MASK
from pytest_jitera.report.matrix import (
    MISSING_NOTE,
    NOT_REHEARSED,
    CaseHop,
    CaseSummary,
    MatrixSummary,
    NotAMatrixError,
    case_folder,
    case_summary,
    read_summary,
    split_label,
)
from pytest_jitera.report.matrix_html import render_matrix_html, trend
from pytest_jitera.report.model import (
    ClassificationReport,
    HopReport,
    RollbackReport,
    RunReport,
    StepResult,
)

TARGET = "v24.08.01"
PASSWORD = "Zq7-matrix-Pa55-3f0a"
HOSTILE = '<script>alert("x")</script>'


def _hop(old: str, new: str, **changes: Any) -> HopReport:
    fields: dict[str, Any] = {
        "name": f"{old}->{new}",
        "old": old,
        "new": new,
        "kind": "minor",
        "started": 1_720_000_000.0,
        "seconds": 100.0,
    }
    fields.update(changes)
    return HopReport(**fields)


def _run(
    *path: str, failed: str = "", hops: tuple[HopReport, ...] | None = None, **changes: Any
) -> RunReport:
    """A rehearsal along ``path``: one step per hop, the hop named ``failed`` failing."""
    names = [f"{a}->{b}" for a, b in itertools.pairwise(path)]
    steps = [StepResult("", "install source release", "t::install", "passed", 5.0)]
    steps += [
        StepResult(name, "helm upgrade", f"t::upgrade[{name}]", "failed" if name == failed else "passed", 9.0)
        for name in names
    ]
    fields: dict[str, Any] = {
        "product": "jitera",
        "path": path,
        "started": 1_720_000_000.0,
        "finished": 1_720_000_300.0,
        "cluster": "kind",
        "namespace": "jitera",
        "helm": "helm 3",
        "steps": tuple(steps),
        "hops": hops if hops is not None else tuple(_hop(a, b) for a, b in itertools.pairwise(path)),
    }
    fields.update(changes)
    return RunReport(**fields)


def _case(start: str, report: RunReport | None, target: str = TARGET) -> CaseSummary:
    label = f"{start}=>{target}"
    return case_summary(label, case_folder(label), report)


def _matrix(*cases: CaseSummary, shards: tuple[str, ...] = ()) -> MatrixSummary:
    return MatrixSummary(TARGET, cases, shards)


PASSING = _case("v24.06.01", _run("v24.06.01", "v24.07.01", TARGET))
LONG = ("v24.05.01", "v24.06.01", "v24.07.01", TARGET)
FAILING = _case("v24.05.01", _run(*LONG, failed="v24.06.01->v24.07.01"))
MISSING = _case("v24.04.01", None)


class _Links(HTMLParser):
    """Every link with the text of the table row it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


def _hrefs(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


def _row(page: str, start: str) -> str:
    rows = [row for row in page.split("<tr>") if f">{start}</th>" in row]
    assert len(rows) == 1, rows
    return rows[0].split("</tr>")[0]


# --- labels and folders --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "folder"),
    [
        ("v24.05.01=>v24.08.01", "v24.05.01-to-v24.08.01"),
        ("v24.05.01.2=>v24.08.01", "v24.05.01.2-to-v24.08.01"),
        ("a b/c\\d=>e", "a_b_c_d-to-e"),
        ("../..", ".._.."),
        ("..", "__"),
        ("", "_"),
    ],
)
def test_case_folder_is_one_safe_name(label: str, folder: str) -> None:
    assert case_folder(label) == folder


@pytest.mark.parametrize("label", ["v24.05.01->v24.08.01", "v24.05.01=>", " v24.05.01=>v24.08.01", "a=>b=>c"])
def test_a_label_that_is_not_start_to_target_is_refused(label: str) -> None:
    with pytest.raises(InputError, match="START=>TARGET") as caught:
        split_label(label)
    assert caught.value.hint


# --- one case ------------------------------------------------------------------------------


def test_a_case_keeps_outcome_duration_path_and_each_hop() -> None:
    case = PASSING
    assert (case.label, case.start, case.target) == (f"v24.06.01=>{TARGET}", "v24.06.01", TARGET)
    assert case.folder == f"v24.06.01-to-{TARGET}"
    assert (case.outcome, case.seconds) == ("passed", 300.0)
    assert case.path == ("v24.06.01", "v24.07.01", TARGET)
    assert [(h.name, h.outcome, h.seconds) for h in case.hops] == [
        ("v24.06.01->v24.07.01", "passed", 100.0),
        (f"v24.07.01->{TARGET}", "passed", 100.0),
    ]


def test_a_hop_fails_when_one_of_its_steps_did_not_pass() -> None:
    assert FAILING.outcome == "failed"
    assert [h.outcome for h in FAILING.hops] == ["passed", "failed", "passed"]


def test_a_hop_with_no_recorded_step_is_not_a_pass() -> None:
    report = _run("v24.07.01", TARGET, steps=(StepResult("", "install", "t::i", "passed", 1.0),))
    assert [h.outcome for h in _case("v24.07.01", report).hops] == ["failed"]


def test_a_hop_only_its_steps_name_still_gets_a_failed_cell() -> None:
    """A hop that crashed before it was measured must not vanish from the row."""
    report = _run("v24.07.01", TARGET, failed=f"v24.07.01->{TARGET}", hops=())
    (hop,) = _case("v24.07.01", report).hops
    assert (hop.name, hop.outcome, hop.seconds, hop.scenario) == (f"v24.07.01->{TARGET}", "failed", 9.0, None)


def test_rollbacks_are_procedure_outcome_pairs_and_a_chosen_one_that_never_ran_says_so() -> None:
    hop = _hop(
        "v24.07.01",
        TARGET,
        scenario="3 (forced)",
        classification=ClassificationReport(3, 1, True, "restore", procedures=("helm-rollback", "restore")),
        rollbacks=(RollbackReport("helm-rollback", 3, "passed", 10.0, 40.0),),
    )
    (found,) = _case("v24.07.01", _run("v24.07.01", TARGET, hops=(hop,))).hops
    assert found.scenario == "3 (forced)"
    assert found.rollbacks == (("helm-rollback", "passed"), ("restore", NOT_REHEARSED))


def test_a_missing_case_is_missing_and_says_why() -> None:
    assert (MISSING.outcome, MISSING.seconds, MISSING.hops, MISSING.path) == ("missing", 0.0, (), ())
    assert MISSING.notes == (MISSING_NOTE,)


def test_a_report_of_another_case_is_refused() -> None:
    with pytest.raises(InputError, match=r"is the report of v24\.06\.01=>v24\.08\.01") as caught:
        _case("v24.05.01", _run("v24.06.01", TARGET))
    assert caught.value.hint


@pytest.mark.parametrize("folder", ["../x", "a/b", "..", "", "x y"])
def test_a_case_folder_must_be_one_plain_name(folder: str) -> None:
    with pytest.raises(InputError, match="plain folder name"):
        case_summary(f"v24.06.01=>{TARGET}", folder, None)


def test_notes_are_masked_again() -> None:
    report = _run("v24.07.01", TARGET, notes=(f"PGPASSWORD={PASSWORD}",))
    (note,) = _case("v24.07.01", report).notes
    assert PASSWORD not in note
    assert MASK in note


# --- the matrix ----------------------------------------------------------------------------


def test_cases_are_ordered_by_version_not_by_text() -> None:
    late, early = _case("v24.07.01.10", None), _case("v24.07.01.9", None)
    summary = _matrix(late, PASSING, early, FAILING)
    assert [c.start for c in summary.cases] == ["v24.05.01", "v24.06.01", "v24.07.01.9", "v24.07.01.10"]


@pytest.mark.parametrize(
    ("cases", "outcome"),
    [
        ((PASSING,), "passed"),
        ((PASSING, FAILING), "failed"),
        ((PASSING, MISSING), "failed"),
        ((), "failed"),
    ],
)
def test_the_matrix_passes_only_when_every_case_passed(cases: tuple[CaseSummary, ...], outcome: str) -> None:
    assert _matrix(*cases).outcome == outcome


def test_counts_name_every_outcome() -> None:
    assert _matrix(PASSING, FAILING, MISSING).counts() == {"passed": 1, "failed": 1, "missing": 1}


def test_shards_are_kept_once_in_numeric_order() -> None:
    assert _matrix(PASSING, shards=("10/12", "2/12", "2/12")).shards == ("2/12", "10/12")


def test_a_shard_absent_from_the_merge_is_named_on_the_page() -> None:
    summary = _matrix(PASSING, shards=("1/3", "3/3"))
    assert summary.missing_shards() == ("2/3",)
    assert "NOT MERGED: 2/3" in render_matrix_html(summary)
    assert _matrix(PASSING, shards=("1/2", "2/2")).missing_shards() == ()


@pytest.mark.parametrize("shard", ["0/2", "3/2", "1-2", "1/0"])
def test_a_bad_shard_is_refused(shard: str) -> None:
    with pytest.raises(InputError, match="K/N"):
        _matrix(PASSING, shards=(shard,))


def test_a_case_for_another_target_is_refused() -> None:
    other = _case("v24.06.01", None, target="v24.09.01")
    with pytest.raises(InputError, match=r"but the matrix's target is v24\.08\.01"):
        _matrix(PASSING, other)


def test_a_case_listed_twice_is_refused() -> None:
    with pytest.raises(InputError, match="listed twice"):
        _matrix(PASSING, PASSING)


# --- summary.json --------------------------------------------------------------------------


def test_json_round_trips() -> None:
    summary = _matrix(PASSING, FAILING, MISSING, shards=("1/2",))
    assert MatrixSummary.from_json(summary.to_json()) == summary
    assert read_summary(summary.to_json()) == summary


def test_json_shape_for_tools() -> None:
    hop = _hop("v24.07.01", TARGET, rollbacks=(RollbackReport("helm-rollback", 1, "passed", 1.0, 2.0),))
    case = _case("v24.07.01", _run("v24.07.01", TARGET, hops=(hop,)))
    data = json.loads(_matrix(case, MISSING, shards=("1/2",)).to_json())
    assert {k: data[k] for k in ("format", "kind", "outcome", "target", "shards", "counts")} == {
        "format": 1,
        "kind": "matrix",
        "outcome": "failed",
        "target": TARGET,
        "shards": ["1/2"],
        "counts": {"passed": 1, "failed": 0, "missing": 1},
    }
    assert [c["label"] for c in data["cases"]] == [f"v24.04.01=>{TARGET}", f"v24.07.01=>{TARGET}"]
    assert data["cases"][1]["folder"] == f"v24.07.01-to-{TARGET}"
    assert data["cases"][1]["hops"][0]["rollbacks"] == [{"procedure": "helm-rollback", "outcome": "passed"}]


def test_a_single_rehearsal_summary_is_told_apart() -> None:
    report = _run("v24.07.01", TARGET)
    with pytest.raises(NotAMatrixError) as caught:
        MatrixSummary.from_json(report.to_json())
    assert isinstance(caught.value, InputError)
    assert caught.value.hint
    assert read_summary(report.to_json()) == report


def _edited(edit: Any) -> str:
    data = _matrix(PASSING, FAILING, MISSING).to_dict()
    edit(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (lambda d: d.update(kind="report"), "matrix.kind"),
        (lambda d: d.update(format=2), "format 2"),
        (lambda d: d.update(target="24.08"), "matrix.target"),
        (lambda d: d.update(shards=["1/0"]), "matrix.shards[0]"),
        (lambda d: d["cases"][0].update(outcome="skipped"), "matrix.cases[0].outcome"),
        (lambda d: d["cases"][0].update(seconds="long"), "matrix.cases[0].seconds"),
        (lambda d: d["cases"][0].update(folder="../../etc"), "plain folder name"),
        (lambda d: d["cases"][1]["hops"][0].update(outcome="missing"), "matrix.cases[1].hops[0].outcome"),
        (lambda d: d["cases"][1]["hops"][0].update(rollbacks=[["a", "b"]]), "rollbacks[0] is not an object"),
        (lambda d: d["cases"].append(d["cases"][0]), "listed twice"),
        (lambda d: d["cases"][0].update(label="v24.04.01=>v24.09.01"), "disagree with the label"),
        (lambda d: d.update(cases={}), "matrix.cases must be a list"),
    ],
)
def test_reading_refuses_a_malformed_matrix_and_names_the_field(edit: Any, names: str) -> None:
    with pytest.raises(InputError, match=re.escape(names)) as caught:
        MatrixSummary.from_json(_edited(edit))
    assert caught.value.hint


def test_reading_refuses_truncated_json() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        MatrixSummary.from_json(_matrix(PASSING).to_json()[:-30])


def test_the_stored_outcome_is_not_trusted() -> None:
    text = _edited(lambda d: d.update(outcome="passed"))
    assert MatrixSummary.from_json(text).outcome == "failed"


# --- the page ------------------------------------------------------------------------------


def test_the_headline_gives_the_outcome_and_the_counts() -> None:
    page = render_matrix_html(_matrix(PASSING, FAILING, MISSING, shards=("1/2", "2/2")))
    assert '<span class="badge o-failed">failed</span>' in page
    assert "3 cases: 1 passed, 1 failed, 1 missing" in page
    assert "1/2, 2/2" in page
    assert "<title>Upgrade matrix to v24.08.01: failed</title>" in page
    assert 'content="default-src &#x27;none&#x27;' in page or "default-src 'none'" in page
    assert "<script" not in page


def test_a_passing_matrix_reads_passed() -> None:
    assert '<span class="badge o-passed">passed</span>' in render_matrix_html(_matrix(PASSING))


def test_columns_are_every_hop_in_version_order_then_its_procedures() -> None:
    hop = _hop("v24.07.01", TARGET, rollbacks=(RollbackReport("helm-rollback", 1, "passed", 1.0, 2.0),))
    late = _case("v24.07.01", _run("v24.07.01", TARGET, hops=(hop,)))
    page = render_matrix_html(_matrix(late, PASSING, FAILING))
    heads = re.findall(r'<th class="hop" colspan="(\d)">([^<]+)</th>', page)
    assert heads == [
        ("1", "v24.05.01-&gt;v24.06.01"),
        ("1", "v24.06.01-&gt;v24.07.01"),
        ("2", "v24.07.01-&gt;v24.08.01"),
    ]
    assert "<th>rollback: helm-rollback</th>" in page


def test_every_cell_links_to_its_case_page() -> None:
    page = render_matrix_html(_matrix(PASSING, FAILING))
    row = _row(page, "v24.05.01")
    assert set(_hrefs(row)) == {f"./v24.05.01-to-{TARGET}/index.html"}
    assert len(_hrefs(row)) == 1 + 3  # the case, then each of its three hops
    assert "s-failed" in row
    assert set(_hrefs(_row(page, "v24.06.01"))) == {f"./v24.06.01-to-{TARGET}/index.html"}


def test_a_hop_not_on_the_path_is_a_dash_not_a_status() -> None:
    row = _row(render_matrix_html(_matrix(PASSING, FAILING)), "v24.06.01")
    assert row.count('title="not on this path"') == 1


def test_a_procedure_outcome_other_than_passed_is_never_green() -> None:
    hop = _hop("v24.07.01", TARGET, rollbacks=(RollbackReport("restore", 3, "not finished", 1.0, 2.0),))
    case = _case("v24.07.01", _run("v24.07.01", TARGET, hops=(hop,)))
    row = _row(render_matrix_html(_matrix(case)), "v24.07.01")
    assert 'class="status s-other"' in row
    assert "not finished" in row


def test_a_missing_case_says_so_plainly_and_links_nowhere() -> None:
    page = render_matrix_html(_matrix(PASSING, MISSING))
    row = _row(page, "v24.04.01")
    assert "missing: no report for v24.04.01=&gt;v24.08.01" in row
    assert _hrefs(row) == []
    assert "did not pass:" in page


def test_an_empty_matrix_says_nothing_was_proved() -> None:
    page = render_matrix_html(_matrix())
    assert "nothing was proved" in page
    assert "o-failed" in page


def test_the_trend_compares_outcome_and_duration_with_the_previous_run() -> None:
    before = _case("v24.05.01", _run(*LONG, finished=1_720_000_250.0))
    now = _case("v24.05.01", _run(*LONG, failed="v24.06.01->v24.07.01"))
    previous = _matrix(before, _case("v24.04.01", None))
    page = render_matrix_html(_matrix(now, PASSING, MISSING), previous=previous)
    assert "<th rowspan=2>Trend</th>" in page
    assert "was passed, now failed, +20% (4 min 10 s before)" in _row(page, "v24.05.01")
    assert "new in this run" in _row(page, "v24.06.01")
    assert "still missing" in _row(page, "v24.04.01")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (FAILING, PASSING, ("was failed, now passed, ±0% (5 min 00 s before)", "t-better")),
        (MISSING, PASSING, ("was missing, now passed", "t-better")),
        (PASSING, MISSING, ("was passed, now missing", "t-worse")),
        (None, PASSING, ("new in this run", "")),
    ],
)
def test_trend_words(old: CaseSummary | None, new: CaseSummary, expected: tuple[str, str]) -> None:
    assert trend(new, old) == expected


def test_a_case_the_previous_run_had_and_this_one_lacks_is_listed() -> None:
    page = render_matrix_html(_matrix(PASSING), previous=_matrix(PASSING, FAILING))
    assert "Not in this run" in page
    assert "v24.05.01=&gt;v24.08.01 (was failed)" in page


def test_without_previous_there_is_no_trend_column() -> None:
    assert "Trend" not in render_matrix_html(_matrix(PASSING))


def test_hostile_text_stays_text() -> None:
    hop = CaseHop(f"v24.07.01->{TARGET}", "passed", 1.0, None, ((HOSTILE, HOSTILE),))
    case = CaseSummary(
        f"v24.07.01=>{TARGET}", "v24.07.01", TARGET, f"v24.07.01-to-{TARGET}", "passed", 1.0,
        hops=(hop,), notes=(HOSTILE,),
    )
    page = render_matrix_html(_matrix(case))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_a_secret_in_a_note_does_not_reach_the_page() -> None:
    report = _run("v24.07.01", TARGET, notes=(f"values override set adminPassword={PASSWORD}",))
    assert PASSWORD not in render_matrix_html(_matrix(_case("v24.07.01", report)))
