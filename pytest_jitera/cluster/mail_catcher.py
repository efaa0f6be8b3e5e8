"""A mail catcher in the rehearsal's namespace, so the invite smoke test can see its e-mail.

The runbook's smoke test invites a user and expects the invitation e-mail. On a rehearsal
cluster there is no real mail server, and an SMTP error the product swallows would let the
invite "succeed" without a mail ever leaving it. So the rehearsal deploys Mailpit beside the
product, points the chart's SMTP settings at it, and reads the caught messages back through
Mailpit's JSON API. The public image ``axllent/mailpit`` and the air-gapped build
``jitera/mailpit`` are the same release (see :mod:`pytest_jitera.bootstrap.pins`), so one
manifest and one parser serve both.

Rendering and parsing are pure functions; only :func:`deploy_mail_catcher` and
:meth:`MailCatcher.wait_for_message` reach the cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from pytest_jitera.bootstrap.pins import MAILPIT_AIRGAPPED_IMAGE, MAILPIT_PUBLIC_IMAGE
from pytest_jitera.errors import JiteraError
from pytest_jitera.runner import RunError
from pytest_jitera.waiting import Observation, Progress, WaitTimeout, wait_for

if TYPE_CHECKING:
    from pytest_jitera.cluster.access import ClusterAccess
    from pytest_jitera.cluster.api import ServiceHttp

MAIL_CATCHER_NAME = "jitera-mail-catcher"
SMTP_PORT = 1025
HTTP_PORT = 8025
LABELS: Mapping[str, str] = {
    "app.kubernetes.io/name": "mail-catcher",
    "app.kubernetes.io/managed-by": "pytest-jitera",
}
# Mailpit's own defaults are kept except where a product's mailer would otherwise be refused:
# a chart that sends SMTP credentials must be accepted without TLS (the catcher has no
# certificate), and an air-gapped pod must not try to reach GitHub for a version check.
MAILPIT_ENV: Mapping[str, str] = {
    "MP_SMTP_AUTH_ACCEPT_ANY": "true",
    "MP_SMTP_AUTH_ALLOW_INSECURE": "true",
    "MP_DISABLE_VERSION_CHECK": "true",
}
# Mailpit's own page size; enough to name what the catcher holds in a failure message.
LIST_LIMIT = 50
RECIPIENTS_SHOWN = 10


class MailCatcherError(JiteraError):
    """The mail catcher could not be deployed, or answered something that is not Mailpit's API."""


class MailNotReceived(WaitTimeout):
    """No message to the awaited address arrived in time; says what the catcher holds instead."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        last: str = "",
        address: str = "",
        held: int | None = None,
        recipients: Sequence[str] = (),
    ) -> None:
        super().__init__(message, hint, last=last)
        self.address = address
        self.held = held
        self.recipients = tuple(recipients)


def _quiet(_message: str) -> None:
    return None


# ----------------------------------------------------------------- image and manifest
def mail_catcher_image(*, air_gapped: bool) -> str:
    """The image a cluster can run: the local build when it cannot pull from a registry."""
    return MAILPIT_AIRGAPPED_IMAGE if air_gapped else MAILPIT_PUBLIC_IMAGE


def _metadata(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": {**LABELS, "app.kubernetes.io/instance": name}}


def _selector(name: str) -> dict[str, str]:
    """Name and instance only: a selector is immutable, so it must not carry labels that may change."""
    return {"app.kubernetes.io/name": LABELS["app.kubernetes.io/name"], "app.kubernetes.io/instance": name}


def _container(image: str) -> dict[str, Any]:
    return {
        "name": "mailpit",
        "image": image,
        # The air-gapped image exists only in the nodes' store; Always would make it unpullable.
        "imagePullPolicy": "IfNotPresent",
        "env": [{"name": key, "value": value} for key, value in MAILPIT_ENV.items()],
        "ports": [
            {"name": "smtp", "containerPort": SMTP_PORT, "protocol": "TCP"},
            {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
        ],
        # /readyz answers 200 only once the message store is open, so a ready pod can take mail.
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "http"},
            "periodSeconds": 2,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"memory": "256Mi"},
        },
    }


def deployment(namespace: str, image: str, name: str = MAIL_CATCHER_NAME) -> dict[str, Any]:
    """One Mailpit pod; its messages live in the pod and go with the namespace."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, namespace),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": _selector(name)},
            "template": {
                "metadata": {"labels": {**LABELS, "app.kubernetes.io/instance": name}},
                "spec": {"automountServiceAccountToken": False, "containers": [_container(image)]},
            },
        },
    }


def service(namespace: str, name: str = MAIL_CATCHER_NAME) -> dict[str, Any]:
    """SMTP for the product, HTTP for the harness (reached through the API server's proxy)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(name, namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(name),
            "ports": [
                {"name": "smtp", "port": SMTP_PORT, "targetPort": "smtp", "protocol": "TCP"},
                {"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"},
            ],
        },
    }


def render_manifest(namespace: str, image: str, name: str = MAIL_CATCHER_NAME) -> str:
    """The Deployment and Service as one YAML stream for ``kubectl apply -f -``."""
    documents = [deployment(namespace, image, name), service(namespace, name)]
    return yaml.safe_dump_all(documents, sort_keys=False)


# ----------------------------------------------------------------- Mailpit's JSON answers
@dataclass(frozen=True)
class MailMessage:
    """One caught message as Mailpit's message summary describes it.

    ``sender`` is the From address (``from`` is a Python keyword). Addresses are kept without
    display names: the smoke test matches the address the invite was sent to.
    """

    id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    snippet: str

    def addressed_to(self, address: str) -> bool:
        """Exact address match, ignoring case: Mailpit's ``to:`` search is a substring match."""
        wanted = address.strip().casefold()
        return any(recipient.casefold() == wanted for recipient in self.to)


@dataclass(frozen=True)
class Mailbox:
    """One page of Mailpit's message list or search, and how many messages it holds in all."""

    total: int
    messages: tuple[MailMessage, ...]

    def recipients(self) -> list[str]:
        """Every distinct To address on the page, in the order Mailpit lists them (newest first)."""
        seen: dict[str, None] = {}
        for message in self.messages:
            seen.update(dict.fromkeys(message.to))
        return list(seen)


def _address(value: Any) -> str:
    """Mailpit encodes Go's ``mail.Address``: ``{"Name": ..., "Address": ...}``, or null."""
    if isinstance(value, Mapping):
        return str(value.get("Address") or "")
    return ""


def parse_message(summary: Mapping[str, Any]) -> MailMessage:
    """A message summary from ``/api/v1/messages`` or ``/api/v1/search``.

    Mailpit sends ``null`` for an empty recipient list or a missing From, so those are allowed.
    """
    if not isinstance(summary, Mapping) or not summary.get("ID"):
        raise MailCatcherError(f"not a Mailpit message summary: {str(summary)[:200]}")
    return MailMessage(
        id=str(summary["ID"]),
        sender=_address(summary.get("From")),
        to=tuple(a for a in (_address(v) for v in summary.get("To") or ()) if a),
        subject=str(summary.get("Subject") or ""),
        snippet=str(summary.get("Snippet") or ""),
    )


def parse_mailbox(body: str) -> Mailbox:
    """Mailpit's ``MessagesSummary`` answer; anything else raises :class:`MailCatcherError`."""
    try:
        data = json.loads(body)
    except ValueError:
        raise MailCatcherError(f"the mail catcher's answer is not JSON: {body[:200]!r}") from None
    # Go encodes an empty slice as null, so a present but null list is an empty mailbox.
    listed = data.get("messages", ()) if isinstance(data, Mapping) else ()
    if not isinstance(data, Mapping) or "messages" not in data or not isinstance(listed, list | None):
        raise MailCatcherError(f"the mail catcher's answer has no message list: {body[:200]!r}")
    messages = tuple(parse_message(item) for item in listed or ())
    return Mailbox(total=int(data.get("total") or 0), messages=messages)


def search_query(address: str) -> str:
    """Mailpit's search for messages whose To contains ``address`` (quoted: one search term)."""
    return f'to:"{address.strip()}"'


# ----------------------------------------------------------------- the running catcher
@dataclass(frozen=True)
class MailCatcher:
    """A deployed catcher: where the product sends mail and where the harness reads it."""

    namespace: str
    name: str = MAIL_CATCHER_NAME
    smtp_port: int = SMTP_PORT
    http_port: int = HTTP_PORT

    @property
    def smtp_host(self) -> str:
        """``<service>.<namespace>.svc``: resolves from any namespace, whatever the cluster domain."""
        return f"{self.name}.{self.namespace}.svc"

    def _get(self, http: ServiceHttp, path: str, params: Mapping[str, str | int]) -> Mailbox | str:
        """The parsed answer, or a one-line reason there is none (for progress and errors)."""
        result = http.get(self.namespace, self.name, self.http_port, path, params=dict(params))
        if result.status != 200:
            return result.summary
        try:
            return parse_mailbox(result.body)
        except MailCatcherError as exc:
            return f"{result.url}: {exc.message}"

    def search(self, http: ServiceHttp, address: str) -> Mailbox | str:
        """Messages whose To contains ``address``, newest first."""
        return self._get(http, "/api/v1/search", {"query": search_query(address), "limit": LIST_LIMIT})

    def mailbox(self, http: ServiceHttp) -> Mailbox | str:
        """The newest messages the catcher holds, and their total."""
        return self._get(http, "/api/v1/messages", {"limit": LIST_LIMIT})

    def wait_for_message(
        self,
        http: ServiceHttp,
        to: str,
        timeout: float,
        progress: Progress = _quiet,
        *,
        interval: float = 2.0,
    ) -> MailMessage:
        """The newest message addressed to ``to``, once Mailpit has it.

        A timeout raises :class:`MailNotReceived` naming what the catcher holds instead: a mail
        to a different address points at the test, no mail at all at the chart's SMTP settings.
        """

        def probe() -> Observation[MailMessage]:
            return _match(self.search(http, to), to)

        try:
            return wait_for(f"e-mail to {to}", probe, timeout=timeout, interval=interval, progress=progress)
        except WaitTimeout as exc:
            raise self._not_received(http, to, timeout, exc.last) from None

    def _not_received(self, http: ServiceHttp, to: str, timeout: float, last: str) -> MailNotReceived:
        held = self.mailbox(http)
        if isinstance(held, str):
            contents, total, recipients = f"its message list could not be read ({held})", None, []
        else:
            total, recipients = held.total, held.recipients()
            contents = describe_holdings(held)
        return MailNotReceived(
            f"no e-mail to {to} reached the mail catcher {self.name} within {timeout:.0f}s; "
            f"{contents}; last seen: {last}",
            hint=self.settings_hint(to),
            last=last,
            address=to,
            held=total,
            recipients=recipients,
        )

    def settings_hint(self, to: str) -> str:
        """What to check next, with the exact host and port the chart should be using."""
        return (
            f"check the chart's SMTP settings: host {self.smtp_host}, port {self.smtp_port}, no TLS "
            f"(any username and password are accepted); then that the product really sent the "
            f"invite to {to} (its mailer or worker logs), and that the mail is not queued behind a "
            f"worker that is not running"
        )


def _match(found: Mailbox | str, to: str) -> Observation[MailMessage]:
    if isinstance(found, str):
        return Observation.pending(found)
    for message in found.messages:
        if message.addressed_to(to):
            seen = f"message {message.id} from {message.sender}: {message.subject!r}"
            return Observation.ready(message, seen)
    near = f", {len(found.messages)} to similar addresses" if found.messages else ""
    return Observation.pending(f"none yet{near}; the catcher holds {found.total} message(s)")


def describe_holdings(mailbox: Mailbox) -> str:
    """``it holds 3 message(s), to: a@x, b@y`` (capped), for a failure message."""
    if mailbox.total == 0:
        return "it holds no messages at all"
    recipients = mailbox.recipients()
    shown = ", ".join(recipients[:RECIPIENTS_SHOWN]) or "no To addresses"
    more = f" and {len(recipients) - RECIPIENTS_SHOWN} more" if len(recipients) > RECIPIENTS_SHOWN else ""
    return f"it holds {mailbox.total} message(s), to: {shown}{more}"


def deploy_mail_catcher(access: ClusterAccess, image: str, timeout: float) -> MailCatcher:
    """Apply the catcher to the access's namespace and return once its pod is ready.

    Waiting for the rollout here means a later missing e-mail cannot be a catcher that was
    still starting when the product sent it.
    """
    access.kubectl.apply(render_manifest(access.namespace, image))
    try:
        access.kubectl.rollout_status(MAIL_CATCHER_NAME, timeout=timeout)
    except RunError as exc:
        raise MailCatcherError(
            f"the mail catcher {MAIL_CATCHER_NAME} did not become ready in namespace "
            f"{access.namespace}: {exc.message}",
            hint=f"kubectl describe deployment {MAIL_CATCHER_NAME}; with the air-gapped image "
            f"{MAILPIT_AIRGAPPED_IMAGE}, build it (pytest-jitera build-reference --images "
            "--air-gapped) and load it into the cluster's nodes",
        ) from None
    return MailCatcher(access.namespace)
