"""A rollback procedure's steps measured against the runbook, from hand-made samples.

The numbers end up in a change ticket as "the restore took 12 minutes, users waited 9", so
each case pins the arithmetic on samples whose outages can be worked out by hand.
"""

from __future__ import annotations

import pytest

from pytest_jitera.report.model import VERDICTS as REPORT_VERDICTS
from pytest_jitera.runbook.availability import Sample
from pytest_jitera.runbook.downtime import (
    ENDPOINT_SWITCH,
    OVER,
    ROLLOUT,
    SCALE_DOWN,
    SNAPSHOT_RESTORE,
    UNDER,
    VERDICTS,
    WITHIN,
    DowntimeRow,
    MeasuredStep,
    ProcedureRecord,
    StepTimer,
    downtime_rows,
    estimate_verdict,
    measured_steps,
    procedure_seconds,
    unavailable_by_target,
)


def ok(target: str, at: float) -> Sample:
    return Sample(target, at, True, 200)


def bad(target: str, at: float, status: int = 503) -> Sample:
    return Sample(target, at, False, status)


def record(spans: list[tuple[str, float, float]], samples: list[Sample]) -> ProcedureRecord:
    return ProcedureRecord("scenario3-new-instance", 3, 1_720_000_000.0, spans=spans, samples=samples)


def by_step(rows: list[MeasuredStep]) -> dict[str, float]:
    return {row.step: row.unavailable for row in rows}


def test_a_step_carries_its_overlap_with_the_outage() -> None:
    # studio down from 70 s (first failure) to 190 s (first good answer after it)
    samples = [ok("studio", 0.0), ok("studio", 60.0), bad("studio", 70.0), bad("studio", 130.0),
               ok("studio", 190.0)]
    rows = measured_steps(record([(SCALE_DOWN, 0.0, 100.0), (SNAPSHOT_RESTORE, 100.0, 400.0)], samples))
    assert [(r.step, r.start, r.end, r.seconds) for r in rows] == [
        (SCALE_DOWN, 0.0, 100.0, 100.0),
        (SNAPSHOT_RESTORE, 100.0, 400.0, 300.0),
    ]
    assert by_step(rows) == {SCALE_DOWN: 30.0, SNAPSHOT_RESTORE: 90.0}


def test_an_outage_spanning_two_steps_is_split_and_not_counted_twice() -> None:
    samples = [ok("studio", 0.0), bad("studio", 50.0), ok("studio", 250.0)]
    spans = [(SCALE_DOWN, 0.0, 120.0), (SNAPSHOT_RESTORE, 120.0, 200.0), (ROLLOUT, 200.0, 300.0)]
    rows = measured_steps(record(spans, samples))
    assert by_step(rows) == {SCALE_DOWN: 70.0, SNAPSHOT_RESTORE: 80.0, ROLLOUT: 50.0}
    assert sum(r.unavailable for r in rows) == pytest.approx(200.0)


def test_targets_are_united_not_added_and_not_the_worst_one() -> None:
    # studio down 10-40, api down 30-70: someone could not work from 10 to 70
    samples = [ok("studio", 0.0), bad("studio", 10.0), ok("studio", 40.0), ok("studio", 100.0),
               ok("api", 0.0), bad("api", 30.0), ok("api", 70.0), ok("api", 100.0)]
    rows = measured_steps(record([(SNAPSHOT_RESTORE, 0.0, 100.0)], samples))
    assert rows[0].unavailable == pytest.approx(60.0)  # not 70 (added), not 40 (worst target)
    assert unavailable_by_target(record([], samples)) == {"studio": 30.0, "api": 40.0}


def test_no_samples_means_no_unavailable_time_and_no_targets() -> None:
    rows = measured_steps(record([(SCALE_DOWN, 0.0, 90.0)], []))
    assert rows == [MeasuredStep(SCALE_DOWN, 0.0, 90.0, 0.0, (1, 5))]
    assert unavailable_by_target(record([(SCALE_DOWN, 0.0, 90.0)], [])) == {}
    assert procedure_seconds(record([(SCALE_DOWN, 0.0, 90.0)], [])) == 90.0


def test_an_outage_still_open_at_the_end_counts_up_to_the_last_sample() -> None:
    # nothing answered again: the outage ends at the last sample, not at the step's end
    samples = [ok("studio", 0.0), bad("studio", 100.0), bad("studio", 160.0)]
    rec = record([(ENDPOINT_SWITCH, 0.0, 120.0), (ROLLOUT, 120.0, 200.0)], samples)
    assert by_step(measured_steps(rec)) == {ENDPOINT_SWITCH: 20.0, ROLLOUT: 40.0}
    assert unavailable_by_target(rec) == {"studio": 60.0}


def test_a_target_that_never_failed_is_listed_with_zero() -> None:
    samples = [ok("studio", 0.0), ok("api", 0.0), bad("api", 5.0), ok("api", 8.0)]
    assert unavailable_by_target(record([], samples)) == {"studio": 0.0, "api": 3.0}


def test_a_step_run_twice_stays_two_rows_in_time_order() -> None:
    rollback = "helm rollback to revision 3"
    spans = [(SCALE_DOWN, 300.0, 360.0), (rollback, 200.0, 300.0), (SCALE_DOWN, 0.0, 30.0)]
    samples = [ok("studio", 0.0), bad("studio", 20.0), ok("studio", 40.0), bad("studio", 350.0),
               ok("studio", 400.0)]
    rows = measured_steps(record(spans, samples))
    assert [(r.step, r.start) for r in rows] == [
        (SCALE_DOWN, 0.0),
        (rollback, 200.0),
        (SCALE_DOWN, 300.0),
    ]
    assert [r.unavailable for r in rows] == [10.0, 0.0, 10.0]


def test_samples_out_of_order_give_the_same_rows() -> None:
    samples = [ok("studio", 190.0), bad("studio", 70.0), ok("studio", 0.0), bad("studio", 130.0)]
    rows = measured_steps(record([(SNAPSHOT_RESTORE, 0.0, 400.0)], samples))
    assert rows[0].unavailable == 120.0


def test_a_single_failed_last_sample_and_a_reversed_span_count_as_nothing() -> None:
    samples = [ok("studio", 0.0), bad("studio", 50.0)]
    rows = measured_steps(record([(ROLLOUT, 0.0, 50.0), ("backwards", 40.0, 10.0)], samples))
    assert [(r.step, r.seconds, r.unavailable) for r in rows] == [
        (ROLLOUT, 50.0, 0.0),
        ("backwards", 0.0, 0.0),
    ]


@pytest.mark.parametrize(
    ("step", "seconds", "estimate", "verdict"),
    [
        (SCALE_DOWN, 30.0, (1, 5), UNDER),
        (SCALE_DOWN, 60.0, (1, 5), WITHIN),
        (SCALE_DOWN, 300.0, (1, 5), WITHIN),
        (SCALE_DOWN, 301.0, (1, 5), OVER),
        (SNAPSHOT_RESTORE, 600.0, (5, 30), WITHIN),
        (ENDPOINT_SWITCH, 200.0, (1, 3), OVER),
        (ROLLOUT, 100.0, (2, 10), UNDER),
        ("helm rollback to revision 3", 100.0, None, ""),
    ],
)
def test_estimate_by_step_name_and_verdict_on_the_duration(
    step: str, seconds: float, estimate: tuple[int, int] | None, verdict: str
) -> None:
    (row,) = measured_steps(record([(step, 10.0, 10.0 + seconds)], []))
    assert row.estimate == estimate
    assert row.verdict == verdict
    assert DowntimeRow(step, seconds, estimate).verdict == verdict


def test_the_verdict_looks_at_the_step_not_at_the_unavailable_time() -> None:
    # a 2-minute scale-down during which nobody noticed is still within the 1-5 minute window
    samples = [ok("studio", t) for t in range(0, 121, 10)]
    (row,) = measured_steps(record([(SCALE_DOWN, 0.0, 120.0)], samples))
    assert (row.unavailable, row.verdict) == (0.0, WITHIN)


def test_the_step_timer_table_is_unchanged() -> None:
    timer = StepTimer()
    timer.add(SCALE_DOWN, 30.0)
    timer.add(SCALE_DOWN, 60.0)
    timer.add("other", 5.0)
    assert downtime_rows(timer) == [DowntimeRow(SCALE_DOWN, 90.0, (1, 5)), DowntimeRow("other", 5.0, None)]
    assert [row.verdict for row in downtime_rows(timer)] == [WITHIN, ""]


def test_procedure_length_reaches_the_last_span_or_sample() -> None:
    assert procedure_seconds(record([(SCALE_DOWN, 0.0, 90.0)], [ok("studio", 130.0)])) == 130.0
    assert procedure_seconds(record([], [])) == 0.0


def test_the_report_knows_every_verdict_the_rows_can_have() -> None:
    assert set(VERDICTS) == set(REPORT_VERDICTS)
    assert {estimate_verdict(s, (1, 5)) for s in (0.0, 120.0, 900.0)} | {estimate_verdict(1.0, None)} == set(
        VERDICTS
    )
