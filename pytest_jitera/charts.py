"""Chart sources: zips from Jitera and extracted chart folders, opened safely.

The runbook keeps every previous chart directory beside the new one so a rollback can always
point back at it. So extraction never overwrites: each version gets its own folder, and a
folder that already holds a *different* archive is an error, not something to replace.
Zips come from outside, so every entry is checked before anything is written: no ``..``, no
absolute paths, no links leaving the folder, and a bound on total size and entry count.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from pytest_jitera.errors import ChartError

MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_ENTRIES = 20_000
MAX_RATIO = 200  # a per-entry compression ratio above this smells like a zip bomb
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
        return load_yaml_mapping(self.root / "values.yaml", missing_ok=True)

    def templates(self) -> dict[str, str]:
        """Every file below ``templates/`` by relative path, as text."""
        base = self.root / "templates"
        if not base.is_dir():
            return {}
        out: dict[str, str] = {}
        for path in sorted(base.rglob("*")):
            if path.is_file():
                out[path.relative_to(base).as_posix()] = path.read_text(errors="replace")
        return out


def load_yaml_mapping(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """Load a YAML file that must hold a mapping; errors name the file and the problem."""
    if not path.exists():
        if missing_ok:
            return {}
        raise ChartError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ChartError(f"{path}: not valid YAML ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise ChartError(f"{path}: not a text file ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ChartError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


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


def load_chart(root: Path, *, source: Path | None = None) -> Chart:
    """Read ``Chart.yaml`` of a chart folder."""
    meta = load_yaml_mapping(root / "Chart.yaml")
    for key in ("name", "version"):
        if not meta.get(key):
            raise ChartError(f"{root / 'Chart.yaml'}: required key {key!r} is missing")
    app = meta.get("appVersion")
    return Chart(
        root=root,
        name=str(meta["name"]),
        version=str(meta["version"]),
        app_version=str(app) if app is not None else None,
        source=source or root,
        metadata=meta,
    )


def sha256_file(path: Path) -> str:
    """Content hash, read in blocks so large archives do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_member(info: zipfile.ZipInfo, archive: Path) -> PurePosixPath | None:
    """Validate one entry's name; return its safe relative path (None for the root itself)."""
    name = info.filename
    if "\\" in name:
        raise ChartError(f"{archive}: entry {name!r} uses backslashes; refusing to extract")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ChartError(f"{archive}: entry {name!r} is an absolute path; refusing to extract")
    rel = PurePosixPath(name)
    if any(part == ".." for part in rel.parts):
        raise ChartError(f"{archive}: entry {name!r} escapes the extraction folder; refusing to extract")
    parts = [p for p in rel.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def extract_zip(archive: Path, dest: Path, *, max_bytes: int = MAX_TOTAL_BYTES) -> Path:
    """Extract ``archive`` into the new folder ``dest`` and return the chart root inside it.

    Everything is validated before the first byte is written, and the extraction happens in a
    sibling temporary folder that is renamed into place at the end, so a refused or broken
    archive leaves nothing behind. If ``dest`` already holds this very archive (same hash),
    it is reused; if it holds anything else, it is left alone and an error is raised.
    """
    if not archive.is_file():
        raise ChartError(f"{archive}: chart zip not found")
    digest = sha256_file(archive)
    if dest.exists():
        stamp = dest / STAMP
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return find_chart_root(dest, label=archive)
        raise ChartError(
            f"{dest} already exists and was not extracted from {archive}; refusing to overwrite it",
            hint="previous chart folders are kept for rollback; extract into another folder",
        )
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ChartError(f"{archive}: not a readable zip archive ({exc})") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ChartError(f"{archive}: {len(infos)} entries is more than the {MAX_ENTRIES} allowed")
        total = 0
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        for info in infos:
            rel = _check_member(info, archive)
            if rel is None:
                continue
            total += info.file_size
            if total > max_bytes:
                raise ChartError(
                    f"{archive}: uncompressed size exceeds the {max_bytes:,} byte bound; refusing to extract"
                )
            if (
                info.compress_size
                and info.file_size / info.compress_size > MAX_RATIO
                and info.file_size > 1 << 20
            ):
                raise ChartError(f"{archive}: entry {info.filename!r} has a suspicious compression ratio")
            if _is_symlink(info):
                target = zf.read(info).decode(errors="replace")
                resolved = PurePosixPath(os.path.normpath(str(rel.parent / target)))
                if target.startswith("/") or resolved.parts[:1] == ("..",) or str(resolved) == "..":
                    raise ChartError(
                        f"{archive}: symbolic link {info.filename!r} -> {target!r} points outside the chart"
                    )
            plan.append((info, rel))
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            for info, rel in plan:
                target_path = staging.joinpath(*rel.parts)
                if info.is_dir():
                    target_path.mkdir(parents=True, exist_ok=True)
                    continue
                target_path.parent.mkdir(parents=True, exist_ok=True)
                if _is_symlink(info):
                    os.symlink(zf.read(info).decode(), target_path)
                    continue
                _copy_member(zf, info, target_path, archive)
            root = find_chart_root(staging, label=archive)
            (staging / STAMP).write_text(digest + "\n")
            staging.rename(dest)
        except zipfile.BadZipFile as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ChartError(f"{archive}: corrupt zip archive ({exc})") from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return dest / root.relative_to(staging)


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, archive: Path) -> None:
    """Stream one entry, enforcing its declared size (a lying header cannot inflate it)."""
    written = 0
    with zf.open(info) as src, target.open("wb") as out:
        for block in iter(lambda: src.read(1 << 16), b""):
            written += len(block)
            if written > info.file_size:
                raise ChartError(f"{archive}: entry {info.filename!r} is larger than its header says")
            out.write(block)


def open_chart(path: Path, workdir: Path | None = None, *, name: str | None = None) -> Chart:
    """Open a chart given as a zip or a folder; zips are extracted below ``workdir``.

    ``name`` picks the extraction folder (default: the zip's stem), so several versions sit
    side by side and none replaces another.
    """
    path = Path(path)
    if not path.exists():
        raise ChartError(f"{path}: no such chart zip or folder")
    if path.is_dir():
        return load_chart(find_chart_root(path), source=path)
    if path.suffix.lower() != ".zip":
        raise ChartError(
            f"{path}: not a chart zip or folder",
            hint="pass a jitera-helm-<VERSION>.zip or a folder holding Chart.yaml",
        )
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="jitera-charts-"))
    root = extract_zip(path, workdir / (name or path.stem))
    return load_chart(root, source=path)
