"""Bad input to ``pytest-jitera``: one ``error:`` line, one ``hint:`` line, exit 2, no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_jitera.cli import EXIT_BROKEN_PIPE, main
from pytest_jitera.config import default_charts_source


def _assert_clean(err: str, *expected: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: "), err
    assert lines[1].startswith("hint: "), err
    for text in expected:
        assert text in err
    assert "Traceback" not in err


def _command() -> list[str]:
    exe = shutil.which("pytest-jitera")
    return [exe] if exe else [sys.executable, "-m", "pytest_jitera.cli"]


# 1. --values is checked before any work: the charts here do not even exist.


def test_values_folder_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "values"
    folder.mkdir()
    (folder / "prod.yaml").write_text("replicas: 2\n")
    code = main(["diff", str(tmp_path / "old.zip"), str(tmp_path / "new.zip"), "--values", str(folder)])
    assert code == 2
    err = capsys.readouterr().err
    _assert_clean(err, f"--values {folder} is a folder", f"--values {folder / 'prod.yaml'}")


def test_missing_values_file_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "prod-values.yaml"
    code = main(["diff", str(tmp_path / "old.zip"), str(tmp_path / "new.zip"), "--values", str(missing)])
    assert code == 2
    _assert_clean(capsys.readouterr().err, f"--values {missing}: no such file", "check the path")


def test_unreadable_values_file_is_refused_even_as_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root reads any file, so the permission answer is faked: the refusal path is the same."""
    secret = tmp_path / "prod.yaml"
    secret.write_text("replicas: 2\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != secret and real_access(path, mode))
    code = main(["diff", str(tmp_path / "old.zip"), str(tmp_path / "new.zip"), "--values", str(secret)])
    assert code == 2
    _assert_clean(capsys.readouterr().err, f"--values {secret} is not readable")


# 2. --out must be a folder (or creatable as one).


def test_build_reference_out_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out"
    target.write_text("not a folder")
    assert main(["build-reference", "--out", str(target)]) == 2
    _assert_clean(capsys.readouterr().err, f"--out {target} exists and is not a folder")
    assert target.read_text() == "not a folder"


def test_build_reference_out_below_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["build-reference", "--out", str(blocker / "series")]) == 2
    _assert_clean(capsys.readouterr().err, f"{blocker} is a file")


# 3. A reader that goes away ends the command quietly.


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "text"])
def test_closed_stdout_ends_quietly(charts: Path, json_output: bool) -> None:
    read_end, write_end = os.pipe()
    # Closing the read end before the child writes makes its first write fail with EPIPE,
    # exactly like `| head -1` exiting early, but without a race.
    os.close(read_end)
    try:
        proc = subprocess.run(
            [*_command(), "plan", "--charts", str(charts), "--from", "v24.05.01", "--to", "v24.07.01",
             *(["--json"] if json_output else [])],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == EXIT_BROKEN_PIPE


# 4. argparse's own complaints use the same two-line form.


def test_missing_argument_is_error_and_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["plan", "--from", "v24.05.01"])
    assert info.value.code == 2
    _assert_clean(
        capsys.readouterr().err,
        "error: the following arguments are required: --to",
        "pytest-jitera plan --help",
    )


def test_malformed_version_names_the_cli_option(charts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arabic_indic = "v\u0662\u0664.\u0660\u0666.\u0660\u0661"  # v24.06.01
    assert main(["plan", "--charts", str(charts), "--from", "v24.05.01", "--to", arabic_indic]) == 2
    _assert_clean(capsys.readouterr().err, "error: --to: not a release version", "vYY.MM.DD")


# 9. Messages from the planner are spelled with this program's flags.


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--from", "v24.07.01", "--to", "v24.05.01"], "(--to is older than --from)"),
        (["--from", "v24.05.01", "--to", "v24.05.01"], "pick a newer --to"),
        (["--from", "v24.05.01", "--to", "v24.07.01", "--direct"], "drop --direct"),
        (["--from", "v24.05.01", "--to", "v24.06.02"], "--to v24.06.02 is not a released version"),
        (["--from", "v24.05.02", "--to", "v24.06.01"], "--from v24.05.02 is not a released version"),
    ],
    ids=["downgrade", "same", "skip", "unknown-to", "unknown-from"],
)
def test_plan_refusals_name_cli_flags(
    charts: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert main(["plan", "--charts", str(charts), *argv]) == 2
    err = capsys.readouterr().err
    _assert_clean(err, expected)
    assert "--jitera-" not in err


# 10. Human output is whole lines.


def test_plan_text_ends_with_exactly_one_newline(charts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--charts", str(charts), "--from", "v24.05.01", "--to", "v24.06.15"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "upgrade path v24.05.01 -> v24.06.15: 2 hop(s)\n"
        f"  1. v24.05.01 -> v24.06.01  (minor)  {charts / 'jitera-helm-v24.06.01.zip'}\n"
        f"  2. v24.06.01 -> v24.06.15  (minor)  {charts / 'jitera-helm-v24.06.15.zip'}\n"
    )


# 11. Without --charts, plan uses the plugin's default catalog.


def test_plan_without_charts_uses_the_embedded_reference_series(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--from", "v24.05.01", "--to", "v24.07.01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["path"] == ["v24.05.01", "v24.06.01", "v24.07.01"]
    assert data["hops"][0]["chart"] == str(default_charts_source() / "jitera-helm-v24.06.01.zip")


def test_plan_help_names_the_default_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["plan", "--help"])
    assert info.value.code == 0
    assert "embedded reference series" in " ".join(capsys.readouterr().out.split())
