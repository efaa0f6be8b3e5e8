"""Extract a chart archive (zip from Jitera, ``.tgz`` from a Helm repository) without trusting it.

An archive is a list of claims about paths. The dangerous claims are names that climb out of
the folder (``..``, absolute paths, drive letters, backslashes), links whose targets leave it,
directly or by chaining through other links, links that later entries are written *through*,
hard links and device files, and sizes that lie. So the extractor never creates a link on disk
at all: entries are written by validated name into a staging folder that holds only plain
folders and files; a link inside the archive becomes a copy of the file it points at, resolved
in the archive's own namespace after every entry is known; anything that resolves outside the
archive, to a folder, or nowhere is refused. Sizes are counted on the bytes actually written,
across all entries, with the bounds of Helm's own chart loader. The staging folder is removed on
every exit path, and the result appears only by an atomic rename.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO
from zlib import error as zlib_error

from pytest_jitera.errors import ChartError

MAX_TOTAL_BYTES = 100 * 1024 * 1024  # Helm's MaxDecompressedChartSize
MAX_FILE_BYTES = 5 * 1024 * 1024  # Helm's MaxDecompressedFileSize
MAX_ENTRIES = 10_000
MAX_NAME_BYTES = 1024
MAX_LINK_HOPS = 40  # the kernel's own bound on symlink chains

ARCHIVE_SUFFIXES: tuple[str, ...] = (".zip", ".tgz", ".tar.gz")


def archive_kind(path: Path) -> str | None:
    """``"zip"``, ``"tgz"`` or None, from the file name (the content is checked on opening)."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tgz", ".tar.gz")):
        return "tgz"
    return None


@dataclass(frozen=True)
class Entry:
    """One archive member as the extractor understands it: a file, a folder or a link."""

    path: PurePosixPath
    kind: str  # "file", "dir", "link"
    link_target: str = ""


class _Refused(Exception):
    """Internal: carries a refusal reason up to the one place that names the archive."""


def _safe_name(raw: str) -> PurePosixPath | None:
    """The entry's relative path, or a refusal; None for the archive root itself."""
    if "\x00" in raw:
        raise _Refused(f"entry {raw!r} has a NUL byte in its name")
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        raise _Refused(f"entry {raw.encode('utf-8', 'surrogateescape')!r} has a name that is not valid UTF-8")
    if len(raw.encode("utf-8")) > MAX_NAME_BYTES:
        raise _Refused(f"entry name of {len(raw)} characters is longer than {MAX_NAME_BYTES} bytes")
    if "\\" in raw:
        raise _Refused(f"entry {raw!r} uses backslashes")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise _Refused(f"entry {raw!r} is an absolute path")
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if ".." in parts:
        raise _Refused(f"entry {raw!r} escapes the extraction folder")
    return PurePosixPath(*parts) if parts else None


def _resolve_link(start: PurePosixPath, entries: dict[PurePosixPath, Entry]) -> PurePosixPath:
    """Follow a link chain inside the archive's namespace to the regular file it finally names.

    A link in the middle of a target path would have to point at a folder, and links to
    folders are refused, so any intermediate link (even one followed by ``..``, which on disk
    would climb from the link's *target*) refuses the archive.
    """
    current = start
    for _ in range(MAX_LINK_HOPS):
        target = entries[current].link_target
        if not target or target.startswith("/") or "\\" in target or "\x00" in target:
            raise _Refused(f"link {start} -> {target!r} points outside the chart")
        steps = [p for p in PurePosixPath(target).parts if p not in ("", ".")]
        parts: list[str] = list(current.parent.parts)
        for index, part in enumerate(steps):
            if part == "..":
                if not parts:
                    raise _Refused(f"link {start} -> {target!r} points outside the chart")
                parts.pop()
                continue
            parts.append(part)
            held = entries.get(PurePosixPath(*parts))
            if index < len(steps) - 1 and held is not None and held.kind != "dir":
                raise _Refused(f"link {start} -> {target!r} passes through {PurePosixPath(*parts)}")
        found = entries.get(PurePosixPath(*parts)) if parts else None
        if found is None:
            raise _Refused(f"link {start} -> {target!r} points at nothing inside the chart")
        if found.kind == "dir":
            raise _Refused(f"link {start} -> {target!r} points at a folder; only links to files are accepted")
        if found.kind == "file":
            return found.path
        current = found.path
    raise _Refused(f"link {start} is part of a link loop or a chain over {MAX_LINK_HOPS} long")


class _Writer:
    """Writes validated entries into the staging folder and keeps the running byte count."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        self.entries: dict[PurePosixPath, Entry] = {}
        self.total = 0

    def _claim(self, entry: Entry) -> None:
        """Record an entry, refusing duplicates and writes through a link or into a file."""
        if len(self.entries) >= MAX_ENTRIES:
            raise _Refused(f"more than {MAX_ENTRIES:,} entries")
        previous = self.entries.get(entry.path)
        if previous is not None and not (previous.kind == entry.kind == "dir"):
            raise _Refused(f"entry {entry.path} appears twice")
        for depth in range(1, len(entry.path.parts)):
            parent = PurePosixPath(*entry.path.parts[:depth])
            held = self.entries.get(parent)
            if held is None:
                self.entries[parent] = Entry(parent, "dir")
            elif held.kind == "link":
                raise _Refused(f"entry {entry.path} would be written through the link {parent}")
            elif held.kind == "file":
                raise _Refused(f"entry {entry.path} would be written inside the file {parent}")
        if entry.kind != "dir" and previous is not None:
            raise _Refused(f"entry {entry.path} appears twice")
        self.entries[entry.path] = entry

    def add_dir(self, path: PurePosixPath) -> None:
        """A folder entry."""
        self._claim(Entry(path, "dir"))
        self._disk(path).mkdir(parents=True, exist_ok=True)

    def add_link(self, path: PurePosixPath, target: str) -> None:
        """A link entry: remembered now, materialised once every entry is known."""
        if len(target.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise _Refused(f"link {path} has a target longer than {MAX_NAME_BYTES} bytes")
        self._claim(Entry(path, "link", target))

    def add_file(self, path: PurePosixPath, source: IO[bytes], declared: int | None) -> None:
        """A regular file, streamed with its real size counted against both bounds."""
        self._claim(Entry(path, "file"))
        target = self._disk(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with _create_exclusive(target) as out:
            while block := source.read(1 << 16):
                written += len(block)
                self._count(path, written, len(block))
                if declared is not None and written > declared:
                    raise _Refused(f"entry {path} is larger than its header says")
                out.write(block)

    def _count(self, path: PurePosixPath, written: int, block: int) -> None:
        if written > MAX_FILE_BYTES:
            raise _Refused(f"entry {path} is larger than the {MAX_FILE_BYTES:,} bytes allowed per file")
        self.total += block
        if self.total > MAX_TOTAL_BYTES:
            raise _Refused(f"uncompressed size exceeds the {MAX_TOTAL_BYTES:,} bytes allowed per chart")

    def _disk(self, path: PurePosixPath) -> Path:
        return self.staging.joinpath(*path.parts)

    def materialise_links(self) -> None:
        """Replace each link by a copy of the file it resolves to, or refuse the archive."""
        links = [e for e in self.entries.values() if e.kind == "link"]
        for link in links:
            source = _resolve_link(link.path, self.entries)
            with self._disk(source).open("rb") as handle:
                self._disk(link.path).parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with _create_exclusive(self._disk(link.path)) as out:
                    while block := handle.read(1 << 16):
                        written += len(block)
                        self._count(link.path, written, len(block))
                        out.write(block)
            self.entries[link.path] = Entry(link.path, "file")


@contextmanager
def _create_exclusive(path: Path) -> Iterator[BinaryIO]:
    """Create a new file, never following a link and never replacing what is there."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as handle:
        yield handle


class _BoundedReader(io.RawIOBase):
    """A decompressed stream that stops at a byte bound, so a gzip bomb cannot fill memory."""

    def __init__(self, inner: gzip.GzipFile, limit: int) -> None:
        self.inner = inner
        self.remaining = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.remaining <= 0:
            raise _Refused("the decompressed archive is larger than any chart may be")
        view = memoryview(buffer)
        data = self.inner.read(min(len(view), self.remaining))
        self.remaining -= len(data)
        view[: len(data)] = data
        return len(data)


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry name as UTF-8; a non-ASCII name without the UTF-8 flag is refused."""
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    raise _Refused(f"entry {info.filename!r} has a name that is not marked as UTF-8")


def _read_zip(archive: Path, writer: _Writer) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _Refused(f"not a readable zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _Refused(f"{len(infos):,} entries is more than the {MAX_ENTRIES:,} allowed")
        declared = sum(i.file_size for i in infos)
        if declared > MAX_TOTAL_BYTES:
            raise _Refused(f"declares {declared:,} uncompressed bytes, over the {MAX_TOTAL_BYTES:,} allowed")
        for info in infos:
            path = _safe_name(_zip_name(info))
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if path is None:
                continue
            if info.is_dir() or kind == stat.S_IFDIR:
                writer.add_dir(path)
            elif kind == stat.S_IFLNK:
                if info.file_size > MAX_NAME_BYTES:
                    raise _Refused(f"link {path} has a target longer than {MAX_NAME_BYTES} bytes")
                writer.add_link(path, zf.read(info).decode("utf-8", "surrogateescape"))
            elif kind in (0, stat.S_IFREG):
                with zf.open(info) as source:
                    writer.add_file(path, source, info.file_size)
            else:
                raise _Refused(f"entry {path} is a device, pipe or socket, not a file")


_TAR_KINDS = {
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a named pipe",
    tarfile.CONTTYPE: "a contiguous file",
}


def _read_tgz(archive: Path, writer: _Writer) -> None:
    # the bound covers headers and padding too: a tar carries 512-byte blocks for each entry
    limit = MAX_TOTAL_BYTES + (MAX_ENTRIES + 2) * 1024
    try:
        with gzip.open(archive, "rb") as raw:
            bounded = io.BufferedReader(_BoundedReader(raw, limit))
            with tarfile.open(fileobj=bounded, mode="r|", encoding="utf-8", errors="surrogateescape") as tar:
                for member in tar:
                    _tar_member(tar, member, writer)
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, OSError, zlib_error) as exc:
        raise _Refused(f"not a readable .tgz chart package ({exc})") from None


def _tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, writer: _Writer) -> None:
    path = _safe_name(member.name)
    if member.type in _TAR_KINDS:
        raise _Refused(f"entry {member.name!r} is {_TAR_KINDS[member.type]}; refusing it")
    if path is None:
        if member.isdir():
            return
        raise _Refused(f"entry {member.name!r} names the archive root")
    if member.isdir():
        writer.add_dir(path)
    elif member.issym():
        writer.add_link(path, member.linkname)
    elif member.isreg():
        if member.size > MAX_FILE_BYTES:
            raise _Refused(f"entry {path} is larger than the {MAX_FILE_BYTES:,} bytes allowed per file")
        source = tar.extractfile(member)
        if source is None:  # pragma: no cover - isreg() members always have data
            raise _Refused(f"entry {path} has no data")
        with source:
            writer.add_file(path, source, member.size)
    else:
        raise _Refused(f"entry {member.name!r} has an unknown tar type {member.type!r}")


def extract_archive(
    archive: Path,
    dest: Path,
    *,
    check: Callable[[Path], object] | None = None,
    stamp: tuple[str, str] | None = None,
) -> None:
    """Extract ``archive`` into the new folder ``dest``; on any refusal nothing is left behind.

    ``dest`` must not exist. Staging happens in a hidden sibling of ``dest`` (same file
    system, so the final rename is atomic) and is removed on every exit path, Ctrl-C included.
    ``check`` inspects the staged tree before it is published (it raises to refuse), and
    ``stamp`` (file name, content) is written into it, so the published folder is complete.
    """
    kind = archive_kind(archive)
    if kind is None:
        raise ChartError(
            f"{archive}: not a chart archive", hint="pass a .zip, a Helm .tgz package or a chart folder"
        )
    if not archive.is_file():
        raise ChartError(f"{archive}: chart archive not found", hint="check the path")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        writer = _Writer(staging)
        try:
            (_read_zip if kind == "zip" else _read_tgz)(archive, writer)
            writer.materialise_links()
        except _Refused as exc:
            raise ChartError(
                f"{archive}: {exc}; refusing to extract",
                hint="ask the chart's publisher for a clean archive; nothing was written",
            ) from None
        except zipfile.BadZipFile as exc:
            raise ChartError(f"{archive}: corrupt zip archive ({exc}); refusing to extract") from None
        except (zlib_error, EOFError) as exc:
            raise ChartError(f"{archive}: corrupt archive ({exc}); refusing to extract") from None
        if check is not None:
            check(staging)
        if stamp is not None:
            (staging / stamp[0]).write_text(stamp[1])
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
