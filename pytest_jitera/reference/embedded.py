"""The embedded default catalog: the reference series' chart zips, built once and cached.

``pytest --jitera-from=v24.05.01 --jitera-to=v24.06.01`` must work on a fresh machine with no
``--jitera-charts``. Building the zips takes about a second and is deterministic, so they are
built on first use into the cache folder, under a name derived from the hash of the reference
source tree: editing the reference stack produces a new catalog, never a stale one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock

from pytest_jitera.reference import REFERENCE_ROOT

COMPLETE_MARK = ".complete"


def cache_root() -> Path:
    """``$JITERA_CACHE_DIR``, else ``$XDG_CACHE_HOME/pytest-jitera``, else ``~/.cache/pytest-jitera``."""
    explicit = os.environ.get("JITERA_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-jitera"


def source_digest(root: Path = REFERENCE_ROOT) -> str:
    """Hash of every file of the reference stack (names and contents), caches excluded."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def default_catalog_dir(cache: Path | None = None) -> Path:
    """A folder holding ``jitera-helm-<VERSION>.zip`` for every reference release."""
    from pytest_jitera.reference.build import build_reference

    digest = source_digest()[:16]
    base = (cache or cache_root()) / "reference-series"
    dest = base / digest
    if (dest / COMPLETE_MARK).exists():
        return dest
    base.mkdir(parents=True, exist_ok=True)
    with FileLock(str(base / f"{digest}.lock")):
        if (dest / COMPLETE_MARK).exists():
            return dest
        with tempfile.TemporaryDirectory(prefix="build-", dir=base) as scratch:
            result = build_reference(Path(scratch))
            staging = Path(scratch) / "catalog"
            staging.mkdir()
            for release in result.releases:
                shutil.copy2(release.zip_path, staging / release.zip_path.name)
            shutil.copy2(Path(scratch) / "expected.yaml", staging / "expected.yaml")
            (staging / COMPLETE_MARK).write_text(digest + "\n")
            if dest.exists():
                shutil.rmtree(dest)
            staging.rename(dest)
    return dest
