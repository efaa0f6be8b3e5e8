"""User-supplied YAML: bombs, broken syntax and odd shapes end in one message, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jitera.cli import main
from pytest_jitera.errors import InputError
from pytest_jitera.yamlfile import load_yaml_file, load_yaml_mapping, parse_yaml

# 891 bytes that expand to 9**9 (387 million) list items once walked.
ALIAS_BOMB = "\n".join(
    [f"a: &a [{','.join(['lol'] * 9)}]"]
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
)
PASSWORD = "hunter2-Zq81"


def _chart(folder: Path, values: str = "image:\n  tag: v24.05.01\n", chart_yaml: str | None = None) -> Path:
    root = folder / "charts" / "jitera"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(chart_yaml or "apiVersion: v2\nname: jitera\nversion: 24.501.0\n")
    (root / "values.yaml").write_text(values)
    return folder


def test_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    bomb = tmp_path / "values.yaml"
    bomb.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 1000
    with pytest.raises(InputError, match="alias bomb") as info:
        load_yaml_mapping(bomb, what="values file")
    assert str(bomb) in str(info.value)


def test_aliases_that_stay_small_are_fine() -> None:
    data = parse_yaml("base: &b {x: 1}\none: *b\ntwo: *b\n", "test")
    assert data == {"base": {"x": 1}, "one": {"x": 1}, "two": {"x": 1}}


def test_syntax_error_names_file_and_line_but_never_quotes_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "values.yaml"
    broken.write_text(f'externalPostgres:\n  host: db\n  password: "{PASSWORD}\n  user: x\n')
    with pytest.raises(InputError) as info:
        load_yaml_mapping(broken, what="values file")
    text = str(info.value)
    assert str(broken) in text
    assert "line " in text
    assert PASSWORD not in text
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"- just\n- a list\n", "expected a mapping"),
        (b"[" * 5000 + b"]" * 5000, "nest"),
    ],
)
def test_odd_files_get_one_message(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "values.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        load_yaml_mapping(path, what="values file")


def test_size_is_bounded_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * 2000 + b"\n")
    with pytest.raises(InputError, match="more than the 1,000"):
        load_yaml_file(path, what="values file", max_bytes=1000)


def test_folder_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        load_yaml_file(tmp_path, what="values file")
    with pytest.raises(InputError, match="file not found"):
        load_yaml_file(tmp_path / "nope.yaml", what="values file")


def test_cli_diff_with_a_values_bomb_exits_2_quickly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _chart(tmp_path / "old"), _chart(tmp_path / "new")
    bomb = tmp_path / "mine.yaml"
    bomb.write_text(ALIAS_BOMB)
    assert main(["diff", str(old), str(new), "--values", str(bomb)]) == 2
    err = capsys.readouterr().err
    assert "alias bomb" in err
    assert "Traceback" not in err


def test_cli_diff_with_a_bomb_inside_the_chart_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _chart(tmp_path / "old"), _chart(tmp_path / "new", values=ALIAS_BOMB)
    assert main(["diff", str(old), str(new)]) == 2
    assert "alias bomb" in capsys.readouterr().err


def test_cli_values_syntax_error_does_not_print_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _chart(tmp_path / "old"), _chart(tmp_path / "new")
    broken = tmp_path / "mine.yaml"
    broken.write_text(f'credentials:\n  password: "{PASSWORD}\n')
    assert main(["diff", str(old), str(new), "--values", str(broken)]) == 2
    captured = capsys.readouterr()
    assert PASSWORD not in captured.err + captured.out
    assert "mine.yaml" in captured.err


@pytest.mark.parametrize(
    ("chart_yaml", "match"),
    [
        (
            "apiVersion: v2\nname: jitera\nversion: 24.501.0\ndependencies: 5\n",
            "'dependencies' must be a list",
        ),
        (
            "apiVersion: v2\nname: jitera\nversion: 24.501.0\ndependencies: [3]\n",
            "'dependencies' must be a list",
        ),
        ("apiVersion: v2\nname: [a]\nversion: 24.501.0\n", "'name' must be a string"),
        ("apiVersion: v2\nname: jitera\n", "'version' is missing"),
    ],
)
def test_malformed_chart_yaml_fields_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], chart_yaml: str, match: str
) -> None:
    old, new = _chart(tmp_path / "old"), _chart(tmp_path / "new", chart_yaml=chart_yaml)
    assert main(["diff", str(old), str(new)]) == 2
    err = capsys.readouterr().err
    assert match in err
    assert "Traceback" not in err
