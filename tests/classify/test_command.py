"""``pytest-jitera classify`` end to end on the fixture pairs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_jitera.cli import main

from .conftest import FIXTURES


def _args(name: str, *extra: str, old_app: Path | None = None,
          new_app: Path | None = None, old_chart: Path | None = None) -> list[str]:
    base = FIXTURES / name
    return [
        "classify",
        "--old-chart", str(old_chart or base / "old" / "chart"),
        "--new-chart", str(base / "new" / "chart"),
        "--old-app", str(old_app or base / "old" / "app"),
        "--new-app", str(new_app or base / "new" / "app"),
        *extra,
    ]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_scenario_1_image_tag_only(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, _args("scenario1"))
    assert data["scenario"] == 1
    assert data["chart"]["structural_change"] is False
    assert data["migrations"] == {"added": [], "removed": []}
    assert data["findings"] == []
    assert data["references"] == {}


def test_scenario_2_table_dropped_used_by_rake_task(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, _args("scenario2"))
    assert data["scenario"] == 2
    assert [m["path"] for m in data["migrations"]["added"]] == [
        "db/migrate/20240601000000_drop_legacy_reports.rb"]
    assert [(f["op"], f["objects"], f["line"]) for f in data["findings"]] == [
        ("drop_table", {"table": "legacy_reports"}, 3)]
    refs = data["references"]["legacy_reports"]
    assert refs
    assert {r["kind"] for r in refs} == {"admin"}
    assert {r["file"] for r in refs} == {"lib/tasks/legacy_reports.rake"}


def test_scenario_3_column_dropped_used_by_controller(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, _args("scenario3"))
    assert data["scenario"] == 3
    assert data["chart"]["structural_change"] is True
    assert data["findings"][0]["op"] == "remove_column"
    assert data["references"]["users.legacy_flag"] == [{
        "file": "app/controllers/users_controller.rb", "line": 4, "kind": "user_facing",
        "name": "legacy_flag"}]
    assert data["procedure"][0].startswith("helm rollback alone is not enough")


@pytest.mark.parametrize("flag", ["--writes-during-rollback", "--full-consistency"])
def test_flags_escalate_scenario_2(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    data = _json(capsys, _args("scenario2", flag))
    assert data["scenario"] == 3


def test_human_output_is_a_release_note_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args("scenario2")) == 0
    out = capsys.readouterr().out
    assert out.startswith("Rollback scenario 2: forward-compatible: helm rollback works")
    assert "\n  [2] the new release adds 1 schema migration(s)" in out
    assert "| Check | Result |" in out
    assert "| Destructive operations | drop_table legacy_reports " in out
    assert "legacy_reports: 0 user-facing, 2 admin" in out
    assert "Procedure:" in out


def test_console_script_subprocess() -> None:
    exe = shutil.which("pytest-jitera")
    cmd = [exe] if exe else [sys.executable, "-m", "pytest_jitera.cli"]
    proc = subprocess.run([*cmd, *_args("scenario3"), "--json"], capture_output=True,
                          text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scenario"] == 3


def test_missing_app_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(_args("scenario1", old_app=tmp_path / "nope")) == 2
    err = capsys.readouterr().err
    assert "error: old application tree" in err
    assert "does not exist" in err
    assert "hint:" in err


def test_folder_that_is_not_rails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(_args("scenario1", new_app=tmp_path)) == 2
    assert "has no db/migrate/" in capsys.readouterr().err


def test_non_chart(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bogus = tmp_path / "chart.txt"
    bogus.write_text("not a chart")
    assert main(_args("scenario1", old_chart=bogus)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:")
    assert "not a chart" in err
    assert "Traceback" not in err


def test_binary_file_in_db_migrate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    new = tmp_path / "new"
    shutil.copytree(FIXTURES / "scenario1" / "new" / "app", new)
    (new / "db" / "migrate" / "20240601000000_blob.rb").write_bytes(b"\x7fELF\x00\x00\x01")
    data = _json(capsys, _args("scenario1", new_app=new))
    assert data["scenario"] == 3
    assert data["findings"] == [{
        "file": "db/migrate/20240601000000_blob.rb", "line": 0, "op": "could_not_analyse",
        "objects": {}, "destructive": False, "detail": "file is binary, not Ruby source"}]
    assert main(_args("scenario1", new_app=new)) == 0
    assert "| Could not analyse | db/migrate/20240601000000_blob.rb:0 file is binary" in (
        capsys.readouterr().out)


def test_app_and_image_are_mutually_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*_args("scenario1"), "--old-image", "x:1"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_chart_zips_are_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import zipfile

    zips = {}
    for side in ("old", "new"):
        chart = FIXTURES / "scenario1" / side / "chart"
        zips[side] = tmp_path / f"jitera-helm-{side}.zip"
        with zipfile.ZipFile(zips[side], "w") as archive:
            for path in sorted(chart.rglob("*")):
                archive.write(path, Path("charts/jitera") / path.relative_to(chart))
    argv = _args("scenario1")
    argv[argv.index("--old-chart") + 1] = str(zips["old"])
    argv[argv.index("--new-chart") + 1] = str(zips["new"])
    data = _json(capsys, argv)
    assert data["scenario"] == 1
    assert data["chart"]["old"]["source"] == str(zips["old"])


def _with_migration(tmp_path: Path, name: str, source: str) -> Path:
    """The scenario 1 new tree plus one added migration, so only that file is analysed."""
    new = tmp_path / "new"
    shutil.copytree(FIXTURES / "scenario1" / "new" / "app", new)
    (new / "db" / "migrate" / name).write_text(source)
    return new


def test_loop_over_literal_tables_reports_each_call(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    new = _with_migration(tmp_path, "20240601000000_remove_taxes_foreign_keys.rb", """\
class RemoveTaxesForeignKeys < ActiveRecord::Migration[7.0]
  def change
    [:invoices_taxes, :fees_taxes].each do |table|
      remove_foreign_key table, :taxes
    end
  end
end
""")
    data = _json(capsys, _args("scenario1", new_app=new))
    assert [(f["op"], f["objects"], f["line"]) for f in data["findings"]] == [
        ("remove_foreign_key", {"table": "invoices_taxes", "to_table": "taxes"}, 4),
        ("remove_foreign_key", {"table": "fees_taxes", "to_table": "taxes"}, 4)]
    assert data["scenario"] == 2
    assert main(_args("scenario1", new_app=new)) == 0
    out = capsys.readouterr().out
    assert "remove_foreign_key invoices_taxes" in out
    assert "remove_foreign_key fees_taxes" in out


def test_loop_over_computed_tables_is_scenario_3(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    new = _with_migration(tmp_path, "20240601000000_drop_old_tables.rb", """\
class DropOldTables < ActiveRecord::Migration[7.1]
  def up
    tables.each do |t|
      drop_table t
    end
  end
end
""")
    data = _json(capsys, _args("scenario1", new_app=new))
    assert data["scenario"] == 3
    assert [(f["op"], f["objects"], f["destructive"]) for f in data["findings"]] == [
        ("drop_table", {"table": "<unknown: t>"}, True)]
    assert data["references"] == {}
    assert data["procedure"][0].startswith("helm rollback alone is not enough")
