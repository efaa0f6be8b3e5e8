"""Chart sources: Jitera's zips, Helm's ``.tgz`` packages and extracted chart folders.

The runbook keeps every previous chart directory beside the new one so a rollback can always
point back at it. So extraction never overwrites: each version gets its own folder, and a
folder that already holds a *different* archive is an error, not something to replace.
Archives come from outside and are unpacked by :mod:`pytest_jitera.charts.archive`; a folder
the user hands in is read without following any link out of it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_jitera.charts.archive import archive_kind, extract_archive
from pytest_jitera.digest import sha256_file
from pytest_jitera.errors import ChartError, InputError
from pytest_jitera.yamlfile import load_yaml_mapping as _load_mapping

STAMP = ".jitera-source.sha256"


@dataclass(frozen=True)
class Chart:
    """A chart on disk: its root folder (the one holding ``Chart.yaml``) and parsed metadata."""

    root: Path
    name: str
    version: str
    app_version: str | None
    source: Path
    metadata: dict[str, Any] = field(repr=False, compare=False)

    def values(self) -> dict[str, Any]:
        """The chart's default ``values.yaml`` (empty when the chart has none)."""
        path = self.root / "values.yaml"
        if path.exists() or path.is_symlink():
            _inside(self.root, path)
        return load_chart_yaml(path, missing_ok=True)

    def templates(self) -> dict[str, str]:
        """Every file below ``templates/`` by relative path, as text."""
        base = self.root / "templates"
        if not base.is_dir():
            return {}
        _inside(self.root, base)
        out: dict[str, str] = {}
        for path in sorted(base.rglob("*")):
            if path.is_symlink():
                _inside(self.root, path)
            if path.is_file():
                out[path.relative_to(base).as_posix()] = path.read_text(errors="replace")
        return out


def _inside(root: Path, path: Path) -> None:
    """Refuse a file of a chart folder that is a link resolving outside the chart."""
    real_root = root.resolve()
    real = path.resolve()
    if real != real_root and real_root not in real.parents:
        raise ChartError(
            f"{path}: links outside the chart folder {root}; refusing to read it",
            hint="copy the file into the chart instead of linking to it",
        )


def load_chart_yaml(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """A chart's own YAML file (``Chart.yaml``, ``values.yaml``); errors are chart errors."""
    try:
        return _load_mapping(path, what="chart file", missing_ok=missing_ok)
    except ChartError:
        raise
    except InputError as exc:
        raise ChartError(exc.message, hint=exc.hint) from None


def find_chart_root(folder: Path, *, label: Path | None = None) -> Path:
    """The folder holding the main ``Chart.yaml``: the shallowest one, ``jitera`` on a tie.

    Subcharts (``charts/jitera/charts/x/Chart.yaml``) are deeper and so never win.
    """
    candidates = sorted(
        folder.rglob("Chart.yaml"), key=lambda p: (len(p.parts), p.parent.name != "jitera", str(p))
    )
    if not candidates:
        raise ChartError(
            f"{label or folder}: no Chart.yaml found; this is not a Helm chart",
            hint="a Jitera chart zip holds charts/jitera/Chart.yaml",
        )
    return candidates[0].parent


def _check_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Refuse a ``Chart.yaml`` whose fields have the wrong shape, naming the field."""
    for key in ("name", "version"):
        value = meta.get(key)
        if value is None or value == "":
            raise ChartError(
                f"{path}: required key {key!r} is missing", hint="see Helm's Chart.yaml reference"
            )
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ChartError(f"{path}: {key!r} must be a string, got {type(value).__name__}")
    deps = meta.get("dependencies")
    if deps is None:
        return
    if not isinstance(deps, list) or not all(isinstance(d, dict) for d in deps):
        raise ChartError(
            f"{path}: 'dependencies' must be a list of mappings (name, version, repository)",
            hint="see Helm's Chart.yaml reference for the dependencies field",
        )


def load_chart(root: Path, *, source: Path | None = None) -> Chart:
    """Read ``Chart.yaml`` of a chart folder."""
    meta_path = root / "Chart.yaml"
    _inside(root, meta_path)
    meta = load_chart_yaml(meta_path)
    _check_metadata(meta_path, meta)
    app = meta.get("appVersion")
    return Chart(
        root=root,
        name=str(meta["name"]),
        version=str(meta["version"]),
        app_version=str(app) if app is not None else None,
        source=source or root,
        metadata=meta,
    )


def extract_chart(archive: Path, dest: Path) -> Path:
    """Extract a chart archive into the new folder ``dest`` and return the chart root inside it.

    If ``dest`` already holds this very archive (same hash) it is reused; if it holds anything
    else it is left alone and refused, because previous chart folders are what a rollback uses.
    """
    if not archive.is_file():
        raise ChartError(f"{archive}: chart archive not found", hint="check the path")
    digest = sha256_file(archive)
    if dest.exists() or dest.is_symlink():
        stamp = dest / STAMP
        if not dest.is_symlink() and stamp.is_file() and stamp.read_text().strip() == digest:
            return find_chart_root(dest, label=archive)
        raise ChartError(
            f"{dest} already exists and was not extracted from {archive}; refusing to overwrite it",
            hint="previous chart folders are kept for rollback; extract into another folder",
        )
    extract_archive(
        archive,
        dest,
        check=lambda staged: find_chart_root(staged, label=archive),
        stamp=(STAMP, digest + "\n"),
    )
    return find_chart_root(dest, label=archive)


def open_chart(path: Path, workdir: Path | None = None, *, name: str | None = None) -> Chart:
    """Open a chart given as an archive or a folder; archives are extracted below ``workdir``.

    ``name`` picks the extraction folder (default: the archive's name without its suffix),
    so several versions sit side by side and none replaces another.
    """
    path = Path(path)
    if not path.exists():
        raise ChartError(f"{path}: no such chart archive or folder", hint="check the path")
    if path.is_dir():
        return load_chart(find_chart_root(path), source=path)
    if archive_kind(path) is None:
        raise ChartError(
            f"{path}: not a chart archive or folder",
            hint="pass a jitera-helm-<VERSION>.zip, a Helm .tgz package or a folder holding Chart.yaml",
        )
    if workdir is None:
        raise ValueError("opening a chart archive needs a workdir to extract into")
    stem = path.name[: -len(".tar.gz")] if path.name.lower().endswith(".tar.gz") else path.stem
    root = extract_chart(path, workdir / (name or stem))
    return load_chart(root, source=path)


@contextmanager
def scratch_folder(prefix: str = "jitera-charts-") -> Iterator[Path]:
    """A temporary folder for charts a command opens only for itself; removed on every exit."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_charts_open(paths: Iterable[Path]) -> None:
    """Open every chart and read its YAML and templates once, so bad input fails up front.

    A rehearsal stands on these charts for an hour; a hostile or broken archive must stop it
    before the first test, not surface as a failed step after a cluster was built.
    """
    with scratch_folder() as scratch:
        for index, path in enumerate(paths):
            chart = open_chart(path, scratch, name=f"check-{index}")
            chart.values()
            chart.templates()
