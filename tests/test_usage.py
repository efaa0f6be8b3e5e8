from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, cast

import pytest

from pytest_jitera.cluster.api import ApiEndpoint, KubeApi
from pytest_jitera.cluster.usage import Peak, Usage, format_bytes, namespace_usage
from pytest_jitera.cluster.usage_sampler import UsageSampler

MiB = 1024**2
GiB = 1024**3
NS = "jitera-r1"


def pod(name: str, namespace: str, nanocores: int | None, working_set: int | None) -> dict[str, Any]:
    """A pod entry as the kubelet writes it; None leaves the field out, as during startup."""
    cpu: dict[str, Any] = {"time": "2025-01-01T10:00:00Z", "usageCoreNanoSeconds": 81234567890}
    memory: dict[str, Any] = {"time": "2025-01-01T10:00:00Z", "usageBytes": 0, "rssBytes": 0}
    if nanocores is not None:
        cpu["usageNanoCores"] = nanocores
    if working_set is not None:
        memory["workingSetBytes"] = working_set
        memory["usageBytes"] = working_set + 5 * MiB
    return {
        "podRef": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
        "startTime": "2025-01-01T09:58:00Z",
        "containers": [{"name": "app", "startTime": "2025-01-01T09:58:01Z", "cpu": cpu, "memory": memory}],
        "cpu": cpu,
        "memory": memory,
        "network": {"time": "2025-01-01T10:00:00Z", "name": "eth0", "rxBytes": 1200, "txBytes": 800},
        "volume": [{"name": "kube-api-access", "usedBytes": 12288}],
    }


def summary(node: str, *pods: dict[str, Any]) -> dict[str, Any]:
    return {
        "node": {
            "nodeName": node,
            "cpu": {"time": "2025-01-01T10:00:00Z", "usageNanoCores": 900_000_000},
            "memory": {"time": "2025-01-01T10:00:00Z", "workingSetBytes": 3 * GiB},
            "systemContainers": [{"name": "kubelet", "cpu": {"usageNanoCores": 40_000_000}}],
        },
        "pods": list(pods),
    }


TWO_NODES = [
    summary(
        "kind-control-plane",
        pod("kube-apiserver-kind-control-plane", "kube-system", 210_000_000, 700 * MiB),
        pod("web-5d9c7b9f4-abcde", NS, 250_000_000, 300 * MiB),
        pod("pg-0", "jitera-r2", 400_000_000, 900 * MiB),
    ),
    summary(
        "kind-worker",
        pod("web-5d9c7b9f4-fghij", NS, 500_000_000, 200 * MiB),
        pod("migrate-xyz", NS, None, 50 * MiB),  # just started: the kubelet has no CPU rate yet
        pod("worker-0", NS, 125_000_000, None),
    ),
]


# ----------------------------------------------------------------- namespace_usage
def test_sums_the_namespaces_pods_across_nodes_and_counts_missing_fields_as_zero() -> None:
    usage = namespace_usage(TWO_NODES, NS)
    assert usage == Usage(cpu_cores=pytest.approx(0.875), memory_bytes=550 * MiB)


def test_other_namespaces_and_node_level_figures_are_not_counted() -> None:
    assert namespace_usage(TWO_NODES, "jitera-r2") == Usage(0.4, 900 * MiB)
    assert namespace_usage(TWO_NODES, "absent") == Usage(0.0, 0)
    assert namespace_usage([], NS) == Usage(0.0, 0)


def test_malformed_entries_are_ignored() -> None:
    good = pod("ok", NS, 100_000_000, 10 * MiB)
    odd: list[Any] = [
        "not a pod",
        {"podRef": None, "cpu": {"usageNanoCores": 1}},
        {"podRef": {"name": "neg", "namespace": NS}, "cpu": {"usageNanoCores": -5}, "memory": None},
        {"podRef": {"name": "str", "namespace": NS}, "cpu": {"usageNanoCores": "7"}, "memory": "x"},
        {"podRef": {"name": "bool", "namespace": NS}, "cpu": {"usageNanoCores": True}},
        {"podRef": {"name": "nan", "namespace": NS}, "memory": {"workingSetBytes": float("nan")}},
        {"podRef": {"name": "none", "namespace": NS}, "cpu": {"usageNanoCores": None}},
    ]
    summaries: list[Any] = [{"pods": [*odd, good]}, {"pods": None}, {"node": {}}, "garbage", None]
    assert namespace_usage(summaries, NS) == Usage(0.1, 10 * MiB)


# ----------------------------------------------------------------- Peak and format_bytes
def test_peak_keeps_each_maximum_and_when_it_was_seen() -> None:
    peak = Peak(interval=10)
    peak.add(Usage(0.5, 300 * MiB), 0.0)
    peak.add(Usage(1.25, 200 * MiB), 310.2)
    peak.add(Usage(0.75, int(1.4 * GiB)), 402.0)
    peak.add(Usage(0.1, 100 * MiB), 412.0)
    assert (peak.samples, peak.cpu_cores, peak.cpu_at) == (4, 1.25, 310.2)
    assert (peak.memory_bytes, peak.memory_at) == (int(1.4 * GiB), 402.0)
    assert peak.describe() == (
        "peak CPU 1.25 cores at 310 s, peak memory 1.4 GiB at 402 s (4 samples, every 10 s)"
    )


def test_a_first_sample_of_zero_still_has_a_time() -> None:
    peak = Peak()
    peak.add(Usage(0.0, 0), 3.0)
    assert (peak.cpu_at, peak.memory_at) == (3.0, 3.0)
    assert peak.describe() == "peak CPU 0.00 cores at 3 s, peak memory 0 B at 3 s (1 sample)"


def test_peak_without_samples_says_why() -> None:
    assert Peak().describe() == "no usage sample (the sampler stopped before its first read)"
    peak = Peak(interval=10)
    peak.fail("node n1: HTTP 403 forbidden")
    assert peak.describe() == "no usage sample (metrics unavailable: node n1: HTTP 403 forbidden)"


def test_failures_at_the_start_and_later_are_told_apart() -> None:
    peak = Peak(interval=5)
    for _ in range(3):
        peak.fail("HTTP 500")
    peak.add(Usage(1.0, 2 * MiB), 15.0)
    assert peak.missed_start
    peak.fail("ReadTimeout: timed out")
    assert peak.describe() == (
        "peak CPU 1.00 cores at 15 s, peak memory 2.0 MiB at 15 s (1 sample, every 5 s, "
        "metrics unavailable for the first 3 reads, 1 failed reads, last error: ReadTimeout: timed out)"
    )
    brief = Peak()
    brief.fail("HTTP 500")
    brief.add(Usage(1.0, 0), 1.0)
    assert not brief.missed_start
    assert "1 failed reads, last error: HTTP 500" in brief.describe()


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1800, "2 KiB"),
        (1024 * 1024 - 1, "1.0 MiB"),
        (int(1.44 * MiB), "1.4 MiB"),
        (int(1.4 * GiB), "1.4 GiB"),
        (3 * 1024 * GiB, "3072.0 GiB"),
    ],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


# ----------------------------------------------------------------- the sampler over real HTTP
class SummaryServer:
    """A kubelet summary behind a real HTTP server: answers ``script`` in order, then its last."""

    def __init__(self, script: list[tuple[int, dict[str, Any]]]) -> None:
        self.script = script
        self.requests: list[str] = []
        self.auth: set[str | None] = set()
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer.cond:
                    index = min(len(outer.requests), len(outer.script) - 1)
                    outer.requests.append(self.path)
                    outer.auth.add(self.headers.get("Authorization"))
                    outer.cond.notify_all()
                status, body = outer.script[index] if self.path == PATH else (404, {"kind": "Status"})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def wait_for(self, count: int, limit: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.requests) >= count, limit), self.requests


PATH = "/api/v1/nodes/n1/proxy/stats/summary"


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[SummaryServer] = []

    def start(script: list[tuple[int, dict[str, Any]]]) -> SummaryServer:
        server = SummaryServer(script)
        server.thread.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.httpd.shutdown()
        server.httpd.server_close()


def stand_in_api(host: str) -> KubeApi:
    """Only the API server is stood in for: one node, and an endpoint without TLS."""
    nodes = SimpleNamespace(items=[SimpleNamespace(metadata=SimpleNamespace(name="n1"))])
    core = SimpleNamespace(list_node=lambda **_: nodes)
    endpoint = ApiEndpoint(host=host, ca_file=None, cert_file=None, key_file=None, token="t0k", verify=False)
    return cast(KubeApi, SimpleNamespace(core=core, endpoint=endpoint))


def at(cpu: float, memory: int) -> tuple[int, dict[str, Any]]:
    return 200, summary("n1", pod("web", NS, int(cpu * 1e9), memory), pod("db", "other", 9 * 10**9, GiB))


def test_sampler_keeps_the_peak_of_changing_usage(serve: Any) -> None:
    server = serve([at(0.5, 100 * MiB), at(0.25, 300 * MiB), at(1.5, 200 * MiB), at(0.1, 50 * MiB)])
    with UsageSampler(stand_in_api(server.host), NS, interval=0.02) as sampler:
        server.wait_for(6)
    peak = sampler.stop()
    assert peak.samples >= 6
    assert (peak.cpu_cores, peak.memory_bytes) == (1.5, 300 * MiB)
    assert peak.memory_at is not None
    assert peak.cpu_at is not None
    assert peak.memory_at < peak.cpu_at
    assert peak.failures == 0
    assert set(server.requests) == {PATH}
    assert server.auth == {"Bearer t0k"}
    assert peak.describe().startswith("peak CPU 1.50 cores at 0 s, peak memory 300.0 MiB at 0 s (")


def test_errors_are_counted_and_the_sampler_recovers(serve: Any) -> None:
    down = (500, {"kind": "Status", "message": "kubelet unreachable"})
    server = serve([down, down, down, down, at(0.75, 64 * MiB)])
    sampler = UsageSampler(stand_in_api(server.host), NS, interval=0.02)
    sampler.start()
    server.wait_for(7)
    peak = sampler.stop()
    assert (peak.failures, peak.failures_at_start) == (4, 4)
    assert peak.missed_start
    assert peak.samples >= 3
    assert (peak.cpu_cores, peak.memory_bytes) == (0.75, 64 * MiB)
    assert peak.unavailable.startswith("node n1: HTTP 500 ")
    assert "metrics unavailable for the first 4 reads" in peak.describe()


def test_metrics_never_available_is_a_description_not_an_exception(serve: Any) -> None:
    server = serve([(403, {"kind": "Status", "reason": "Forbidden"})])
    with UsageSampler(stand_in_api(server.host), NS, interval=0.02) as sampler:
        server.wait_for(3)
    peak = sampler.stop()
    assert peak.samples == 0
    assert peak.failures >= 3
    assert peak.describe().startswith("no usage sample (metrics unavailable: node n1: HTTP 403 {")


def test_an_unreachable_api_server_is_counted_too() -> None:
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with UsageSampler(stand_in_api(f"http://127.0.0.1:{port}"), NS, interval=0.02, timeout=1) as sampler:
        time.sleep(0.2)
    peak = sampler.stop()
    assert peak.samples == 0
    assert peak.failures >= 1
    assert peak.unavailable.startswith("ConnectError")


def test_stop_ends_the_thread_at_once_between_ticks(serve: Any) -> None:
    server = serve([at(0.5, MiB)])
    sampler = UsageSampler(stand_in_api(server.host), NS, interval=30)
    sampler.start()
    server.wait_for(1)
    began = time.monotonic()
    peak = sampler.stop()
    assert time.monotonic() - began < 1.0
    assert sampler._thread is not None
    assert not sampler._thread.is_alive()
    assert peak.samples == 1
    assert peak.describe().endswith("(1 sample, every 30 s)")


def test_a_sampler_starts_once() -> None:
    sampler = UsageSampler(stand_in_api("http://127.0.0.1:9"), NS, interval=30)
    sampler.start()
    try:
        with pytest.raises(RuntimeError):
            sampler.start()
    finally:
        sampler.stop()
    with pytest.raises(ValueError, match="positive"):
        UsageSampler(stand_in_api("http://127.0.0.1:9"), NS, interval=0)
