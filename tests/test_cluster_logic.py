"""Pure logic behind the cluster steps: pod/job summaries, masking, PEM checks."""

from __future__ import annotations

from pathlib import Path

import yaml

from pytest_jitera.cluster.helm import ReleaseState
from pytest_jitera.cluster.kubectl import job_state, pod_health
from pytest_jitera.redact import mask_values
from pytest_jitera.runbook.pem import pem_problems

GOOD_PEM = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEq6MnZb7rYbUfRUyk5xAzQ0sS1XiV
iCtGmQ1QvJ9bKqf+R0pX1mYV3f0c1cQ1pZ0Xr8k1y7vJ5Wf5kT0mH1H2dQ==
-----END PUBLIC KEY-----
"""


def _pod(
    name: str, ready: bool, restarts: int = 0, waiting: str | None = None, exit_code: int | None = None
) -> dict:
    status: dict = {"ready": ready, "restartCount": restarts, "state": {}, "lastState": {}}
    if waiting:
        status["state"] = {"waiting": {"reason": waiting}}
    if exit_code is not None:
        status["lastState"] = {"terminated": {"exitCode": exit_code}}
    return {
        "metadata": {"name": name, "labels": {"app.kubernetes.io/component": name.split("-")[0]}},
        "status": {"phase": "Running", "containerStatuses": [status]},
    }


def test_pod_health() -> None:
    healthy = pod_health(_pod("automation-1", True))
    assert healthy.ready
    assert not healthy.crash_looping
    looping = pod_health(_pod("ultron-1", False, restarts=4, waiting="CrashLoopBackOff", exit_code=1))
    assert looping.crash_looping
    assert looping.component == "ultron"
    restarting = pod_health(_pod("ultron-2", False, restarts=1, exit_code=3))
    assert restarting.crash_looping
    pending = pod_health({"metadata": {"name": "p"}, "status": {"phase": "Pending"}})
    assert not pending.ready
    assert not pending.crash_looping


def test_job_state() -> None:
    done = job_state(
        {
            "metadata": {"name": "m"},
            "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
        }
    )
    assert done.complete
    assert not done.failed_condition
    failed = job_state(
        {
            "metadata": {"name": "m"},
            "status": {"failed": 2, "conditions": [{"type": "Failed", "status": "True"}]},
        }
    )
    assert failed.failed_condition
    assert failed.failed == 2


def test_release_state_masks_secrets(tmp_path: Path) -> None:
    values = {
        "credentials": {"smtp": {"password": "s3cret-pw"}, "cliPrivateKey": "-----BEGIN"},
        "externalPostgres": {"host": "db", "password": "pg-pw-123"},
        "replicas": 2,
    }
    masked = mask_values(values)
    assert masked["externalPostgres"]["host"] == "db"
    assert masked["replicas"] == 2
    assert "s3cret-pw" not in str(masked)
    state = ReleaseState("jitera", 3, "jitera-24.501.0", "v24.05.01", values)
    text = state.write(tmp_path).read_text()
    assert "pg-pw-123" not in text
    assert "s3cret-pw" not in text
    assert yaml.safe_load(text)["revision"] == 3


def test_pem_intact() -> None:
    assert pem_problems(GOOD_PEM) == []


def test_pem_with_stripped_newlines() -> None:
    flat = GOOD_PEM.replace("\n", "")
    problems = pem_problems(flat)
    assert problems
    assert "newlines were stripped" in problems[0]
    assert "MFkw" not in " ".join(problems)


def test_pem_with_spaces_for_newlines_and_bad_body() -> None:
    assert pem_problems(GOOD_PEM.replace("\n", " "))
    assert pem_problems("-----BEGIN PUBLIC KEY-----\n!!!notbase64!!!\n-----END PUBLIC KEY-----") == [
        "the body is not valid base64"
    ]
    assert pem_problems("") == ["the value is empty"]
