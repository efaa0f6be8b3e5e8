"""The hook watch and the availability prober against real Jobs, Deployments and Services.

The hook watch runs in a thread, as it does beside ``helm upgrade``; the Jobs are created
after it started, as Helm creates a hook after the upgrade began.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from pytest_jitera.cluster.api import KubeApi
from pytest_jitera.cluster.hook_watch import (
    HookOutcome,
    PodTail,
    current_job_uid,
    unhealthy_pods,
    watch_hook,
)
from pytest_jitera.cluster.kind import KindCluster
from pytest_jitera.cluster.kubectl import Kubectl
from pytest_jitera.cluster.prober import Prober, ProbeTarget
from pytest_jitera.runbook.availability import Sample, outages, summarize
from pytest_jitera.waiting import Observation, wait_for

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}, namespace: {ns}}}
spec:
  backoffLimit: {backoff}
  activeDeadlineSeconds: 240
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
        - name: main
          image: {image}
          imagePullPolicy: Never
          command: ["sh", "-c", {script}]
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}, tier: e2e}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: main
          image: {image}
          imagePullPolicy: Never
          command: ["sh", "-c", {script}]
"""

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: web
          image: {image}
          imagePullPolicy: Never
          command:
            - sh
            - -c
            - mkdir -p /www && echo hello-from-web > /www/index.html
              && exec busybox httpd -f -p 8080 -h /www
          ports: [{{containerPort: 8080}}]
          readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


@pytest.fixture
def api(kind_cluster: KindCluster) -> Iterator[KubeApi]:
    with KubeApi(kind_cluster.kubeconfig) as client:
        yield client


@pytest.fixture
def kubectl(kind_cluster: KindCluster, namespace: str) -> Kubectl:
    return kind_cluster.access(namespace).kubectl


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hook-watch") as executor:
        yield executor


def apply_job(kubectl: Kubectl, image: str, name: str, script: str, backoff: int = 0) -> None:
    kubectl.apply(JOB.format(name=name, ns=kubectl.namespace, image=image, script=json.dumps(script),
                             backoff=backoff))


def start_watch(pool: ThreadPoolExecutor, api: KubeApi, namespace: str, job: str, log: Path,
                said: list[str], previous_uid: str | None = None) -> Future[HookOutcome]:
    return pool.submit(watch_hook, api, namespace, job, log_path=log, progress=said.append,
                       timeout=240, previous_uid=previous_uid)


def pods_of(text: str, job: str) -> set[str]:
    return set(re.findall(rf"^\[({job}-[a-z0-9]+)\] ", text, flags=re.MULTILINE))


def no_follower_left(job: str) -> bool:
    return not [t.name for t in threading.enumerate() if t.name.startswith(f"log {job}-")]


def test_succeeding_hook_is_followed_line_by_line(
    api: KubeApi, kubectl: Kubectl, kind_toolbox_image: str, namespace: str, pool: ThreadPoolExecutor,
    tmp_path: Path,
) -> None:
    said: list[str] = []
    log = tmp_path / "hooks" / "migrate.log"
    future = start_watch(pool, api, namespace, "migrate", log, said)
    apply_job(kubectl, kind_toolbox_image, "migrate",
              'echo "starting migration"; for i in $(seq 1 300); do echo "row batch $i"; done; '
              'echo "connecting with password=hunter2"; sleep 3; echo "migration done"')
    outcome = future.result(timeout=300)

    assert outcome.complete, outcome.describe()
    assert not outcome.failed
    assert outcome.job == "migrate"
    assert outcome.log_path == log
    text = log.read_text()
    (pod,) = pods_of(text, "migrate")
    for i in range(1, 301):
        assert f"[{pod}] row batch {i}\n" in text
    assert "hunter2" not in text
    assert "password=*****" in text
    assert outcome.log_tail[-1] == f"[{pod}] migration done"
    assert not [line for line in outcome.log_tail if "hunter2" in line]
    # Every line went to the file; progress got a trickle of them and the Job's states.
    log_lines = [m for m in said if m.startswith(f"[{pod}]")]
    assert 1 <= len(log_lines) < 50, said
    assert any(m.startswith("job/migrate:") and "succeeded=1" in m for m in said), said
    assert no_follower_left("migrate")
    print(f"succeeding hook: {outcome.seconds:.1f}s, {len(said)} progress lines for 303 log lines")


def test_failing_hook_and_crash_looping_pods_show_their_last_lines(
    api: KubeApi, kubectl: Kubectl, kind_toolbox_image: str, namespace: str, pool: ThreadPoolExecutor,
    tmp_path: Path,
) -> None:
    kubectl.apply(DEPLOYMENT.format(name="steady", ns=namespace, image=kind_toolbox_image,
                                    script=json.dumps("echo up; exec sleep 3600")))
    kubectl.apply(DEPLOYMENT.format(name="crasher", ns=namespace, image=kind_toolbox_image,
                                    script=json.dumps('echo "booting"; echo "last words: config missing"; '
                                                      "exit 1")))
    said: list[str] = []
    future = start_watch(pool, api, namespace, "migrate", tmp_path / "migrate.log", said)
    apply_job(kubectl, kind_toolbox_image, "migrate",
              'echo "applying migration 42"; sleep 1; '
              'echo "fatal: relation users does not exist" >&2; exit 3',
              backoff=1)
    outcome = future.result(timeout=300)

    assert outcome.failed, outcome.describe()
    assert not outcome.complete
    assert "BackoffLimitExceeded" in outcome.reason
    assert outcome.log_tail[-1].endswith("fatal: relation users does not exist"), outcome.log_tail
    text = outcome.log_path.read_text()
    assert len(pods_of(text, "migrate")) == 2, text  # the first try and its retry
    assert text.count("fatal: relation users does not exist") == 2, text
    described = outcome.describe()
    assert "job/migrate failed" in described
    assert "BackoffLimitExceeded" in described
    assert "fatal: relation users does not exist" in described
    assert no_follower_left("migrate")

    kubectl.rollout_status("steady", timeout=180)

    def crash_looping() -> Observation[list[PodTail]]:
        pods = unhealthy_pods(api, namespace, "tier=e2e")
        restarted = [p for p in pods if p.restarts >= 1]
        summary = ", ".join(f"{p.name}:{p.reason}" for p in pods) or "all healthy"
        return Observation.ready(pods, summary) if restarted else Observation.pending(summary)

    pods = wait_for("crasher restarts", crash_looping, timeout=180, interval=2)
    assert [p.name.startswith("crasher-") for p in pods] == [True], pods
    (crasher,) = pods
    assert not crasher.ready
    assert crasher.restarts >= 1
    assert "last exit code 1" in crasher.reason or "CrashLoopBackOff" in crasher.reason, crasher
    assert crasher.last_lines[-1] == "last words: config missing", crasher.last_lines
    assert "booting" in crasher.last_lines
    assert crasher.name in crasher.describe()
    print(f"failing hook: {outcome.seconds:.1f}s; {crasher.name}: {crasher.reason}")


def test_the_previous_hops_job_is_not_taken_for_the_new_one(
    api: KubeApi, kubectl: Kubectl, kind_toolbox_image: str, namespace: str, pool: ThreadPoolExecutor,
    tmp_path: Path,
) -> None:
    apply_job(kubectl, kind_toolbox_image, "migrate", 'echo "old-run"')
    kubectl.wait_condition("job/migrate", "condition=complete", timeout=180)
    old = current_job_uid(api, namespace, "migrate")
    assert old
    assert current_job_uid(api, namespace, "never-created") is None

    said: list[str] = []
    future = start_watch(pool, api, namespace, "migrate", tmp_path / "migrate.log", said, previous_uid=old)
    done, _ = wait([future], timeout=8)  # longer than one watch window
    assert not done, future.result().describe()
    assert any("previous" in m for m in said), said

    kubectl.delete("job/migrate")  # what before-hook-creation does
    apply_job(kubectl, kind_toolbox_image, "migrate", 'echo "new-run"')
    outcome = future.result(timeout=300)

    assert outcome.complete, outcome.describe()
    assert current_job_uid(api, namespace, "migrate") not in (None, old)
    text = outcome.log_path.read_text()
    assert "new-run" in text
    assert "old-run" not in text


def test_timeout_and_stop_end_the_watch(api: KubeApi, namespace: str, tmp_path: Path) -> None:
    said: list[str] = []
    timed_out = watch_hook(api, namespace, "absent", log_path=tmp_path / "a.log", progress=said.append,
                           timeout=3)
    assert timed_out.failed
    assert not timed_out.complete
    assert timed_out.reason.startswith("timeout after 3s"), timed_out.reason
    assert "not created yet" in timed_out.reason
    assert 3 <= timed_out.seconds < 15

    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    try:
        stopped = watch_hook(api, namespace, "absent", log_path=tmp_path / "b.log", progress=said.append,
                             timeout=120, stop=stop)
    finally:
        timer.cancel()
    assert stopped.failed
    assert stopped.reason.startswith("stopped before the Job finished"), stopped.reason
    assert stopped.seconds < 15


def test_ctrl_c_closes_every_log_stream(
    api: KubeApi, kubectl: Kubectl, kind_toolbox_image: str, namespace: str, tmp_path: Path
) -> None:
    """A Ctrl-C while a pod's log is being followed: the blocked reads end, no thread is left."""
    interrupted = threading.Event()
    sent_at: list[float] = []

    def progress(message: str) -> None:
        if "long migration started" in message and not interrupted.is_set():
            interrupted.set()
            sent_at.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    apply_job(kubectl, kind_toolbox_image, "migrate", 'echo "long migration started"; exec sleep 600')
    with pytest.raises(KeyboardInterrupt):
        watch_hook(api, namespace, "migrate", log_path=tmp_path / "migrate.log", progress=progress,
                   timeout=240)
    assert sent_at, "the log line never reached progress"
    assert time.monotonic() - sent_at[0] < 15
    assert no_follower_left("migrate")
    assert "long migration started" in (tmp_path / "migrate.log").read_text()


def test_prober_records_the_outage_of_a_scaled_down_service(
    api: KubeApi, kubectl: Kubectl, kind_toolbox_image: str, namespace: str
) -> None:
    kubectl.apply(WEB.format(ns=namespace, image=kind_toolbox_image))
    kubectl.rollout_status("web", timeout=180)
    targets = [ProbeTarget("web", "web", 80, "/"), ProbeTarget("missing", "no-such-service", 80)]
    interval = 0.25

    def web(prober: Prober, since: float = 0.0) -> list[Sample]:
        return [s for s in prober.samples if s.target == "web" and s.at >= since]

    def until(what: str, prober: Prober, check: str, since: float = 0.0, count: int = 1) -> float:
        def probe() -> Observation[float]:
            seen = [s for s in web(prober, since) if s.ok == (check == "ok")]
            summary = f"{len(seen)} {check} samples"
            if len(seen) < count:
                return Observation.pending(summary)
            return Observation.ready(seen[-1].at, summary)

        return wait_for(what, probe, timeout=180, interval=0.5)

    with Prober(api, namespace, targets, interval=interval, timeout=2.0) as prober:
        until("web answers", prober, "ok", count=3)
        prober.mark("scale to 0")
        down_from = prober.marks[-1][1]
        kubectl.scale(["web"], 0)
        last_bad = until("web stops answering", prober, "failed", since=down_from)
        prober.mark("scale to 1")
        kubectl.scale(["web"], 1)
        kubectl.rollout_status("web", timeout=180)
        until("web answers again", prober, "ok", since=last_bad, count=3)
    assert not [t for t in threading.enumerate() if t.name == "jitera-prober"]

    samples = prober.samples
    assert [label for label, _ in prober.marks] == ["scale to 0", "scale to 1"]
    web_outages = [o for o in outages(samples) if o.target == "web"]
    assert web_outages, samples
    first, last = web_outages[0], web_outages[-1]
    assert first.start >= down_from
    assert any(s.ok and s.at < first.start for s in web(prober))
    assert any(s.ok and s.at > last.end for s in web(prober))
    assert web_outages[-1].end > prober.marks[-1][1]  # it answered again only after scaling up

    summary = summarize(samples)
    assert summary["web"].failures >= 1
    assert summary["web"].unavailable_seconds > 0
    missing = summary["missing"]
    assert missing.samples == missing.failures > 0
    assert prober.started_at > 0

    # The schedule does not drift: every round starts on the interval grid, however slow the last.
    offsets = [s.at % interval for s in web(prober)]
    on_grid = [o for o in offsets if o < 0.1]
    assert len(on_grid) >= 0.9 * len(offsets), sorted(offsets)[-20:]
    print(f"prober: {len(samples)} samples; web down {summary['web'].unavailable_seconds:.1f}s in "
          f"{len(web_outages)} outage(s), first reason: {first.reason}")
