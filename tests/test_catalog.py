from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_jitera.cli import main
from pytest_jitera.errors import ChartError, InputError, JiteraError
from pytest_jitera.release import helm_index
from pytest_jitera.release.catalog import load_catalog
from pytest_jitera.release.helm_index import IndexEntry, parse_index, read_index, scan_index
from pytest_jitera.release.versions import Version

SERIES = ["v24.05.01", "v24.05.01.1", "v24.06.01", "v24.06.15", "v24.07.01"]


def helm_entry(version: str, url: str | None = None, **extra: Any) -> dict[str, Any]:
    """One entry the way helm repo index writes it."""
    semver = Version.parse(version).semver()
    entry: dict[str, Any] = {
        "apiVersion": "v2",
        "appVersion": version,
        "created": "2024-05-01T10:00:00.000000000Z",
        "digest": "5f" * 32,
        "name": "jitera",
        "urls": [url if url is not None else f"jitera-{semver}.tgz"],
        "version": semver,
    }
    entry.update(extra)
    return entry


def write_index(folder: Path, entries: list[dict[str, Any]], **charts: list[dict[str, Any]]) -> Path:
    index = folder / "index.yaml"
    data = {"apiVersion": "v1", "entries": {"jitera": entries, **charts}, "generated": "2024-06-01T00:00:00Z"}
    index.write_text(yaml.safe_dump(data))
    return index


def fast_and_exact(text: str) -> list[IndexEntry]:
    """The scanner must take its fast path here, and agree with the exact reader."""
    fast = scan_index(text)
    assert fast is not None, "the scanner gave up on an index it should read"
    assert fast == parse_index(text, "index")
    return fast


# --- 1. a folder of Helm packages ---------------------------------------------------------


def test_folder_accepts_helm_tgz_packages(tmp_path: Path) -> None:
    for name in ["jitera-helm-v24.05.01.tgz", "jitera-24.501.1.tgz", "jitera-helm-v24.06.01.tar.gz",
                 "jitera-24.701.0.tgz", "jitera-helm-v24.06.15.zip"]:
        (tmp_path / name).write_bytes(b"")
    catalog = load_catalog(tmp_path)
    assert [(str(r.version), Path(r.location).name) for r in catalog.releases] == [
        ("v24.05.01", "jitera-helm-v24.05.01.tgz"),
        ("v24.05.01.1", "jitera-24.501.1.tgz"),
        ("v24.06.01", "jitera-helm-v24.06.01.tar.gz"),
        ("v24.06.15", "jitera-helm-v24.06.15.zip"),
        ("v24.07.01", "jitera-24.701.0.tgz"),
    ]
    assert catalog.warnings == ()


def test_one_version_packaged_twice_keeps_one_and_warns(tmp_path: Path) -> None:
    for name in ["jitera-24.501.0.tgz", "jitera-helm-v24.05.01.tgz", "jitera-helm-v24.05.01.zip",
                 "jitera-helm-v24.06.01.tar.gz", "jitera-24.601.0.tgz"]:
        (tmp_path / name).write_bytes(b"")
    catalog = load_catalog(tmp_path)
    assert [Path(r.location).name for r in catalog.releases] == [
        "jitera-helm-v24.05.01.zip",  # the zip, Jitera's own format, wins
        "jitera-24.601.0.tgz",  # then .tgz over .tar.gz
    ]
    assert sorted(catalog.warnings) == [
        "jitera-24.501.0.tgz: same release v24.05.01 as jitera-helm-v24.05.01.zip; "
        "using jitera-helm-v24.05.01.zip",
        "jitera-helm-v24.05.01.tgz: same release v24.05.01 as jitera-helm-v24.05.01.zip; "
        "using jitera-helm-v24.05.01.zip",
        "jitera-helm-v24.06.01.tar.gz: same release v24.06.01 as jitera-24.601.0.tgz; "
        "using jitera-24.601.0.tgz",
    ]


def test_extracted_folder_beside_its_package_is_not_a_duplicate(tmp_path: Path) -> None:
    (tmp_path / "jitera-24.501.0.tgz").write_bytes(b"")
    chart = tmp_path / "jitera-helm-v24.05.01" / "jitera"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: jitera\nversion: 24.501.0\n")
    catalog = load_catalog(tmp_path)
    assert [Path(r.location).name for r in catalog.releases] == ["jitera-24.501.0.tgz"]
    assert catalog.warnings == ()


def test_unrecognised_packages_are_warned_about(tmp_path: Path) -> None:
    for name in ["jitera-helm-v24.05.01.tgz", "postgresql-12.1.0.tgz", "jitera-latest.tgz",
                 "jitera-24.5.1.tar.gz", "notes.txt"]:
        (tmp_path / name).write_bytes(b"")
    catalog = load_catalog(tmp_path)
    assert catalog.versions == [Version.parse("v24.05.01")]
    warnings = catalog.warnings
    assert any(w.startswith("postgresql-12.1.0.tgz: not named jitera-helm-<VERSION>.tgz") for w in warnings)
    assert any(w.startswith("jitera-latest.tgz: not a release version") for w in warnings)
    assert any(w.startswith("jitera-24.5.1.tar.gz: ") for w in warnings)
    assert not any("notes.txt" in w for w in catalog.warnings)


# --- 2. the harness never downloads, and reads nothing outside the index's folder -----------


REMOTE_URLS = [
    "https://charts.example.com/jitera-24.501.0.tgz",
    "http://charts.example.com/jitera-24.501.0.tgz",
    "oci://registry.example.com/charts/jitera",
    "s3://bucket/jitera-24.501.0.tgz",
    "//charts.example.com/jitera-24.501.0.tgz",
    "file://otherhost/srv/jitera-24.501.0.tgz",
]


@pytest.mark.parametrize("url", REMOTE_URLS)
def test_index_listing_remote_urls_is_refused_at_load(tmp_path: Path, url: str) -> None:
    (tmp_path / "jitera-24.601.0.tgz").write_bytes(b"")
    index = write_index(tmp_path, [helm_entry("v24.05.01", url), helm_entry("v24.06.01")])
    with pytest.raises(ChartError) as info:
        load_catalog(index)
    assert "1 chart version(s) are only available at remote URLs" in info.value.message
    assert f"v24.05.01 ({url})" in info.value.message
    assert "never downloads" in info.value.message
    assert info.value.hint is not None
    assert "helm pull" in info.value.hint
    assert "relative" in info.value.hint


def test_remote_refusal_counts_and_names_the_versions(tmp_path: Path) -> None:
    remote = [f"v24.0{month}.01" for month in range(1, 10)]
    entries = [helm_entry(v, f"https://charts.example.com/{v}.tgz") for v in remote]
    index = write_index(tmp_path, [*entries, helm_entry("v24.10.01")])
    with pytest.raises(ChartError) as info:
        load_catalog(index)
    assert "9 chart version(s)" in info.value.message
    assert "v24.01.01 (https://charts.example.com/v24.01.01.tgz)" in info.value.message
    assert "and 4 more" in info.value.message


def test_plan_on_a_remote_index_fails_cleanly_before_any_hop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = write_index(tmp_path, [helm_entry(v, f"https://charts.example.com/{v}.tgz") for v in SERIES])
    assert main(["plan", "--charts", str(index), "--from", "v24.05.01", "--to", "v24.07.01"]) == 2
    err = capsys.readouterr().err
    assert "5 chart version(s) are only available at remote URLs" in err
    assert "helm pull" in err
    assert "Traceback" not in err


def test_local_urls_keep_working(tmp_path: Path) -> None:
    (tmp_path / "charts").mkdir()
    for name in ["charts/jitera-24.501.0.tgz", "jitera 24.601.0.tgz", "jitera-helm-v24.06.15.zip",
                 "jitera-24.701.0.tgz"]:
        (tmp_path / name).write_bytes(b"")
    index = write_index(tmp_path, [
        helm_entry("v24.05.01", "charts/jitera-24.501.0.tgz"),
        helm_entry("v24.06.01", "jitera%2024.601.0.tgz"),
        helm_entry("v24.06.15", "./jitera-helm-v24.06.15.zip"),
        helm_entry("v24.07.01", f"file://{tmp_path}/jitera-24.701.0.tgz"),
        helm_entry("v24.08.01", "file:jitera-24.801.0.tgz"),  # listed, but not downloaded here
        helm_entry("v24.09.01", ""),
    ])
    catalog = load_catalog(index)
    found = {str(r.version): (r.location, r.missing) for r in catalog.releases}
    assert found == {
        "v24.05.01": (str(tmp_path / "charts" / "jitera-24.501.0.tgz"), False),
        "v24.06.01": (str(tmp_path / "jitera 24.601.0.tgz"), False),
        "v24.06.15": (str(tmp_path / "jitera-helm-v24.06.15.zip"), False),
        "v24.07.01": (str(tmp_path / "jitera-24.701.0.tgz"), False),
        "v24.08.01": (str(tmp_path / "jitera-24.801.0.tgz"), True),
        "v24.09.01": ("", True),
    }
    assert all(r.path is not None for r in catalog.releases[:-1])


def test_index_reached_through_a_linked_folder_reads_that_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    write_index(real, [helm_entry("v24.05.01"), helm_entry("v24.06.01", "sub/../jitera-24.601.0.tgz"),
                       helm_entry("v24.07.01", "%00.tgz")])
    (real / "jitera-24.501.0.tgz").write_bytes(b"")
    (real / "jitera-24.601.0.tgz").write_bytes(b"")
    (real / "sub").mkdir()
    (tmp_path / "link").symlink_to(real)
    catalog = load_catalog(tmp_path / "link" / "index.yaml")
    assert [(r.location, r.missing) for r in catalog.releases] == [
        (str(tmp_path / "link" / "jitera-24.501.0.tgz"), False),
        (str(tmp_path / "link" / "jitera-24.601.0.tgz"), False),
        ("%00.tgz", True),
    ]


def test_index_in_the_working_folder_gives_relative_locations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_index(tmp_path, [helm_entry("v24.05.01")])
    (tmp_path / "jitera-24.501.0.tgz").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    release = load_catalog(Path("index.yaml")).releases[0]
    assert (release.location, release.missing) == ("jitera-24.501.0.tgz", False)


@pytest.mark.parametrize(
    "url", ["../../etc/x.tgz", "charts/../../x.tgz", "/etc/passwd", "file:///etc/hosts", "%2e%2e/x.tgz"]
)
def test_urls_leaving_the_index_folder_are_refused(tmp_path: Path, url: str) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    index = write_index(folder, [helm_entry("v24.05.01", url), helm_entry("v24.06.01")])
    with pytest.raises(ChartError) as info:
        load_catalog(index)
    assert "point outside the folder of the index" in info.value.message
    assert url in info.value.message
    assert info.value.hint is not None


def test_link_leading_out_of_the_index_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.tgz"
    outside.write_bytes(b"")
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "jitera-24.501.0.tgz").symlink_to(outside)
    index = write_index(folder, [helm_entry("v24.05.01")])
    with pytest.raises(ChartError, match="outside the folder of the index"):
        load_catalog(index)


# --- 3. bounds ------------------------------------------------------------------------------


def test_index_over_the_size_bound_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = write_index(tmp_path, [helm_entry(v) for v in SERIES])
    monkeypatch.setattr(helm_index, "MAX_INDEX_BYTES", 1000)
    with pytest.raises(InputError, match=r"bytes is more than the 1,000 allowed"):
        load_catalog(index)


def test_index_may_be_much_bigger_than_a_values_file(tmp_path: Path) -> None:
    versions = [f"v{y:02d}.{m:02d}.01" + (f".{p}" if p else "") for y in range(30) for m in range(1, 13)
                for p in range(10)]
    index = tmp_path / "index.yaml"
    description = "x" * 1500
    index.write_text("entries:\n  jitera:\n" + "".join(
        f"  - appVersion: {v}\n    description: {description}\n    urls:\n    - {v}.tgz\n" for v in versions
    ))
    assert index.stat().st_size > 5 * 1024 * 1024
    assert len(load_catalog(index).releases) == len(versions)


def test_alias_bomb_in_an_index_is_refused(tmp_path: Path) -> None:
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 9)]
    index = tmp_path / "index.yaml"
    index.write_text(
        "apiVersion: v1\nbomb:\n" + "".join(f"  {line}\n" for line in bomb)
        + "entries:\n  jitera:\n  - appVersion: v24.05.01\n    description: *a8\n    urls: [a.tgz]\n"
    )
    with pytest.raises(InputError, match="alias bomb"):
        load_catalog(index)


def test_invalid_yaml_names_the_line_without_quoting_it(tmp_path: Path) -> None:
    index = tmp_path / "index.yaml"
    index.write_text("apiVersion: v1\nentries:\n  jitera:\n  - appVersion: 'secret\n    version: [\n")
    with pytest.raises(InputError) as info:
        load_catalog(index)
    assert "not valid YAML (line" in info.value.message
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("apiVersion: v1\n", "no 'entries' mapping"),
        ("entries: {}\n", "no 'entries' mapping"),
        ("- entries\n", "no 'entries' mapping"),
        ("entries:\n  jitera: 3\n", "entries must be lists"),
        ("entries:\n  other:\n  jitera: []\n", "entries must be lists"),
        ("entries:\n  jitera:\n  - appVersion: latest\n", "no entry carries a release version"),
        ("entries:\n  jitera:\n  - appVersion: 2024-02-30\n", "a value cannot be read"),
    ],
)
def test_unusable_index_is_one_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    index = tmp_path / "index.yaml"
    index.write_text(text)
    with pytest.raises(ChartError, match=problem) as info:
        load_catalog(index)
    assert info.value.hint


# --- 3. the fast scanner agrees with the exact reader ----------------------------------------


def test_helm_layout_takes_the_fast_path(tmp_path: Path) -> None:
    entries = [helm_entry(v) for v in reversed(SERIES)]
    index = write_index(tmp_path, entries, other=[helm_entry("v23.01.01")])
    text = index.read_text()
    assert [e.app_version for e in fast_and_exact(text)] == list(reversed(SERIES))
    assert read_index(index) == parse_index(text, "index")


HELM_WRITTEN = """\
apiVersion: v1
entries:
  jitera:
  - annotations:
      artifacthub.io/changes: |
        - kind: fixed
          description: "quotes: 'do not' end here
      category: Infrastructure
    apiVersion: v2
    appVersion: v24.06.01
    created: "2024-06-01T10:00:00.123456789Z"
    dependencies:
    - condition: postgresql.enabled
      name: postgresql
      repository: oci://registry-1.docker.io/bitnamicharts
      version: 15.x.x
    description: Jitera Self-Hosted, the platform
    digest: 2c9d6a30c1b6e4b1a3a3c6b4b1d1c6a5f6e6d4c3b2a1908f7e6d5c4b3a291807
    home: https://jitera.example
    keywords:
    - jitera
    maintainers:
    - email: ops@jitera.example
      name: Jitera
    name: jitera
    sources:
    - https://github.com/jitera/charts
    type: application
    urls:
    - jitera-24.601.0.tgz
    version: 24.601.0
  - apiVersion: v2
    appVersion: v24.05.01
    created: "2024-05-01T10:00:00Z"
    description: >-
      folded text
      - appVersion: v99.01.01
    name: jitera
    urls:
    - jitera-24.501.0.tgz
    version: 24.501.0
generated: "2024-06-01T10:00:00.123456789Z"
serverInfo: {}
"""


# Each still reads with the fast path; some are there because a naive line scanner gets them wrong.
FAST_VARIANTS = {
    "helm": HELM_WRITTEN,
    "no final newline": HELM_WRITTEN.rstrip("\n"),
    "byte order mark": "\ufeff" + HELM_WRITTEN,
    "comments": "# index\napiVersion: v1 # one\nentries: # all\n  # charts\n  jitera: # ours\n"
    "  # first\n  - appVersion: v24.05.01 # release\n      # odd place\n    urls: # list\n"
    "    # item\n    - a.tgz # a\n    version: '24.501.0' # chart\n",
    "indented sequences, dash and key": "entries:\n  jitera:\n    - appVersion: v24.05.01\n"
    "      urls:\n        - a.tgz\n        - b.tgz\n      version: 24.501.0\n",
    "quoted scalars": "entries:\n  jitera:\n  - appVersion: \"v24.05.01\"\n    version: '24.501.0'\n"
    "    urls:\n    - 'it''s.tgz'\n  - appVersion: \"v24.06\\x2e01\"\n    urls: []\n",
    "repeated keys, last wins": "entries:\n  jitera:\n  - appVersion: v01.01.01\n  other: []\n  jitera:\n"
    "  - appVersion: v24.05.01\n    urls:\n    - a.tgz\n    appVersion: v24.07.01\n    urls: []\n",
    "repeated entries key": "entries:\n  jitera:\n  - appVersion: v01.01.01\nentries:\n  jitera:\n"
    "  - appVersion: v24.05.01\n",
    "first chart when no jitera": "entries:\n  zeta:\n  - appVersion: v24.05.01\n  alpha:\n"
    "  - appVersion: v24.06.01\n",
    "first chart when jitera is empty": "entries:\n  jitera: []\n  other:\n  - appVersion: v24.05.01\n",
    "first chart when jitera is null": "entries:\n  other:\n  - appVersion: v24.05.01\n  jitera:\n",
    "values that are not strings": "entries:\n  jitera:\n  - appVersion: 24.501\n    version: true\n"
    "    urls:\n    - 12\n  - appVersion: ~\n    version: 2024-05-01\n    urls:\n    -\n"
    "  - appVersion: 0x1F\n    version: 1e3\n    urls: ~\n  - version: null\n    urls: a.tgz\n",
    "multi-line plain scalar elsewhere": "entries:\n  jitera:\n  - description: one\n      two\n"
    "      version 9\n    appVersion: v24.05.01\n",
    "block scalar hiding fake entries": "entries:\n  jitera:\n  - notes: |\n"
    "      - appVersion: v99.01.01\n    \n      version: 9\n    appVersion: v24.05.01\n"
    "  - appVersion: v24.06.01\nnotes: |\n  jitera:\n  - appVersion: v97.01.01\n",
    "block scalar on the item line": "entries:\n  jitera:\n  - description: |-\n"
    "      - appVersion: v99.01.01\n    appVersion: v24.05.01\n",
    "numeric chart key": "entries:\n  1:\n  - appVersion: v24.05.01\n  0x1:\n  - appVersion: v24.06.01\n",
    "empty list only": "entries:\n  other: []\n",
    "entry that is not a mapping of kept keys": "entries:\n  jitera:\n  - name: jitera\n",
}


@pytest.mark.parametrize("text", FAST_VARIANTS.values(), ids=FAST_VARIANTS.keys())
def test_fast_path_agrees_with_exact_reader(text: str) -> None:
    fast_and_exact(text)


def test_fast_path_reads_what_the_loader_builds() -> None:
    assert fast_and_exact(FAST_VARIANTS["values that are not strings"]) == [
        IndexEntry("24.501", "True", "12"),
        IndexEntry(None, "2024-05-01", ""),
        IndexEntry("31", "1e3", ""),
        IndexEntry(None, None, ""),
    ]
    assert fast_and_exact(FAST_VARIANTS["repeated keys, last wins"]) == [IndexEntry("v24.07.01", None, "")]
    assert [e.app_version for e in fast_and_exact(FAST_VARIANTS["block scalar hiding fake entries"])] == [
        "v24.05.01", "v24.06.01",
    ]
    assert fast_and_exact(FAST_VARIANTS["numeric chart key"]) == [IndexEntry("v24.06.01", None, "")]


# Outside the scanner's layout: it must give up, and the exact reader decides.
EXACT_VARIANTS = {
    "anchors and aliases": "entries:\n  jitera:\n  - &e\n    appVersion: v24.05.01\n  - *e\n",
    "merge key": "base: &b {appVersion: v24.05.01}\nentries:\n  jitera:\n  - <<: *b\n    urls: [a.tgz]\n",
    "flow style": '{"entries": {"jitera": [{"appVersion": "v24.05.01", "urls": ["a.tgz"]}]}}\n',
    "flow entry": "entries:\n  jitera:\n  - {appVersion: v24.05.01, urls: [a.tgz]}\n",
    "quoted scalar over lines": 'entries:\n  jitera:\n  - description: "one\n    appVersion: v99.01.01"\n'
    "    appVersion: v24.05.01\n",
    "tag": "entries:\n  jitera:\n  - appVersion: !!str v24.05.01\n",
    "tab": "entries:\n  jitera:\n  - appVersion:\tv24.05.01\n",
    "CRLF": "entries:\r\n  jitera:\r\n  - appVersion: v24.05.01\r\n",
    "document start": "---\nentries:\n  jitera:\n  - appVersion: v24.05.01\n",
    "document end": "entries:\n  jitera:\n  - appVersion: v24.05.01\n...\n",
    "value on the next line": "entries:\n  jitera:\n  - appVersion:\n      v24.05.01\n",
    "plain scalar continued": "entries:\n  jitera:\n  - appVersion: v24.05.01\n      .1\n",
    "quoted key": "entries:\n  jitera:\n  - \"appVersion\": v24.05.01\n",
    "space before colon": "entries:\n  jitera:\n  - appVersion : v24.05.01\n",
    "complex key": "entries:\n  jitera:\n  - ? appVersion\n    : v24.05.01\n",
    "url mapping": "entries:\n  jitera:\n  - appVersion: v24.05.01\n    urls:\n    - name: a.tgz\n",
    "wide dash": "entries:\n  jitera:\n  -   appVersion: v24.05.01\n      urls:\n      - a.tgz\n",
    "scalar item": "entries:\n  jitera:\n  - |\n    - appVersion: v98.01.01\n  - appVersion: v24.06.01\n",
}


@pytest.mark.parametrize("text", EXACT_VARIANTS.values(), ids=EXACT_VARIANTS.keys())
def test_scanner_gives_up_outside_its_layout(tmp_path: Path, text: str) -> None:
    assert scan_index(text) is None
    index = tmp_path / "index.yaml"
    index.write_bytes(text.encode())
    assert read_index(index) == parse_index(text, "index")


def _random_scalar(rng: random.Random, text: str) -> str:
    style = rng.randrange(4)
    if style == 1:
        return "'" + text.replace("'", "''") + "'"
    if style == 2:
        return '"' + text + '"'
    return text + (" # note" if style == 3 else "")


def _random_entry(rng: random.Random, d: int) -> list[str]:
    k = d + 2
    pad = " " * k
    fields: list[list[str]] = []
    version = rng.choice([*SERIES, "v24.5.1", "latest", "24.501", "true", "~", "", "v25.12.31.7"])
    fields.append([f"appVersion: {_random_scalar(rng, version)}" if version else "appVersion:"])
    if rng.random() < 0.7:
        fields.append([f"version: {_random_scalar(rng, rng.choice(['24.501.0', '24.601.3', '1.0', 'x']))}"])
    urls = rng.randrange(6)
    if urls == 0:
        fields.append(["urls:", f"{' ' * rng.choice([0, 2])}- {_random_scalar(rng, 'jitera-24.501.0.tgz')}"])
    elif urls == 1:
        fields.append(["urls:", "- a.tgz", "- b.tgz"])
    elif urls == 2:
        fields.append(["urls: []"])
    elif urls == 3:
        fields.append([f"urls: {_random_scalar(rng, 'a.tgz')}"])
    elif urls == 4:
        fields.append(["urls:"])
    extras = [
        ['created: "2024-05-01T10:00:00Z"'],
        ["digest: " + "ab" * 32],
        ["description: first line", "  continued, more"],
        ["annotations:", "  changes: |", "    - appVersion: v99.01.01", "    'open", "  category: x"],
        ["maintainers:", "- name: a", "  email: b"],
        ["keywords: []"],
        ["notes: >-", "  - version: 7", "", "  urls:"],
        [rng.choice(["appVersion", "version"]) + ": v24.06.15"],  # a repeated key
    ]
    fields.extend(rng.sample(extras, rng.randrange(len(extras) + 1)))
    breakers = [  # valid YAML the scanner must leave to the exact reader
        ["digest: &d abc", "name: *d"],
        ["keywords: [a, b]"],
        ['description: "one', '  two"'],
        ["digest: !!str abc"],
    ]
    fields.extend(breaker for breaker in breakers if rng.random() < 0.04)
    rng.shuffle(fields)
    lines = []
    for number, field in enumerate(fields):
        head = " " * d + "- " if number == 0 else pad
        lines.append(head + field[0])
        lines.extend(pad + line if line else "" for line in field[1:])
        if rng.random() < 0.1:
            lines.append(" " * rng.randrange(8) + "# comment")
    return lines


def _random_index(rng: random.Random) -> str:
    c = rng.choice([1, 2, 4])
    d = c + rng.choice([0, 2])
    lines = ["apiVersion: v1"] if rng.random() < 0.5 else []
    lines.append("entries:")
    charts = rng.sample(["jitera", "other", "empty", "null"], rng.randrange(1, 5))
    for chart in charts:
        if chart in ("empty", "null"):
            lines.append(" " * c + ("empty: []" if chart == "empty" else "null:"))
            continue
        lines.append(" " * c + chart + ":")
        for _ in range(rng.randrange(1, 4)):
            lines.extend(_random_entry(rng, d))
    if rng.random() < 0.5:
        lines.extend(['generated: "2024-06-01T00:00:00Z"', "serverInfo:", "  contextPath: /v1"])
    return "\n".join(lines) + "\n"


def test_fast_and_exact_readers_agree_on_random_indexes() -> None:
    rng = random.Random(20240601)
    paths = {"fast": 0, "exact": 0, "refused": 0}
    for _ in range(500):
        text = _random_index(rng)
        try:
            exact = parse_index(text, "index")
        except JiteraError:
            assert scan_index(text) is None, text
            paths["refused"] += 1
            continue
        scanned = scan_index(text)
        paths["fast" if scanned is not None else "exact"] += 1
        assert scanned is None or scanned == exact, text
    # every way through is exercised, and the layouts without breakers are the scanner's
    assert paths["fast"] > 250, paths
    assert paths["exact"] > 25, paths
    assert paths["refused"] > 10, paths


# --- 5. versions are ASCII -------------------------------------------------------------------


def test_index_versions_must_be_ascii(tmp_path: Path) -> None:
    index = tmp_path / "index.yaml"
    index.write_text(
        "entries:\n  jitera:\n  - appVersion: v24.05.01\n  - appVersion: v\uff12\uff14.06.01\n"
        "  - version: \uff12\uff14.701.0\n",
        encoding="utf-8",
    )
    catalog = load_catalog(index)
    assert [str(v) for v in catalog.versions] == ["v24.05.01"]
    assert len(catalog.warnings) == 2


def test_catalog_is_the_same_through_both_readers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = write_index(tmp_path, [helm_entry(v) for v in SERIES])
    fast = load_catalog(index)
    monkeypatch.setattr(helm_index, "scan_index", lambda text: None)
    assert load_catalog(index) == fast
    assert os.path.basename(fast.releases[0].location) == "jitera-24.501.0.tgz"
