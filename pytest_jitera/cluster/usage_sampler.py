"""Read a rehearsal namespace's CPU and memory every few seconds while the rehearsal runs.

The kubelets' Summary API is read through the API server's node proxy, so it needs no
metrics-server (kind has none) and works the same on a user's cluster. A read covers every
node in one tick; a tick where any node fails counts as failed rather than as a smaller sum,
which would understate the peak. Nothing here raises into the test: usage is a report's
figure, not a verdict on the upgrade. The arithmetic lives in :mod:`pytest_jitera.cluster.usage`.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from pytest_jitera.activity import external
from pytest_jitera.cluster.api import KubeApi
from pytest_jitera.cluster.usage import Peak, namespace_usage

# How long stop() waits for the thread beyond one request's timeout: closing the HTTP client.
JOIN_GRACE = 5.0


class UsageSampler:
    """Feeds a :class:`~pytest_jitera.cluster.usage.Peak` once per ``interval`` until stopped.

    The schedule is anchored at the start like the prober's (tick ``n`` is due at
    ``n * interval``), so a slow read skips the ticks it overran instead of bunching them.
    """

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        *,
        interval: float = 10.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.api = api
        self.namespace = namespace
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
        self._start = 0.0
        self._peak = Peak(interval=interval)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> UsageSampler:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the thread; the first read is at once, before the rehearsal adds pods."""
        if self._thread is not None:
            raise RuntimeError("a UsageSampler is started once")
        self._start = self.clock()
        self._thread = threading.Thread(target=self._run, name="jitera-usage", daemon=True)
        self._thread.start()

    def stop(self) -> Peak:
        """Stop and join the thread, and return the peak so far even if the thread hangs.

        The thread checks for stop between requests, so at most one request is in flight and
        the join is bounded by its timeout.
        """
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            try:
                thread.join(self.timeout + JOIN_GRACE)
            except KeyboardInterrupt:
                thread.join(self.timeout + JOIN_GRACE)
                raise
        return self.peak

    @property
    def peak(self) -> Peak:
        """A copy of the peak so far, safe to read while the thread runs."""
        with self._lock:
            return dataclasses.replace(self._peak)

    # ----------------------------------------------------------------- the thread
    def _elapsed(self) -> float:
        return self.clock() - self._start

    def _run(self) -> None:
        try:
            with httpx.Client(
                base_url=self.api.endpoint.host,
                verify=self.api.endpoint.ssl_context(),
                headers=self.api.endpoint.headers(),
                timeout=self.timeout,
            ) as http:
                self._tick_until_stopped(http)
        except Exception as exc:  # e.g. an unreadable CA file: no read can succeed, so say why
            self._failed(exc)

    def _tick_until_stopped(self, http: httpx.Client) -> None:
        tick = 0
        while not self._stopping.wait(max(0.0, tick * self.interval - self._elapsed())):
            self._tick(http)
            tick = max(tick + 1, math.floor(self._elapsed() / self.interval) + 1)

    def _tick(self, http: httpx.Client) -> None:
        at = self._elapsed()
        try:
            summaries = self._read_summaries(http)
        except Exception as exc:  # one bad tick is a count in the report, never the test's failure
            self._failed(exc)
            return
        if summaries is None:
            return
        usage = namespace_usage(summaries, self.namespace)
        with self._lock:
            self._peak.add(usage, at)

    def _read_summaries(self, http: httpx.Client) -> list[Any] | None:
        """Every node's summary, or None when stop() came in between (not a failure)."""
        with external("http"):
            nodes = self.api.core.list_node(_request_timeout=self.timeout)
        summaries = []
        for name in [node.metadata.name for node in nodes.items if node.metadata and node.metadata.name]:
            if self._stopping.is_set():
                return None
            with external("http"):
                answer = http.get(f"/api/v1/nodes/{name}/proxy/stats/summary")
            if answer.status_code != 200:
                raise _NodeError(f"node {name}: HTTP {answer.status_code} {answer.text[:200]}".rstrip())
            summaries.append(answer.json())
        return summaries

    def _failed(self, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, _NodeError) else f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._peak.fail(reason[:300])


class _NodeError(Exception):
    """A node's kubelet (or the API server's proxy to it) answered, but not with a summary."""
