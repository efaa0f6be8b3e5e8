"""The decision chain over already-computed facts, and the report shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_jitera.charts.diff import ChartDiff, diff_charts
from pytest_jitera.decision.classify import Scenario, classify_release, decide, procedure_for, search_targets
from pytest_jitera.decision.migrations.findings import Finding, could_not_analyse
from pytest_jitera.decision.migrations.inventory import InventoryDiff, MigrationFile
from pytest_jitera.decision.migrations.references import Reference
from pytest_jitera.decision.migrations.ruby_analysis import analyse_source

from .conftest import FIXTURES

ADDED = MigrationFile("migrate", "20240601000000", "x", "db/migrate/20240601000000_x.rb")
DATA = MigrationFile("data", "20240602000000", "y", "db/data/20240602000000_y.rb")
NOTHING = InventoryDiff((), ())
ONE_ADDED = InventoryDiff((ADDED,), ())
DROP = Finding(ADDED.path, 3, "drop_table", {"table": "legacy_reports"})
REMOVE = Finding(ADDED.path, 4, "remove_column", {"table": "users", "column": "legacy_flag"})


def _decide(**kwargs):
    base = dict(diff=NOTHING, findings=[], references={})
    base.update(kwargs)
    return decide(**base)


def _chart_diff(name: str) -> ChartDiff:
    base = FIXTURES / name
    return diff_charts(base / "old" / "chart", base / "new" / "chart")


@pytest.fixture(scope="module")
def structural() -> ChartDiff:
    diff = _chart_diff("scenario3")
    assert diff.structural_change
    return diff


@pytest.fixture(scope="module")
def tag_only() -> ChartDiff:
    diff = _chart_diff("scenario1")
    assert not diff.structural_change
    return diff


def test_tag_only_release_without_migrations_is_scenario_1(tag_only: ChartDiff) -> None:
    result = _decide(chart=tag_only)
    assert result.scenario is Scenario.PATCH_ROLLBACK
    assert "helm rollback" in result.procedure[0]


def test_no_charts_means_the_migrations_decide_alone() -> None:
    result = _decide()
    assert result.scenario is Scenario.PATCH_ROLLBACK
    assert result.chart is None
    assert result.to_json()["chart"] == {"structural_change": False}


def test_flags_do_not_escalate_a_release_without_schema_change() -> None:
    # the runbook only escalates once step 3 (scenario 1 test) has failed
    assert _decide(writes_during_rollback=True, full_consistency=True).scenario == 1


def test_structural_chart_change_alone_is_scenario_2(structural: ChartDiff) -> None:
    result = _decide(chart=structural)
    assert result.scenario is Scenario.FORWARD_COMPATIBLE
    assert any("chart" in r.text for r in result.reasons)


def test_removed_migration_is_scenario_3_even_without_other_change() -> None:
    result = _decide(diff=InventoryDiff((), (ADDED,)))
    assert result.scenario == 3
    assert result.reasons[0].evidence == (ADDED.path,)


def test_non_destructive_migration_is_scenario_2() -> None:
    result = _decide(diff=InventoryDiff((ADDED, DATA), ()))
    assert result.scenario == 2
    assert "1 schema migration(s) and 1 data migration(s)" in result.reasons[0].text
    assert "--writes-during-rollback" in result.reasons[0].text


def test_new_enum_type_is_scenario_2_with_restore_warning() -> None:
    enum = Finding(ADDED.path, 3, "create_enum", {"type": "mood"})
    result = _decide(diff=ONE_ADDED, findings=[enum])
    assert result.scenario == 2
    assert any("DuplicateObject" in r.text for r in result.reasons)
    assert any("new database instance" in step for step in result.procedure)


def test_drop_referenced_only_from_admin_is_scenario_2() -> None:
    refs = {"legacy_reports": [Reference("lib/tasks/x.rake", 2, "admin", "LegacyReport")]}
    result = _decide(diff=ONE_ADDED, findings=[DROP], references=refs)
    assert result.scenario == 2
    assert "lib/tasks/x.rake:2" in result.reasons[-1].evidence
    assert any("lib/tasks/x.rake" in step for step in result.procedure)


def test_drop_referenced_from_user_facing_code_is_scenario_3() -> None:
    refs = {"users.legacy_flag": [Reference("app/controllers/u.rb", 4, "user_facing", "legacy_flag"),
                                  Reference("lib/tasks/x.rake", 2, "admin", "legacy_flag")]}
    result = _decide(diff=ONE_ADDED, findings=[REMOVE], references=refs)
    assert result.scenario == 3
    assert result.reasons[0].evidence[:2] == (f"{ADDED.path}:4", "app/controllers/u.rb:4")


def test_unreferenced_destructive_change_is_scenario_2() -> None:
    result = _decide(diff=ONE_ADDED, findings=[DROP], references={"legacy_reports": []})
    assert result.scenario == 2


@pytest.mark.parametrize("flag", ["writes_during_rollback", "full_consistency"])
def test_escalation_flags_make_scenario_3(flag: str) -> None:
    result = _decide(diff=ONE_ADDED, findings=[DROP], references={}, **{flag: True})
    assert result.scenario is Scenario.INTEGRITY_RISK
    assert getattr(result, flag) is True
    assert result.to_json()["flags"][flag] is True


def test_could_not_analyse_is_scenario_3() -> None:
    result = _decide(diff=ONE_ADDED, findings=[could_not_analyse(ADDED.path, "binary")])
    assert result.scenario == 3
    assert "could not analyse" in result.reasons[0].text


def test_name_computed_at_runtime_is_scenario_3() -> None:
    source = (b"class DropMany < ActiveRecord::Migration[7.1]\n  def up\n"
              b"    tables.each do |t|\n      drop_table t\n    end\n  end\nend\n")
    findings = analyse_source(source, ADDED.path)
    assert [(f.op, f.objects) for f in findings] == [("drop_table", {"table": "<unknown: t>"})]
    assert search_targets(findings) == []  # nothing to grep the old code for
    # An empty search result must not read as "unused": the name is not known.
    result = _decide(diff=ONE_ADDED, findings=findings, references={})
    assert result.scenario == 3
    assert "computed at runtime" in result.reasons[0].text
    assert result.reasons[0].evidence == (f"{ADDED.path}:4",)


def test_json_shape(structural: ChartDiff) -> None:
    refs = {"legacy_reports": [Reference("lib/tasks/x.rake", 2, "admin", "LegacyReport")]}
    data = _decide(chart=structural, diff=ONE_ADDED, findings=[DROP], references=refs).to_json()
    text = json.dumps(data)
    assert '"scenario": 2' in text  # the number, not the enum's name
    assert type(data["scenario"]) is int
    assert data["scenario"] == 2
    assert all(type(r["scenario"]) is int for r in data["reasons"])
    assert data["chart"] == structural.to_json()
    assert data["chart"]["verdict"] == "structural change"
    assert data["chart"]["structural_change"] is True
    assert data["migrations"]["added"][0]["path"] == ADDED.path
    assert data["migrations"]["removed"] == []
    assert {"file", "line", "op", "objects"} <= data["findings"][0].keys()
    assert data["references"]["legacy_reports"] == [
        {"file": "lib/tasks/x.rake", "line": 2, "kind": "admin", "name": "LegacyReport"}]
    assert all(isinstance(step, str) for step in data["procedure"])
    assert all({"scenario", "text", "evidence"} <= r.keys() for r in data["reasons"])


@pytest.mark.parametrize("scenario", list(Scenario))
def test_every_scenario_has_a_procedure(scenario: Scenario) -> None:
    assert len(procedure_for(scenario)) >= 3
    assert scenario.title


def test_scenarios_are_the_runbook_numbers() -> None:
    assert [int(s) for s in Scenario] == [1, 2, 3]
    assert max(Scenario.FORWARD_COMPATIBLE, Scenario.INTEGRITY_RISK) is Scenario.INTEGRITY_RISK


@pytest.mark.parametrize(("name", "expected"), [("scenario1", 1), ("scenario2", 2), ("scenario3", 3)])
def test_fixture_trees_classify(name: str, expected: int) -> None:
    base = FIXTURES / name
    chart = _chart_diff(name)
    result = classify_release(base / "old" / "app", base / "new" / "app", chart=chart)
    assert result.scenario == expected
    assert isinstance(result.scenario, Scenario)
    assert result.chart is chart


def test_binary_migration_in_tree_is_scenario_3(tmp_path: Path) -> None:
    import shutil

    new = tmp_path / "new"
    shutil.copytree(FIXTURES / "scenario1" / "new" / "app", new)
    (new / "db" / "migrate" / "20240601000000_blob.rb").write_bytes(b"\x00\x01\x02\xff")
    result = classify_release(FIXTURES / "scenario1" / "old" / "app", new)
    assert result.scenario == 3
    assert result.findings[0].op == "could_not_analyse"
