"""The mail catcher: its manifest, Mailpit's JSON answers, the wait and its failure message.

The JSON below is what Mailpit v1.33.1 answered (``/api/v1/messages`` and ``/api/v1/search``)
after one invite was sent to it over SMTP, trimmed of nothing but whitespace. The cluster side
is replaced by an ``httpx`` mock transport behind the real :class:`ServiceHttp`, so the request
paths through the API server's proxy are checked too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import yaml

from pytest_jitera.bootstrap.pins import MAILPIT_AIRGAPPED_IMAGE, MAILPIT_PUBLIC_IMAGE, MAILPIT_VERSION
from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.cluster.api import ServiceHttp
from pytest_jitera.cluster.mail_catcher import (
    HTTP_PORT,
    LABELS,
    MAIL_CATCHER_NAME,
    SMTP_PORT,
    MailCatcher,
    MailCatcherError,
    MailNotReceived,
    deploy_mail_catcher,
    mail_catcher_image,
    parse_mailbox,
    parse_message,
    render_manifest,
    search_query,
)
from pytest_jitera.reference.build import DATASTORE_IMAGES, mailpit_binary, mailpit_binary_path
from pytest_jitera.runner import Completed
from pytest_jitera.waiting import WaitTimeout
from tests.fakes import FakeRunner

NAMESPACE = "rehearsal-1"
INVITE = {
    "ID": "4zJI6I3R0PjuqMfxKjXJgL",
    "MessageID": "1hcvsQHI7L1PROASzdvbg6@mailpit",
    "Read": False,
    "From": {"Name": "Jitera", "Address": "noreply@jitera.example"},
    "To": [
        {"Name": "New User", "Address": "new.user@example.com"},
        {"Name": "", "Address": "other@example.com"},
    ],
    "Cc": None,
    "Bcc": None,
    "ReplyTo": None,
    "Subject": "You're invited",
    "Created": "2026-12-01T12:23:31.866Z",
    "Username": "mailer",
    "Tags": [],
    "Size": 540,
    "Attachments": 0,
    "Snippet": "Hello, accept your invitation at https://studio.example/invite/abc",
}


def summary(messages: Sequence[Mapping[str, Any]], total: int | None = None) -> str:
    """Mailpit's MessagesSummary: ``total`` is the whole mailbox, ``messages`` this page."""
    held = len(messages) if total is None else total
    return json.dumps(
        {
            "total": held,
            "unread": held,
            "count": len(messages),
            "messages_count": len(messages),
            "messages_unread": len(messages),
            "start": 0,
            "tags": [],
            "messages": list(messages),
        }
    )


def message(id: str, to: str, subject: str = "hello") -> dict[str, Any]:
    return {**INVITE, "ID": id, "To": [{"Name": "", "Address": to}], "Subject": subject}


# ----------------------------------------------------------------- manifest
def _documents(image: str = MAILPIT_AIRGAPPED_IMAGE) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(render_manifest(NAMESPACE, image))}


def test_manifest_is_one_deployment_and_one_service_in_the_namespace() -> None:
    docs = _documents()
    assert sorted(docs) == ["Deployment", "Service"]
    for doc in docs.values():
        assert doc["metadata"]["name"] == MAIL_CATCHER_NAME
        assert doc["metadata"]["namespace"] == NAMESPACE
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "mail-catcher"
        assert doc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pytest-jitera"


def test_container_runs_the_given_image_without_pulling_a_present_one() -> None:
    pod = _documents(MAILPIT_PUBLIC_IMAGE)["Deployment"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "axllent/mailpit:v1.33.1"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"smtp": 1025, "http": 8025}
    assert container["resources"]["requests"] == {"cpu": "10m", "memory": "32Mi"}
    assert pod["metadata"]["labels"].items() >= LABELS.items()


def test_readiness_is_mailpits_readyz_on_the_http_port() -> None:
    (container,) = _documents()["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_smtp_credentials_are_accepted_without_tls() -> None:
    (container,) = _documents()["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MP_SMTP_AUTH_ACCEPT_ANY"] == "true"
    assert env["MP_SMTP_AUTH_ALLOW_INSECURE"] == "true"


def test_service_selects_the_pod_and_exposes_smtp_and_http() -> None:
    docs = _documents()
    svc = docs["Service"]["spec"]
    pod_labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert svc["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]
    assert pod_labels.items() >= svc["selector"].items()
    assert {p["name"]: (p["port"], p["targetPort"]) for p in svc["ports"]} == {
        "smtp": (SMTP_PORT, "smtp"),
        "http": (HTTP_PORT, "http"),
    }


def test_image_follows_the_route_and_the_pin() -> None:
    assert mail_catcher_image(air_gapped=False) == MAILPIT_PUBLIC_IMAGE
    assert MAILPIT_PUBLIC_IMAGE == f"axllent/mailpit:{MAILPIT_VERSION}" == "axllent/mailpit:v1.33.1"
    assert mail_catcher_image(air_gapped=True) == MAILPIT_AIRGAPPED_IMAGE == "jitera/mailpit:v1.33.1"
    assert DATASTORE_IMAGES["mailpit"] == MAILPIT_AIRGAPPED_IMAGE


def test_smtp_host_is_the_service_dns_name() -> None:
    catcher = MailCatcher(NAMESPACE)
    assert catcher.smtp_host == "jitera-mail-catcher.rehearsal-1.svc"
    assert catcher.smtp_port == 1025


# ----------------------------------------------------------------- parsing
def test_parses_mailpits_message_summary() -> None:
    parsed = parse_message(INVITE)
    assert parsed.id == "4zJI6I3R0PjuqMfxKjXJgL"
    assert parsed.sender == "noreply@jitera.example"
    assert parsed.to == ("new.user@example.com", "other@example.com")
    assert parsed.subject == "You're invited"
    assert parsed.snippet.startswith("Hello, accept your invitation")


def test_null_sender_and_recipients_are_empty_not_errors() -> None:
    parsed = parse_message({**INVITE, "From": None, "To": None})
    assert (parsed.sender, parsed.to) == ("", ())


def test_parses_a_list_and_an_empty_search() -> None:
    page = parse_mailbox(summary([INVITE, message("b", "x@example.com")], total=7))
    assert page.total == 7
    assert [m.id for m in page.messages] == ["4zJI6I3R0PjuqMfxKjXJgL", "b"]
    assert page.recipients() == ["new.user@example.com", "other@example.com", "x@example.com"]
    empty = parse_mailbox(
        '{"total":1,"unread":1,"count":0,"messages_count":0,"messages_unread":0,"start":0,'
        '"tags":[],"messages":[]}'
    )
    assert (empty.total, empty.messages) == (1, ())


@pytest.mark.parametrize(
    "body",
    ["Error: no search query", '{"kind":"Status","status":"Failure"}', '{"messages": {"a": 1}}', "[]"],
)
def test_an_answer_that_is_not_a_message_list_is_refused(body: str) -> None:
    with pytest.raises(MailCatcherError):
        parse_mailbox(body)


def test_a_summary_without_an_id_is_refused() -> None:
    with pytest.raises(MailCatcherError, match="not a Mailpit message summary"):
        parse_message({"Subject": "x"})


def test_match_is_exact_although_mailpits_to_search_is_a_substring() -> None:
    parsed = parse_message(message("a", "jimbob@example.com"))
    assert not parsed.addressed_to("bob@example.com")
    assert parse_message(message("b", "Bob@Example.com")).addressed_to("bob@example.com")
    assert search_query(" bob@example.com ") == 'to:"bob@example.com"'


# ----------------------------------------------------------------- waiting through the API proxy
Handler = Callable[[httpx.Request], httpx.Response]
SEARCH = f"/api/v1/namespaces/{NAMESPACE}/services/http:{MAIL_CATCHER_NAME}:8025/proxy/api/v1/search"
LIST = f"/api/v1/namespaces/{NAMESPACE}/services/http:{MAIL_CATCHER_NAME}:8025/proxy/api/v1/messages"


def service_http(handler: Handler) -> ServiceHttp:
    return ServiceHttp(httpx.Client(base_url="https://api.test", transport=httpx.MockTransport(handler)))


def mailpit(search: str, listing: str) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {SEARCH: search, LIST: listing}.get(request.url.path)
        if body is None:
            return httpx.Response(404, text="404 page not found")
        return httpx.Response(200, text=body, headers={"content-type": "application/json"})

    return handle, seen


def test_waits_for_the_message_to_the_address() -> None:
    handler, seen = mailpit(summary([message("near", "jimbob@example.com"), INVITE]), summary([]))
    said: list[str] = []
    got = MailCatcher(NAMESPACE).wait_for_message(
        service_http(handler), "new.user@example.com", timeout=5, progress=said.append
    )
    assert got.id == "4zJI6I3R0PjuqMfxKjXJgL"
    assert seen[0].url.params["query"] == 'to:"new.user@example.com"'
    assert said == [
        "e-mail to new.user@example.com: message 4zJI6I3R0PjuqMfxKjXJgL from noreply@jitera.example: "
        '"You\'re invited"'
    ]


def test_timeout_names_the_address_what_is_held_and_the_smtp_settings() -> None:
    held = [
        message("1", "admin@example.com"),
        message("2", "new.user@example.org"),
        message("3", "admin@example.com"),
    ]
    handler, _ = mailpit(summary([], total=3), summary(held))
    with pytest.raises(MailNotReceived) as info:
        MailCatcher(NAMESPACE).wait_for_message(
            service_http(handler), "new.user@example.com", timeout=0, interval=0
        )
    error = info.value
    assert isinstance(error, WaitTimeout)
    assert "no e-mail to new.user@example.com" in error.message
    assert "it holds 3 message(s), to: admin@example.com, new.user@example.org" in error.message
    assert (error.address, error.held, error.recipients) == (
        "new.user@example.com",
        3,
        ("admin@example.com", "new.user@example.org"),
    )
    assert error.hint is not None
    assert "SMTP settings" in error.hint
    assert "jitera-mail-catcher.rehearsal-1.svc" in error.hint
    assert "port 1025" in error.hint


def test_timeout_on_an_empty_catcher_says_so() -> None:
    handler, _ = mailpit(summary([]), summary([]))
    with pytest.raises(MailNotReceived, match="it holds no messages at all") as info:
        MailCatcher(NAMESPACE).wait_for_message(service_http(handler), "a@example.com", timeout=0, interval=0)
    assert info.value.held == 0


def test_timeout_while_the_proxy_finds_no_endpoint_reports_that() -> None:
    status = '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no endpoints available"}'

    def handle(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text=status, headers={"content-type": "application/json"})

    with pytest.raises(MailNotReceived) as info:
        MailCatcher(NAMESPACE).wait_for_message(service_http(handle), "a@example.com", timeout=0, interval=0)
    assert "its message list could not be read" in info.value.message
    assert "no endpoints available" in info.value.message
    assert info.value.held is None


# ----------------------------------------------------------------- deploying
def test_deploy_applies_the_manifest_and_waits_for_the_rollout() -> None:
    runner = FakeRunner()
    access = ClusterAccess(kubeconfig=Path("/kube/config"), namespace=NAMESPACE, runner=runner)
    catcher = deploy_mail_catcher(access, MAILPIT_AIRGAPPED_IMAGE, timeout=90)
    assert catcher == MailCatcher(NAMESPACE)
    apply, rollout = runner.invocations
    assert apply.argv[-3:] == ("apply", "-f", "-")
    assert apply.input == render_manifest(NAMESPACE, MAILPIT_AIRGAPPED_IMAGE)
    assert rollout.argv[-4:] == ("rollout", "status", f"deployment/{MAIL_CATCHER_NAME}", "--timeout=90s")
    assert "--namespace" in rollout.argv


def test_a_rollout_that_never_completes_says_how_to_get_the_image() -> None:
    runner = FakeRunner(lambda argv: (1, "timed out waiting") if "rollout" in argv else None)
    access = ClusterAccess(kubeconfig=Path("/kube/config"), namespace=NAMESPACE, runner=runner)
    with pytest.raises(MailCatcherError, match="did not become ready") as info:
        deploy_mail_catcher(access, MAILPIT_AIRGAPPED_IMAGE, timeout=5)
    assert info.value.hint is not None
    assert "--air-gapped" in info.value.hint


# ----------------------------------------------------------------- the air-gapped binary
class GoInstall(FakeRunner):
    """Writes a stand-in binary where ``go install`` would, so the cache logic runs for real."""

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float | None = None,
        cwd: Path | None = None,
        stdout: IO[bytes] | None = None,
    ) -> Completed:
        done = super().run(argv, env=env, input=input, check=check, timeout=timeout, cwd=cwd, stdout=stdout)
        assert env is not None
        (Path(env["GOBIN"]) / "mailpit").write_text("binary")
        return done


def test_mailpit_is_built_from_the_proxy_once_per_version(tmp_path: Path) -> None:
    runner = GoInstall()
    first = mailpit_binary(runner, tmp_path)
    assert first == mailpit_binary_path(tmp_path) == tmp_path / "build" / "mailpit-v1.33.1" / "mailpit"
    assert first.read_text() == "binary"
    (argv,) = runner.calls
    assert argv[:2] == ["go", "install"]
    assert argv[-1] == "github.com/axllent/mailpit@v1.33.1"
    assert "-X github.com/axllent/mailpit/config.Version=v1.33.1" in " ".join(argv)
    assert mailpit_binary(runner, tmp_path) == first
    assert len(runner.calls) == 1
    assert [p.name for p in first.parent.iterdir()] == ["mailpit"]
