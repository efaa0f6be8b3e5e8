"""The air-gapped Mailpit image really catches mail and serves it on its JSON API.

Builds ``jitera/mailpit`` the way ``build-reference --air-gapped`` does (Go module proxy,
``debian:bookworm-slim`` from the local store), runs it on loopback ports with the
environment the cluster manifest gives it, sends an invite-like mail with SMTP AUTH over
plain SMTP (as a chart with credentials would), and reads it back over HTTP, without
Kubernetes.
"""

from __future__ import annotations

import shutil
import smtplib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import httpx
import pytest

from pytest_jitera.bootstrap.pins import MAILPIT_VERSION
from pytest_jitera.cluster.mail_catcher import (
    HTTP_PORT,
    MAILPIT_ENV,
    SMTP_PORT,
    MailMessage,
    parse_mailbox,
    search_query,
)
from pytest_jitera.reference.build import DATASTORE_IMAGES, build_datastore_images
from pytest_jitera.runner import Runner
from pytest_jitera.waiting import Observation, wait_for

pytestmark = pytest.mark.docker

INVITEE = "new.user@example.com"


@dataclass(frozen=True)
class Running:
    """A started Mailpit container and its loopback ports."""

    name: str
    smtp_port: int
    http_url: str


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    runner = Runner()
    try:
        runner.run(["docker", "info"], timeout=30)
        runner.run(["docker", "image", "inspect", "debian:bookworm-slim"], timeout=30)
    except Exception as exc:  # ToolError or RunError: either way there is nothing to build on
        pytest.skip(f"no usable Docker daemon with debian:bookworm-slim: {exc}")
    if shutil.which("go") is None:
        pytest.skip("go not found: the air-gapped Mailpit is compiled from the Go module proxy")
    build_datastore_images(runner, tmp_path_factory.mktemp("images") / "datastores", which=["mailpit"])
    return DATASTORE_IMAGES["mailpit"]


def _host_port(runner: Runner, container: str, port: int) -> int:
    """The loopback port Docker picked for ``port`` (``127.0.0.1:49153`` -> 49153)."""
    mapping = runner.run(["docker", "port", container, f"{port}/tcp"]).stdout.split()[0]
    return int(mapping.rsplit(":", 1)[1])


@pytest.fixture
def mailpit(image: str) -> Iterator[Running]:
    runner = Runner()
    name = f"jitera-mailpit-{uuid.uuid4().hex[:8]}"
    env = [arg for key, value in MAILPIT_ENV.items() for arg in ("-e", f"{key}={value}")]
    ports = ["-p", f"127.0.0.1::{SMTP_PORT}", "-p", f"127.0.0.1::{HTTP_PORT}"]
    runner.run(
        ["docker", "run", "-d", "--name", name, "--label", "pytest-jitera=reference", *env, *ports, image]
    )
    try:
        http_port = _host_port(runner, name, HTTP_PORT)
        running = Running(name, _host_port(runner, name, SMTP_PORT), f"http://127.0.0.1:{http_port}")
        _wait_ready(running)
        yield running
    finally:
        runner.run(["docker", "rm", "-f", name], check=False)


def _wait_ready(running: Running) -> None:
    def probe() -> Observation[None]:
        try:
            status = httpx.get(f"{running.http_url}/readyz", timeout=2).status_code
        except httpx.HTTPError as exc:
            return Observation.pending(type(exc).__name__)
        return Observation.ready(None) if status == 200 else Observation.pending(f"HTTP {status}")

    wait_for(f"{running.name} /readyz", probe, timeout=60, interval=0.5)


def _send_invite(running: Running) -> None:
    mail = EmailMessage()
    mail["From"] = "Jitera <noreply@jitera.example>"
    mail["To"] = f"New User <{INVITEE}>"
    mail["Subject"] = "You're invited to Jitera"
    mail.set_content("Accept your invitation: https://studio.example/invite/abc123")
    with smtplib.SMTP("127.0.0.1", running.smtp_port, timeout=10) as smtp:
        smtp.login("mailer", "any-password")
        refused = smtp.send_message(mail)
    assert refused == {}


def _caught(running: Running) -> MailMessage:
    def probe() -> Observation[MailMessage]:
        answer = httpx.get(
            f"{running.http_url}/api/v1/search", params={"query": search_query(INVITEE)}, timeout=5
        )
        if answer.status_code != 200:
            return Observation.pending(f"HTTP {answer.status_code}: {answer.text[:200]}")
        found = [m for m in parse_mailbox(answer.text).messages if m.addressed_to(INVITEE)]
        return Observation.ready(found[0]) if found else Observation.pending("no message yet")

    return wait_for(f"mail to {INVITEE}", probe, timeout=20, interval=0.5)


def test_caught_mail_is_served_on_the_json_api(mailpit: Running) -> None:
    _send_invite(mailpit)
    caught = _caught(mailpit)
    assert caught.sender == "noreply@jitera.example"
    assert caught.to == (INVITEE,)
    assert caught.subject == "You're invited to Jitera"
    assert "https://studio.example/invite/abc123" in caught.snippet
    listing = parse_mailbox(httpx.get(f"{mailpit.http_url}/api/v1/messages", timeout=5).text)
    assert listing.total == 1
    assert listing.recipients() == [INVITEE]


def test_the_binary_reports_its_pinned_version(mailpit: Running) -> None:
    info = httpx.get(f"{mailpit.http_url}/api/v1/info", timeout=5).json()
    assert info["Version"] == MAILPIT_VERSION
