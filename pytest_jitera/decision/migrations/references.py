"""Where the OLD release's code still names a table or column the new migrations destroy.

This is the runbook's "grep the old image" step, with two improvements: every hit is labelled
``admin`` (rake tasks, admin controllers, scripts) or ``user_facing`` (the rest of the app),
which is exactly the line between Scenario 2 and Scenario 3; and a table is also searched
under the names code really uses for it (``LegacyReport``, ``legacy_report``, ``find_by_x``).

A large monolith has tens of thousands of source files, so the scan is built to stay close to
``grep -r``: files are read as bytes, a plain substring test (C speed) rejects almost every
file, and only the rare candidates see the exact, boundary-aware regular expression. On a
multi-core host the file list is split across worker processes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pytest_jitera.decision.migrations.inflection import model_class_name, singularize
from pytest_jitera.decision.migrations.inventory import SOURCE_DIRS

ReferenceKind = Literal["admin", "user_facing"]

# Paths (relative to the Rails root) whose code only runs when an operator asks for it.
ADMIN_PREFIXES: tuple[str, ...] = (
    "lib/tasks/",
    "app/controllers/admin/",
    "app/admin/",
    "app/views/admin/",
    "app/helpers/admin/",
    "script/",
    "bin/",
)

# Files this large are bundles or fixtures, not code a request runs; skipping keeps scans fast.
MAX_SOURCE_BYTES = 5_000_000
# Below this many files a worker pool costs more than it saves.
PARALLEL_THRESHOLD = 4_000

# Bytes that continue an identifier: a name must not touch one on either side.
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
# How Rails code spells a column or association beyond its bare name.
_FINDER_PREFIXES = (b"find_by_", b"find_or_create_by_", b"find_or_initialize_by_",
                    b"find_all_by_", b"find_last_by_")
_AFTER_NAME = re.compile(
    rb"(?:_(?:ids?|was|changed|change|will_change|before_type_cast|in_database"
    rb"|previously_changed|previously_was|count))?[?!=]?(?![A-Za-z0-9_])"
)


@dataclass(frozen=True)
class SearchTarget:
    """One dropped or changed object and the spellings that count as a use of it.

    ``key`` is ``table`` or ``table.column``, the form used in reports. ``model_file`` is
    the file name of the table's own model (``legacy_report.rb``): the class definition
    names the table without using it, so hits there do not count for a table target.
    """

    key: str
    names: tuple[str, ...]
    model_file: str | None = None

    def is_definition(self, rel_path: str) -> bool:
        """Tell whether ``rel_path`` is this table's own model file under app/models/."""
        return (
            self.model_file is not None
            and rel_path.startswith("app/models/")
            and rel_path.rpartition("/")[2] == self.model_file
        )


@dataclass(frozen=True, order=True)
class Reference:
    """One line of old code that names a target."""

    file: str
    line: int
    kind: ReferenceKind
    name: str

    def to_json(self) -> dict[str, Any]:
        """Plain data for reports."""
        return {"file": self.file, "line": self.line, "kind": self.kind, "name": self.name}


def table_target(table: str) -> SearchTarget:
    """Search a table by its name, its singular (associations) and its model class."""
    singular = singularize(table)
    names = dict.fromkeys((table, singular, model_class_name(table)))
    return SearchTarget(table, tuple(names), model_file=f"{singular}.rb")


def column_target(table: str, column: str, association: bool = False) -> SearchTarget:
    """Search a column by its name; a reference column also by its association."""
    names = [column]
    if association and column.endswith(("_id", "_type")):
        names.append(column.rsplit("_", 1)[0])
    return SearchTarget(f"{table}.{column}", tuple(dict.fromkeys(names)))


def classify_path(rel_path: str) -> ReferenceKind:
    """Admin paths run only on request; anything else may run for every user."""
    return "admin" if rel_path.startswith(ADMIN_PREFIXES) else "user_facing"


def source_files(root: Path, folders: Iterable[str] = SOURCE_DIRS) -> list[str]:
    """Every regular file under the searched folders, as paths relative to ``root``."""
    found: list[str] = []
    root_str = str(root)
    prefix_len = len(root_str) + 1
    stack = [os.path.join(root_str, folder) for folder in folders]
    while stack:
        directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    found.append(entry.path[prefix_len:])
    return found


def search_references(
    root: Path,
    targets: Sequence[SearchTarget],
    workers: int | None = None,
) -> dict[str, list[Reference]]:
    """Every reference to each target under ``root``'s app/, lib/, script/ and bin/.

    Every target key is present in the result, with an empty list when nothing refers to it.
    ``workers`` defaults to :func:`default_workers`.
    """
    result: dict[str, list[Reference]] = {t.key: [] for t in targets}
    if not targets:
        return result
    files = source_files(root)
    scanner = _Scanner.build(targets)
    if workers is None:
        workers = default_workers(len(files))
    hits: list[tuple[str, str, int, str]]
    if workers <= 1:
        hits = _scan_chunk(str(root), files, scanner.spec())
    else:
        # Interleaved slices spread each folder's files (and any hot spot) over all workers.
        count = workers * 4
        chunks = [files[i::count] for i in range(count)]
        hits = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            spec = scanner.spec()
            for part in pool.map(_scan_chunk, [str(root)] * len(chunks), chunks,
                                 [spec] * len(chunks)):
                hits.extend(part)
    by_key = {t.key: t for t in targets}
    for key, rel, line, name in hits:
        if not by_key[key].is_definition(rel):
            result[key].append(Reference(rel, line, classify_path(rel), name))
    for refs in result.values():
        refs.sort()
    return result


def default_workers(file_count: int) -> int:
    """Pick how many processes scan: one unless the tree is large and the host has cores.

    Measured on a 2-CPU host: one process beat two (fork and pickling ate the gain), so a
    pool is used only from 4 usable CPUs up, with one core left for the rest of the host.
    """
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    if file_count < PARALLEL_THRESHOLD or cpus < 4:
        return 1
    return min(4, cpus - 1)


# Shortest shared fragment worth searching for instead of the names that contain it.
MIN_SHARED_NEEDLE = 5


def cheap_needles(names: Sequence[str]) -> list[str]:
    """Pick few substrings such that every name contains one of them.

    Each needle costs one pass over every file, so ``LegacyReport``, ``legacy_report`` and
    ``legacy_score`` are covered by one shared fragment (``egacy``) rather than three passes.
    Fragments shorter than :data:`MIN_SHARED_NEEDLE` or starting/ending with ``_`` are too
    common in Ruby to be worth it (``_name``); names without a good shared fragment are
    searched as they are. False positives only cost a precise check of that file.
    """
    remaining = sorted(set(names), key=len)
    needles: list[str] = []
    while remaining:
        counts: dict[str, int] = {}
        for name in remaining:
            fragments = {
                name[i:j]
                for i in range(len(name))
                for j in range(i + MIN_SHARED_NEEDLE, len(name) + 1)
            }
            for fragment in fragments:
                if fragment[0] != "_" and fragment[-1] != "_":
                    counts[fragment] = counts.get(fragment, 0) + 1
        best = max(counts.items(), key=lambda kv: (kv[1], len(kv[0])), default=("", 0))
        needle = best[0] if best[1] >= 2 else remaining[0]
        needles.append(needle)
        remaining = [name for name in remaining if needle not in name]
    return needles


@dataclass(frozen=True)
class _Scanner:
    """Literal needles for the cheap test, the exact names, and which name means which key."""

    needles: tuple[bytes, ...]
    names: tuple[bytes, ...]
    owners: dict[bytes, tuple[str, ...]]

    @classmethod
    def build(cls, targets: Sequence[SearchTarget]) -> _Scanner:
        owners: dict[str, list[str]] = {}
        for target in targets:
            for name in target.names:
                owners.setdefault(name, []).append(target.key)
        names = sorted(owners, key=len, reverse=True)
        needles = tuple(n.encode() for n in cheap_needles(names))
        return cls(needles, tuple(n.encode() for n in names),
                   {k.encode(): tuple(v) for k, v in owners.items()})

    def spec(self) -> _Spec:
        """Return a picklable form for worker processes."""
        return self.needles, self.names, self.owners


_Spec = tuple[tuple[bytes, ...], tuple[bytes, ...], dict[bytes, tuple[str, ...]]]


def _stands_alone(data: bytes, start: int, end: int) -> bool:
    """Tell whether ``data[start:end]`` is a whole identifier (or a Rails spelling of one).

    ``find_by_legacy_flag`` and ``legacy_flag_changed?`` count; ``my_legacy_flag`` does not.
    Checked by hand around ``bytes.find`` hits because a regular expression scanning every
    position was 10x slower than grep for common names.
    """
    if start and data[start - 1] in _WORD_BYTES:
        for prefix in _FINDER_PREFIXES:
            begin = start - len(prefix)
            if begin >= 0 and data.startswith(prefix, begin) and (
                begin == 0 or data[begin - 1] not in _WORD_BYTES
            ):
                break
        else:
            return False
    return _AFTER_NAME.match(data, end) is not None


def _read_source(path: str) -> bytes | None:
    """Read a file with raw ``os`` calls: about half the cost of ``open()`` per small file.

    One 64 KiB read covers nearly every source file; only longer files pay for an ``fstat``
    (to skip bundles above :data:`MAX_SOURCE_BYTES`) and further reads.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, _FIRST_READ)
        if len(data) < _FIRST_READ:
            return data
        if os.fstat(fd).st_size > MAX_SOURCE_BYTES:
            return None
        parts = [data]
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        return b"".join(parts)
    except OSError:
        return None
    finally:
        os.close(fd)


_FIRST_READ = 1 << 16


def _scan_chunk(root: str, files: list[str], spec: _Spec) -> list[tuple[str, str, int, str]]:
    """Scan ``files`` (relative to ``root``); return (target key, file, line, name) tuples."""
    needles, names, owners = spec
    hits: list[tuple[str, str, int, str]] = []
    prefix = root.rstrip("/") + "/"
    for rel in files:
        data = _read_source(prefix + rel)
        if data is None:
            continue
        for needle in needles:
            if needle in data:
                break
        else:
            continue
        seen: set[tuple[str, int]] = set()
        for name in names:
            at = data.find(name)
            while at != -1:
                if _stands_alone(data, at, at + len(name)):
                    line = data.count(b"\n", 0, at) + 1
                    for key in owners[name]:
                        if (key, line) not in seen:
                            seen.add((key, line))
                            hits.append((key, rel, line, name.decode()))
                at = data.find(name, at + 1)
    return hits
