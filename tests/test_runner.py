from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from pytest_jitera.errors import ToolError
from pytest_jitera.redact import MASK, redact
from pytest_jitera.runner import RunError, Runner


def test_run_error_shows_command_exit_code_and_output_without_secrets() -> None:
    runner = Runner()
    runner.add_secret("hunter2-very-secret")
    code = "import sys; print('connecting with hunter2-very-secret'); sys.exit(3)"
    with pytest.raises(RunError) as info:
        runner.run([sys.executable, "-c", code, "--password=hunter2-very-secret"])
    text = str(info.value)
    assert "exit code 3" in text
    assert "connecting with" in text
    assert sys.executable in text
    assert "hunter2-very-secret" not in text
    assert info.value.returncode == 3


def test_missing_tool_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="not found on PATH"):
        Runner().run(["definitely-not-a-jitera-tool"])


def test_timeout_is_reported() -> None:
    with pytest.raises(RunError, match="timed out"):
        Runner().run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.5)


def test_streams_stdout_to_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with target.open("wb") as handle:
        result = Runner().run([sys.executable, "-c", "print('x' * 100000)"], stdout=handle)
    assert result.stdout == ""
    assert target.stat().st_size == 100001


def test_echo_is_redacted() -> None:
    log = io.StringIO()
    Runner(echo=True, log=log).run([sys.executable, "-c", "pass", "postgresql://u:pw1234@h/db"])
    assert "pw1234" not in log.getvalue()
    assert MASK in log.getvalue()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgres://jitera:s3cr3t@db:5432/x", "s3cr3t"),
        ("--set credentials.smtp.password=abc123xyz", "abc123xyz"),
        ("PGPASSWORD=topsecret pg_dump", "topsecret"),
        ('{"api_key": "k-999-888"}', "k-999-888"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
    ],
)
def test_redact_patterns(text: str, secret: str) -> None:
    assert secret not in redact(text)
