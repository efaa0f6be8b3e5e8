from __future__ import annotations

import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_jitera.charts.chart import extract_chart, open_chart
from pytest_jitera.errors import ChartError


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("charts/jitera/Chart.yaml", b"apiVersion: v2\nname: jitera\nversion: 24.501.0\n")
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _everything_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.mark.parametrize(
    "bad_name",
    [
        "../escape.txt",
        "charts/../../escape.txt",
        "/tmp/jitera-abs-escape.txt",
        "C:/escape.txt",
        "a\\..\\b.txt",
    ],
)
def test_escaping_entries_are_refused_and_nothing_is_written(tmp_path: Path, bad_name: str) -> None:
    archive = _zip(tmp_path / "bad.zip", {"charts/jitera/values.yaml": b"a: 1\n", bad_name: b"pwned"})
    work = tmp_path / "work"
    work.mkdir()
    before_parent = _everything_under(tmp_path)
    with pytest.raises(ChartError, match="refusing to extract") as info:
        extract_chart(archive, work / "v24.05.01")
    assert "bad.zip" in str(info.value)
    assert _everything_under(tmp_path) == before_parent
    assert not Path("/tmp/jitera-abs-escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_symlink_pointing_outside_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("charts/jitera/Chart.yaml", "apiVersion: v2\nname: jitera\nversion: 1.0.0\n")
        info = zipfile.ZipInfo("charts/jitera/templates/evil.yaml")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../../../etc/passwd")
    with pytest.raises(ChartError, match="points outside"):
        extract_chart(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "big.zip", {"charts/jitera/values.yaml": b"x" * (5 * 1024 * 1024 + 1)})
    with pytest.raises(ChartError, match="per file"):
        extract_chart(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_zip_names_the_file(tmp_path: Path) -> None:
    archive = tmp_path / "jitera-helm-v24.05.01.zip"
    archive.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ChartError, match=r"jitera-helm-v24\.05\.01\.zip: not a readable zip"):
        open_chart(archive, tmp_path / "work")


def test_chartless_zip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("README.txt", "no chart here")
    with pytest.raises(ChartError, match=r"empty\.zip: no Chart\.yaml"):
        open_chart(archive, tmp_path / "work")
    assert not (tmp_path / "work" / "empty").exists()


def test_finds_chart_root_and_skips_subcharts(make_chart: Callable[..., Path], tmp_path: Path) -> None:
    folder = make_chart("v24.05.01")
    sub = folder / "charts" / "jitera" / "charts" / "redis"
    sub.mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: redis\nversion: 1.0.0\n")
    chart = open_chart(folder)
    assert chart.root == folder / "charts" / "jitera"
    assert chart.name == "jitera"
    assert chart.app_version == "v24.05.01"


def test_each_version_gets_its_own_folder_and_none_is_overwritten(
    make_chart: Callable[..., Path], tmp_path: Path
) -> None:
    old_zip = make_chart("v24.05.01", zipped=True)
    new_zip = make_chart("v24.06.01", zipped=True)
    work = tmp_path / "extracted"
    old = open_chart(old_zip, work, name="v24.05.01")
    new = open_chart(new_zip, work, name="v24.06.01")
    assert old.root.parent.parent.parent == new.root.parent.parent.parent == work
    assert old.app_version == "v24.05.01"
    assert new.app_version == "v24.06.01"
    # Same archive again: reused, not rewritten.
    assert open_chart(old_zip, work, name="v24.05.01").root == old.root
    # A different archive into an existing version folder: refused, old content intact.
    with pytest.raises(ChartError, match="refusing to overwrite"):
        open_chart(new_zip, work, name="v24.05.01")
    assert "v24.05.01" in (old.root / "Chart.yaml").read_text()


def test_non_chart_inputs(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ChartError, match="not a chart archive or folder"):
        open_chart(tmp_path / "notes.txt")
    with pytest.raises(ChartError, match="no such chart"):
        open_chart(tmp_path / "missing.zip")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ChartError, match=r"no Chart\.yaml"):
        open_chart(tmp_path / "folder")


def test_malformed_chart_yaml(tmp_path: Path) -> None:
    root = tmp_path / "c"
    root.mkdir()
    (root / "Chart.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ChartError, match="not valid YAML"):
        open_chart(root)
    (root / "Chart.yaml").write_text("name: jitera\n")
    with pytest.raises(ChartError, match="'version' is missing"):
        open_chart(root)
