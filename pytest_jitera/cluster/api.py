"""The Kubernetes API, reached with the rehearsal's own kubeconfig: watches, logs, HTTP to Services.

Polling ``kubectl get`` every few seconds costs a process per look and misses what happens
between looks (a hook pod that fails and is replaced within one interval). The official
``kubernetes`` client watches objects and follows logs over one connection each, so watches
and log streams go through it. HTTP checks of the product (smoke tests, the availability
prober, the mail catcher's API) go through the API server's Service proxy with ``httpx``: that
works the same on kind and on a user's cluster, needs no port-forward that dies with the pod
it was bound to, and always reaches the Service's *current* endpoints, which is what a user
sees during a rollout.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from pytest_jitera.activity import external
from pytest_jitera.errors import JiteraError


class ApiError(JiteraError):
    """The cluster's API could not be reached with the rehearsal's kubeconfig."""


@dataclass(frozen=True)
class ApiEndpoint:
    """Where the API server is and how to authenticate to it, as the kubeconfig says."""

    host: str
    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    token: str | None
    verify: bool

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What ``httpx`` needs to trust the server and present the client certificate."""
        if not self.verify:
            return False
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file and self.key_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    def headers(self) -> dict[str, str]:
        """The bearer token header, when the kubeconfig authenticates with a token."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def load_configuration(kubeconfig: Path) -> k8s_client.Configuration:
    """The client configuration of ``kubeconfig``'s current context, never ``~/.kube/config``."""
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), client_configuration=configuration
        )
    except (k8s_config.ConfigException, OSError, ValueError) as exc:
        raise ApiError(
            f"cannot use kubeconfig {kubeconfig}: {exc}",
            hint="check the file with: kubectl --kubeconfig <file> cluster-info",
        ) from None
    return configuration


def endpoint(configuration: k8s_client.Configuration) -> ApiEndpoint:
    """The host and credentials the client configuration carries."""
    token = None
    auth = configuration.api_key.get("authorization") if configuration.api_key else None
    if isinstance(auth, str) and auth.lower().startswith("bearer "):
        token = auth.split(" ", 1)[1]
    return ApiEndpoint(
        host=str(configuration.host).rstrip("/"),
        ca_file=configuration.ssl_ca_cert,
        cert_file=configuration.cert_file,
        key_file=configuration.key_file,
        token=token,
        verify=bool(configuration.verify_ssl),
    )


class KubeApi:
    """The typed API clients and an HTTP client to Services, built once per kubeconfig."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = Path(kubeconfig)
        self.configuration = load_configuration(self.kubeconfig)
        self.api_client = k8s_client.ApiClient(self.configuration)
        self.core = k8s_client.CoreV1Api(self.api_client)
        self.batch = k8s_client.BatchV1Api(self.api_client)
        self.apps = k8s_client.AppsV1Api(self.api_client)
        self.endpoint = endpoint(self.configuration)

    def close(self) -> None:
        """Close the client's connection pool."""
        with contextlib.suppress(Exception):
            self.api_client.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def service_http(self, *, timeout: float = 10.0) -> Iterator[ServiceHttp]:
        """An ``httpx`` client that talks to Services through the API server's proxy."""
        with httpx.Client(
            base_url=self.endpoint.host,
            verify=self.endpoint.ssl_context(),
            headers=self.endpoint.headers(),
            timeout=timeout,
        ) as http:
            yield ServiceHttp(http)


def service_proxy_path(namespace: str, service: str, port: int | str, path: str = "/") -> str:
    """The API server path that proxies to ``service:port`` in ``namespace``."""
    rest = path if path.startswith("/") else "/" + path
    return f"/api/v1/namespaces/{namespace}/services/http:{service}:{port}/proxy{rest}"


@dataclass(frozen=True)
class HttpResult:
    """An answer from a Service, or the reason there was none (status 0)."""

    url: str
    status: int
    body: str
    error: str = ""

    @property
    def summary(self) -> str:
        """One line for progress output and failure messages."""
        if self.status == 0:
            return f"{self.url}: no answer ({self.error})"
        return f"{self.url}: HTTP {self.status}"


BODY_LIMIT = 4000


class ServiceHttp:
    """Requests to Services by name; transport errors become status 0, never exceptions.

    A request during a rollout may hit no endpoint (the API server answers 503 "no endpoints
    available") or time out; a caller that waits or probes wants an answer it can classify,
    not an exception per attempt.
    """

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def request(
        self,
        method: str,
        namespace: str,
        service: str,
        port: int | str,
        path: str = "/",
        *,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> HttpResult:
        """Send one request to ``service:port`` and return what came back."""
        url = service_proxy_path(namespace, service, port, path)
        label = f"{method} {service}:{port}{path}"
        wait = timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT
        try:
            with external("http"):
                answer = self.http.request(method, url, timeout=wait, **kwargs)
        except httpx.HTTPError as exc:
            return HttpResult(label, 0, "", f"{type(exc).__name__}: {exc}"[:300])
        body = answer.text[:BODY_LIMIT]
        if _proxy_error(answer):
            return HttpResult(label, 0, body, f"API server proxy: HTTP {answer.status_code} {body[:200]}")
        return HttpResult(label, answer.status_code, body)

    def get(
        self, namespace: str, service: str, port: int | str, path: str = "/", **kwargs: Any
    ) -> HttpResult:
        """``GET`` a Service's path."""
        return self.request("GET", namespace, service, port, path, **kwargs)


def _proxy_error(answer: httpx.Response) -> bool:
    """True when the answer is the API server's own (no endpoint, dial error), not the app's.

    The proxy answers 503 with a Kubernetes ``Status`` object when the Service has no ready
    endpoint, and 502/500 when dialing the pod failed; the application never sends ``Status``.
    """
    if answer.status_code not in (500, 502, 503):
        return False
    kind = answer.headers.get("content-type", "")
    return "application/json" in kind and '"kind":"Status"' in answer.text.replace(" ", "")
