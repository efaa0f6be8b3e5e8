"""Ask the product's Services a question every fraction of a second while a hop runs.

Whether an upgrade was "zero downtime" is not something the chart or the runbook can say;
only requests sent throughout the upgrade can. The prober sends them from a background
thread through the API server's Service proxy (:class:`~pytest_jitera.cluster.api.ServiceHttp`),
so it reaches whatever endpoints the Service has at that moment, as a user would. Runbook
steps :meth:`Prober.mark` where they begin, so a report can lay the outages over the steps.
The arithmetic on the samples lives in :mod:`pytest_jitera.runbook.availability`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from pytest_jitera.cluster.api import KubeApi, ServiceHttp
from pytest_jitera.errors import JiteraError
from pytest_jitera.runbook.availability import Sample

# How long stop() waits for the thread beyond one request's timeout: closing the HTTP client.
JOIN_GRACE = 5.0


class ProberError(JiteraError):
    """The prober's thread stopped on its own, so its samples do not cover the whole span."""


@dataclass(frozen=True)
class ProbeTarget:
    """A Service path to ask; ``name`` is what reports call it."""

    name: str
    service: str
    port: int
    path: str = "/"


class Prober:
    """Samples every target once per ``interval`` seconds until the ``with`` block ends.

    The schedule is anchored at the start (tick ``n`` is due at ``n * interval``), so slow
    answers do not stretch the interval: a tick that overran skips the ticks it missed instead
    of firing them in a burst, and sample times stay comparable between targets and runs.
    """

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        targets: Sequence[ProbeTarget],
        *,
        interval: float = 0.5,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.api = api
        self.namespace = namespace
        self.targets = tuple(targets)
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
        self.started_at = 0.0
        self._start = 0.0
        self._samples: list[Sample] = []
        self._marks: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> Prober:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(raise_error=exc_type is None)

    def start(self) -> None:
        """Start the probing thread; the first tick is sent at once."""
        if self._thread is not None:
            raise RuntimeError("a Prober is started once")
        self.started_at = time.time()
        self._start = self.clock()
        self._thread = threading.Thread(target=self._run, name="jitera-prober", daemon=True)
        self._thread.start()

    def stop(self, *, raise_error: bool = True) -> None:
        """Stop and join the thread, even when a Ctrl-C arrives while joining.

        A probe in flight ends within its timeout, so the join is bounded. With ``raise_error``
        a thread that died early is reported: its samples would silently claim an uptime
        nobody measured.
        """
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            limit = self.timeout * max(1, len(self.targets)) + JOIN_GRACE
            try:
                thread.join(limit)
            except KeyboardInterrupt:
                thread.join(limit)
                raise
        if raise_error and self._error is not None:
            raise ProberError(
                f"the availability prober stopped early: {type(self._error).__name__}: {self._error}",
                hint="check that the kubeconfig still reaches the cluster",
            )

    # ----------------------------------------------------------------- records
    def mark(self, label: str) -> None:
        """Note that ``label`` (a runbook step) begins now, for a report's step spans."""
        with self._lock:
            self._marks.append((label, self._elapsed()))

    @property
    def samples(self) -> list[Sample]:
        """A copy of the samples so far, in the order they were taken."""
        with self._lock:
            return list(self._samples)

    @property
    def marks(self) -> list[tuple[str, float]]:
        """A copy of the marks so far: (label, seconds since start)."""
        with self._lock:
            return list(self._marks)

    # ----------------------------------------------------------------- the thread
    def _elapsed(self) -> float:
        return self.clock() - self._start

    def _run(self) -> None:
        try:
            with self.api.service_http(timeout=self.timeout) as http:
                self._tick_until_stopped(http)
        except Exception as exc:  # a thread cannot raise to its owner: stop() reports it
            self._error = exc

    def _tick_until_stopped(self, http: ServiceHttp) -> None:
        tick = 0
        while not self._stopping.wait(self._until_tick(tick)):
            self._probe_all(http)
            tick = self._next_tick(tick)

    def _until_tick(self, tick: int) -> float:
        """Seconds from now until tick ``tick`` is due (0 when it is already late)."""
        return max(0.0, tick * self.interval - self._elapsed())

    def _next_tick(self, tick: int) -> int:
        """The next tick still in the future: ticks missed by a slow round are skipped."""
        due = math.floor(self._elapsed() / self.interval) + 1
        return max(tick + 1, due)

    def _probe_all(self, http: ServiceHttp) -> None:
        for target in self.targets:
            if self._stopping.is_set():
                return
            sample = self._probe(http, target)
            with self._lock:
                self._samples.append(sample)

    def _probe(self, http: ServiceHttp, target: ProbeTarget) -> Sample:
        """One GET; ``at`` is when it was sent, the moment a user would have asked."""
        at = self._elapsed()
        answer = http.get(self.namespace, target.service, target.port, target.path, timeout=self.timeout)
        ok = 200 <= answer.status < 400
        error = "" if ok else (answer.error or f"HTTP {answer.status}")
        return Sample(target.name, at, ok, answer.status, error)
