"""The catalog of released versions: what exists, and where each chart is.

A catalog comes from a folder (chart packages and/or extracted chart folders named after their
version) or from a Helm repository ``index.yaml``. An index may list a version whose chart is
not there; such a release is kept in the catalog (it still counts as released, so a path must
not skip it) but marked missing, so the planner can name it.

The harness never downloads anything, and an index only ever leads to files in its own
folder: an index listing remote URLs, or paths (or links) leaving that folder, is refused when
it is loaded, not halfway through a rehearsal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pytest_jitera.errors import ChartError, VersionError
from pytest_jitera.release.helm_index import IndexEntry, read_index
from pytest_jitera.release.versions import Version

DIR_RE = re.compile(r"^(?:jitera-helm-)?(?P<version>v.+)$")
# Jitera ships jitera-helm-<VERSION>.zip; Helm repositories hold <chart>-<chart version>.tgz
# (``helm package``/``helm pull`` names), and some mirrors spell the suffix .tar.gz.
ARCHIVE_SUFFIXES = (".zip", ".tgz", ".tar.gz")
_PACKAGE_PREFIXES = ("jitera-helm-", "jitera-")
ARCHIVE_PREFIXES = {".zip": ("jitera-helm-",), ".tgz": _PACKAGE_PREFIXES, ".tar.gz": _PACKAGE_PREFIXES}
SOURCE_HINT = (
    "pass a folder of jitera-helm-<VERSION>.zip or jitera-<CHART VERSION>.tgz files "
    "or a Helm repository index.yaml"
)
SHOWN_PROBLEMS = 5  # versions named in an error before "and N more"


@dataclass(frozen=True)
class Release:
    """One released version and where its chart lives (a package file or a folder)."""

    version: Version
    location: str
    missing: bool = False

    @property
    def path(self) -> Path | None:
        """The chart on local disk, when it is local."""
        parsed = urlsplit(self.location)
        if parsed.scheme in ("", "file"):
            return Path(parsed.path if parsed.scheme == "file" else self.location)
        return None


@dataclass(frozen=True)
class Catalog:
    """Released versions, ordered, plus notes about entries that were ignored."""

    source: str
    releases: tuple[Release, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def versions(self) -> list[Version]:
        """All released versions in order."""
        return [r.version for r in self.releases]

    def get(self, version: Version) -> Release | None:
        """The release of exactly this version, if released."""
        for release in self.releases:
            if release.version == version:
                return release
        return None

    def to_json(self) -> dict[str, object]:
        """Plain data for ``--json`` output and reports."""
        return {
            "source": self.source,
            "releases": [
                {"version": str(r.version), "location": r.location, "missing": r.missing}
                for r in self.releases
            ],
            "warnings": list(self.warnings),
        }


def load_catalog(source: Path) -> Catalog:
    """Build a catalog from a charts folder or an ``index.yaml``."""
    source = Path(source)
    if not source.exists():
        raise ChartError(f"{source}: charts source not found", hint=SOURCE_HINT)
    if source.is_file():
        if source.name.endswith((".yaml", ".yml")):
            return _from_index(source)
        raise ChartError(f"{source}: not a charts folder or index.yaml", hint=SOURCE_HINT)
    return _from_folder(source)


def _ordered(releases: dict[Version, Release]) -> tuple[Release, ...]:
    return tuple(sorted(releases.values(), key=lambda r: r.version))


# --- a folder of charts -------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """A folder entry that names a release; the lowest ``rank`` wins a tie on version."""

    version: Version
    entry: Path
    rank: tuple[int, str]

    @property
    def is_archive(self) -> bool:
        return self.rank[0] < len(ARCHIVE_SUFFIXES)


def _from_folder(folder: Path) -> Catalog:
    warnings: list[str] = []
    candidates: dict[Version, list[_Candidate]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        candidate = _candidate(entry, warnings)
        if candidate is not None:
            candidates.setdefault(candidate.version, []).append(candidate)
    if not candidates:
        raise ChartError(
            f"{folder}: no jitera-helm-<VERSION>.zip or jitera-<CHART VERSION>.tgz files "
            "and no version-named chart folders found",
            hint="name chart packages like jitera-helm-v24.05.01.zip or jitera-24.501.0.tgz "
            "(the name helm pull gives them)",
        )
    releases: dict[Version, Release] = {}
    for version, found in candidates.items():
        winner, *others = sorted(found, key=lambda c: c.rank)
        releases[version] = Release(version, str(winner.entry))
        warnings.extend(
            f"{other.entry.name}: same release {version} as {winner.entry.name}; using {winner.entry.name}"
            for other in others
            if other.is_archive
        )
    return Catalog(str(folder), _ordered(releases), tuple(warnings))


def _candidate(entry: Path, warnings: list[str]) -> _Candidate | None:
    """What release a folder entry holds, if any; unusable names get a warning.

    A zip or package wins over an extracted folder of the same version (it is the
    original, and an extracted folder beside it is normal); among packages the order is
    .zip, .tgz, .tar.gz, then the name, so the choice never depends on directory order.
    """
    if entry.is_dir():
        if not any(entry.rglob("Chart.yaml")):
            return None
        match = DIR_RE.match(entry.name)
        if not match:
            warnings.append(f"{entry.name}: chart folder not named after a release version; ignored")
            return None
        text, rank = match.group("version"), (len(ARCHIVE_SUFFIXES), entry.name)
    else:
        suffix = next((s for s in ARCHIVE_SUFFIXES if entry.name.endswith(s)), None)
        if suffix is None or not entry.is_file():
            return None
        prefix = next((p for p in ARCHIVE_PREFIXES[suffix] if entry.name.startswith(p)), None)
        if prefix is None:
            warnings.append(f"{entry.name}: not named {_expected_name(suffix)}; ignored")
            return None
        text = entry.name[len(prefix) : -len(suffix)]
        rank = (ARCHIVE_SUFFIXES.index(suffix), entry.name)
    try:
        version = Version.coerce(text)
    except VersionError as exc:
        warnings.append(f"{entry.name}: {exc.message}; ignored")
        return None
    return _Candidate(version, entry, rank)


def _expected_name(suffix: str) -> str:
    if suffix == ".zip":
        return "jitera-helm-<VERSION>.zip"
    return f"jitera-helm-<VERSION>{suffix} or jitera-<CHART VERSION>{suffix} (e.g. jitera-24.501.0{suffix})"


# --- an index.yaml ------------------------------------------------------------------------


class _Where(Enum):
    """Where an index URL points, from the point of view of a harness that never downloads."""

    LOCAL = "local"
    MISSING = "missing"
    REMOTE = "remote"
    OUTSIDE = "outside"


# A bare file name: no scheme, no %-escape, no folder, cannot be "." or "..".
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


class _IndexFolder:
    """Resolves an index's chart URLs against the folder the index is in, and nowhere else.

    Paths are resolved the way the kernel will (links first, then ``..``), so the file that
    is checked is the file that is later read.
    """

    def __init__(self, index: Path) -> None:
        shown = str(index.parent)
        self.prefix = "" if shown == "." else os.path.join(shown, "")  # as the user named it
        self.folder = os.path.realpath(index.parent)
        self.names = _listing_of(self.folder)

    def locate(self, url: str) -> tuple[_Where, str]:
        """The kind of place ``url`` names and the local path to read (or the URL itself)."""
        if not url:
            return _Where.MISSING, ""
        if _PLAIN_NAME.fullmatch(url):
            if self.names is not None and url not in self.names:
                return _Where.MISSING, self.prefix + url
            return self._check(url)
        parsed = urlsplit(url)
        if parsed.scheme not in ("", "file") or parsed.netloc not in ("", "localhost"):
            return _Where.REMOTE, url
        path = unquote(parsed.path)
        if not path:
            return _Where.MISSING, url
        try:
            target = os.path.realpath(os.path.join(self.folder, path))
        except ValueError:  # a NUL byte: no file has that name
            return _Where.MISSING, url
        if not _within(target, self.folder):
            return _Where.OUTSIDE, url
        return self._check(os.path.relpath(target, self.folder))

    def _check(self, relative: str) -> tuple[_Where, str]:
        """A path inside the folder: missing, local, or a link that leads out of it."""
        target = os.path.join(self.folder, relative)
        shown = self.prefix + relative
        if not os.path.exists(target):
            return _Where.MISSING, shown
        if not _within(os.path.realpath(target), self.folder):
            return _Where.OUTSIDE, shown
        return _Where.LOCAL, shown


def _listing_of(folder: str) -> frozenset[str] | None:
    """The names in ``folder``: one listing instead of a stat for each of 100,000 entries.

    None when the folder cannot be listed (execute but no read permission); every name is
    then looked up on its own.
    """
    try:
        return frozenset(os.listdir(folder))
    except OSError:
        return None


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _index_version(entry: IndexEntry) -> Version:
    """Prefer ``appVersion`` (the release tag), fall back to the chart's SemVer version."""
    errors = []
    for value in (entry.app_version, entry.version):
        if value is None:
            continue
        try:
            return Version.coerce(value)
        except VersionError as exc:
            errors.append(exc.message)
    raise VersionError("; ".join(errors) or "entry has neither appVersion nor version")


def _from_index(index: Path) -> Catalog:
    folder = _IndexFolder(index)
    found: dict[Version, Release] = {}
    warnings: list[str] = []
    remote: list[str] = []
    outside: list[str] = []
    for entry in read_index(index):
        try:
            version = _index_version(entry)
        except VersionError as exc:
            warnings.append(f"index entry {entry.version!r}: {exc.message}; ignored")
            continue
        where, location = folder.locate(entry.url)
        if where is _Where.REMOTE or where is _Where.OUTSIDE:
            (remote if where is _Where.REMOTE else outside).append(f"{version} ({entry.url})")
            continue
        found[version] = Release(version, location, missing=where is _Where.MISSING)
    _refuse_outside(index, outside)
    _refuse_remote(index, remote)
    if not found:
        raise ChartError(
            f"{index}: no entry carries a release version",
            hint="each entry needs appVersion vYY.MM.DD(.PATCH) or version YY.MMDD.PATCH",
        )
    return Catalog(str(index), _ordered(found), tuple(warnings))


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN_PROBLEMS])
    more = len(items) - SHOWN_PROBLEMS
    return shown + (f" and {more} more" if more > 0 else "")


def _refuse_outside(index: Path, items: list[str]) -> None:
    if items:
        raise ChartError(
            f"{index}: {len(items)} chart URL(s) point outside the folder of the index "
            f"({index.parent}): {_listing(items)}; refusing to read them",
            hint="keep the chart packages beside index.yaml (or below it) and list them "
            "with relative urls such as jitera-24.501.0.tgz",
        )


def _refuse_remote(index: Path, items: list[str]) -> None:
    if items:
        raise ChartError(
            f"{index}: {len(items)} chart version(s) are only available at remote URLs: "
            f"{_listing(items)}; the harness never downloads charts",
            hint="download them first, e.g. helm pull jitera --repo <REPO URL> --version <CHART VERSION> "
            "--destination charts/ for each version, then pass the folder (--charts charts/); "
            "or use a local index.yaml whose urls are paths relative to it",
        )
