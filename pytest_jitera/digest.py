"""Content hashes of files and folders, computed by streaming.

Two parts of the harness need the same thing: chart archives are recognised by their hash when
a folder is reused, and a backup's fingerprint is what lets a later verification tell "this is
the file we took" from "this file was truncated by a full disk or damaged in transfer".
Reading in fixed-size blocks keeps memory flat for multi-gigabyte dumps.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


def _feed(digest: hashlib._Hash, path: Path) -> int:
    """Hash ``path``'s bytes into ``digest``; return how many there were."""
    total = 0
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
            total += len(block)
    return total


def sha256_file(path: Path) -> str:
    """Hex sha256 of one file's content."""
    digest = hashlib.sha256()
    _feed(digest, path)
    return digest.hexdigest()


def sha256_tree(path: Path) -> tuple[str, int]:
    """Hex sha256 and byte count of a file, or of a folder's files in name order.

    For a folder each file's relative path goes into the hash before its content, so a renamed
    or moved file changes the fingerprint too. For a single file the hash equals
    :func:`sha256_file`.
    """
    digest = hashlib.sha256()
    if not path.is_dir():
        size = _feed(digest, path)
        return digest.hexdigest(), size
    total = 0
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        total += _feed(digest, file)
    return digest.hexdigest(), total
