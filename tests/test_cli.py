from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pytest_jitera.cli import main
from tests.conftest import BASE_VALUES


def test_plan_json(charts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--charts", str(charts), "--from", "v24.05.01", "--to", "v24.07.01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["path"] == ["v24.05.01", "v24.06.01", "v24.06.15", "v24.07.01"]
    assert [h["kind"] for h in data["hops"]] == ["minor", "minor", "minor"]
    assert data["hops"][0]["chart"].endswith("jitera-helm-v24.06.01.zip")


def test_plan_text(charts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--charts", str(charts), "--from", "v24.05.01", "--to", "v24.07.01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "upgrade path v24.05.01 -> v24.07.01: 3 hop(s)"
    assert [line.split()[1:4] for line in lines[1:4]] == [
        ["v24.05.01", "->", "v24.06.01"],
        ["v24.06.01", "->", "v24.06.15"],
        ["v24.06.15", "->", "v24.07.01"],
    ]


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("v24.07.01", "v24.05.01", "downgrade"),
        ("v24.5.1", "v24.07.01", "vYY.MM.DD"),
        ("v24.05.01", "v24.06.02", "nearest released: v24.06.01, v24.06.15"),
    ],
)
def test_plan_refusals_are_clean(
    charts: Path, capsys: pytest.CaptureFixture[str], source: str, target: str, expected: str
) -> None:
    assert main(["plan", "--charts", str(charts), "--from", source, "--to", target]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_diff_tag_only(make_chart: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    values = copy.deepcopy(BASE_VALUES)
    values["image"]["tag"] = "v24.05.01.1"
    old = make_chart("v24.05.01", zipped=True)
    new = make_chart("v24.05.01.1", values=values)
    assert main(["diff", str(old), str(new)]) == 0
    assert "NO STRUCTURAL CHANGE" in capsys.readouterr().out


def test_diff_flags_moved_override(
    make_chart: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = copy.deepcopy(BASE_VALUES)
    values["externalPostgres"] = {"primary": {"host": "db.internal"}, "port": 5432, "database": "jitera"}
    old = make_chart("v24.05.01", zipped=True)
    new = make_chart("v24.06.01", values=values, zipped=True)
    user = tmp_path / "mine.yaml"
    user.write_text(yaml.safe_dump({"externalPostgres": {"host": "prod-db"}}))
    assert main(["diff", str(old), str(new), "--values", str(user), "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    hazards = data["values"]["override_hazards"]
    assert [(h["key"], h["problem"]) for h in hazards] == [("externalPostgres.host", "renamed")]
    assert data["structural_change"] is True


def test_diff_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "jitera-helm-v24.05.01.zip"
    bad.write_bytes(b"garbage")
    assert main(["diff", str(bad), str(tmp_path / "missing.zip")]) == 2
    err = capsys.readouterr().err
    assert "jitera-helm-v24.05.01.zip" in err
    assert "Traceback" not in err


def test_console_script_is_installed(charts: Path) -> None:
    exe = shutil.which("pytest-jitera")
    argv = [exe] if exe else [sys.executable, "-m", "pytest_jitera.cli"]
    proc = subprocess.run(
        [*argv, "plan", "--charts", str(charts), "--from", "v24.05.01", "--to", "v24.06.15"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "v24.06.01 -> v24.06.15" in proc.stdout
