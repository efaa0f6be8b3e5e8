"""Throwaway PostgreSQL and FerretDB containers from the locally built air-gapped images.

Imported only once the container route is chosen (by ``_servers`` and by the tests of that
route), so a checkout without the ``dev`` extra still runs on the shell's servers.

No registry is reachable on the machines this project runs on, so nothing here may pull: the
images come from ``pytest-jitera build-reference --out DIR --air-gapped``, and the library's
reaper container (another image to pull) is switched off below. Without it, nothing outside
this process removes a container, so :func:`running` removes its container in a ``finally``
(failures and Ctrl-C included), and :func:`remove_orphans` removes what a killed run
(SIGKILL, a CI timeout) left behind, before a new one starts.
"""

from __future__ import annotations

import os

# Before the first import of the library: the reaper image cannot be pulled here, and a set
# value (true or false) from the caller's environment still wins.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import contextlib
import secrets
import socket
from collections.abc import Iterator
from typing import cast

from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from pytest_jitera.cluster.kind import pid_alive
from pytest_jitera.datastores import MongoTarget, PgConnInfo
from pytest_jitera.datastores.mongo.connect import mongo_client
from pytest_jitera.datastores.postgres.connect import connected

from ._servers import FERRETDB_IMAGE, POSTGRES_IMAGE

# Every container is named with this prefix and carries OWNER_LABEL = "<hostname>:<pid>" of
# the pytest process (xdist worker) that started it.
NAME_PREFIX = "jitera-testdb-"
OWNER_LABEL = "jitera.testdb.owner"
LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT = 120
PG_USER = "jitera"


def owner() -> str:
    """This process's owner label value; the orphan sweep reads the pid back out of it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def unavailable(image: str) -> str | None:
    """Why the container route cannot run here, or ``None`` when it can.

    Asked before anything is started so that "no Docker" and "image never built" become a
    fallback (or, when containers are required, one clear failure) instead of a pull attempt.
    """
    try:
        client = DockerClient(timeout=10)
    except Exception as exc:  # any failure to reach the daemon means "no Docker" here
        return f"the Docker daemon does not answer ({type(exc).__name__}: {exc})"
    try:
        client.client.ping()
        if not client.client.images.list(name=image):
            return (
                f"the image {image} is not in the local image store (no registry to pull from; "
                "build it with `pytest-jitera build-reference --out DIR --air-gapped`)"
            )
    except Exception as exc:
        return f"the Docker daemon does not answer ({type(exc).__name__}: {exc})"
    finally:
        client.client.close()
    return None


def remove_orphans() -> list[str]:
    """Remove test containers whose pytest process on this host has gone; return their names.

    Containers of live processes (a parallel run, the other xdist worker) are left alone.
    """
    removed: list[str] = []
    host = socket.gethostname()
    client = DockerClient(timeout=30)
    try:
        for container in client.client.containers.list(all=True, filters={"label": OWNER_LABEL}):
            label_host, _, pid = str(container.labels.get(OWNER_LABEL, "")).rpartition(":")
            if label_host == host and pid.isdigit() and not pid_alive(int(pid)):
                # Another worker may be removing the same orphan right now.
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)
                    removed.append(str(container.name))
    finally:
        client.client.close()
    return removed


def containers_of(owner_value: str) -> dict[str, set[int]]:
    """The test containers, running or not, that ``owner_value`` started: name -> host ports."""
    client = DockerClient(timeout=30)
    try:
        found = client.client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={owner_value}"})
        return {
            str(c.name): {int(b["HostPort"]) for bindings in c.ports.values() for b in bindings or ()}
            for c in found
        }
    finally:
        client.client.close()


class LoopbackContainer(DockerContainer):
    """A container whose one service port is published on 127.0.0.1 only, at a free port.

    The library publishes on every interface and guesses the address to dial from where it
    runs (inside a container it picks the default gateway, which is wrong when the daemon runs
    beside the tests, as on CI). Binding and dialling loopback ourselves is right whenever
    the daemon is local, and a test server should not be reachable from the network anyway.
    """

    def __init__(self, image: str, port: int, kind: str, worker: str) -> None:
        super().__init__(image)
        self.service_port = port
        # docker-py reads a one-element (address,) tuple as "this address, any free port";
        # the library types its port table for plain port numbers only.
        cast("dict[str, object]", self.ports)[f"{port}/tcp"] = (LOOPBACK,)
        self.with_name(f"{NAME_PREFIX}{kind}-{worker}-{secrets.token_hex(3)}")
        self.with_kwargs(labels={OWNER_LABEL: owner()})

    def get_container_host_ip(self) -> str:
        """Loopback, where the port is published (see the class docstring)."""
        return LOOPBACK

    def host_port(self) -> int:
        """The free port the daemon picked, read from the daemon's own port table."""
        return int(self.get_docker_client().port(self.get_container_id(), self.service_port))


@contextlib.contextmanager
def running(container: LoopbackContainer) -> Iterator[str]:
    """Start ``container``, yield its name, and remove it (and its volumes) however the block ends."""
    try:
        remove_orphans()
        container.start()
        yield str(container.get_wrapped_container().name)
    finally:
        container.stop(force=True, delete_volume=True)


def postgres_container(worker: str, password: str) -> LoopbackContainer:
    """The PostgreSQL 15 image, initialised by its entrypoint with a superuser ``jitera``.

    ``POSTGRES_DB=postgres`` keeps the entrypoint from a second, socket-only start, so its
    "ready" log line appears once, from the server the tests use. The data directory is a
    tmpfs: a test server's durability is worthless, its fsyncs are not free.
    """
    container = LoopbackContainer(POSTGRES_IMAGE, 5432, "postgres", worker)
    container.with_envs(POSTGRES_USER=PG_USER, POSTGRES_PASSWORD=password, POSTGRES_DB="postgres")
    container.with_tmpfs_mount("/var/lib/postgresql/data")
    container.waiting_for(
        LogMessageWaitStrategy("database system is ready to accept connections")
        .with_startup_timeout(STARTUP_TIMEOUT)
        .with_poll_interval(0.2)
    )
    return container


def ferretdb_container(worker: str) -> LoopbackContainer:
    """FerretDB 1.x on SQLite, as the image's entrypoint runs it (no authentication)."""
    container = LoopbackContainer(FERRETDB_IMAGE, 27017, "ferretdb", worker)
    container.with_tmpfs_mount("/data/db")
    container.waiting_for(
        LogMessageWaitStrategy("Listening on TCP")
        .with_startup_timeout(STARTUP_TIMEOUT)
        .with_poll_interval(0.2)
    )
    return container


@contextlib.contextmanager
def postgres_server(worker: str) -> Iterator[PgConnInfo]:
    """A superuser login on a fresh container, proven by one real ``SELECT 1``."""
    container = postgres_container(worker, secrets.token_urlsafe(18))
    with running(container):
        login = PgConnInfo(
            LOOPBACK,
            container.host_port(),
            "postgres",
            PG_USER,
            container.env["POSTGRES_PASSWORD"],
        )
        with connected(login) as c:
            c.execute("SELECT 1").fetchone()
        yield login


@contextlib.contextmanager
def mongo_server(worker: str) -> Iterator[str]:
    """The URI of a fresh FerretDB container, proven by one real ``ping``."""
    container = ferretdb_container(worker)
    with running(container):
        uri = f"mongodb://{LOOPBACK}:{container.host_port()}/"
        with mongo_client(MongoTarget(uri, "admin")) as c:
            c.admin.command("ping")
        yield uri
