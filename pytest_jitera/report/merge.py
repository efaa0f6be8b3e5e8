"""Put the cases of a matrix run into one report folder, whichever jobs wrote them.

CI shards each upload a report folder; a last job downloads them all and merges them, and
an unsharded run merges its own case folders in place. Either way the result is the same
folder: ``summary.json`` (a :class:`MatrixSummary`) and ``index.html`` at the top, one
folder per case beside them. Every input is checked before anything is written, so bad
input leaves the output folder as it was.

Case folders come from artifact stores and other machines, so they are treated as
untrusted: a symbolic link anywhere in one is refused rather than copied or followed (a
link that points outside the folder would publish whatever it points at), and only plain
files and folders are copied.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_jitera.errors import InputError, JiteraError
from pytest_jitera.report.matrix import (
    CaseSummary,
    MatrixSummary,
    case_folder,
    case_summary,
    label_of,
    read_summary,
    split_label,
)
from pytest_jitera.report.matrix_html import render_matrix_html
from pytest_jitera.report.model import RunReport
from pytest_jitera.report.write import INDEX, SUMMARY, _write_atomically

_LINK_HINT = "a report folder holds plain files and folders only; replace the link with a copy, or remove it"


@dataclass(frozen=True)
class _Entry:
    """One case as found in one source; ``folder`` None when the case left no report.

    ``source`` is None for a case only ``expected`` names.
    """

    label: str
    source: Path | None
    folder: Path | None = None
    report: RunReport | None = None


@dataclass(frozen=True)
class _Source:
    """One folder handed in: a single case, or a matrix with its shards and target."""

    folder: Path
    entries: tuple[_Entry, ...]
    matrix: MatrixSummary | None = None


def merge_reports(
    sources: Sequence[Path],
    out: Path,
    *,
    previous: Path | None = None,
    expected: Sequence[str] = (),
) -> MatrixSummary:
    """Merge report folders into the matrix folder ``out`` and return its summary.

    A source is a matrix folder (its cases are taken) or one rehearsal's folder (its case
    is ``path[0]=>path[-1]``). ``expected`` labels that no source reports become missing
    cases, which fail the matrix. ``previous`` is an earlier matrix summary.json (or its
    folder) whose outcomes and durations the page compares against.
    """
    return _merge(sources, out, previous=previous, expected=expected, shards=())


def write_matrix(
    out: Path,
    expected: Sequence[str],
    *,
    shards: Sequence[str] = (),
    previous: Path | None = None,
) -> MatrixSummary:
    """Write the top of a matrix folder whose case folders a run wrote into ``out`` itself.

    For the plugin at the end of a (sharded) matrix run: each planned label's case folder is
    looked for under its :func:`case_folder` name, and one without a summary.json is missing.
    """
    found = [out / case_folder(label) for label in expected]
    present = [folder for folder in found if _exists(folder / SUMMARY)]
    return _merge(present, out, previous=previous, expected=expected, shards=shards)


def _merge(
    sources: Sequence[Path],
    out: Path,
    *,
    previous: Path | None,
    expected: Sequence[str],
    shards: Sequence[str],
) -> MatrixSummary:
    """Check everything, then copy, then write the summary and last the page."""
    target = _output_folder(out)
    read = [_read_source(Path(path)) for path in sources]
    _check_layout(read, target)
    entries = _collect(read, expected)
    summary = MatrixSummary(
        target=_one_target(read, entries),
        cases=tuple(_summarise(entry) for entry in entries),
        shards=(*shards, *(s for source in read if source.matrix for s in source.matrix.shards)),
    )
    copies = [(entry.folder, target / case_folder(entry.label)) for entry in entries if entry.folder]
    for folder, _ in copies:
        _refuse_links(folder)
    prior = _read_previous(previous) if previous is not None else None
    target.mkdir(parents=True, exist_ok=True)
    for folder, destination in copies:
        if folder != destination:
            _replace_folder(folder, destination)
    _write_atomically(target / SUMMARY, summary.to_json())
    # the page last, as for a case: a reader that finds index.html can trust summary.json
    _write_atomically(target / INDEX, render_matrix_html(summary, prior))
    return summary


def _summarise(entry: _Entry) -> CaseSummary:
    return case_summary(entry.label, case_folder(entry.label), entry.report)


# --- reading -------------------------------------------------------------------------------


def _output_folder(out: Path) -> Path:
    """``out`` resolved, so overlaps with sources are found however each path was spelled."""
    resolved = out.resolve()
    if resolved.exists() and not resolved.is_dir():
        raise InputError(
            f"output {out} exists and is not a folder",
            hint="pass a folder path (it is created if missing), or move the file away",
        )
    return resolved


def _read_source(path: Path) -> _Source:
    """One source folder with the cases it holds; refused when it is not a report folder."""
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise InputError(
            f"report folder {path} {what}",
            hint="pass the folders rehearsals or matrix runs wrote (each holds summary.json)",
        )
    folder = path.resolve()
    parsed = _read_summary_file(folder / SUMMARY)
    if isinstance(parsed, RunReport):
        return _Source(folder, (_Entry(_label(parsed, folder), folder, folder, parsed),))
    entries = tuple(_matrix_entry(folder, case) for case in parsed.cases)
    return _Source(folder, entries, parsed)


def _label(report: RunReport, folder: Path) -> str:
    try:
        return label_of(report)
    except InputError as exc:
        raise _located(exc, folder / SUMMARY) from None


def _matrix_entry(source: Path, case: CaseSummary) -> _Entry:
    """A case of a matrix source, read again from its own folder rather than trusted from the top.

    A case folder without summary.json is missing even if the top says it ran: the folder
    is what gets published, and it holds no result.
    """
    if case.outcome == "missing":
        return _Entry(case.label, source)
    folder = source / case.folder
    if folder.is_symlink():
        raise InputError(f"case folder {folder} is a symbolic link", hint=_LINK_HINT)
    if not _exists(folder / SUMMARY):
        return _Entry(case.label, source)
    report = _read_summary_file(folder / SUMMARY)
    if not isinstance(report, RunReport):
        raise InputError(
            f"case folder {folder} holds a matrix summary, not a rehearsal's report",
            hint="a matrix folder's cases are single rehearsals; merge the inner matrix folder directly",
        )
    if _label(report, folder) != case.label:
        raise InputError(
            f"case folder {folder} holds the report of {label_of(report)}, "
            f"but {source / SUMMARY} lists it as {case.label}",
            hint="the folder was moved or overwritten; rerun that case or merge its own folder",
        )
    return _Entry(case.label, source, folder.resolve(), report)


def _read_summary_file(path: Path) -> MatrixSummary | RunReport:
    """Either kind of summary.json, with the file named in every complaint about it."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise InputError(
            f"{path.parent} has no summary.json",
            hint="pass a folder a rehearsal or a matrix run finished writing (it holds summary.json)",
        ) from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror})", hint="check its permissions") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path} is not a plain file", hint=_LINK_HINT)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror})", hint="check its permissions") from None
    except UnicodeDecodeError:
        raise InputError(
            f"{path} is not UTF-8 text", hint="the file is damaged; rerun to write it again"
        ) from None
    try:
        return read_summary(text)
    except JiteraError as exc:
        raise _located(exc, path) from None


def _located(exc: JiteraError, path: Path) -> InputError:
    """The same complaint with the file it is about, which a merge of many folders needs."""
    message = exc.message_template
    trimmed = message.removeprefix("summary.json")
    return InputError(f"{path}{trimmed}" if trimmed != message else f"{path}: {message}", exc.hint_template)


def _read_previous(path: Path) -> MatrixSummary:
    """The run to compare against; a single rehearsal's summary counts as a one-case matrix."""
    file = path / SUMMARY if path.is_dir() else path
    if not _exists(file):
        raise InputError(
            f"previous summary {path}: no such file",
            hint="pass the summary.json at the top of an earlier matrix report (or leave it out)",
        )
    parsed = _read_summary_file(file)
    if isinstance(parsed, MatrixSummary):
        return parsed
    label = _label(parsed, file.parent)
    return MatrixSummary(split_label(label)[1], (case_summary(label, case_folder(label), parsed),))


# --- checking ------------------------------------------------------------------------------


def _check_layout(sources: Iterable[_Source], out: Path) -> None:
    """Refuse an output that overlaps a source, except the overlaps a merge in place needs.

    ``out`` may itself be a matrix source (its case folders stay), and a single case may
    already sit in ``out`` under its own case folder name (it is left where it is). Any
    other nesting would copy a folder into itself or overwrite a source while reading it.
    """
    for source in sources:
        folder = source.folder
        if folder == out:
            if source.matrix is None:
                raise InputError(
                    f"output {out} is a single rehearsal's report folder (it is also a source)",
                    hint="pass a new folder as the output; the case is copied into it",
                )
        elif out.is_relative_to(folder):
            raise InputError(
                f"output {out} is inside the source {folder}",
                hint="pass an output folder outside every source folder",
            )
        elif folder.is_relative_to(out) and not _own_case(source, out):
            raise InputError(
                f"source {folder} is inside the output {out}",
                hint="pass an output folder outside every source folder (a case may sit in it only "
                "under its own case folder name)",
            )


def _own_case(source: _Source, out: Path) -> bool:
    if source.matrix is not None or len(source.entries) != 1:
        return False
    return source.folder == out / case_folder(source.entries[0].label)


def _collect(sources: Iterable[_Source], expected: Iterable[str]) -> list[_Entry]:
    """One entry per label; a reported case may stand in for another source's missing one.

    Two reports of one case are refused: shards never overlap, so it means a folder was
    passed twice or an old run's copy is mixed in, and which one to keep is not ours to guess.
    A rerun of a crashed case, though, may fill the gap its shard left.
    """
    found: dict[str, _Entry] = {}
    for source in sources:
        for entry in source.entries:
            held = found.get(entry.label)
            if held is not None and held.folder is not None and entry.folder is not None:
                raise InputError(
                    f"case {entry.label} is reported twice: in {held.folder} and in {entry.folder}",
                    hint="shards never overlap; pass each shard's folder once and leave out older copies",
                )
            if held is None or held.folder is None:
                found[entry.label] = entry
    for label in expected:
        split_label(label)
        found.setdefault(label, _Entry(label, None))
    if not found:
        raise InputError("there is no case to merge", hint="pass at least one report folder")
    return list(found.values())


def _one_target(sources: Iterable[_Source], entries: Iterable[_Entry]) -> str:
    """The one target every case and every matrix source upgrades to; two targets are refused."""
    targets: dict[str, str] = {}
    for source in sources:
        if source.matrix is not None:
            targets.setdefault(source.matrix.target, f"the matrix in {source.folder}")
    for entry in entries:
        where = f"case {entry.label}" + (f" in {entry.source}" if entry.source else ", expected")
        targets.setdefault(split_label(entry.label)[1], where)
    if len(targets) != 1:
        listed = "; ".join(f"{target} ({where})" for target, where in targets.items())
        raise InputError(
            f"the reports upgrade to different targets: {listed}",
            hint="a matrix compares start versions against one target; merge each target separately",
        )
    return next(iter(targets))


def _refuse_links(folder: Path) -> None:
    """Walk a case folder without following links and refuse anything but files and folders."""
    for root, dirs, files in os.walk(folder, onerror=_unreadable, followlinks=False):
        for name in (*dirs, *files):
            _plain(Path(root) / name)


def _unreadable(error: OSError) -> None:
    """``os.walk`` skips a folder it cannot list; a merge must not publish half a case instead."""
    raise InputError(
        f"{error.filename} cannot be read ({error.strerror})", hint="check the permissions of the case folder"
    )


def _plain(path: Path) -> None:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise InputError(f"{path} is a symbolic link", hint=_LINK_HINT)
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        raise InputError(f"{path} is not a plain file or folder", hint=_LINK_HINT)


# --- writing -------------------------------------------------------------------------------


def _replace_folder(source: Path, destination: Path) -> None:
    """Copy ``source`` to ``destination``, swapping out an older copy only once the new one is whole."""
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent))
    try:
        # links were refused before; checked again as the copy goes, should one appear since
        shutil.copytree(source, staging, ignore=_no_links, dirs_exist_ok=True)
        if destination.exists() or destination.is_symlink():
            aside = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.old")
            destination.rename(aside)
            staging.rename(destination)
            _remove(aside)
        else:
            staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _no_links(folder: str, names: list[str]) -> set[str]:
    """``copytree``'s ignore hook, used to refuse rather than to ignore."""
    for name in names:
        _plain(Path(folder) / name)
    return set()


def _exists(path: Path) -> bool:
    """Whether anything is at ``path``, a dangling link included (it is refused, not skipped)."""
    return path.exists() or path.is_symlink()


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink()
    else:
        shutil.rmtree(path)
