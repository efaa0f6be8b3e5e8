"""The top of a matrix report: one row per start version, all upgraded to one target.

A matrix run is several full rehearsals ("cases") written side by side, often by different CI
jobs (shards). The reader wants one answer first (is every supported version safe to upgrade
to the candidate?) and then, per start version, which hop or rollback procedure broke. This
module turns each case's :class:`RunReport` into the few facts that answer that and renders
them; the case folders keep everything else.

A case the run planned but that left no report (a worker that crashed or was cancelled) is
``missing`` and fails the matrix: an absent rehearsal proved nothing, so it must never let
the matrix read green. Pure logic, like the rest of :mod:`pytest_jitera.report`: no file is
touched here (see :mod:`pytest_jitera.report.merge` for that).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pytest_jitera.errors import InputError, VersionError
from pytest_jitera.release.versions import Version
from pytest_jitera.report.mask import mask_text
from pytest_jitera.report.model import FORMAT, HopReport, Outcome, RunReport, _Fields
from pytest_jitera.report.text import not_rehearsed

KIND = "matrix"
CaseOutcome = Literal["passed", "failed", "missing"]
CASE_OUTCOMES: tuple[CaseOutcome, ...] = ("passed", "failed", "missing")
HOP_OUTCOMES: tuple[Outcome, ...] = ("passed", "failed")
#: Between the start and the target of a case; a hop keeps ``->`` (see release/matrix.py).
CASE_ARROW = "=>"
HOP_ARROW = "->"
NOT_REHEARSED = "not rehearsed"
MISSING_NOTE = (
    "no summary.json: the rehearsal planned for this case wrote no report "
    "(its worker crashed, was cancelled or its artifact was not collected)"
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_FOLDER = re.compile(r"[A-Za-z0-9._-]+")
_SHARD = re.compile(r"([0-9]+)/([0-9]+)")
_C = TypeVar("_C", bound=str)
_EDITED = "the file was edited or written by another version; rerun or merge again to write it"


def case_folder(label: str) -> str:
    """The folder name of case ``label``: ``v24.05.01=>v24.08.01`` gives ``v24.05.01-to-v24.08.01``.

    Only characters every file system, URL and artifact store takes unquoted are kept, so a
    link to the case page needs no escaping to work; a name of dots only would climb out of
    the report, so it is spelled with underscores.
    """
    name = _UNSAFE.sub("_", label.replace(CASE_ARROW, "-to-"))
    if not name.strip("."):
        return "_" * max(1, len(name))
    return name


def split_label(label: str) -> tuple[str, str]:
    """``(start, target)`` of a case label, refused unless both are release versions as written.

    The canonical spelling is required because the label names the case folder and matches
    the same case across shards and runs: ``v24.05.01`` and `` v24.05.01`` must not be two cases.
    """
    parts = label.split(CASE_ARROW)
    try:
        versions = [Version.parse(part) for part in parts]
    except VersionError:
        versions = []
    if len(parts) != 2 or [str(v) for v in versions] != parts:
        raise InputError(
            f"case label {label!r} is not START=>TARGET with two release versions",
            hint="a case label looks like v24.05.01=>v24.08.01 (what MatrixCase.label gives)",
        )
    return parts[0], parts[1]


def label_of(report: RunReport) -> str:
    """The case a single rehearsal's report belongs to: its first and last version."""
    if not report.path:
        raise InputError(
            "summary.json has an empty path, so it belongs to no case",
            hint="the rehearsal stopped before planning; rerun it",
        )
    return f"{report.path[0]}{CASE_ARROW}{report.path[-1]}"


@dataclass(frozen=True)
class CaseHop:
    """One hop of one case, as a matrix cell shows it.

    ``rollbacks`` pairs each procedure with its outcome text; a procedure the hop's scenario
    chose but that left no record is paired with ``not rehearsed``, so its absence shows.
    """

    name: str
    outcome: Outcome
    seconds: float
    scenario: str | None = None
    rollbacks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CaseSummary:
    """One rehearsal of the matrix; ``folder`` is its folder's name inside the matrix folder."""

    label: str
    start: str
    target: str
    folder: str
    outcome: CaseOutcome
    seconds: float
    path: tuple[str, ...] = ()
    hops: tuple[CaseHop, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def page(self) -> str:
        """The case's own page, relative to the matrix page."""
        return f"{self.folder}/index.html"


class NotAMatrixError(InputError):
    """The summary.json read is one rehearsal's :class:`RunReport`, not a matrix summary.

    A separate class because a folder holding one case is valid input to a merge: callers
    catch this to treat the folder as a case instead of refusing it.
    """


@dataclass(frozen=True)
class MatrixSummary:
    """Every case of a matrix run against one target, oldest start first.

    ``shards`` lists the ``K/N`` shards whose cases are in here, empty for an unsharded run.
    Construction refuses an inconsistent matrix (two cases with one label or one folder, a
    case for another target), so no reader ever sees one.
    """

    target: str
    cases: tuple[CaseSummary, ...] = ()
    shards: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_cases(self.target, self.cases)
        for text in self.shards:
            shard_key(text)
        ordered = tuple(sorted(self.cases, key=lambda case: Version.parse(case.start)))
        object.__setattr__(self, "cases", ordered)
        object.__setattr__(self, "shards", tuple(sorted(set(self.shards), key=shard_key)))

    @property
    def outcome(self) -> Outcome:
        """``passed`` only when there is a case and every case passed; a missing one fails it."""
        if self.cases and all(case.outcome == "passed" for case in self.cases):
            return "passed"
        return "failed"

    def missing_shards(self) -> tuple[str, ...]:
        """Shards of a split this matrix holds only part of: ``2/3`` when 1/3 and 3/3 are in.

        A shard that uploaded nothing leaves no missing case behind (only it knew its cases),
        so the gap in the shard numbers is the only trace of it.
        """
        have = {shard_key(text) for text in self.shards}
        totals = sorted({total for total, _ in have})
        return tuple(f"{k}/{n}" for n in totals for k in range(1, n + 1) if (n, k) not in have)

    def counts(self) -> dict[CaseOutcome, int]:
        """How many cases ended each way, every outcome present (zero included) for tools."""
        found = Counter(case.outcome for case in self.cases)
        return {outcome: found[outcome] for outcome in CASE_OUTCOMES}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data; ``outcome`` and ``counts`` are derived, stored for readers that want only them."""
        return {
            "format": FORMAT,
            "kind": KIND,
            "outcome": self.outcome,
            "target": self.target,
            "shards": list(self.shards),
            "counts": dict(self.counts()),
            "cases": [_case_dict(case) for case in self.cases],
        }

    def to_json(self) -> str:
        """The text of the matrix ``summary.json``, indented like a case's."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> MatrixSummary:
        """Rebuild from :meth:`to_dict` output, refusing anything malformed.

        A single rehearsal's summary (no ``kind``) raises :class:`NotAMatrixError`.
        """
        reader = _Fields(data, "matrix")
        kind = reader.raw("kind")
        if kind is None:
            raise NotAMatrixError(
                "summary.json is a single rehearsal's report, not a matrix summary",
                hint="pass the summary.json at the top of a matrix report folder",
            )
        if kind != KIND:
            raise reader.wrong("kind", f"{KIND!r}")
        fmt = reader.get("format", int)
        if fmt != FORMAT:
            raise InputError(
                f"summary.json has format {fmt}; this version of pytest-jitera reads format {FORMAT}",
                hint="read it with the pytest-jitera version that wrote it",
            )
        shards = reader.strings("shards")
        for n, text in enumerate(shards):
            if not _valid_shard(text):
                raise InputError(f"summary.json: matrix.shards[{n}] is {text!r}, not K/N", hint=_EDITED)
        return cls(
            target=_version_field(reader, "target"),
            cases=tuple(_case(item, f"matrix.cases[{i}]") for i, item in reader.indexed("cases")),
            shards=shards,
        )

    @classmethod
    def from_json(cls, text: str) -> MatrixSummary:
        """Read the text of a matrix ``summary.json``; see :func:`read_summary` to accept either kind."""
        return cls.from_dict(_load(text))


def read_summary(text: str) -> MatrixSummary | RunReport:
    """Either kind of ``summary.json``: a matrix's, or a single rehearsal's (which has no ``kind``)."""
    data = _load(text)
    try:
        return MatrixSummary.from_dict(data)
    except NotAMatrixError:
        return RunReport.from_dict(data)


def shard_key(text: str) -> tuple[int, int]:
    """``(N, K)`` of a ``K/N`` shard, so shards sort as 1/2, 2/2 and never 10/12 before 2/12."""
    found = _SHARD.fullmatch(text)
    if found is None or not _valid_shard(text):
        raise InputError(
            f"shard {text!r} is not K/N with 1 <= K <= N", hint="e.g. 1/3 for the first of three"
        )
    return int(found.group(2)), int(found.group(1))


def _valid_shard(text: str) -> bool:
    found = _SHARD.fullmatch(text)
    return found is not None and 1 <= int(found.group(1)) <= int(found.group(2))


def case_summary(label: str, folder: str, report: RunReport | None) -> CaseSummary:
    """What the matrix keeps of one case; ``report`` None is a planned case that left no report.

    The report must be the rehearsal the label names: a case folder holding another case's
    report would otherwise put one start version's result in another's row.
    """
    start, target = split_label(label)
    _check_folder(folder, label)
    if report is None:
        return CaseSummary(label, start, target, folder, "missing", 0.0, notes=(MISSING_NOTE,))
    found = label_of(report)
    if found != label:
        raise InputError(
            f"case {label}: its summary.json is the report of {found}",
            hint="the case folder holds another case's report; rerun the case or move the folder",
        )
    return CaseSummary(
        label=label,
        start=start,
        target=target,
        folder=folder,
        outcome=report.outcome,
        seconds=report.seconds,
        path=report.path,
        hops=_case_hops(report),
        # already masked when the case was written; masked again because a case folder may
        # come from anywhere, and the matrix page must not be where a secret surfaces
        notes=tuple(mask_text(note) for note in report.notes),
    )


def _case_hops(report: RunReport) -> tuple[CaseHop, ...]:
    """Every hop the run knows of: those it measured, then those only its steps name.

    A hop that crashed before it was measured still has failed steps, and those must show
    as a failed cell rather than vanish from the row.
    """
    measured = {hop.name: hop for hop in report.hops}
    names = dict.fromkeys([*measured, *(step.hop for step in report.steps if step.hop)])
    return tuple(_case_hop(name, measured.get(name), report) for name in names)


def _case_hop(name: str, hop: HopReport | None, report: RunReport) -> CaseHop:
    """One hop's cell: failed unless it has steps and all passed, as for the whole run."""
    steps = [step for step in report.steps if step.hop == name]
    outcome: Outcome = "passed" if steps and all(s.status == "passed" for s in steps) else "failed"
    if hop is None:
        return CaseHop(name, outcome, sum(step.seconds for step in steps))
    ran = tuple((r.name, mask_text(r.outcome)) for r in hop.rollbacks)
    chosen = tuple((procedure, NOT_REHEARSED) for procedure in not_rehearsed(hop))
    return CaseHop(name, outcome, hop.seconds, hop.scenario, ran + chosen)


def _check_folder(folder: str, label: str) -> None:
    """A case folder is one plain name inside the matrix folder: a merge copies into it."""
    if not _FOLDER.fullmatch(folder) or not folder.strip("."):
        raise InputError(
            f"case {label}: folder {folder!r} is not a plain folder name",
            hint=f"use case_folder(label), here {case_folder(label)!r}",
        )


def _check_cases(target: str, cases: Iterable[CaseSummary]) -> None:
    """One label and one folder per case, every case for ``target`` and consistent with its label."""
    _check_version(target, "the matrix's target")
    labels: set[str] = set()
    folders: set[str] = set()
    for case in cases:
        if split_label(case.label) != (case.start, case.target):
            raise InputError(f"case {case.label}: start and target disagree with the label", hint=_EDITED)
        _check_folder(case.folder, case.label)
        if case.target != target:
            raise InputError(
                f"case {case.label} upgrades to {case.target}, but the matrix's target is {target}",
                hint="a matrix holds cases for one target; merge each target's reports separately",
            )
        if case.label in labels or case.folder in folders:
            raise InputError(f"case {case.label} is listed twice in the matrix", hint=_EDITED)
        labels.add(case.label)
        folders.add(case.folder)


def _check_version(text: str, what: str) -> None:
    try:
        canonical = str(Version.parse(text))
    except VersionError:
        canonical = ""
    if canonical != text:
        raise InputError(f"{what} {text!r} is not a release version", hint="e.g. v24.08.01")


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"summary.json is not valid JSON (line {exc.lineno}, column {exc.colno})",
            hint="the file may be truncated; rerun or merge again to write it",
        ) from None


def _version_field(reader: _Fields, key: str) -> str:
    value = reader.get(key, str)
    try:
        canonical = str(Version.parse(value))
    except VersionError:
        canonical = ""
    if canonical != value:
        raise reader.wrong(key, "a release version such as v24.08.01")
    return value


def _case_dict(case: CaseSummary) -> dict[str, Any]:
    return {
        "label": case.label,
        "start": case.start,
        "target": case.target,
        "folder": case.folder,
        "outcome": case.outcome,
        "seconds": case.seconds,
        "path": list(case.path),
        "hops": [
            {
                "name": hop.name,
                "outcome": hop.outcome,
                "seconds": hop.seconds,
                "scenario": hop.scenario,
                "rollbacks": [{"procedure": name, "outcome": outcome} for name, outcome in hop.rollbacks],
            }
            for hop in case.hops
        ],
        "notes": list(case.notes),
    }


def _case(data: Any, where: str) -> CaseSummary:
    reader = _Fields(data, where)
    outcome = _choice(reader, "outcome", CASE_OUTCOMES)
    return CaseSummary(
        label=reader.get("label", str),
        start=_version_field(reader, "start"),
        target=_version_field(reader, "target"),
        folder=reader.get("folder", str),
        outcome=outcome,
        seconds=reader.number("seconds"),
        path=reader.strings("path"),
        hops=tuple(_hop(item, f"{where}.hops[{i}]") for i, item in reader.indexed("hops")),
        notes=reader.strings("notes"),
    )


def _hop(data: Any, where: str) -> CaseHop:
    reader = _Fields(data, where)
    scenario = reader.raw("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise reader.wrong("scenario", "a string or null")
    return CaseHop(
        name=reader.get("name", str),
        outcome=_choice(reader, "outcome", HOP_OUTCOMES),
        seconds=reader.number("seconds"),
        scenario=scenario,
        rollbacks=tuple(
            _procedure(item, f"{where}.rollbacks[{i}]") for i, item in reader.indexed("rollbacks")
        ),
    )


def _procedure(data: Any, where: str) -> tuple[str, str]:
    reader = _Fields(data, where)
    return reader.get("procedure", str), reader.get("outcome", str)


def _choice(reader: _Fields, key: str, allowed: tuple[_C, ...]) -> _C:
    value = reader.get(key, str)
    for option in allowed:
        if value == option:
            return option
    raise reader.wrong(key, "one of " + ", ".join(allowed))
