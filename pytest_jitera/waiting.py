"""The one way the harness waits: a deadline, an interval, a progress line, the last state seen.

Runbook steps wait on Jobs, rollouts, pods going away, HTTP answers and cluster nodes. Written
by hand each of those loops forgets something: to say what it is waiting for during a
ten-minute hook, or to put what it last saw into the timeout error, which is the first thing a
release engineer reads. Here a wait is a ``probe`` that returns an :class:`Observation`; the
helper owns the clock, the sleeping and the messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from pytest_jitera.activity import external
from pytest_jitera.errors import JiteraError

T = TypeVar("T")
Progress = Callable[[str], None]


class WaitTimeout(JiteraError):
    """The awaited state was not reached in time; the message holds the last observation."""

    def __init__(self, message: str, hint: str | None = None, *, last: str = "") -> None:
        super().__init__(message, hint)
        self.last = last


class WaitFailed(JiteraError):
    """The probe saw a state that can never turn into success (a failed Job, say)."""


@dataclass(frozen=True)
class Observation(Generic[T]):
    """What one look at the world found: done (with a value), or not yet (with a summary)."""

    done: bool
    summary: str
    value: T | None = None
    failed: bool = False

    @classmethod
    def ready(cls, value: T, summary: str = "done") -> Observation[T]:
        """The awaited state is reached."""
        return cls(True, summary, value)

    @classmethod
    def pending(cls, summary: str) -> Observation[T]:
        """Not yet; ``summary`` says what was seen."""
        return cls(False, summary)

    @classmethod
    def hopeless(cls, summary: str) -> Observation[T]:
        """Will never succeed; stop waiting and raise :class:`WaitFailed`."""
        return cls(False, summary, failed=True)


def _quiet(_message: str) -> None:
    return None


def wait_for(
    what: str,
    probe: Callable[[], Observation[T]],
    *,
    timeout: float,
    interval: float = 2.0,
    progress: Progress = _quiet,
    progress_every: float = 30.0,
    hint: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``probe`` until it is done, hopeless, or ``timeout`` seconds have passed.

    A progress line is printed when the observed summary changes and at least every
    ``progress_every`` seconds while it does not, so a long wait is never silent.
    """
    with external("wait"):
        return _wait(what, probe, timeout, interval, progress, progress_every, hint, clock, sleep)


def _wait(
    what: str,
    probe: Callable[[], Observation[T]],
    timeout: float,
    interval: float,
    progress: Progress,
    progress_every: float,
    hint: str | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> T:
    """The loop of :func:`wait_for`, recorded as time spent waiting on the outside world."""
    started = clock()
    deadline = started + timeout
    last_summary: str | None = None
    last_said = started
    while True:
        seen = probe()
        now = clock()
        if seen.done:
            if seen.summary != last_summary:
                progress(f"{what}: {seen.summary}")
            return cast(T, seen.value)
        if seen.failed:
            raise WaitFailed(f"{what}: {seen.summary}", hint=hint)
        if seen.summary != last_summary or now - last_said >= progress_every:
            progress(f"{what}: {seen.summary} ({now - started:.0f}s)")
            last_summary, last_said = seen.summary, now
        if now >= deadline:
            raise WaitTimeout(
                f"{what}: not reached within {timeout:.0f}s; last seen: {seen.summary}",
                hint=hint,
                last=seen.summary,
            )
        sleep(max(0.0, min(interval, deadline - now)))
