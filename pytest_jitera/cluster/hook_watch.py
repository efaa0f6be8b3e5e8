"""Follow a Helm migration hook Job, and its pods' logs, while ``helm upgrade`` runs.

``helm upgrade --wait`` says nothing for as long as the pre-upgrade hook runs, which on a
production-sized database is many minutes; when the hook fails Helm prints "job failed:
BackoffLimitExceeded" and the pods that held the reason may already be replaced. So while the
upgrade runs in another process, the Job is watched through the API (one stream, no polling,
no missed states) and every pod's log is followed into a file from its first line, retries
included, with a line now and then sent to the progress output so a long hook is not silent.

Helm's default ``hook-delete-policy`` (``before-hook-creation``) leaves the previous hop's Job
in place until the new one is created: :func:`current_job_uid` taken before ``helm upgrade``
and passed as ``previous_uid`` makes the watch ignore it and wait for its replacement.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.watch import Watch

from pytest_jitera.cluster.api import ApiError, KubeApi
from pytest_jitera.cluster.kubectl import pod_health
from pytest_jitera.redact import redact
from pytest_jitera.runner import session_runner

Progress = Callable[[str], None]

# One server-side watch lasts this long before it is reopened from the last version seen, so
# a caller's ``stop`` (helm exited) is noticed within it without a thread per watch.
WATCH_WINDOW = 5
# Seconds to let the followers read a finished Job's last lines before closing them.
LOG_DRAIN = 15.0
# At most one log line per this many seconds goes to progress; the file gets every line.
PROGRESS_EVERY = 1.0
# How many masked log lines an outcome keeps for its failure message.
TAIL_LINES = 30
# Consecutive failed watch requests before the cluster counts as unreachable.
MAX_WATCH_ERRORS = 5
# How long closing a follower may take: its socket is shut down, so the read returns at once.
CLOSE_JOIN = 5.0

_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class PodTail:
    """A pod that is not healthy, with the last words of its (previous) container."""

    name: str
    ready: bool
    restarts: int
    reason: str
    last_lines: tuple[str, ...]

    def describe(self) -> str:
        """The pod's state and its last log lines, for a failure message."""
        head = f"pod/{self.name}: {self.reason} (ready={self.ready}, restarts={self.restarts})"
        return "\n".join([head, *("    " + line for line in self.last_lines)])


@dataclass(frozen=True)
class HookOutcome:
    """How the hook Job ended, where its full log is, and the last lines of that log."""

    job: str
    complete: bool
    failed: bool
    reason: str
    log_path: Path
    log_tail: tuple[str, ...]
    seconds: float

    def describe(self) -> str:
        """A failure text that stands on its own: which Job, why, and what it printed last."""
        state = "complete" if self.complete else "failed"
        lines = [f"hook job/{self.job} {state} after {self.seconds:.0f}s"]
        if self.reason:
            lines.append(f"reason: {self.reason}")
        lines.append(f"full log: {self.log_path}")
        if self.log_tail:
            lines.append(f"last {len(self.log_tail)} log lines:")
            lines += ["    " + line for line in self.log_tail]
        else:
            lines.append("no log lines were seen")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the log file
class _LogSink:
    """Masked log lines into one file, every line; now and then one of them to progress.

    Followers write from their own threads; the lock keeps lines whole and also serialises
    every progress call, since a terminal reporter is not safe to call from two threads.
    """

    def __init__(self, path: Path, progress: Progress, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.progress = progress
        self.clock = clock
        self._lock = threading.Lock()
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._file: IO[str] | None = None
        self._last_said = -math.inf
        self._held = 0

    def __enter__(self) -> _LogSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._held:
                self._say(f"({self._held} more log lines in {self.path})")
            if self._file is not None:
                self._file.close()
                self._file = None

    def line(self, label: str, text: str) -> None:
        """Write one log line of ``label`` (a pod); pass it on if progress is due."""
        masked = mask(f"[{label}] {text.rstrip()}")
        with self._lock:
            if self._file is None:
                return  # a follower that outlived the watch: its line has nowhere to go
            self._file.write(masked + "\n")
            self._file.flush()
            self._tail.append(masked)
            now = self.clock()
            if now - self._last_said < PROGRESS_EVERY:
                self._held += 1
                return
            self._last_said = now
            self._held = 0
            self._say(masked)

    def say(self, message: str) -> None:
        """A progress line of the watch itself (Job state changes): never rate-limited."""
        with self._lock:
            self._say(mask(message))

    def tail(self) -> tuple[str, ...]:
        """The last lines written."""
        with self._lock:
            return tuple(self._tail)

    def _say(self, message: str) -> None:
        with contextlib.suppress(Exception):  # a broken progress output must not stop the watch
            self.progress(message)


def mask(text: str) -> str:
    """``text`` with the session's registered secrets and credential-shaped values masked."""
    return redact(text, tuple(session_runner().secrets))


# --------------------------------------------------------------------------- log followers
@dataclass(frozen=True)
class _LogSource:
    """One run of one container: pods restart containers, each run has its own log."""

    pod: str
    container: str
    run: int
    label: str
    previous: bool = False


def _as_dict(api: KubeApi, obj: object) -> dict[str, Any]:
    """An API model as the JSON ``kubectl get -o json`` prints, for the pure pod logic."""
    data: dict[str, Any] = api.api_client.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    return data


def _log_sources(pod: dict[str, Any]) -> list[_LogSource]:
    """The container runs of ``pod`` that have a log now.

    A container that runs or ran has one; one waiting to restart has the log of its last run
    (read as ``previous``), which is how a crash too fast for any event still gets recorded.
    """
    name = str((pod.get("metadata") or {}).get("name", ""))
    spec = pod.get("spec") or {}
    single = len(spec.get("initContainers") or []) + len(spec.get("containers") or []) <= 1
    status = pod.get("status") or {}
    sources = []
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        container = str(cs.get("name", ""))
        label = name if single else f"{name}/{container}"
        state = cs.get("state") or {}
        restarts = int(cs.get("restartCount") or 0)
        if state.get("running") or state.get("terminated"):
            sources.append(_LogSource(name, container, restarts, label))
        elif restarts and (cs.get("lastState") or {}).get("terminated"):
            sources.append(_LogSource(name, container, restarts - 1, label, previous=True))
    return sources


def _lines(response: urllib3.BaseHTTPResponse) -> Iterator[str]:
    """The response body line by line as it arrives, the last line even without a newline."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8", errors="replace")
    if buffer:
        yield buffer.decode("utf-8", errors="replace")


def _shutdown(response: urllib3.BaseHTTPResponse) -> None:
    """Unblock a thread reading ``response``: close() alone can wait on the TLS lock it holds."""
    with contextlib.suppress(Exception):
        shutdown = getattr(response, "shutdown", None)
        if shutdown is not None:
            shutdown()
            return
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


class _Follower:
    """A thread that copies one container run's log into the sink until the log ends."""

    def __init__(self, api: KubeApi, namespace: str, source: _LogSource, sink: _LogSink) -> None:
        self.api = api
        self.namespace = namespace
        self.source = source
        self.sink = sink
        self._lock = threading.Lock()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._closed = False
        self.thread = threading.Thread(target=self._run, name=f"log {source.label}", daemon=True)

    def start(self) -> None:
        """Begin following."""
        self.thread.start()

    def close(self) -> None:
        """Stop following now, whatever the log is doing."""
        with self._lock:
            self._closed = True
            response = self._response
        if response is not None:
            _shutdown(response)

    def _open(self) -> urllib3.BaseHTTPResponse:
        """The log as a stream; the client's ``str`` annotation holds only for preloaded content."""
        source = self.source
        raw = self.api.core.read_namespaced_pod_log(
            source.pod,
            self.namespace,
            container=source.container,
            follow=not source.previous,
            previous=source.previous or None,
            _preload_content=False,
        )
        return cast(urllib3.BaseHTTPResponse, raw)

    def _run(self) -> None:
        source = self.source
        try:
            response = self._open()
        except (ApiException, *_TRANSPORT_ERRORS) as exc:
            self.sink.line(source.label, f"(log not readable: {_reason(exc)})")
            return
        with self._lock:
            if self._closed:
                _shutdown(response)
            self._response = response
        try:
            for text in _lines(response):
                self.sink.line(source.label, text)
        except (*_TRANSPORT_ERRORS, ValueError):
            pass  # closed under us, or the connection broke: the lines so far are written
        finally:
            with contextlib.suppress(Exception):
                response.close()
                response.release_conn()


class _Followers:
    """One follower per container run of the Job's pods, started once each, closed on exit."""

    def __init__(self, api: KubeApi, namespace: str, sink: _LogSink) -> None:
        self.api = api
        self.namespace = namespace
        self.sink = sink
        self._running: dict[tuple[str, str, int], _Follower] = {}

    def __enter__(self) -> _Followers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self, selector: str) -> None:
        """Start following every container run of the selected pods that has a log now."""
        listing = self.api.core.list_namespaced_pod(self.namespace, label_selector=selector)
        for pod in listing.items:
            for source in _log_sources(_as_dict(self.api, pod)):
                key = (source.pod, source.container, source.run)
                if key not in self._running:
                    follower = _Follower(self.api, self.namespace, source, self.sink)
                    self._running[key] = follower
                    follower.start()

    def drain(self, seconds: float) -> None:
        """Give the followers of finished containers time to read their last lines."""
        deadline = time.monotonic() + seconds
        for follower in self._running.values():
            follower.thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Close every follower and join its thread (bounded: their sockets are shut down)."""
        for follower in self._running.values():
            follower.close()
        for follower in self._running.values():
            follower.thread.join(CLOSE_JOIN)


# --------------------------------------------------------------------------- the Job
@dataclass
class _JobTracker:
    """What the watch knows of the hook Job: which one it is, how far it got, how it ended."""

    job: str
    previous_uid: str | None
    uid: str | None = None
    selector: str = ""
    summary: str = "not created yet"
    finished: bool = False
    complete: bool = False
    reason: str = ""
    history: list[str] = field(default_factory=list)

    def see(self, kind: str, job: dict[str, Any]) -> bool:
        """Take one event of a Job of this name; True when it is news about the watched Job."""
        uid = (job.get("metadata") or {}).get("uid")
        if not uid:
            return False
        if uid == self.previous_uid:
            if self.uid is None:
                self.summary = "the previous hop's Job still exists; waiting for its replacement"
            return False
        if kind == "DELETED" and uid != self.uid:
            return False
        self.uid = str(uid)
        self.selector = _selector(job)
        self.summary = _summary(job.get("status") or {})
        self._conclude(kind, job.get("status") or {})
        return True

    def _conclude(self, kind: str, status: dict[str, Any]) -> None:
        conditions = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
        if "Complete" in conditions:
            self.finished, self.complete = True, True
        elif "Failed" in conditions:
            failed = conditions["Failed"]
            self.finished = True
            self.reason = ": ".join(str(p) for p in (failed.get("reason"), failed.get("message")) if p)
        elif kind == "DELETED":
            self.finished = True
            self.reason = f"the Job was deleted before it finished (last seen: {self.summary})"


def _selector(job: dict[str, Any]) -> str:
    """The label selector of the Job's own pods; the previous Job's pods carry another uid."""
    labels = ((job.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if labels:
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"controller-uid={job['metadata']['uid']}"


def _summary(status: dict[str, Any]) -> str:
    counts = {key: int(status.get(key) or 0) for key in ("active", "ready", "succeeded", "failed")}
    return " ".join(f"{key}={value}" for key, value in counts.items())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"[:300]


def current_job_uid(api: KubeApi, namespace: str, job: str) -> str | None:
    """The uid of the Job named ``job`` now, or None: taken before ``helm upgrade`` starts."""
    try:
        found = api.batch.read_namespaced_job(job, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise ApiError(f"cannot read job/{job} in namespace {namespace}: {_reason(exc)}") from None
    uid = found.metadata.uid if found.metadata else None
    return str(uid) if uid else None


class _JobWatch:
    """The Job's events, window after window, until it finishes, time is up or ``stop`` is set."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        tracker: _JobTracker,
        followers: _Followers,
        sink: _LogSink,
        stop: threading.Event,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.tracker = tracker
        self.followers = followers
        self.sink = sink
        self.stop = stop
        self.field_selector = f"metadata.name={tracker.job}"
        self.watch = Watch()  # type: ignore[no-untyped-call]
        self._said = ""

    def run(self, deadline: float) -> None:
        """Watch until the Job finishes, ``deadline`` (monotonic) passes, or ``stop`` is set."""
        version: str | None = None
        errors = 0
        while not self.tracker.finished and not self.stop.is_set() and time.monotonic() < deadline:
            try:
                version = version or self._list()
                if not self.tracker.finished:
                    version = self._window(version, deadline)
                errors = 0
            except ApiException as exc:
                if exc.status == 410:  # the version aged out of the API server's cache: list again
                    version = None
                    continue
                if exc.status not in (0, 429, 500, 502, 503, 504):
                    raise ApiError(f"cannot watch job/{self.tracker.job}: {_reason(exc)}") from None
                errors = self._failed_request(exc, errors)
            except _TRANSPORT_ERRORS as exc:
                errors = self._failed_request(exc, errors)
        if self.stop.is_set() and not self.tracker.finished:
            self._last_look()

    def _last_look(self) -> None:
        """The Job's state once more when ``stop`` came: its last event may still be in flight."""
        with contextlib.suppress(ApiException, *_TRANSPORT_ERRORS):
            self._list()

    def _failed_request(self, exc: BaseException, errors: int) -> int:
        """Count one failed request; a second of pause (ended early by ``stop``) before the next."""
        errors += 1
        if errors >= MAX_WATCH_ERRORS:
            raise ApiError(
                f"cannot watch job/{self.tracker.job}: {errors} requests failed, last: {_reason(exc)}",
                hint="check that the cluster's API server is reachable with the rehearsal's kubeconfig",
            ) from None
        self.stop.wait(1.0)
        return errors

    def _list(self) -> str:
        """The Job's current state, and the version to watch from."""
        listing = self.api.batch.list_namespaced_job(self.namespace, field_selector=self.field_selector)
        for job in listing.items:
            self._event("ADDED", _as_dict(self.api, job))
        return str(listing.metadata.resource_version if listing.metadata else "") or "0"

    def _window(self, version: str, deadline: float) -> str:
        """One server-side watch of at most :data:`WATCH_WINDOW` seconds; the last version seen."""
        seconds = max(1, min(WATCH_WINDOW, math.ceil(deadline - time.monotonic())))
        stream = self.watch.stream(  # type: ignore[no-untyped-call]
            self.api.batch.list_namespaced_job,
            self.namespace,
            field_selector=self.field_selector,
            resource_version=version,
            timeout_seconds=seconds,
            allow_watch_bookmarks=True,
            _request_timeout=(10, seconds + 15),
        )
        with contextlib.closing(stream):
            for event in stream:
                if event["type"] != "BOOKMARK":
                    self._event(event["type"], event["raw_object"])
                if self.tracker.finished:
                    break
        if self.tracker.uid and not self.tracker.finished:
            self.followers.refresh(self.tracker.selector)  # a cluster without Job ready counts
        return str(self.watch.resource_version or version)

    def _event(self, kind: str, job: dict[str, Any]) -> None:
        news = self.tracker.see(kind, job)
        summary = self.tracker.summary
        if summary != self._said:
            self._said = summary
            self.sink.say(f"job/{self.tracker.job}: {summary}")
        if news and not self.tracker.finished:
            self.followers.refresh(self.tracker.selector)


def watch_hook(
    api: KubeApi,
    namespace: str,
    job: str,
    *,
    log_path: Path,
    progress: Progress,
    timeout: float,
    previous_uid: str | None = None,
    stop: threading.Event | None = None,
) -> HookOutcome:
    """Follow the hook Job ``job`` and its pods' logs until it completes or fails.

    A Job whose uid is ``previous_uid`` is the previous hop's and is not waited on. Every log
    line, masked, goes to ``log_path``; about one a second goes to ``progress``. Time running
    out or ``stop`` being set ends the watch with ``failed`` and the reason; a Ctrl-C ends it
    too, after closing every stream and thread it opened.
    """
    started = time.monotonic()
    tracker = _JobTracker(job, previous_uid)
    with _LogSink(log_path, progress) as sink, _Followers(api, namespace, sink) as followers:
        _JobWatch(api, namespace, tracker, followers, sink, stop or threading.Event()).run(started + timeout)
        if tracker.finished:
            _last_pods(followers, tracker)
            followers.drain(LOG_DRAIN)
    seconds = time.monotonic() - started
    if not tracker.finished:
        cut = "stopped before the Job finished" if stop and stop.is_set() else f"timeout after {timeout:.0f}s"
        tracker.reason = f"{cut} (last seen: {tracker.summary})"
    return HookOutcome(
        job=job,
        complete=tracker.complete,
        failed=not tracker.complete,
        reason=mask(tracker.reason),
        log_path=log_path,
        log_tail=sink.tail(),
        seconds=seconds,
    )


def _last_pods(followers: _Followers, tracker: _JobTracker) -> None:
    """Follow the pods no event named: a pod can run and end between two Job updates."""
    try:
        followers.refresh(tracker.selector)
    except (ApiException, *_TRANSPORT_ERRORS) as exc:
        followers.sink.line(f"job/{tracker.job}", f"(could not list the Job's pods: {_reason(exc)})")


# --------------------------------------------------------------------------- other pods
def unhealthy_pods(api: KubeApi, namespace: str, selector: str, tail: int = 20) -> list[PodTail]:
    """The selected pods that crash-loop or are not ready, each with its last log lines.

    A restarted container's current log is usually empty or a fresh start; the reason it
    crashed is in the previous run's log, so that one is read when there was a restart.
    Finished pods (a completed Job's) are not unhealthy and are left out.
    """
    found = []
    for pod in api.core.list_namespaced_pod(namespace, label_selector=selector).items:
        raw = _as_dict(api, pod)
        health = pod_health(raw)
        if health.phase == "Succeeded" or (health.ready and not health.crash_looping):
            continue
        found.append(
            PodTail(
                name=health.name,
                ready=health.ready,
                restarts=health.restarts,
                reason=_pod_reason(health.phase, health.waiting_reason, health.ready, health.last_exit_code),
                last_lines=_pod_tail(api, namespace, raw, tail),
            )
        )
    return found


def _pod_reason(phase: str, waiting: str | None, ready: bool, exit_code: int | None) -> str:
    parts = [waiting or phase]
    if not ready:
        parts.append("not ready")
    if exit_code is not None:
        parts.append(f"last exit code {exit_code}")
    return ", ".join(parts)


def _pod_tail(api: KubeApi, namespace: str, pod: dict[str, Any], tail: int) -> tuple[str, ...]:
    """The last lines of each not-ready container, prefixed by container when there are several."""
    name = pod["metadata"]["name"]
    statuses = [c for c in (pod.get("status") or {}).get("containerStatuses") or [] if not c.get("ready")]
    lines: list[str] = []
    for cs in statuses:
        text = _container_log(api, namespace, name, str(cs.get("name")), tail, bool(cs.get("restartCount")))
        prefix = f"{cs.get('name')}: " if len(statuses) > 1 else ""
        lines += [mask(prefix + line) for line in text.splitlines()]
    return tuple(lines[-tail:])


def _container_log(api: KubeApi, namespace: str, pod: str, container: str, tail: int, restarted: bool) -> str:
    """The previous run's log after a restart, else (or when that is gone) the current one.

    The kubelet keeps one dead container per pod; when the run the status calls "last" has
    already been collected it still answers 200, with its own complaint as the body, so that
    body counts as no log and the current run's log (a waiting container's is its last crash's)
    is read instead.
    """
    fallback = ""
    for previous in (True, False) if restarted else (False,):
        try:
            text = str(
                api.core.read_namespaced_pod_log(
                    pod, namespace, container=container, tail_lines=tail, previous=previous
                )
            )
        except ApiException:
            continue  # no previous run kept, or the container has not started: try the next
        if text.strip() and not text.startswith(_LOG_GONE):
            return text
        fallback = fallback or text
    return fallback


_LOG_GONE = "unable to retrieve container logs"
