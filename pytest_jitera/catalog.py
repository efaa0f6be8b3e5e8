"""The catalog of released versions: what exists, and where each chart is.

A catalog comes from a folder (``jitera-helm-<VERSION>.zip`` files and/or extracted chart
folders named after their version) or from a Helm repository ``index.yaml``. An index may list
a version whose chart is not there; such a release is kept in the catalog (it still counts
as released, so a path must not skip it) but marked missing, so the planner can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

from pytest_jitera.errors import ChartError, VersionError
from pytest_jitera.versions import Version

ZIP_RE = re.compile(r"^jitera-helm-(?P<version>.+)\.zip$")
DIR_RE = re.compile(r"^(?:jitera-helm-)?(?P<version>v.+)$")


@dataclass(frozen=True)
class Release:
    """One released version and where its chart lives (a zip, a folder or a URL)."""

    version: Version
    location: str
    missing: bool = False

    @property
    def path(self) -> Path | None:
        """The chart on local disk, when it is local."""
        parsed = urlparse(self.location)
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
        raise ChartError(
            f"{source}: charts source not found",
            hint="pass a folder of jitera-helm-<VERSION>.zip files or a Helm repository index.yaml",
        )
    if source.is_file():
        if source.name.endswith((".yaml", ".yml")):
            return _from_index(source)
        raise ChartError(
            f"{source}: not a charts folder or index.yaml",
            hint="pass a folder of jitera-helm-<VERSION>.zip files or a Helm repository index.yaml",
        )
    return _from_folder(source)


def _from_folder(folder: Path) -> Catalog:
    found: dict[Version, Release] = {}
    warnings: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        match = ZIP_RE.match(entry.name) if entry.is_file() else None
        if entry.is_dir() and any(entry.rglob("Chart.yaml")):
            match = DIR_RE.match(entry.name)
            if not match:
                warnings.append(f"{entry.name}: chart folder not named after a release version; ignored")
                continue
        if not match:
            if entry.name.endswith(".zip"):
                warnings.append(f"{entry.name}: not named jitera-helm-<VERSION>.zip; ignored")
            continue
        try:
            version = Version.parse(match.group("version"))
        except VersionError as exc:
            warnings.append(f"{entry.name}: {exc.message}; ignored")
            continue
        if version in found and entry.is_dir():
            continue  # a zip and its extracted folder side by side: keep the zip, the original
        found[version] = Release(version, str(entry))
    if not found:
        raise ChartError(
            f"{folder}: no jitera-helm-<VERSION>.zip files or version-named chart folders found",
            hint="name chart zips like jitera-helm-v24.05.01.zip",
        )
    return Catalog(str(folder), tuple(sorted(found.values(), key=lambda r: r.version)), tuple(warnings))


def _index_version(entry: dict[str, object]) -> Version:
    """Prefer ``appVersion`` (the release tag), fall back to the chart's SemVer version."""
    errors = []
    for key in ("appVersion", "version"):
        value = entry.get(key)
        if value is None:
            continue
        try:
            return Version.coerce(str(value))
        except VersionError as exc:
            errors.append(exc.message)
    raise VersionError("; ".join(errors) or "entry has neither appVersion nor version")


def _from_index(index: Path) -> Catalog:
    try:
        data = yaml.safe_load(index.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ChartError(f"{index}: not a valid Helm repository index ({exc})") from exc
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ChartError(f"{index}: no 'entries' mapping; not a Helm repository index")
    chart_entries = entries.get("jitera") or next(iter(entries.values()))
    if not isinstance(chart_entries, list):
        raise ChartError(f"{index}: entries must be lists of chart versions")
    found: dict[Version, Release] = {}
    warnings: list[str] = []
    for entry in chart_entries:
        if not isinstance(entry, dict):
            continue
        try:
            version = _index_version(entry)
        except VersionError as exc:
            warnings.append(f"index entry {entry.get('version')!r}: {exc.message}; ignored")
            continue
        urls = entry.get("urls") or []
        url = str(urls[0]) if isinstance(urls, list) and urls else ""
        parsed = urlparse(url)
        missing = not url
        location = url
        if url and parsed.scheme in ("", "file"):
            local = Path(parsed.path)
            if not local.is_absolute():
                local = index.parent / local
            location = str(local)
            missing = not local.exists()
        found[version] = Release(version, location, missing)
    if not found:
        raise ChartError(f"{index}: no entry carries a release version")
    return Catalog(str(index), tuple(sorted(found.values(), key=lambda r: r.version)), tuple(warnings))
