"""Where the datastore tests get their servers: a container per session first, the shell's second.

Containers make ``pytest tests/datastores`` work wherever Docker and the locally built images
are, with no server left running afterwards; the servers ``.ci/start-datastores.sh`` starts
(``JITERA_TEST_POSTGRES_DSN``, ``JITERA_TEST_MONGO_URI``) remain the route without Docker.

``JITERA_TEST_SERVERS`` overrides the choice: ``env`` never touches Docker, ``containers`` fails
(not skips) when Docker or an image is missing, so a CI job that means to test the container
route cannot pass by silently skipping; unset or ``auto`` chooses per image.

The route is decided in each pytest process; under xdist every worker starts its own
containers, which keeps workers from sharing a server they did not set up.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from typing import Literal

import pytest

from pytest_jitera.datastores import PgConnInfo
from pytest_jitera.fixtures import datastores as _datastore_fixtures

MODE_ENV = "JITERA_TEST_SERVERS"
POSTGRES_IMAGE = "jitera/postgresql:15-bookworm"
FERRETDB_IMAGE = "jitera/ferretdb:1-sqlite"

Route = Literal["containers", "env"]


def requested_mode() -> Literal["auto", "containers", "env"]:
    """The mode ``JITERA_TEST_SERVERS`` asks for; a typo fails rather than quietly meaning auto."""
    value = os.environ.get(MODE_ENV, "").strip().lower()
    if value in ("", "auto"):
        return "auto"
    if value == "containers":
        return "containers"
    if value == "env":
        return "env"
    pytest.fail(f"{MODE_ENV}={value!r} is not a mode: use 'containers', 'env' or 'auto'", pytrace=False)


def choose_route(image: str) -> Route:
    """Containers when the mode allows them and ``image`` can run here, else the environment."""
    mode = requested_mode()
    if mode == "env":
        return "env"
    if importlib.util.find_spec("testcontainers") is None:
        problem: str | None = "the 'testcontainers' package is not installed (pip install -e '.[dev]')"
    else:
        from . import _containers

        problem = _containers.unavailable(image)
    if problem is None:
        return "containers"
    if mode == "containers":
        pytest.fail(f"{MODE_ENV}=containers, but {problem}", pytrace=False)
    return "env"


def worker_name(config: pytest.Config) -> str:
    """The xdist worker id (``gw0``...) or ``main``, so container names tell the workers apart."""
    workerinput: dict[str, str] = getattr(config, "workerinput", {})
    return workerinput.get("workerid", "main")


@contextlib.contextmanager
def postgres(config: pytest.Config) -> Iterator[PgConnInfo]:
    """A superuser login for this session, from a container or ``JITERA_TEST_POSTGRES_DSN``."""
    if choose_route(POSTGRES_IMAGE) == "env":
        yield PgConnInfo.from_dsn(_datastore_fixtures._env_or_skip(_datastore_fixtures.POSTGRES_DSN_ENV))
        return
    from . import _containers

    with _containers.postgres_server(worker_name(config)) as login:
        yield login


@contextlib.contextmanager
def mongo_uri(config: pytest.Config) -> Iterator[str]:
    """A MongoDB-wire URI for this session, from a container or ``JITERA_TEST_MONGO_URI``."""
    if choose_route(FERRETDB_IMAGE) == "env":
        yield _datastore_fixtures._env_or_skip(_datastore_fixtures.MONGO_URI_ENV)
        return
    from . import _containers

    with _containers.mongo_server(worker_name(config)) as uri:
        yield uri
