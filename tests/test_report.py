"""The report folder: summary.json round-trips, index.html tells the truth and leaks nothing.

The page is the first thing a release engineer reads after a rehearsal, so the tests hold it
to what that reader relies on: a failed or skipped step never reads as passed, a secret from
a failure message never reaches either file, a hostile string stays text, and the outage
picture draws every outage inside the plot.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_jitera.errors import InputError
from pytest_jitera.redact import MASK
from pytest_jitera.report import (
    INDEX,
    SUMMARY,
    HopReport,
    OutageRow,
    RunReport,
    StepResult,
    availability_lines,
    render_html,
    render_svg,
    write_report,
)
from pytest_jitera.report.model import MigrationRow, TouchedTable
from pytest_jitera.report.timeline import PLOT_WIDTH, PLOT_X, ticks

HOP = "v24.05.01->v24.06.01"
PASSWORD = "Zq7-report-Pa55-91c4"
PEM_LINES = [f"MIIreport{i:02d}" + "Qk" * 24 for i in range(6)]
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_LINES) + "\n-----END RSA PRIVATE KEY-----"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _step(step: str, status: str = "passed", **changes: Any) -> StepResult:
    fields: dict[str, Any] = {
        "hop": HOP,
        "step": step,
        "test_id": f"suites/test_upgrade.py::test_step[{HOP}-{step}]",
        "status": status,
        "seconds": 1.5,
    }
    fields.update(changes)
    return StepResult(**fields)


def _hop(**changes: Any) -> HopReport:
    fields: dict[str, Any] = {
        "name": HOP,
        "old": "v24.05.01",
        "new": "v24.06.01",
        "kind": "minor",
        "started": 1_720_000_000.0,
        "seconds": 120.0,
        "probe_targets": ("studio", "api"),
        "samples": 240,
        "outages": (
            OutageRow("studio", 30.0, 32.5, "HTTP 503"),
            OutageRow("studio", 60.0, 61.0, "no answer"),
        ),
        "step_spans": (("helm upgrade", 0.0, 50.0), ("migration hook complete", 50.0, 110.0)),
    }
    fields.update(changes)
    return HopReport(**fields)


def _report(**changes: Any) -> RunReport:
    fields: dict[str, Any] = {
        "product": "jitera",
        "path": ("v24.05.01", "v24.06.01"),
        "started": 1_719_999_900.0,
        "finished": 1_720_000_200.0,
        "cluster": "kind cluster jitera-ab12cd34 (node v1.34.4)",
        "namespace": "jitera",
        "helm": "v3.16.2",
        "steps": (
            _step("install source release", hop="", seconds=42.0),
            _step("helm upgrade", seconds=50.0, artifacts=("v24.05.01-v24.06.01/helm.log",)),
            _step("migration hook complete", seconds=60.0),
        ),
        "hops": (_hop(),),
        "notes": ("cluster kept for inspection",),
    }
    fields.update(changes)
    return RunReport(**fields)


class _Tags(HTMLParser):
    """Every start tag with its attributes, to check what a browser would actually build."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def _svg_rects(svg: str, cls: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [el for el in root.iter("{http://www.w3.org/2000/svg}rect") if el.get("class") == cls]


def _row(page: str, text: str) -> str:
    """The table row that names ``text``."""
    rows = [row for row in page.split("<tr>") if text in row]
    assert len(rows) == 1, rows
    return rows[0].split("</tr>")[0]


# --- the data model ------------------------------------------------------------------------


def test_json_round_trips() -> None:
    report = _report(hops=(_hop(scenario="roll back after migration"), _hop(name="b", outages=())))
    assert RunReport.from_json(report.to_json()) == report
    assert RunReport.from_dict(report.to_dict()) == report


def test_summary_json_carries_outcome_and_format_for_tools() -> None:
    data = json.loads(_report(steps=(_step("a", "failed"),)).to_json())
    assert data["outcome"] == "failed"
    assert data["format"] == 1
    assert data["hops"][0]["step_spans"][0] == ["helm upgrade", 0.0, 50.0]


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (lambda d: d["steps"][0].update(status="skipped"), "steps[0].status"),
        (lambda d: d["hops"][0].update(samples=True), "hops[0].samples"),
        (lambda d: d["hops"][0].update(step_spans=[["x", 1]]), "hops[0].step_spans[0]"),
        (lambda d: d["hops"][0]["outages"][0].update(start="soon"), "hops[0].outages[0].start"),
        (lambda d: d.update(path="v24.05.01"), "report.path"),
        (lambda d: d.update(format=99), "format 99"),
    ],
)
def test_reading_refuses_a_malformed_summary_and_names_the_field(edit: Any, names: str) -> None:
    data = _report().to_dict()
    edit(data)
    with pytest.raises(InputError, match=names.replace("[", r"\[").replace("]", r"\]")):
        RunReport.from_json(json.dumps(data))


def test_reading_refuses_truncated_json() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        RunReport.from_json(_report().to_json()[:-40])


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        (("passed", "passed"), "passed"),
        (("passed", "failed"), "failed"),
        (("passed", "error"), "failed"),
        (("passed", "not-run"), "failed"),
        ((), "failed"),
    ],
)
def test_outcome_is_passed_only_when_every_step_passed(statuses: tuple[str, ...], outcome: str) -> None:
    report = _report(steps=tuple(_step(f"step {i}", status) for i, status in enumerate(statuses)))
    assert report.outcome == outcome


# --- masking -------------------------------------------------------------------------------


def _leaky_report() -> RunReport:
    message = (
        f"helm upgrade failed\ncommand: psql postgres://app:{PASSWORD}@db:5432/jitera\n"
        f"PGPASSWORD={PASSWORD}\n{PEM}\n"
    )
    truncated = "secret dump:\n-----BEGIN PRIVATE KEY-----\n" + "\n".join(PEM_LINES[:3])
    return _report(
        steps=(
            _step("helm upgrade", "failed", message=message),
            _step("dump", "error", message=truncated),
            _step(f"login as admin with {PASSWORD}", "not-run", message=f"reason: {PASSWORD} rejected"),
        ),
        hops=(_hop(outages=(OutageRow("studio", 1.0, 2.0, f"HTTP 401 for {PASSWORD}"),)),),
        notes=(f"values override set adminPassword to {PASSWORD}",),
        cluster=f"existing cluster from --jitera-kubeconfig (token {PASSWORD})",
    )


def test_secrets_and_pem_keys_reach_neither_file(tmp_path: Path) -> None:
    write_report(tmp_path, _leaky_report(), secrets=[PASSWORD])
    for name in (SUMMARY, INDEX):
        text = (tmp_path / name).read_text()
        assert PASSWORD not in text, name
        for line in PEM_LINES:
            assert line not in text, name
        assert MASK in text, name


def test_pem_block_is_masked_even_without_a_known_secret(tmp_path: Path) -> None:
    write_report(tmp_path, _report(steps=(_step("tls", "failed", message=f"cert:\n{PEM}"),)))
    page = (tmp_path / INDEX).read_text()
    assert "-----BEGIN RSA PRIVATE KEY-----" in page
    assert not any(line in page for line in PEM_LINES)


def test_masking_keeps_the_report_readable(tmp_path: Path) -> None:
    write_report(tmp_path, _leaky_report(), secrets=[PASSWORD])
    masked = RunReport.from_json((tmp_path / SUMMARY).read_text())
    assert [step.status for step in masked.steps] == ["failed", "error", "not-run"]
    assert masked.steps[0].message.startswith("helm upgrade failed\n")
    assert masked.hops[0].outages[0].reason == f"HTTP 401 for {MASK}"


def test_an_encoded_blob_is_left_out_quickly_and_cannot_split_a_secret(tmp_path: Path) -> None:
    secret = "pa:ss-" + PASSWORD  # the colon would end a blob in the middle of it
    blob = "H4sIAAAAAAAC" + "A" * 400_000  # a Helm release secret dumped on one line
    message = f"release data: {blob}{secret} end\nhint: describe the release"
    write_report(tmp_path, _report(steps=(_step("dump", "failed", message=message),)), secrets=[secret])
    summary = RunReport.from_json((tmp_path / SUMMARY).read_text())
    assert summary.steps[0].message == (
        f"release data: [400012 characters of encoded data left out]{MASK} end\nhint: describe the release"
    )
    assert PASSWORD not in (tmp_path / INDEX).read_text()


# --- escaping ------------------------------------------------------------------------------


def _hostile_report() -> RunReport:
    hop = _hop(
        name=HOP + HOSTILE,
        probe_targets=(HOSTILE,),
        outages=(OutageRow(HOSTILE, 1.0, 5.0, HOSTILE),),
        step_spans=((HOSTILE, 0.0, 60.0),),
        scenario=HOSTILE,
    )
    return _report(
        product=HOSTILE,
        path=(HOSTILE,),
        helm=HOSTILE,
        steps=(
            _step(
                HOSTILE,
                "failed",
                hop=hop.name,
                test_id=HOSTILE,
                message=HOSTILE + "\nhint: " + HOSTILE,
                artifacts=("javascript:alert(1)", '"><script>alert(2)</script>', "//evil.example/x"),
            ),
            _step("later", "not-run", hop=hop.name, message=HOSTILE),
        ),
        hops=(hop,),
        notes=(HOSTILE,),
    )


def test_hostile_strings_stay_text() -> None:
    page = render_html(_hostile_report())
    tags = _tags(page)
    assert "<script" not in page.lower()
    assert not [tag for tag, _ in tags if tag in {"script", "img", "iframe", "object"}]
    assert not [attrs for _, attrs in tags if any(name.startswith("on") for name in attrs)]
    assert "&lt;script&gt;" in page


def test_artifact_links_stay_relative_files() -> None:
    hrefs = [attrs["href"] or "" for tag, attrs in _tags(render_html(_hostile_report())) if tag == "a"]
    files = [href for href in hrefs if not href.startswith("#")]
    assert len(files) == 6  # three artifacts, in the table and in the failure
    assert all(href.startswith("./") and ":" not in href and not href.startswith(".//") for href in files)


def test_page_loads_nothing_from_anywhere() -> None:
    page = render_html(_report())
    tags = _tags(page)
    csp = [
        attrs for tag, attrs in tags if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp
    assert "default-src 'none'" in (csp[0]["content"] or "")
    assert not [tag for tag, attrs in tags if tag == "link" or attrs.get("src")]


def test_hostile_timeline_is_well_formed_svg() -> None:
    svg = render_svg(_hostile_report().hops[0])
    assert len(_svg_rects(svg, "outage")) == 1
    assert "<script" not in svg


# --- the page ------------------------------------------------------------------------------


def test_headline_names_product_path_outcome_duration_cluster_and_helm() -> None:
    page = render_html(_report())
    head = page.split("<h2>")[0]
    for text in ("jitera", "v24.05.01 → v24.06.01", "passed", "5 min 00 s", "jitera-ab12cd34", "v3.16.2"):
        assert text in head, text


def test_steps_are_tabled_per_hop_in_runbook_order() -> None:
    page = render_html(_report())
    hop_heading = page.index(HOP.replace(">", "&gt;"))
    assert page.index("Run-level steps") < page.index("install source release") < hop_heading
    table = page.split("&gt;v24.06.01 <span")[1]
    assert table.index("helm upgrade") < table.index("migration hook complete")
    assert '<a href="./v24.05.01-v24.06.01/helm.log">' in _row(page, "helm upgrade<code")


def test_a_failed_step_is_shown_with_its_message_and_next_action() -> None:
    message = "Job jitera-migrate failed: BackoffLimitExceeded\n  next: kubectl logs job/jitera-migrate\n"
    page = render_html(_report(steps=(_step("migration hook complete", "failed", message=message),)))
    assert 'class="status s-failed">failed<' in _row(page, "migration hook complete<code")
    failure = page.split('<div class="failure" id="failure-1">')[1].split("</div>\n<h")[0]
    assert '<div class="next"><strong>Next:</strong> kubectl logs job/jitera-migrate</div>' in failure
    assert "<pre>Job jitera-migrate failed: BackoffLimitExceeded" in failure
    assert 'href="#failure-1"' in page.split("<h2>")[0]


def test_error_steps_are_failures_too() -> None:
    page = render_html(_report(steps=(_step("backup", "error", message="fixture broke\nhint: rerun"),)))
    assert 'id="failure-1"' in page
    assert "<strong>Next:</strong> rerun" in page


def test_not_run_step_says_so_with_its_reason_and_never_passed() -> None:
    reason = "an earlier step of this hop failed"
    page = render_html(_report(steps=(_step("smoke tests", "not-run", seconds=0.0, message=reason),)))
    row = _row(page, "smoke tests<code")
    assert 'class="status s-not-run">not run<' in row
    assert f"not run: {reason}" in row
    assert "passed" not in row
    assert "0.0 s" not in row
    assert f"smoke tests: not run: {reason}" in page.split("<h2>Failures</h2>")[1]
    assert "1 not run" in page.split("<h2>")[0]


def test_a_long_message_is_cut_in_the_page_but_kept_whole_in_the_summary(tmp_path: Path) -> None:
    message = "start of output\n" + "helm: waiting for pods to be ready\n" * 2_000 + "FATAL: the real reason"
    write_report(tmp_path, _report(steps=(_step("long", "failed", message=message),)))
    page = (tmp_path / INDEX).read_text()
    assert "start of output" in page
    assert "FATAL: the real reason" in page
    assert "characters left out" in page
    assert len(page) < 40_000
    assert RunReport.from_json((tmp_path / SUMMARY).read_text()).steps[0].message == message


# --- availability --------------------------------------------------------------------------


def test_availability_sentence_per_target() -> None:
    assert availability_lines(_hop()) == (
        "studio unavailable 3.5 s in 2 intervals",
        "api available throughout",
    )


def test_overlapping_outages_are_counted_once() -> None:
    hop = _hop(outages=(OutageRow("studio", 10, 14, "HTTP 503"), OutageRow("studio", 12, 15, "no answer")))
    assert availability_lines(hop)[0] == "studio unavailable 5.0 s in 1 interval"


def test_a_hop_without_samples_does_not_claim_availability() -> None:
    hop = _hop(samples=0, outages=())
    assert availability_lines(hop) == (
        "studio not probed: no samples were recorded",
        "api not probed: no samples were recorded",
    )
    svg = render_svg(hop)
    assert _svg_rects(svg, "available") == []
    assert len(_svg_rects(svg, "unprobed")) == 2


def test_svg_draws_one_red_rect_per_outage_inside_the_plot() -> None:
    outages = (
        OutageRow("studio", 30.0, 32.5, "HTTP 503"),
        OutageRow("studio", 60.0, 61.0, "no answer"),
        OutageRow("api", 118.0, 150.0, "HTTP 502"),  # runs past the hop's end
        OutageRow("api", -5.0, 0.0, "no answer"),  # before the hop's clock started
        OutageRow("api", 70.0, 70.0, "no answer"),  # a single failed sample
        OutageRow("worker", 10.0, 9.0, "no answer"),  # reversed, and a target nobody listed
    )
    svg = render_svg(_hop(outages=outages))
    rects = _svg_rects(svg, "outage")
    assert len(rects) == len(outages)
    for rect in rects:
        x, width = float(rect.get("x", "nan")), float(rect.get("width", "nan"))
        assert x >= PLOT_X
        assert width > 0
        assert x + width <= PLOT_X + PLOT_WIDTH + 1e-6
        assert rect.get("fill") == "#c62828"
        assert rect.find("{http://www.w3.org/2000/svg}title") is not None
    lanes = _svg_rects(svg, "available")
    assert len(lanes) == 3  # studio, api and the unlisted worker


def test_svg_places_outages_on_the_hop_clock() -> None:
    svg = render_svg(
        _hop(seconds=100.0, step_spans=(), outages=(OutageRow("studio", 25.0, 50.0, "HTTP 503"),))
    )
    (rect,) = _svg_rects(svg, "outage")
    assert float(rect.get("x", "nan")) == pytest.approx(PLOT_X + PLOT_WIDTH * 0.25, abs=0.01)
    assert float(rect.get("width", "nan")) == pytest.approx(PLOT_WIDTH * 0.25, abs=0.01)
    title = rect.find("{http://www.w3.org/2000/svg}title")
    assert title is not None
    assert title.text == "studio: HTTP 503 from 25.0 s to 50.0 s (25.0 s)"


def test_step_spans_are_drawn_above_the_lanes_with_labels() -> None:
    svg = render_svg(_hop())
    steps = _svg_rects(svg, "step")
    assert len(steps) == 2
    first_lane = _svg_rects(svg, "available")[0]
    lanes_top = float(first_lane.get("y", "0"))
    assert all(float(s.get("y", "0")) + float(s.get("height", "0")) <= lanes_top for s in steps)
    assert ">migration hook complete</text>" in svg


@pytest.mark.parametrize("span", [0.4, 1.0, 7.0, 120.0, 3_601.0])
def test_ticks_are_round_and_inside_the_axis(span: float) -> None:
    marks = ticks(span)
    assert marks[0] == 0
    assert marks[-1] <= span
    assert 2 <= len(marks) <= 11


def test_a_degenerate_hop_still_draws() -> None:
    hop = _hop(seconds=0.0, probe_targets=(), samples=0, outages=(), step_spans=())
    svg = render_svg(hop)
    ET.fromstring(svg)
    assert availability_lines(hop) == ("no availability probe ran during this hop",)


# --- the folder ----------------------------------------------------------------------------


def test_empty_report_still_renders(tmp_path: Path) -> None:
    report = _report(path=(), steps=(), hops=(), notes=())
    written = write_report(tmp_path / "deep" / "report", report)
    assert written == tmp_path / "deep" / "report" / INDEX
    page = written.read_text()
    assert "No step was recorded." in page
    assert "No hop ran" in page
    assert "failed" in page.split("<h2>")[0]
    assert RunReport.from_json((written.parent / SUMMARY).read_text()) == report


def test_writing_replaces_files_and_leaves_no_temporary_behind(tmp_path: Path) -> None:
    write_report(tmp_path, _report(steps=(_step("a", "failed"),)))
    write_report(tmp_path, _report())
    assert sorted(p.name for p in tmp_path.iterdir()) == [INDEX, SUMMARY]
    assert json.loads((tmp_path / SUMMARY).read_text())["outcome"] == "passed"
    assert (tmp_path / INDEX).stat().st_mode & 0o444 == 0o444


def test_the_input_report_is_not_changed_by_masking(tmp_path: Path) -> None:
    report = _leaky_report()
    before = dataclasses.replace(report)
    write_report(tmp_path, report, secrets=[PASSWORD])
    assert report == before
    assert PASSWORD in report.notes[0]


def _migrations() -> tuple[MigrationRow, ...]:
    return (
        MigrationRow(
            "20240701000002", "AddSlugToProjects", 41.5, (TouchedTable("projects", 1_000_000, 84_200_000),)
        ),
        MigrationRow("20240701000099", "CreateThings", 0.01, (TouchedTable("things", None),)),
    )


def test_migration_costs_round_trip_and_are_tabled_slowest_first() -> None:
    report = _report(hops=(_hop(migrations=_migrations()),))
    assert RunReport.from_json(report.to_json()) == report
    data = json.loads(report.to_json())
    assert data["hops"][0]["migrations"][0] == {
        "version": "20240701000002", "name": "AddSlugToProjects", "seconds": 41.5,
        "tables": [{"table": "projects", "rows": 1_000_000, "bytes": 84_200_000}],
    }
    page = render_html(report)
    row = _row(page, "AddSlugToProjects")
    assert "41.50 s" in row
    assert "projects (1,000,000, 84.2 MB)" in row
    assert "things (new)" in _row(page, "CreateThings")
    assert page.index("AddSlugToProjects") < page.index("CreateThings")


def test_a_report_without_migrations_reads_and_shows_no_table() -> None:
    data = _report().to_dict()
    del data["hops"][0]["migrations"]
    report = RunReport.from_json(json.dumps(data))
    assert report.hops[0].migrations == ()
    assert 'class="migrations"' not in render_html(report)


def test_a_malformed_migration_row_is_refused_by_name() -> None:
    data = _report(hops=(_hop(migrations=_migrations()),)).to_dict()
    data["hops"][0]["migrations"][0]["tables"][0]["rows"] = "many"
    with pytest.raises(InputError, match=r"hops\[0\]\.migrations\[0\]\.tables\[0\]"):
        RunReport.from_json(json.dumps(data))
