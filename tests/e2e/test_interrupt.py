"""Ctrl-C in the middle of a suite still deletes the cluster the run created."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from pytest_jitera.cluster.kind import kind_clusters, node_containers
from pytest_jitera.cluster.tools import Toolset
from pytest_jitera.runner import session_runner
from pytest_jitera.waiting import Observation, wait_for

INNER_TEST = '''
import json, os, time
from pathlib import Path

def test_waits_forever(kind_cluster):
    marker = Path(os.environ["JITERA_INTERRUPT_MARKER"])
    marker.write_text(json.dumps({"name": kind_cluster.name}))
    time.sleep(600)
'''


def test_sigint_during_suite_deletes_cluster(jitera_tools: Toolset, tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    marker = tmp_path / "cluster.json"
    env = {**os.environ, "JITERA_INTERRUPT_MARKER": str(marker), "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "inner.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "test_inner.py", "-p", "no:cacheprovider", "-s",
         f"--jitera-report={tmp_path / 'report'}"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:

        def probe() -> Observation[str]:
            if marker.exists():
                return Observation.ready(json.loads(marker.read_text())["name"], "cluster up")
            if proc.poll() is not None:
                return Observation.hopeless((tmp_path / "inner.log").read_text()[-3000:])
            return Observation.pending("inner run has no cluster yet")

        name = wait_for("inner run's cluster", probe, timeout=600, interval=2)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    output = (tmp_path / "inner.log").read_text()
    assert "KeyboardInterrupt" in output or "Interrupted" in output, output[-3000:]
    containers = node_containers(session_runner(), jitera_tools["docker"], name)
    assert containers == [], f"cluster {name} survived the interrupt: {containers}\n{output[-3000:]}"
    assert name not in kind_clusters(session_runner(), jitera_tools["kind"], jitera_tools.env())
