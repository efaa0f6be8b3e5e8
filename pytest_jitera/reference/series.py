"""How one source tree yields the trees of every release in the series.

A real product keeps its history in git; the reference stack keeps it as overlays so the
whole series ships inside the package. Release N's tree of a component is the base tree with
the overlay of every release up to N copied over it in order, and the paths listed under
``remove`` deleted. A migration added by one release therefore stays in every later one and a
file changed by a release keeps the change, which is what the runbook's "diff the old and new
image" steps rely on.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_jitera.decision.migrations.naming import migration_version
from pytest_jitera.errors import JiteraError
from pytest_jitera.reference import REFERENCE_ROOT
from pytest_jitera.release.versions import Version

# Component name -> base tree, relative to the reference root.
COMPONENT_BASES: Mapping[str, str] = {
    "automation": "app/automation",
    "ultron": "app/ultron",
    "studio": "app/studio",
    "chart": "chart",
}

# Images built from component trees (the chart is not an image).
IMAGE_COMPONENTS: tuple[str, ...] = ("automation", "ultron", "studio")

# Scripts the images and the tests execute directly; packaging may drop the executable bit.
EXECUTABLES: Mapping[str, tuple[str, ...]] = {"automation": ("bin/rails", "bin/rake")}


@dataclass(frozen=True)
class Release:
    """One entry of ``releases/series.yaml``."""

    version: Version
    summary: str
    remove: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Series:
    """The ordered releases plus where their sources live."""

    releases: tuple[Release, ...]
    root: Path = REFERENCE_ROOT

    def release(self, version: str | Version) -> Release:
        """Look a release up by its string or parsed version."""
        wanted = Version.parse(version) if isinstance(version, str) else version
        for release in self.releases:
            if release.version == wanted:
                return release
        known = ", ".join(str(r.version) for r in self.releases)
        raise JiteraError(f"{wanted} is not in the reference series", hint=f"known: {known}")

    def upto(self, version: Version) -> tuple[Release, ...]:
        """The releases whose overlays make up ``version``'s trees, oldest first."""
        return tuple(r for r in self.releases if r.version <= version)

    def pairs(self) -> tuple[tuple[Release, Release], ...]:
        """Consecutive (old, new) pairs: the only upgrades the runbook supports."""
        return tuple(zip(self.releases, self.releases[1:], strict=False))


def load_series(root: Path = REFERENCE_ROOT) -> Series:
    """Read ``releases/series.yaml``; refuses an unordered or duplicated series."""
    path = root / "releases" / "series.yaml"
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    releases: list[Release] = []
    for entry in data["releases"]:
        remove = {
            str(component): tuple(str(p) for p in paths)
            for component, paths in (entry.get("remove") or {}).items()
        }
        unknown = set(remove) - set(COMPONENT_BASES)
        if unknown:
            raise JiteraError(
                f"{path}: unknown component(s) {sorted(unknown)} under remove",
                hint=f"use one of {sorted(COMPONENT_BASES)}",
            )
        releases.append(Release(Version.parse(str(entry["version"])), str(entry["summary"]), remove))
    versions = [r.version for r in releases]
    if versions != sorted(set(versions)):
        raise JiteraError(f"{path}: releases must be unique and listed oldest first")
    return Series(tuple(releases), root)


def assemble(series: Series, version: Version, component: str, dest: Path) -> Path:
    """Write ``component``'s tree as of ``version`` into ``dest`` (which must not exist)."""
    if component not in COMPONENT_BASES:
        raise JiteraError(f"unknown component {component!r}", hint=f"one of {list(COMPONENT_BASES)}")
    series.release(version)  # fail early on an unknown version
    shutil.copytree(series.root / COMPONENT_BASES[component], dest, ignore=_ignore)
    for release in series.upto(version):
        overlay = series.root / "releases" / str(release.version) / component
        if overlay.is_dir():
            shutil.copytree(overlay, dest, dirs_exist_ok=True, ignore=_ignore)
        for rel in release.remove.get(component, ()):
            target = dest / rel
            if not target.exists():
                raise JiteraError(
                    f"{release.version} removes {component}/{rel}, which does not exist then",
                    hint="fix releases/series.yaml",
                )
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
    for rel in EXECUTABLES.get(component, ()):
        script = dest / rel
        script.chmod(script.stat().st_mode | 0o755)
    return dest


def migration_versions(app_tree: Path, kind: str = "migrate") -> tuple[str, ...]:
    """Versions of ``db/migrate`` (``kind="migrate"``) or ``db/data`` files, in Rails' order.

    These are exactly the rows ``schema_migrations`` / ``data_migrations`` hold after the
    release's hook has run on an empty database.
    """
    folder = app_tree / "db" / kind
    if not folder.is_dir():
        return ()
    found = (migration_version(p.name) for p in folder.iterdir())
    return tuple(sorted((version for version in found if version is not None), key=int))


def _ignore(directory: str, names: Sequence[str]) -> set[str]:
    # Byte-code and editor droppings must never leak into a release tree.
    return {n for n in names if n == "__pycache__" or n.endswith((".pyc", "~", ".swp"))}
