"""Hostile chart archives: every way out is refused, and nothing is written or read outside.

Each case is a real archive built here (zip and Helm's .tgz); the sandbox holds a sentinel
folder beside the extraction folder, and every test checks the sentinel and the temp folder
are untouched afterwards.
"""

from __future__ import annotations

import io
import stat
import tarfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytest_jitera.charts.archive import MAX_FILE_BYTES, MAX_TOTAL_BYTES, extract_archive
from pytest_jitera.charts.chart import extract_chart, open_chart
from pytest_jitera.cli import main
from pytest_jitera.errors import ChartError

CHART_YAML = b"apiVersion: v2\nname: jitera\nversion: 24.501.0\nappVersion: v24.05.01\n"

# An entry: (name, kind, payload). kind is file, dir, link (payload = target), hardlink, fifo.
Spec = tuple[str, str, bytes]


def _zip(path: Path, entries: list[Spec]) -> Path:
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # duplicate names are a case we build on purpose
        for name, kind, payload in entries:
            info = zipfile.ZipInfo(name)
            if kind == "dir":
                info = zipfile.ZipInfo(name.rstrip("/") + "/")
                info.external_attr = (stat.S_IFDIR | 0o755) << 16
            elif kind == "link":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            elif kind == "fifo":
                info.external_attr = (stat.S_IFIFO | 0o644) << 16
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, payload)
    return path


def _tgz(path: Path, entries: list[Spec]) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = payload.decode()
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = payload.decode()
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "chardev":
                info.type = tarfile.CHRTYPE
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)
    path.write_bytes(buffer.getvalue())
    return path


BUILDERS = {"zip": _zip, "tgz": _tgz}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with a sentinel beside the extraction folder, and a private temp folder."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("do-not-read-me")
    (tmp_path / "work").mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr("tempfile.tempdir", None)
    before = _listing(tmp_path / "outside")
    yield tmp_path
    assert _listing(tmp_path / "outside") == before, "something was written beside the extraction folder"
    assert list((tmp_path / "tmp").iterdir()) == [], "a temp folder was left behind"


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _assert_refused(archive: Path, sandbox: Path, match: str) -> None:
    out = sandbox / "work" / "out"
    with pytest.raises(ChartError, match=match):
        extract_chart(archive, out)
    assert list((sandbox / "work").iterdir()) == [], "refusal must leave nothing in the extraction folder"


@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_chained_links_that_climb_out_are_refused(sandbox: Path, fmt: str) -> None:
    # The reviewer's escape: each link looks harmless alone; together they reach the root.
    archive = BUILDERS[fmt](
        sandbox / f"chain.{fmt}",
        [
            ("charts/jitera/Chart.yaml", "file", CHART_YAML),
            ("a/b/c/d/y", "link", b"../../../.."),
            ("a/b/c/d/y/w", "link", b"../../../.."),
            ("a/b/c/d/y/w/X", "file", b"pwned"),
        ],
    )
    _assert_refused(archive, sandbox, "refusing to extract")
    assert not Path("/X").exists()
    assert not (sandbox / "X").exists()


@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_template_linked_outside_is_refused_and_never_read(sandbox: Path, fmt: str) -> None:
    archive = BUILDERS[fmt](
        sandbox / f"tpl.{fmt}",
        [
            ("charts/jitera/Chart.yaml", "file", CHART_YAML),
            ("charts/jitera/templates/evil.yaml", "link", b"../../../../outside/secret.txt"),
        ],
    )
    _assert_refused(archive, sandbox, "points outside the chart")


def test_show_diff_never_prints_a_file_outside_the_chart(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _zip(sandbox / "old.zip", [("charts/jitera/Chart.yaml", "file", CHART_YAML)])
    new = _zip(
        sandbox / "new.zip",
        [
            ("charts/jitera/Chart.yaml", "file", CHART_YAML),
            ("charts/jitera/templates/x", "link", b"y"),
            ("charts/jitera/templates/y", "link", b"../../../../../../../../../etc/hostname"),
        ],
    )
    assert main(["diff", str(old), str(new), "--show-diff"]) == 2
    captured = capsys.readouterr()
    assert "points outside the chart" in captured.err
    assert "Traceback" not in captured.err


def test_chart_folder_with_a_link_out_is_not_read(sandbox: Path) -> None:
    root = sandbox / "work" / "chart"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_bytes(CHART_YAML)
    (root / "templates" / "leak.yaml").symlink_to(sandbox / "outside" / "secret.txt")
    chart = open_chart(root)
    with pytest.raises(ChartError, match="links outside the chart folder"):
        chart.templates()


@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_link_to_a_file_inside_becomes_a_plain_copy(sandbox: Path, fmt: str) -> None:
    archive = BUILDERS[fmt](
        sandbox / f"ok.{fmt}",
        [
            ("charts/jitera/Chart.yaml", "file", CHART_YAML),
            ("charts/jitera/templates/real.yaml", "file", b"kind: ConfigMap\n"),
            ("charts/jitera/templates/alias.yaml", "link", b"real.yaml"),
            ("charts/jitera/templates/alias2.yaml", "link", b"alias.yaml"),
        ],
    )
    root = extract_chart(archive, sandbox / "work" / "out")
    alias = root / "templates" / "alias2.yaml"
    assert not alias.is_symlink()
    assert alias.read_bytes() == b"kind: ConfigMap\n"
    assert not any(p.is_symlink() for p in (sandbox / "work" / "out").rglob("*"))


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([("l1", "link", b"l2"), ("l2", "link", b"l1")], "link loop"),
        ([("d/f", "file", b"x"), ("l", "link", b"d")], "points at a folder"),
        ([("l", "link", b"missing")], "points at nothing"),
        ([("l", "link", b"/etc/passwd")], "points outside"),
        (
            [("d/f", "file", b"x"), ("l", "link", b"d"), ("m", "link", b"l/f")],
            "points at a folder|passes through",
        ),
        ([("charts/jitera/Chart.yaml", "file", b"name: evil\n")], "appears twice"),
        ([("f", "file", b"x"), ("f/g", "file", b"y")], "inside the file"),
        ([("a/y/w/X", "file", b"x"), ("a/y", "link", b"..")], "appears twice"),
        ([("a/y", "link", b".."), ("a/y/X", "file", b"x")], "through the link"),
        ([("../up.txt", "file", b"x")], "escapes"),
        ([("/abs.txt", "file", b"x")], "absolute"),
        ([("C:/win.txt", "file", b"x")], "absolute"),
        ([("a\\..\\b.txt", "file", b"x")], "backslashes"),
        ([("p", "fifo", b"")], "device, pipe|named pipe"),
    ],
)
@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_hostile_entries_are_refused(sandbox: Path, fmt: str, entries: list[Spec], match: str) -> None:
    archive = BUILDERS[fmt](
        sandbox / f"bad.{fmt}", [("charts/jitera/Chart.yaml", "file", CHART_YAML), *entries]
    )
    _assert_refused(archive, sandbox, match)


@pytest.mark.parametrize(("kind", "match"), [("hardlink", "hard link"), ("chardev", "character device")])
def test_tar_hard_links_and_devices_are_refused(sandbox: Path, kind: str, match: str) -> None:
    archive = _tgz(
        sandbox / "dev.tgz",
        [
            ("charts/jitera/Chart.yaml", "file", CHART_YAML),
            ("charts/jitera/x", kind, b"charts/jitera/Chart.yaml"),
        ],
    )
    _assert_refused(archive, sandbox, match)


@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_size_is_counted_across_entries_not_per_entry(sandbox: Path, fmt: str) -> None:
    # The reviewer's bypass: many entries each under the per-file bound, far over the total.
    chunk = b"\0" * (MAX_FILE_BYTES - 1)
    count = MAX_TOTAL_BYTES // len(chunk) + 2
    entries: list[Spec] = [("charts/jitera/Chart.yaml", "file", CHART_YAML)]
    entries += [(f"charts/jitera/files/blob{i}", "file", chunk) for i in range(count)]
    archive = BUILDERS[fmt](sandbox / f"many.{fmt}", entries)
    assert archive.stat().st_size < 2 * 1024 * 1024
    _assert_refused(archive, sandbox, "uncompressed")


@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_one_file_over_helms_per_file_bound_is_refused(sandbox: Path, fmt: str) -> None:
    archive = BUILDERS[fmt](
        sandbox / f"big.{fmt}",
        [
            ("charts/jitera/Chart.yaml", "file", CHART_YAML),
            ("charts/jitera/big", "file", b"\0" * (MAX_FILE_BYTES + 1)),
        ],
    )
    _assert_refused(archive, sandbox, "per file")


def test_zip_whose_header_understates_its_size_is_refused(sandbox: Path) -> None:
    archive = _zip(
        sandbox / "liar.zip", [("charts/jitera/Chart.yaml", "file", CHART_YAML), ("f", "file", b"y" * 5000)]
    )
    data = bytearray(archive.read_bytes())
    # Rewrite the uncompressed size of "f" in its central-directory record to 10 bytes.
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("f")
    central = data.rfind(b"PK\x01\x02")
    assert data[central + 46 : central + 47] == b"f"
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    assert info.file_size == 5000
    _assert_refused(archive, sandbox, "larger than its header|corrupt|Bad")


def test_zip_name_not_marked_utf8_is_refused(sandbox: Path) -> None:
    archive = sandbox / "cp437.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("charts/jitera/Chart.yaml", CHART_YAML)
        info = zipfile.ZipInfo("charts/jitera/x")
        zf.writestr(info, b"x")
    data = bytearray(archive.read_bytes())
    # Replace the ASCII 'x' in both headers by byte 0x82 (cp437 'é'), leaving the UTF-8 flag off.
    for header in (b"PK\x03\x04", b"PK\x01\x02"):
        start = data.rfind(header)
        offset = 30 if header == b"PK\x03\x04" else 46
        name_len = int.from_bytes(data[start + (26 if header == b"PK\x03\x04" else 28) :][:2], "little")
        name_at = start + offset + name_len - 1
        assert data[name_at : name_at + 1] == b"x"
        data[name_at] = 0x82
    archive.write_bytes(bytes(data))
    _assert_refused(archive, sandbox, "not marked as UTF-8")


def test_tar_name_not_utf8_is_refused(sandbox: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT, encoding="latin-1") as tar:
        for name, data in (("charts/jitera/Chart.yaml", CHART_YAML), ("charts/jitera/caf\xe9", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = sandbox / "latin1.tgz"
    archive.write_bytes(buffer.getvalue())
    _assert_refused(archive, sandbox, "not valid UTF-8")


def test_gzip_that_is_not_a_tar_is_refused(sandbox: Path) -> None:
    import gzip

    archive = sandbox / "junk.tgz"
    archive.write_bytes(gzip.compress(b"not a tar at all" * 100))
    _assert_refused(archive, sandbox, "not a readable .tgz")


def test_helm_tgz_package_opens_like_a_zip(sandbox: Path) -> None:
    archive = _tgz(
        sandbox / "jitera-24.501.0.tgz",
        [
            ("jitera/Chart.yaml", "file", CHART_YAML),
            ("jitera/values.yaml", "file", b"image:\n  tag: v24.05.01\n"),
            ("jitera/templates/cm.yaml", "file", b"kind: ConfigMap\n"),
        ],
    )
    chart = open_chart(archive, sandbox / "work", name="v24.05.01")
    assert chart.app_version == "v24.05.01"
    assert chart.values() == {"image": {"tag": "v24.05.01"}}
    assert chart.templates() == {"cm.yaml": "kind: ConfigMap\n"}


def test_refused_diff_leaves_no_temp_folder(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _zip(sandbox / "good.zip", [("charts/jitera/Chart.yaml", "file", CHART_YAML)])
    bad = _zip(
        sandbox / "bad.zip", [("charts/jitera/Chart.yaml", "file", CHART_YAML), ("../x", "file", b"x")]
    )
    assert main(["diff", str(good), str(good)]) == 0
    assert main(["diff", str(good), str(bad)]) == 2
    capsys.readouterr()
    # the sandbox fixture asserts the private temp folder is empty afterwards


# ---------------------------------------------------------------------------------------------
# Property: whatever the archive claims, nothing lands or is read outside the staging folder.

_PARTS = st.sampled_from(
    ["a", "a", "b", "b", "X", "templates", "..", ".", "", "outside", "secret.txt", "Chart.yaml"]
)
_NAMES = st.builds(
    lambda lead, parts: lead + "/".join(parts),
    st.sampled_from(["", "", "", "", "", "/", "./", "../"]),
    st.lists(_PARTS, min_size=1, max_size=6),
)
_ENTRY = st.tuples(
    _NAMES,
    st.sampled_from(["file", "file", "dir", "link", "link", "hardlink", "fifo"]),
    st.one_of(_NAMES.map(str.encode), st.binary(max_size=64)),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_ENTRY, min_size=1, max_size=12), fmt=st.sampled_from(["zip", "tgz"]))
def test_random_archives_never_escape(
    tmp_path_factory: pytest.TempPathFactory, entries: list[Spec], fmt: str
) -> None:
    box = tmp_path_factory.mktemp("fuzz")
    (box / "outside").mkdir()
    (box / "outside" / "secret.txt").write_text("do-not-read-me")
    work = box / "deep" / "er" / "work"
    work.mkdir(parents=True)
    usable: list[Spec] = []
    for name, kind, payload in entries:
        if fmt == "zip" and kind in ("hardlink",):
            kind = "file"
        if kind in ("link", "hardlink"):
            try:
                payload.decode()
            except UnicodeDecodeError:
                payload = b"a"
        if "\x00" in name:
            continue
        usable.append((name, kind, payload))
    if not usable:
        return
    archive = box / f"fuzz.{fmt}"
    try:
        BUILDERS[fmt](archive, usable)
    except (ValueError, tarfile.TarError, UnicodeEncodeError):
        return  # the archive library itself cannot express this entry
    before = {p for p in box.rglob("*") if work not in p.parents and p != work}
    out = work / "out"
    try:
        extract_archive(archive, out)
        event("extracted")
    except ChartError:
        event("refused")
        assert not out.exists()
    after = {p for p in box.rglob("*") if work not in p.parents and p != work}
    assert after == before, "an entry was written outside the extraction folder"
    assert (box / "outside" / "secret.txt").read_text() == "do-not-read-me"
    assert {p.name for p in work.iterdir()} <= {"out"}, "the staging folder was left behind"
    if out.exists():
        for path in out.rglob("*"):
            assert not path.is_symlink(), f"{path} is a link on disk"
            assert out.resolve() in path.resolve().parents
            if path.is_file():
                assert path.read_bytes() != b"do-not-read-me"


def test_hostile_chart_in_a_rehearsal_is_a_usage_error_before_collection(
    pytester: pytest.Pytester, sandbox: Path
) -> None:
    # Before: the chained-link zip was extracted (writing /X) and the run said "2 passed".
    charts = sandbox / "charts"
    charts.mkdir()
    _zip(charts / "jitera-helm-v24.05.01.zip", [("charts/jitera/Chart.yaml", "file", CHART_YAML)])
    _zip(
        charts / "jitera-helm-v24.05.01.1.zip",
        [
            ("charts/jitera/Chart.yaml", "file", CHART_YAML.replace(b"24.501.0", b"24.501.1")),
            ("a/b/c/d/y", "link", b"../../../.."),
            ("a/b/c/d/y/w", "link", b"../../../.."),
            ("a/b/c/d/y/w/X", "file", b"pwned"),
        ],
    )
    result = pytester.runpytest(
        "--jitera-from=v24.05.01", "--jitera-to=v24.05.01.1", f"--jitera-charts={charts}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*jitera-helm-v24.05.01.1.zip*refusing to extract*"])
    assert "Traceback" not in result.stderr.str()
    assert not Path("/X").exists()
