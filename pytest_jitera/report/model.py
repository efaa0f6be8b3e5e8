"""What one rehearsal produced, as plain data that outlives the pytest session.

The report is written at the end of a run and read later by people and by tools (a CI step
that posts the outcome, a later run comparing availability). So the model holds only what
those readers need, in types that survive JSON unchanged, and nothing that needs the cluster
or pytest to interpret. Reading a ``summary.json`` back validates every field, because the
file may have been edited, truncated or written by another version of the harness.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeGuard, TypeVar

from pytest_jitera.errors import InputError

#: Bumped when a field changes meaning, so a reader can refuse a file it would misread.
FORMAT = 1

Status = Literal["passed", "failed", "error", "not-run"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "not-run")
Outcome = Literal["passed", "failed"]
#: Where a rollback step's duration falls against the runbook's range; ``""`` when it has none.
#: The same words as :mod:`pytest_jitera.runbook.downtime` (a test holds the two together).
VERDICTS: tuple[str, ...] = ("within the estimate", "under the estimate", "over the estimate", "")
SCENARIOS: tuple[int, ...] = (1, 2, 3)

_T = TypeVar("_T")


@dataclass(frozen=True)
class StepResult:
    """One runbook step as one test saw it; ``hop`` is ``""`` for run-level steps."""

    hop: str
    step: str
    test_id: str
    status: Status
    seconds: float
    message: str = ""
    artifacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class TouchedTable:
    """A table a migration worked on, its rows and bytes just before the hop (None: it did not exist)."""

    table: str
    rows: int | None
    bytes: int | None = None


@dataclass(frozen=True)
class MigrationRow:
    """One migration of a hop's hook: its measured duration and the tables it touched."""

    version: str
    name: str
    seconds: float
    tables: tuple[TouchedTable, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The row as ``migration-costs.json`` and ``summary.json`` store it."""
        data: dict[str, Any] = _lists(asdict(self))
        return data


@dataclass(frozen=True)
class WindowRow:
    """One time of a hop's maintenance window beside the runbook's range (minutes) for it."""

    step: str
    seconds: float
    estimate: tuple[int, int] | None
    verdict: str


@dataclass(frozen=True)
class HopWindow:
    """A hop's maintenance window and the Automation data size it was measured at."""

    rows: int
    bytes: int
    steps: tuple[WindowRow, ...] = ()


@dataclass(frozen=True)
class MaskedColumn:
    """A column of the seeded data masked before the first hop, and how many values it changed."""

    column: str
    rule: str
    rows: int


@dataclass(frozen=True)
class SeedRow:
    """One store the rehearsal started from the operator's dump: only counts, size and time."""

    store: str
    dump: str
    rows: int
    tables: int
    bytes: int
    seconds: float
    masked: tuple[MaskedColumn, ...] = ()


@dataclass(frozen=True)
class OutageRow:
    """One interval in which a probe target did not answer as it should, hop-relative seconds."""

    target: str
    start: float
    end: float
    reason: str

    @property
    def seconds(self) -> float:
        """Length of the interval; a reversed interval counts as none rather than negative."""
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class ReasonReport:
    """One fact behind a hop's scenario, with the evidence a reviewer can check it against."""

    scenario: int
    text: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassificationReport:
    """Which rollback scenario a hop was rehearsed under, why, and which procedures that chose.

    ``scenario`` is the one rehearsed; ``classified`` is the classifier's verdict, which
    differs when the operator forced a scenario. Both are kept because a forced Scenario 3 on
    a Scenario 1 pair proves the heavy procedure, not that the pair needs it.
    """

    scenario: int
    classified: int
    forced: bool
    title: str
    reasons: tuple[ReasonReport, ...] = ()
    procedures: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeasuredRow:
    """One step of a rehearsed rollback procedure, hop-relative seconds.

    ``unavailable`` is the time inside the step during which any probe target was down;
    ``estimate`` is the runbook's range in minutes (None for a step the runbook does not
    estimate); ``verdict`` sets ``seconds`` against it. ``seconds`` and ``verdict`` are stored
    although derivable, so a tool reading summary.json needs none of the harness's rules.
    """

    step: str
    start: float
    end: float
    seconds: float
    unavailable: float
    estimate: tuple[int, int] | None
    verdict: str


@dataclass(frozen=True)
class TargetDowntime:
    """One probe target's total unavailable time over a whole procedure."""

    target: str
    seconds: float


@dataclass(frozen=True)
class RollbackReport:
    """One rollback procedure as rehearsed on a hop; every time is on the hop's clock.

    ``findings`` are failures the runbook predicts and the rehearsal shows on purpose: a
    reader must see them named and never mistake them for passes. ``observations`` are the
    facts the procedure recorded, as ``key: value`` text.
    """

    name: str
    scenario: int
    outcome: str
    start: float
    seconds: float
    findings: tuple[str, ...] = ()
    observations: tuple[str, ...] = ()
    steps: tuple[MeasuredRow, ...] = ()
    probe_targets: tuple[str, ...] = ()
    samples: int = 0
    outages: tuple[OutageRow, ...] = ()
    unavailable: tuple[TargetDowntime, ...] = ()

    @property
    def unavailable_seconds(self) -> float:
        """Time during which at least one target was down, overlaps counted once.

        The union rather than the worst target, as for the step rows: studio down and then
        the API down is one stretch in which some user could not work.
        """
        spans = sorted((o.start, max(o.start, o.end)) for o in self.outages if _finite(o.start, o.end))
        total, reach = 0.0, -math.inf
        for start, end in spans:
            if end > reach:
                total += end - max(start, reach)
                reach = end
        return total


@dataclass(frozen=True)
class HopReport:
    """One upgrade hop: timing, what was probed, and when the product was unavailable.

    ``classification`` and ``rollbacks`` are the rollback half; None and empty for an
    upgrade-only run and for summary.json files written before it existed.
    """

    name: str
    old: str
    new: str
    kind: str
    started: float
    seconds: float
    probe_targets: tuple[str, ...] = ()
    samples: int = 0
    outages: tuple[OutageRow, ...] = ()
    step_spans: tuple[tuple[str, float, float], ...] = ()
    scenario: str | None = None
    classification: ClassificationReport | None = None
    rollbacks: tuple[RollbackReport, ...] = ()
    # The hook's migrations, slowest first; empty for files written before they were recorded.
    migrations: tuple[MigrationRow, ...] = ()
    # The times that decide the maintenance window; None when the upgrade did not run.
    window: HopWindow | None = None


@dataclass(frozen=True)
class RunReport:
    """The whole rehearsal: where it ran, every step's result and every hop's availability."""

    product: str
    path: tuple[str, ...]
    started: float
    finished: float
    cluster: str
    namespace: str
    helm: str
    steps: tuple[StepResult, ...] = ()
    hops: tuple[HopReport, ...] = ()
    notes: tuple[str, ...] = ()
    # The stores replaced by the operator's dumps (--jitera-seed-*); empty when none was given.
    seeded: tuple[SeedRow, ...] = ()

    @property
    def outcome(self) -> Outcome:
        """``passed`` only when every step passed.

        A not-run step fails the run: a step that was skipped proved nothing, and an upgrade
        rehearsal that proved nothing must not read as green. For the same reason a run that
        recorded no step at all is ``failed``.
        """
        if self.steps and all(step.status == "passed" for step in self.steps):
            return "passed"
        return "failed"

    @property
    def seconds(self) -> float:
        """Wall-clock length of the run; never negative even if the clocks disagreed."""
        return max(0.0, self.finished - self.started)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data; ``outcome`` is included for readers that only want it."""
        data: dict[str, Any] = {"format": FORMAT, "outcome": self.outcome}
        data.update(_lists(asdict(self)))
        return data

    def to_json(self) -> str:
        """The text of ``summary.json``: indented, because people open it too."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> RunReport:
        """Rebuild a report from :meth:`to_dict` output, refusing anything malformed."""
        reader = _Fields(data, "report")
        fmt = reader.get("format", int)
        if fmt != FORMAT:
            raise InputError(
                f"summary.json has format {fmt}; this version of pytest-jitera reads format {FORMAT}",
                hint="read it with the pytest-jitera version that wrote it",
            )
        return cls(
            product=reader.get("product", str),
            path=reader.strings("path"),
            started=reader.number("started"),
            finished=reader.number("finished"),
            cluster=reader.get("cluster", str),
            namespace=reader.get("namespace", str),
            helm=reader.get("helm", str),
            steps=tuple(_step(item, f"steps[{i}]") for i, item in reader.indexed("steps")),
            hops=tuple(_hop(item, f"hops[{i}]") for i, item in reader.indexed("hops")),
            notes=reader.strings("notes"),
            seeded=tuple(_seed(item, f"seeded[{i}]") for i, item in reader.indexed("seeded")),
        )

    @classmethod
    def from_json(cls, text: str) -> RunReport:
        """Read the text of a ``summary.json``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"summary.json is not valid JSON (line {exc.lineno}, column {exc.colno})",
                hint="the file may be truncated; rerun to write it again",
            ) from None
        return cls.from_dict(data)


def _lists(value: Any) -> Any:
    """Tuples as lists, so :meth:`RunReport.to_dict` equals what JSON gives back."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value


def _step(data: Any, where: str) -> StepResult:
    """One step from its JSON form; the status must be one the report knows how to show."""
    reader = _Fields(data, where)
    status = reader.get("status", str)
    if status not in STATUSES:
        raise InputError(
            f"summary.json: {where}.status is {status!r}, not one of {', '.join(STATUSES)}",
            hint="the file was edited or written by another version; rerun to write it again",
        )
    return StepResult(
        hop=reader.get("hop", str),
        step=reader.get("step", str),
        test_id=reader.get("test_id", str),
        status=status,
        seconds=reader.number("seconds"),
        message=reader.get("message", str),
        artifacts=reader.strings("artifacts"),
    )


def _hop(data: Any, where: str) -> HopReport:
    """One hop from its JSON form."""
    reader = _Fields(data, where)
    scenario = reader.raw("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise reader.wrong("scenario", "a string or null")
    return HopReport(
        name=reader.get("name", str),
        old=reader.get("old", str),
        new=reader.get("new", str),
        kind=reader.get("kind", str),
        started=reader.number("started"),
        seconds=reader.number("seconds"),
        probe_targets=reader.strings("probe_targets"),
        samples=reader.get("samples", int),
        outages=tuple(_outage(item, f"{where}.outages[{i}]") for i, item in reader.indexed("outages")),
        step_spans=tuple(_span(item, f"{where}.step_spans[{i}]") for i, item in reader.indexed("step_spans")),
        scenario=scenario,
        classification=_classification(reader, "classification"),
        rollbacks=tuple(
            _rollback(item, f"{where}.rollbacks[{i}]") for i, item in reader.indexed("rollbacks")
        ),
        migrations=tuple(
            _migration(item, f"{where}.migrations[{i}]") for i, item in reader.indexed("migrations")
        ),
        window=_window(reader, "window"),
    )


def _migration(data: Any, where: str) -> MigrationRow:
    """One migration's cost from its JSON form."""
    reader = _Fields(data, where)
    tables = []
    for i, item in reader.indexed("tables"):
        table = _Fields(item, f"{where}.tables[{i}]")
        counts = [table.raw("rows"), table.raw("bytes")]
        for key, value in zip(("rows", "bytes"), counts, strict=True):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise table.wrong(key, "an integer or null")
        tables.append(TouchedTable(table.get("table", str), counts[0], counts[1]))
    return MigrationRow(
        version=reader.get("version", str),
        name=reader.get("name", str),
        seconds=reader.number("seconds"),
        tables=tuple(tables),
    )


def _seed(data: Any, where: str) -> SeedRow:
    """One seeded store from its JSON form."""
    reader = _Fields(data, where)
    return SeedRow(
        store=reader.get("store", str),
        dump=reader.get("dump", str),
        rows=reader.get("rows", int),
        tables=reader.get("tables", int),
        bytes=reader.get("bytes", int),
        seconds=reader.number("seconds"),
        masked=tuple(_masked(item, f"{where}.masked[{i}]") for i, item in reader.indexed("masked")),
    )


def _masked(data: Any, where: str) -> MaskedColumn:
    reader = _Fields(data, where)
    return MaskedColumn(reader.get("column", str), reader.get("rule", str), reader.get("rows", int))


def _classification(parent: _Fields, key: str) -> ClassificationReport | None:
    """A hop's classification, absent (None) in upgrade-only runs and older files."""
    data = parent.raw(key)
    if data is None:
        return None
    where = f"{parent.where}.{key}"
    reader = _Fields(data, where)
    return ClassificationReport(
        scenario=reader.scenario("scenario"),
        classified=reader.scenario("classified"),
        forced=reader.get("forced", bool),
        title=reader.get("title", str),
        reasons=tuple(_reason(item, f"{where}.reasons[{i}]") for i, item in reader.indexed("reasons")),
        procedures=reader.strings("procedures"),
    )


def _reason(data: Any, where: str) -> ReasonReport:
    """One classification reason from its JSON form."""
    reader = _Fields(data, where)
    return ReasonReport(
        scenario=reader.scenario("scenario"),
        text=reader.get("text", str),
        evidence=reader.strings("evidence"),
    )


def _rollback(data: Any, where: str) -> RollbackReport:
    """One rehearsed procedure from its JSON form."""
    reader = _Fields(data, where)
    return RollbackReport(
        name=reader.get("name", str),
        scenario=reader.scenario("scenario"),
        outcome=reader.get("outcome", str),
        start=reader.number("start"),
        seconds=reader.number("seconds"),
        findings=reader.strings("findings"),
        observations=reader.strings("observations"),
        steps=tuple(_measured(item, f"{where}.steps[{i}]") for i, item in reader.indexed("steps")),
        probe_targets=reader.strings("probe_targets"),
        samples=reader.get("samples", int),
        outages=tuple(_outage(item, f"{where}.outages[{i}]") for i, item in reader.indexed("outages")),
        unavailable=tuple(
            _target_downtime(item, f"{where}.unavailable[{i}]") for i, item in reader.indexed("unavailable")
        ),
    )


def _measured(data: Any, where: str) -> MeasuredRow:
    """One measured step; the verdict must be one the page knows how to show."""
    reader = _Fields(data, where)
    verdict, estimate = _verdict_and_estimate(reader)
    return MeasuredRow(
        step=reader.get("step", str),
        start=reader.number("start"),
        end=reader.number("end"),
        seconds=reader.number("seconds"),
        unavailable=reader.number("unavailable"),
        estimate=estimate,
        verdict=verdict,
    )


def _verdict_and_estimate(reader: _Fields) -> tuple[str, tuple[int, int] | None]:
    """A row's verdict (one the page knows how to show) and its runbook range, if any."""
    verdict = reader.get("verdict", str)
    if verdict not in VERDICTS:
        raise reader.wrong("verdict", "one of " + ", ".join(repr(v) for v in VERDICTS))
    estimate = reader.raw("estimate")
    if estimate is not None and not (
        isinstance(estimate, list)
        and len(estimate) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in estimate)
    ):
        raise reader.wrong("estimate", "null or [low minutes, high minutes] as integers")
    return verdict, None if estimate is None else (estimate[0], estimate[1])


def _window(parent: _Fields, key: str) -> HopWindow | None:
    """A hop's maintenance window; absent (None) in files written before it was recorded."""
    data = parent.raw(key)
    if data is None:
        return None
    where = f"{parent.where}.{key}"
    reader = _Fields(data, where)
    steps = []
    for i, item in reader.indexed("steps"):
        row = _Fields(item, f"{where}.steps[{i}]")
        verdict, estimate = _verdict_and_estimate(row)
        steps.append(WindowRow(row.get("step", str), row.number("seconds"), estimate, verdict))
    return HopWindow(rows=reader.get("rows", int), bytes=reader.get("bytes", int), steps=tuple(steps))


def _target_downtime(data: Any, where: str) -> TargetDowntime:
    """One target's total from its JSON form."""
    reader = _Fields(data, where)
    return TargetDowntime(target=reader.get("target", str), seconds=reader.number("seconds"))


def _outage(data: Any, where: str) -> OutageRow:
    """One outage interval from its JSON form."""
    reader = _Fields(data, where)
    return OutageRow(
        target=reader.get("target", str),
        start=reader.number("start"),
        end=reader.number("end"),
        reason=reader.get("reason", str),
    )


def _span(data: Any, where: str) -> tuple[str, float, float]:
    """One ``[name, start, end]`` step span; JSON has no tuples, so it arrives as a list."""
    if not (
        isinstance(data, list)
        and len(data) == 3
        and isinstance(data[0], str)
        and all(_is_number(x) for x in data[1:])
    ):
        raise InputError(
            f"summary.json: {where} is not [step name, start seconds, end seconds]",
            hint="the file was edited or written by another version; rerun to write it again",
        )
    return data[0], float(data[1]), float(data[2])


def _finite(*values: float) -> bool:
    """Whether every value is a real number of seconds (a hand-edited file may say Infinity)."""
    return all(math.isfinite(v) for v in values)


def _is_number(value: object) -> TypeGuard[int | float]:
    """JSON numbers only: ``True`` is an int to Python but never a duration."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Fields:
    """Typed access to one JSON object, with errors that name the offending field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise InputError(
                f"summary.json: {where} is not an object",
                hint="the file was edited or written by another version; rerun to write it again",
            )
        self.data: Mapping[str, Any] = data
        self.where = where

    def wrong(self, key: str, expected: str) -> InputError:
        """The error for a field that is missing or of the wrong type."""
        return InputError(
            f"summary.json: {self.where}.{key} must be {expected}",
            hint="the file was edited or written by another version; rerun to write it again",
        )

    def raw(self, key: str) -> Any:
        """The value as stored; ``None`` when absent, for optional fields."""
        return self.data.get(key)

    def get(self, key: str, kind: type[_T]) -> _T:
        """A required field of exactly ``kind`` (``bool`` does not pass for ``int``)."""
        value = self.data.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.wrong(key, f"a {kind.__name__}")
        return value

    def number(self, key: str) -> float:
        """A required number; integers are accepted because JSON writers drop ``.0``."""
        value = self.data.get(key)
        if not _is_number(value):
            raise self.wrong(key, "a number")
        return float(value)

    def scenario(self, key: str) -> int:
        """A required scenario number: 1, 2 or 3, the only ones the runbook has."""
        value = self.data.get(key)
        if not (isinstance(value, int) and not isinstance(value, bool) and value in SCENARIOS):
            raise self.wrong(key, "a scenario number (1, 2 or 3)")
        return value

    def items(self, key: str) -> list[Any]:
        """A list field; absent means empty, so a minimal hand-written file still reads."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.wrong(key, "a list")
        return value

    def indexed(self, key: str) -> list[tuple[int, Any]]:
        """A list field with positions, for errors that point at the bad entry."""
        return list(enumerate(self.items(key)))

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings as a tuple."""
        value = self.items(key)
        if not all(isinstance(item, str) for item in value):
            raise self.wrong(key, "a list of strings")
        return tuple(value)
