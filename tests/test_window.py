"""A hop's maintenance window: the times that decide it, beside the runbook's ranges."""

from __future__ import annotations

import json

from pytest_jitera.report.html import render_html
from pytest_jitera.report.model import HopReport, HopWindow, RunReport, WindowRow
from pytest_jitera.runbook.window import BACKUP_STEP, UPGRADE_STEPS, maintenance_window

STEPS = {BACKUP_STEP: 95.0, UPGRADE_STEPS[0]: 400.0, UPGRADE_STEPS[1]: 0.5, UPGRADE_STEPS[2]: 330.0}
BEFORE = {
    "public.projects": {"rows": 1_000_000, "checksum": "1", "bytes": 112_000_000},
    "public.users": {"rows": 100_001, "checksum": "2", "bytes": 20_000_000},
    "public.schema_migrations": {"rows": 7, "checksum": "3"},  # saved before sizes were
}


def test_the_window_adds_up_the_upgrade_and_sets_it_against_the_runbook() -> None:
    window = maintenance_window(STEPS, hook_seconds=380.0, restore_seconds=[200.0, 1900.0], before=BEFORE)
    assert window is not None
    assert (window.rows, window.bytes) == (1_100_008, 132_000_000)
    assert window.steps == (
        WindowRow("back up and prove every datastore", 95.0, None, ""),
        WindowRow("migration hook", 380.0, None, ""),
        WindowRow("upgrade: helm upgrade to rolled out", 730.5, (10, 30), "within the estimate"),
        WindowRow("restore into a new instance", 1900.0, (5, 30), "over the estimate"),
    )


def test_no_window_when_the_upgrade_did_not_run() -> None:
    steps = {k: v for k, v in STEPS.items() if k != UPGRADE_STEPS[2]}
    assert maintenance_window(steps, hook_seconds=None) is None


def test_a_short_upgrade_is_under_the_estimate_and_no_restore_means_no_row() -> None:
    steps = dict.fromkeys(UPGRADE_STEPS, 10.0)
    window = maintenance_window(steps, hook_seconds=None)
    assert window is not None
    assert [(r.step, r.verdict) for r in window.steps] == [
        ("upgrade: helm upgrade to rolled out", "under the estimate")
    ]
    assert (window.rows, window.bytes) == (0, 0)


def test_the_window_round_trips_and_is_tabled_in_the_hop_section() -> None:
    window = maintenance_window(STEPS, hook_seconds=380.0, restore_seconds=[1900.0], before=BEFORE)
    hop = HopReport(
        name="v24.06.01->v24.07.01", old="v24.06.01", new="v24.07.01", kind="minor",
        started=1_720_000_000.0, seconds=900.0, window=window,
    )
    report = RunReport(
        product="jitera", path=("v24.06.01", "v24.07.01"), started=1_719_999_000.0,
        finished=1_720_001_000.0, cluster="kind", namespace="jitera-x", helm="v4.3.2", hops=(hop,),
    )
    assert RunReport.from_json(report.to_json()) == report
    data = json.loads(report.to_json())["hops"][0]["window"]
    assert data["steps"][2] == {
        "step": "upgrade: helm upgrade to rolled out", "seconds": 730.5, "estimate": [10, 30],
        "verdict": "within the estimate",
    }
    page = render_html(report)
    assert "Maintenance window of v24.07.01 at 1,100,008 rows, 132.0 MB of Automation data" in page
    assert "over the estimate" in page
    older = json.loads(report.to_json())
    del older["hops"][0]["window"]
    assert RunReport.from_dict(older).hops[0].window is None
    assert HopWindow(0, 0).steps == ()
