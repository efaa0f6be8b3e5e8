"""Content fingerprints of dump files and directories, computed by streaming.

The fingerprint recorded at snapshot time is what lets a later verification tell "this is the
file we took" from "this file was truncated by a full disk or damaged in transfer"; hashing
in fixed-size chunks keeps memory flat for multi-gigabyte dumps.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def sha256_path(path: Path) -> tuple[str, int]:
    """sha256 and byte size of a file, or of a directory's files in name order."""
    digest = hashlib.sha256()
    total = 0
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                total += len(chunk)
    return digest.hexdigest(), total
