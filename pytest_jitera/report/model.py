"""What one rehearsal produced, as plain data that outlives the pytest session.

The report is written at the end of a run and read later by people and by tools (a CI step
that posts the outcome, a later run comparing availability). So the model holds only what
those readers need, in types that survive JSON unchanged, and nothing that needs the cluster
or pytest to interpret. Reading a ``summary.json`` back validates every field, because the
file may have been edited, truncated or written by another version of the harness.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeGuard, TypeVar

from pytest_jitera.errors import InputError

#: Bumped when a field changes meaning, so a reader can refuse a file it would misread.
FORMAT = 1

Status = Literal["passed", "failed", "error", "not-run"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "not-run")
Outcome = Literal["passed", "failed"]

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
class HopReport:
    """One upgrade hop: timing, what was probed, and when the product was unavailable."""

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
    )


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
