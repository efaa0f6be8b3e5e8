"""The server route of this folder: containers when chosen, really; the environment otherwise."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from pytest_jitera.datastores import MongoTarget, PgConnInfo
from pytest_jitera.datastores.mongo.connect import mongo_client
from pytest_jitera.datastores.postgres.connect import connected

from ._servers import FERRETDB_IMAGE, MODE_ENV, POSTGRES_IMAGE, choose_route

SHELL_PG_PORT = 55432  # .ci/start-datastores.sh


def test_env_mode_never_asks_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "env")
    assert choose_route("jitera/no-such-image:never") == "env"


def test_an_unknown_mode_fails_instead_of_meaning_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "sometimes")
    with pytest.raises(pytest.fail.Exception, match="'sometimes' is not a mode"):
        choose_route(POSTGRES_IMAGE)


def test_containers_mode_fails_rather_than_skips_without_the_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "containers")
    with pytest.raises(pytest.fail.Exception, match=f"{MODE_ENV}=containers, but "):
        choose_route("jitera/no-such-image:never")


@pytest.mark.postgres
@pytest.mark.mongo
def test_the_container_route_is_really_taken_when_chosen(
    jitera_test_postgres: PgConnInfo, jitera_test_mongo_uri: str
) -> None:
    if choose_route(POSTGRES_IMAGE) == "env" or choose_route(FERRETDB_IMAGE) == "env":
        pytest.skip("this session uses the environment's servers")
    from . import _containers

    ours = _containers.containers_of(_containers.owner())
    assert (jitera_test_postgres.host, jitera_test_postgres.user) == ("127.0.0.1", "jitera")
    assert jitera_test_postgres.port != SHELL_PG_PORT
    pg_names = [n for n, ports in ours.items() if jitera_test_postgres.port in ports]
    assert len(pg_names) == 1
    assert pg_names[0].startswith("jitera-testdb-postgres-")
    with connected(jitera_test_postgres) as c:
        row = c.execute("SELECT host(inet_server_addr()), current_setting('data_directory')").fetchone()
    assert row is not None
    # The connection arrives through the published port at the container's own address.
    assert row[0] != "127.0.0.1"
    assert row[1] == "/var/lib/postgresql/data"

    mongo_port = MongoTarget(jitera_test_mongo_uri, "admin").port()
    mongo_names = [n for n, ports in ours.items() if mongo_port in ports]
    assert len(mongo_names) == 1
    assert mongo_names[0].startswith("jitera-testdb-ferretdb-")
    with mongo_client(MongoTarget(jitera_test_mongo_uri, "admin")) as client:
        assert "ferretdbVersion" in client.admin.command("buildInfo")


@pytest.mark.docker
def test_a_failing_block_still_removes_its_container() -> None:
    if choose_route(FERRETDB_IMAGE) == "env":
        pytest.skip(f"no container route here ({MODE_ENV}=env, or no Docker or image)")
    from . import _containers

    seen: list[str] = []

    def failing_block() -> None:
        with _containers.running(_containers.ferretdb_container("removal")) as name:
            seen.append(name)
            assert name in _containers.containers_of(_containers.owner())
            raise RuntimeError("test body failed")

    with pytest.raises(RuntimeError, match="test body failed"):
        failing_block()
    (name,) = seen
    assert name not in _containers.containers_of(_containers.owner())


@pytest.mark.docker
def test_containers_of_a_dead_run_are_swept_and_live_ones_kept() -> None:
    if choose_route(FERRETDB_IMAGE) == "env":
        pytest.skip(f"no container route here ({MODE_ENV}=env, or no Docker or image)")
    from testcontainers.core.docker_client import DockerClient

    from . import _containers

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True, text=True
    )
    dead_owner = f"{socket.gethostname()}:{int(dead.stdout)}"
    client = DockerClient(timeout=30).client
    # Created, never started: what a run killed between create and start leaves behind.
    orphan = client.containers.create(
        FERRETDB_IMAGE,
        name=f"{_containers.NAME_PREFIX}orphan-{dead.stdout.strip()}",
        labels={_containers.OWNER_LABEL: dead_owner},
    )
    try:
        live = _containers.ferretdb_container("live")
        with _containers.running(live) as live_name:  # running() sweeps before it starts
            assert _containers.containers_of(dead_owner) == {}
            assert live_name in _containers.containers_of(_containers.owner())
    finally:
        if _containers.containers_of(dead_owner):
            orphan.remove(force=True)
        client.close()
