"""Runbook "Before You Upgrade", the checks that need no cluster, once per planned hop.

Run with ``pytest --jitera-from=v24.05.01 --jitera-to=v24.06.01 [--jitera-charts=DIR]
[--jitera-values=my-values.yaml]``. Each hop gets its own test ids, so a nightly matrix shows
exactly which step of the path broke.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from pytest_jitera.charts.chart import Chart
from pytest_jitera.charts.diff import ChartDiff
from pytest_jitera.config import JiteraConfig
from pytest_jitera.release.catalog import Release
from pytest_jitera.release.planner import Hop
from pytest_jitera.release.versions import StepKind


@pytest.mark.jitera_step("obtain and extract the new chart")
def test_chart_of_each_release_opens(jitera_hop: Hop, jitera_chart: Callable[[Release], Chart]) -> None:
    """Step "obtain and extract the new chart": both charts open and keep separate folders."""
    old = jitera_chart(jitera_hop.old)
    new = jitera_chart(jitera_hop.new)
    assert old.root != new.root, "the previous chart must stay available for rollback"
    assert old.root.exists()
    assert new.root.exists()


@pytest.mark.jitera_step("diff values against the new chart")
def test_overrides_still_apply(
    jitera_hop: Hop,
    jitera_chart_diff: Callable[[Hop], ChartDiff],
    jitera_config: JiteraConfig,
) -> None:
    """Checklist "diff values.yaml": every key you override is still read by the new chart."""
    diff = jitera_chart_diff(jitera_hop)
    report = jitera_config.report / "diffs"
    report.mkdir(parents=True, exist_ok=True)
    name = f"{jitera_hop.old.version}_to_{jitera_hop.new.version}"
    (report / f"{name}.json").write_text(json.dumps(diff.to_json(), indent=2, default=str))
    (report / f"{name}.txt").write_text(diff.render() + "\n")
    if diff.values.hazards:
        lines = "\n".join(f"  - {h.describe()}" for h in diff.values.hazards)
        pytest.fail(
            f"{len(diff.values.hazards)} of your overrides would be ignored by {jitera_hop.new.version}:\n"
            f"{lines}\nfull diff: {report / (name + '.txt')}",
            pytrace=False,
        )


@pytest.mark.jitera_hop_kinds(StepKind.PATCH)
@pytest.mark.jitera_step("patch release changes image tags only")
def test_patch_hop_has_no_structural_change(
    jitera_hop: Hop, jitera_chart_diff: Callable[[Hop], ChartDiff]
) -> None:
    """Versioning rule: a patch release changes image tags only (minor hops: not generated)."""
    diff = jitera_chart_diff(jitera_hop)
    if diff.structural_change:
        # pytest.fail, not assert: assertion introspection would print the diff object itself.
        pytest.fail(
            f"patch release {jitera_hop.new.version} changes the chart's structure:\n  "
            + "\n  ".join(diff.structural_reasons),
            pytrace=False,
        )
