"""The rollback half of the report: summary.json carries it, index.html and the terminal show it.

A release engineer decides from this part whether the runbook's rollback holds for their
installation, so the tests hold it to what they rely on: each procedure's outcome on the first
screen, every step's time against the runbook, expected findings never dressed as passes, the
reasons for the scenario with their evidence, and no secret from a finding or a reason text in
either file.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_jitera.decision.classify import Classification, Reason, Scenario
from pytest_jitera.decision.migrations.inventory import InventoryDiff
from pytest_jitera.decision.procedures import HopClassification, Procedure
from pytest_jitera.errors import InputError
from pytest_jitera.fixtures.rehearsal import HopState
from pytest_jitera.fixtures.report import _hop as hop_from_state
from pytest_jitera.fixtures.steps import StepRecord
from pytest_jitera.redact import MASK
from pytest_jitera.release.catalog import Release
from pytest_jitera.release.planner import Hop
from pytest_jitera.release.versions import Version
from pytest_jitera.report import INDEX, SUMMARY, HopReport, OutageRow, RunReport, StepResult, write_report
from pytest_jitera.report.html import render_html
from pytest_jitera.report.mask import mask_report
from pytest_jitera.report.model import (
    ClassificationReport,
    MeasuredRow,
    ReasonReport,
    RollbackReport,
    TargetDowntime,
)
from pytest_jitera.report.text import rollback_lines
from pytest_jitera.report.timeline import PLOT_WIDTH, PLOT_X, procedure_view
from pytest_jitera.runbook.availability import Sample
from pytest_jitera.runbook.downtime import (
    ENDPOINT_SWITCH,
    ROLLOUT,
    SCALE_DOWN,
    SNAPSHOT_RESTORE,
    ProcedureRecord,
)

HOP = "v24.05.01->v24.06.01"
SECRET = "Zq7-rollback-Pa55-77e1"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SVG = "{http://www.w3.org/2000/svg}"


def _classification(**changes: Any) -> ClassificationReport:
    fields: dict[str, Any] = {
        "scenario": 3,
        "classified": 3,
        "forced": False,
        "title": "integrity risk: database snapshot restore required",
        "reasons": (
            ReasonReport(2, "new migrations were added", ("db/migrate/20240601_add_flags.rb",)),
            ReasonReport(3, "a destructive migration drops a table the old code reads",
                         ("drop_table :legacy_tokens", "app/models/legacy_token.rb:3")),
        ),
        "procedures": ("scenario3-new-instance",),
    }
    fields.update(changes)
    return ClassificationReport(**fields)


def _row(step: str, start: float, end: float, unavailable: float, estimate: Any, verdict: str) -> MeasuredRow:
    return MeasuredRow(step, start, end, end - start, unavailable, estimate, verdict)


def _rollback(**changes: Any) -> RollbackReport:
    fields: dict[str, Any] = {
        "name": "scenario3-new-instance",
        "scenario": 3,
        "outcome": "passed",
        "start": 200.0,
        "seconds": 700.0,
        "findings": ("admin task on the dropped table fails with UndefinedTable",),
        "observations": ("studio status after recovery: 200", "rows left NULL: 0"),
        "steps": (
            _row(SCALE_DOWN, 200.0, 230.0, 20.0, (1, 5), "under the estimate"),
            _row(SNAPSHOT_RESTORE, 230.0, 620.0, 390.0, (5, 30), "within the estimate"),
            _row("helm rollback to revision 3", 620.0, 640.0, 20.0, None, ""),
            _row(ENDPOINT_SWITCH, 640.0, 900.0, 60.0, (1, 3), "over the estimate"),
        ),
        "probe_targets": ("studio", "api"),
        "samples": 900,
        "outages": (
            OutageRow("studio", 210.0, 700.0, "HTTP 503"),
            OutageRow("api", 650.0, 700.0, "no answer"),
        ),
        "unavailable": (TargetDowntime("studio", 490.0), TargetDowntime("api", 50.0)),
    }
    fields.update(changes)
    return RollbackReport(**fields)


def _hop(**changes: Any) -> HopReport:
    fields: dict[str, Any] = {
        "name": HOP,
        "old": "v24.05.01",
        "new": "v24.06.01",
        "kind": "minor",
        "started": 1_720_000_000.0,
        "seconds": 1000.0,
        "probe_targets": ("studio", "api"),
        "samples": 240,
        "outages": (OutageRow("studio", 30.0, 32.5, "HTTP 503"),),
        "step_spans": (("apply the upgrade", 0.0, 150.0),),
        "scenario": "3",
        "classification": _classification(),
        "rollbacks": (_rollback(),),
    }
    fields.update(changes)
    return HopReport(**fields)


def _report(**changes: Any) -> RunReport:
    fields: dict[str, Any] = {
        "product": "jitera",
        "path": ("v24.05.01", "v24.06.01"),
        "started": 1_719_999_900.0,
        "finished": 1_720_001_100.0,
        "cluster": "kind cluster jitera-ab12cd34",
        "namespace": "jitera",
        "helm": "v3.16.2",
        "steps": (StepResult(HOP, "roll back and recover", "suites/test_rollback.py::t", "passed", 500.0),),
        "hops": (_hop(),),
    }
    fields.update(changes)
    return RunReport(**fields)


class _Page(HTMLParser):
    """The parts of the page a reader would see: cell texts per table, texts per class, ids."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"] or "")
        if tag == "a":
            self.hrefs.append(found.get("href") or "")
        if tag == "table" and found.get("class") == "measured":
            self._table = []
            self.tables[f"table-{len(self.tables)}"] = self._table
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def _svgs(page: str) -> list[ET.Element]:
    chunks = page.split("<svg ")[1:]
    return [ET.fromstring("<svg " + chunk.split("</svg>")[0] + "</svg>") for chunk in chunks]


def _rects(svg: ET.Element, cls: str) -> list[ET.Element]:
    return [el for el in svg.iter(f"{SVG}rect") if el.get("class") == cls]


# --- summary.json --------------------------------------------------------------------------


def test_rollback_half_round_trips() -> None:
    report = _report(hops=(_hop(), _hop(name="b", classification=None, rollbacks=())))
    assert RunReport.from_json(report.to_json()) == report
    assert RunReport.from_dict(report.to_dict()) == report


def test_summary_json_shape_of_the_rollback_fields() -> None:
    data = json.loads(_report().to_json())
    assert data["format"] == 1
    hop = data["hops"][0]
    assert hop["classification"]["scenario"] == 3
    assert hop["classification"]["forced"] is False
    assert hop["classification"]["reasons"][1]["evidence"] == ["drop_table :legacy_tokens",
                                                              "app/models/legacy_token.rb:3"]
    rollback = hop["rollbacks"][0]
    assert rollback["steps"][1] == {
        "step": SNAPSHOT_RESTORE,
        "start": 230.0,
        "end": 620.0,
        "seconds": 390.0,
        "unavailable": 390.0,
        "estimate": [5, 30],
        "verdict": "within the estimate",
    }
    assert rollback["steps"][2]["estimate"] is None
    assert rollback["outages"][0] == {"target": "studio", "start": 210.0, "end": 700.0, "reason": "HTTP 503"}
    assert rollback["unavailable"] == [
        {"target": "studio", "seconds": 490.0},
        {"target": "api", "seconds": 50.0},
    ]


def test_an_older_or_upgrade_only_summary_still_reads() -> None:
    data = _report().to_dict()
    del data["hops"][0]["classification"]
    del data["hops"][0]["rollbacks"]
    hop = RunReport.from_dict(data).hops[0]
    assert (hop.classification, hop.rollbacks) == (None, ())


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (lambda h: h.update(classification=[]), "hops[0].classification is not an object"),
        (lambda h: h["classification"].update(scenario="3"), "hops[0].classification.scenario"),
        (lambda h: h["classification"].update(scenario=4), "hops[0].classification.scenario"),
        (lambda h: h["classification"].update(forced="yes"), "hops[0].classification.forced"),
        (lambda h: h["classification"].update(title=None), "hops[0].classification.title"),
        (lambda h: h["classification"].update(procedures="scenario3"), "hops[0].classification.procedures"),
        (lambda h: h["classification"]["reasons"][1].update(evidence=[3]),
         "hops[0].classification.reasons[1].evidence"),
        (lambda h: h["classification"]["reasons"][0].update(scenario=True),
         "hops[0].classification.reasons[0].scenario"),
        (lambda h: h.update(rollbacks={}), "hops[0].rollbacks"),
        (lambda h: h["rollbacks"][0].update(outcome=1), "hops[0].rollbacks[0].outcome"),
        (lambda h: h["rollbacks"][0].update(start="later"), "hops[0].rollbacks[0].start"),
        (lambda h: h["rollbacks"][0].update(samples=1.5), "hops[0].rollbacks[0].samples"),
        (lambda h: h["rollbacks"][0].update(findings=[None]), "hops[0].rollbacks[0].findings"),
        (lambda h: h["rollbacks"][0].update(observations={"a": 1}), "hops[0].rollbacks[0].observations"),
        (lambda h: h["rollbacks"][0]["steps"][0].update(verdict="fine"),
         "hops[0].rollbacks[0].steps[0].verdict"),
        (lambda h: h["rollbacks"][0]["steps"][0].update(estimate=[1]),
         "hops[0].rollbacks[0].steps[0].estimate"),
        (lambda h: h["rollbacks"][0]["steps"][0].update(estimate=[1, "5"]),
         "hops[0].rollbacks[0].steps[0].estimate"),
        (lambda h: h["rollbacks"][0]["steps"][0].update(unavailable=None),
         "hops[0].rollbacks[0].steps[0].unavailable"),
        (lambda h: h["rollbacks"][0]["outages"][1].update(end="x"), "hops[0].rollbacks[0].outages[1].end"),
        (lambda h: h["rollbacks"][0]["unavailable"][0].update(target=7),
         "hops[0].rollbacks[0].unavailable[0].target"),
    ],
)
def test_reading_refuses_malformed_rollback_fields_and_names_them(edit: Any, names: str) -> None:
    data = _report().to_dict()
    edit(data["hops"][0])
    with pytest.raises(InputError, match=names.replace("[", r"\[").replace("]", r"\]")):
        RunReport.from_json(json.dumps(data))


# --- masking -------------------------------------------------------------------------------


def _leaky() -> RunReport:
    classification = _classification(
        reasons=(ReasonReport(3, f"migration sets password {SECRET}", (f"PGPASSWORD={SECRET}",)),),
    )
    rollback = _rollback(
        outcome=f"failed: login {SECRET} refused",
        findings=(f"psql postgres://app:{SECRET}@db:5432/jitera: relation does not exist",),
        observations=(f"dsn: postgres://app:{SECRET}@db-restored/jitera",),
        outages=(OutageRow("studio", 210.0, 700.0, f"HTTP 401 for {SECRET}"),),
    )
    return _report(hops=(_hop(classification=classification, rollbacks=(rollback,)),))


def test_a_secret_in_a_finding_or_reason_reaches_neither_file(tmp_path: Path) -> None:
    write_report(tmp_path, _leaky(), secrets=[SECRET])
    for name in (SUMMARY, INDEX):
        text = (tmp_path / name).read_text()
        assert SECRET not in text, name
        assert MASK in text, name
    masked = RunReport.from_json((tmp_path / SUMMARY).read_text())
    rollback = masked.hops[0].rollbacks[0]
    assert rollback.findings[0].endswith(": relation does not exist")
    assert masked.hops[0].classification is not None
    assert masked.hops[0].classification.reasons[0].text == f"migration sets password {MASK}"
    assert rollback.outcome == f"failed: login {MASK} refused"  # free text, masked like any other
    assert [row.verdict for row in rollback.steps] == [row.verdict for row in _rollback().steps]
    assert masked.outcome == "passed"


def test_the_terminal_lines_are_masked_too() -> None:
    lines = rollback_lines(mask_report(_leaky(), [SECRET]))
    assert lines
    assert not any(SECRET in line for line in lines)


def test_hostile_strings_in_the_rollback_stay_text() -> None:
    hop = _hop(
        classification=_classification(title=HOSTILE, reasons=(ReasonReport(3, HOSTILE, (HOSTILE,)),),
                                       procedures=(HOSTILE,)),
        rollbacks=(_rollback(name=HOSTILE, outcome=HOSTILE, findings=(HOSTILE,), observations=(HOSTILE,),
                             steps=(_row(HOSTILE, 200.0, 300.0, 1.0, None, ""),),
                             outages=(OutageRow(HOSTILE, 210.0, 220.0, HOSTILE),)),),
    )
    page = render_html(_report(hops=(hop,)))
    assert "<script" not in page.lower()
    assert "onerror=" not in page.replace("onerror=alert(1)&gt;", "")
    for svg in _svgs(page):
        assert svg.tag == f"{SVG}svg"


# --- index.html ----------------------------------------------------------------------------


def test_first_screen_says_which_procedures_ran_and_how_they_ended() -> None:
    hop = _hop(
        classification=_classification(procedures=("scenario3-new-instance", "scenario3-in-place")),
    )
    page = render_html(_report(hops=(hop,)))
    head = page.split("<h2>")[0]
    assert "scenario3-new-instance" in head
    assert '<span class="outcome r-passed">passed</span>' in head
    assert "with 1 expected finding" in head
    # studio 210-700 s and api 650-700 s: the api outage adds nothing to the union
    assert "unavailable 8 min 10 s (studio 8 min 10 s, api 50.0 s)" in head
    assert 'scenario3-in-place: <span class="r-other">not rehearsed</span>' in head
    parsed = _parse(page)
    for href in (h for h in parsed.hrefs if h.startswith("#rollback")):
        assert href[1:] in parsed.ids, href


def test_a_procedure_that_did_not_pass_never_looks_green() -> None:
    page = render_html(_report(hops=(_hop(rollbacks=(_rollback(outcome="not finished"),)),)))
    head = page.split("<h2>")[0]
    assert '<span class="outcome r-other">not finished</span>' in head
    assert "r-passed" not in page.split("</style>")[1]


def test_upgrade_only_run_has_no_rollback_parts() -> None:
    page = render_html(_report(hops=(_hop(classification=None, rollbacks=()),)))
    assert "Rollback" not in page
    assert "rollback-summary" not in page.split("<style>")[1].split("</style>")[1]


def test_rollback_section_follows_its_hop_upgrade_with_scenario_reasons_and_evidence() -> None:
    page = render_html(_report(hops=(_hop(), _hop(name="second", classification=None, rollbacks=()))))
    availability = page.split("<h2>Availability</h2>")[1]
    first_svg = availability.index('aria-label="availability during v24.05.01-&gt;v24.06.01"')
    section = availability.index('<section class="rollback" id="rollback-1">')
    assert first_svg < section < availability.index("<h3>second</h3>")
    part = availability[section:].split("</section>")[0]
    assert "<strong>Scenario 3</strong>: integrity risk: database snapshot restore required" in part
    assert "forced" not in part
    assert "scenario 3: a destructive migration drops a table the old code reads" in part
    assert "<li><code>drop_table :legacy_tokens</code></li>" in part
    assert "Procedures chosen: scenario3-new-instance" in part


def test_a_forced_scenario_is_noted_with_the_classifier_verdict() -> None:
    hop = _hop(scenario="3 (forced)", classification=_classification(forced=True, classified=1))
    page = render_html(_report(hops=(hop,)))
    assert "forced by the operator; the classifier said scenario 1" in page
    assert "scenario 3, forced (classified 1)" in page.split("<h2>")[0]


def test_measured_table_per_procedure_against_the_runbook() -> None:
    tables = _parse(render_html(_report())).tables
    assert len(tables) == 1
    (rows,) = tables.values()
    assert rows == [
        ["Step", "Measured", "Unavailable", "Runbook estimate", "Verdict"],
        [SCALE_DOWN, "30.0 s", "20.0 s", "1 to 5 min", "under the estimate"],
        [SNAPSHOT_RESTORE, "6 min 30 s", "6 min 30 s", "5 to 30 min", "within the estimate"],
        ["helm rollback to revision 3", "20.0 s", "20.0 s", "—", "not a runbook estimate"],
        [ENDPOINT_SWITCH, "4 min 20 s", "1 min 00 s", "1 to 3 min", "over the estimate"],
        ["whole procedure", "11 min 40 s", "8 min 10 s", "", ""],
    ]


def test_a_procedure_without_samples_says_not_probed_instead_of_zero() -> None:
    rollback = _rollback(samples=0, outages=(), unavailable=(), probe_targets=())
    page = render_html(_report(hops=(_hop(rollbacks=(rollback,)),)))
    (rows,) = _parse(page).tables.values()
    assert {row[2] for row in rows[1:]} == {"not probed"}
    assert "scenario3-new-instance</a>: <span class=\"outcome r-passed\">passed</span>" in page
    assert "not probed" in page.split("<h2>")[0]


def test_expected_findings_are_labelled_and_never_passes() -> None:
    findings = ("admin task on the dropped table fails", "DROP DATABASE refused while connected")
    page = render_html(_report(hops=(_hop(rollbacks=(_rollback(findings=findings),)),)))
    box = page.split('<div class="findings">')[1].split("</div>")[0]
    assert "Expected findings (2)" in box
    assert "not passes" in box
    for text in findings:
        assert f'<li><span class="tag">expected finding</span>{text}</li>' in box
    assert "passed" not in box  # neither the word nor a passed class


def test_procedure_timeline_draws_its_steps_and_outages_on_its_own_clock() -> None:
    page = render_html(_report())
    (svg,) = [s for s in _svgs(page) if s.get("aria-label") == "availability during scenario3-new-instance"]
    assert len(_rects(svg, "step")) == 4
    outages = _rects(svg, "outage")
    assert len(outages) == 2
    # studio from 210 s into the hop is 10 s into a procedure that starts at 200 s; the axis
    # reaches the last step's end (700 s on the procedure's clock)
    studio = next(r for r in outages if (r.findtext(f"{SVG}title") or "").startswith("studio"))
    assert float(studio.get("x", "nan")) == pytest.approx(PLOT_X + PLOT_WIDTH * 10 / 700, abs=0.01)
    for rect in outages:
        assert PLOT_X <= float(rect.get("x", "nan")) <= PLOT_X + PLOT_WIDTH
    assert procedure_view(_rollback()).step_spans[0] == (SCALE_DOWN, 0.0, 30.0)


def test_observations_are_listed() -> None:
    page = render_html(_report())
    assert "<h5>Observations</h5>" in page
    assert "<li>studio status after recovery: 200</li>" in page


def test_a_classified_hop_whose_procedures_never_ran_says_so() -> None:
    page = render_html(_report(hops=(_hop(rollbacks=()),)))
    assert "No rollback procedure was rehearsed on this hop." in page
    assert "not rehearsed" in page.split("<h2>")[0]


# --- the terminal --------------------------------------------------------------------------


def test_one_text_line_per_procedure_with_total_unavailable_time() -> None:
    hop = _hop(classification=_classification(procedures=("scenario3-new-instance", "scenario3-in-place")))
    assert rollback_lines(_report(hops=(hop, _hop(name="b", classification=None, rollbacks=())))) == (
        f"{HOP}: rollback scenario3-new-instance (scenario 3): passed in 11 min 40 s; 1 expected finding; "
        "unavailable 8 min 10 s (studio 8 min 10 s, api 50.0 s)",
        f"{HOP}: rollback scenario3-in-place (scenario 3): not rehearsed",
    )


def test_no_rollback_no_text_lines() -> None:
    assert rollback_lines(_report(hops=(_hop(classification=None, rollbacks=()),))) == ()


# --- from the session's hop state ----------------------------------------------------------


def _state(started: float) -> HopState:
    hop = Hop(Release(Version.parse("v24.05.01"), "a"), Release(Version.parse("v24.06.01"), "b"))
    reasons = (
        Reason(Scenario.FORWARD_COMPATIBLE, "migrations added", ("db/migrate/1_add.rb",)),
        Reason(Scenario.INTEGRITY_RISK, "drops a table", ("drop_table :tokens",)),
    )
    verdict = Classification(
        scenario=Scenario.FORWARD_COMPATIBLE,
        reasons=reasons,
        chart=None,
        migrations=InventoryDiff((), ()),
        findings=(),
        references={},
        procedure=(),
    )
    classification = HopClassification(
        hop=HOP,
        classification=verdict,
        procedures=(Procedure.NEW_INSTANCE, Procedure.IN_PLACE),
        forced=Scenario.INTEGRITY_RISK,
    )
    record = ProcedureRecord(
        procedure=Procedure.NEW_INSTANCE.value,
        scenario=3,
        started=started + 100.0,
        spans=[(SCALE_DOWN, 0.0, 30.0), (SNAPSHOT_RESTORE, 30.0, 400.0), (ROLLOUT, 400.0, 500.0)],
        samples=[
            Sample("studio", 0.0, True, 200),
            Sample("studio", 10.0, False, 503),
            Sample("studio", 450.0, True, 200),
            Sample("api", 0.0, True, 200),
            Sample("api", 520.0, True, 200),
        ],
        findings=["admin task fails on the dropped table"],
        observations={"studio status": 200},
        outcome="passed",
    )
    return HopState(hop=hop, started=started, classification=classification, rollbacks=[record])


def test_hop_state_becomes_the_rollback_half_on_the_hop_clock() -> None:
    began = time.time() - 1_000
    records = [StepRecord(HOP, "apply the upgrade", "t::a", "passed", 80.0, "", began)]
    hop = hop_from_state(_state(began), records)
    assert hop.scenario == "3 (forced)"
    assert hop.classification == ClassificationReport(
        scenario=3,
        classified=2,
        forced=True,
        title=Scenario.INTEGRITY_RISK.title,
        reasons=(
            ReasonReport(2, "migrations added", ("db/migrate/1_add.rb",)),
            ReasonReport(3, "drops a table", ("drop_table :tokens",)),
        ),
        procedures=("scenario3-new-instance", "scenario3-in-place"),
    )
    (rollback,) = hop.rollbacks
    assert rollback.start == pytest.approx(100.0)
    assert rollback.seconds == 520.0
    assert [(r.step, r.start, r.end, r.unavailable, r.estimate, r.verdict) for r in rollback.steps] == [
        (SCALE_DOWN, pytest.approx(100.0), pytest.approx(130.0), 20.0, (1, 5), "under the estimate"),
        (SNAPSHOT_RESTORE, pytest.approx(130.0), pytest.approx(500.0), 370.0, (5, 30), "within the estimate"),
        (ROLLOUT, pytest.approx(500.0), pytest.approx(600.0), 50.0, (2, 10), "under the estimate"),
    ]
    (outage,) = rollback.outages
    assert (outage.target, outage.start, outage.end) == ("studio", pytest.approx(110.0), pytest.approx(550.0))
    assert rollback.unavailable == (TargetDowntime("studio", 440.0), TargetDowntime("api", 0.0))
    assert rollback.observations == ("studio status: 200",)
    assert rollback.findings == ("admin task fails on the dropped table",)
    assert (rollback.probe_targets, rollback.samples) == (("studio", "api"), 5)
    # the upgrade part is as before
    assert hop.step_spans == (("apply the upgrade", 0.0, 80.0),)
    assert RunReport.from_json(_report(hops=(hop,)).to_json()).hops[0] == hop


def test_an_unclassified_hop_state_has_no_rollback_half() -> None:
    state = _state(time.time())
    state.classification = None
    state.rollbacks = []
    hop = hop_from_state(state, [])
    assert (hop.scenario, hop.classification, hop.rollbacks) == (None, None, ())


def test_total_unavailable_is_the_union_of_every_target() -> None:
    rollback = _rollback(
        outages=(
            OutageRow("studio", 10.0, 40.0, "HTTP 503"),
            OutageRow("api", 30.0, 70.0, "no answer"),
            OutageRow("api", 100.0, 100.0, "no answer"),  # one failed sample
            OutageRow("studio", 90.0, 80.0, "HTTP 503"),  # reversed: none
            OutageRow("api", float("inf"), 1.0, "edited"),  # not a time: ignored
        )
    )
    assert rollback.unavailable_seconds == pytest.approx(60.0)


def test_a_forced_scenario_shows_in_the_text_line() -> None:
    hop = _hop(classification=_classification(forced=True, classified=1))
    (line,) = rollback_lines(_report(hops=(hop,)))
    assert line.startswith(f"{HOP}: rollback scenario3-new-instance (scenario 3, forced): passed")


def test_harness_vocabulary_survives_a_secret_that_spells_it(tmp_path: Path) -> None:
    write_report(tmp_path, _report(), secrets=["estimate", "passed"])
    masked = RunReport.from_json((tmp_path / SUMMARY).read_text())
    assert [row.verdict for row in masked.hops[0].rollbacks[0].steps] == [
        row.verdict for row in _rollback().steps
    ]
    assert masked.outcome == "passed"
    assert masked.hops[0].rollbacks[0].outcome == MASK  # the procedure's outcome is free text
