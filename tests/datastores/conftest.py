from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.datastores import LocalPgTools, MongoTarget, PgConnInfo
from pytest_jitera.datastores.mongo.connect import mongo_client
from pytest_jitera.datastores.postgres.connect import create_database, drop_database
from pytest_jitera.runner import Runner

from . import _servers

KUBECTL_SHIM = """#!/bin/sh
# Stand-in for `kubectl exec -i POD -- CMD...`: logs its argv, then runs CMD here.
printf '%s\\n' "$*" >> "{log}"
while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
shift
exec "$@"
"""


@pytest.fixture(scope="session")
def jitera_test_postgres(request: pytest.FixtureRequest) -> Iterator[PgConnInfo]:
    """The plugin's server fixture, container first: a PostgreSQL 15 container per session.

    Replaces the plugin's environment-only fixture of the same name for this folder, so the
    plugin stays free of the container library (a dev dependency). Falls back to
    ``JITERA_TEST_POSTGRES_DSN`` without Docker; ``JITERA_TEST_SERVERS`` forces a route.
    """
    with _servers.postgres(request.config) as login:
        yield login


@pytest.fixture(scope="session")
def jitera_test_mongo_uri(request: pytest.FixtureRequest) -> Iterator[str]:
    """Like :func:`jitera_test_postgres`, for the MongoDB-wire server (FerretDB)."""
    with _servers.mongo_uri(request.config) as uri:
        yield uri


@pytest.fixture
def runner_log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def runner(runner_log: io.StringIO) -> Runner:
    """A real runner that echoes every command line into ``runner_log``."""
    return Runner(echo=True, log=runner_log)


@pytest.fixture
def tools(runner: Runner) -> LocalPgTools:
    return LocalPgTools(runner)


@pytest.fixture
def pg_databases(
    jitera_test_postgres: PgConnInfo, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], PgConnInfo]]:
    """Factory of uniquely named databases, all dropped at teardown."""
    created: list[str] = []
    tag = request.node.name.lower().replace("[", "_").replace("]", "")[:20]
    worker = getattr(request.config, "workerinput", {}).get("workerid", "gw")

    def make(suffix: str, *, create: bool = True) -> PgConnInfo:
        name = f"jt_{worker}_{tag}_{suffix}"[:63].replace("-", "_")
        drop_database(jitera_test_postgres, name)
        if create:
            create_database(jitera_test_postgres, name)
        created.append(name)
        return jitera_test_postgres.with_db(name)

    yield make
    for name in created:
        drop_database(jitera_test_postgres, name)


@pytest.fixture
def pg_db(pg_databases: Callable[[str], PgConnInfo]) -> PgConnInfo:
    return pg_databases("main")


@pytest.fixture
def mongo(jitera_test_mongo_uri: str, request: pytest.FixtureRequest) -> Iterator[MongoTarget]:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "gw")
    name = f"jt_{worker}_{request.node.name}"[:38].replace("[", "_").replace("]", "_")
    target = MongoTarget(jitera_test_mongo_uri, name)
    with mongo_client(target) as c:
        c.drop_database(name)
    yield target
    with mongo_client(target) as c:
        for db in c.list_database_names():
            if db == name or db.startswith("jitera_verify_"):
                c.drop_database(db)


@pytest.fixture
def kubectl_shim(tmp_path: Path) -> tuple[Path, Path]:
    """A fake kubectl that runs the exec'd command locally; returns (binary, argv log)."""
    log = tmp_path / "kubectl-argv.log"
    shim = tmp_path / "bin" / "kubectl"
    shim.parent.mkdir()
    shim.write_text(KUBECTL_SHIM.format(log=log))
    shim.chmod(0o755)
    return shim, log


@pytest.fixture
def shim_access(kubectl_shim: tuple[Path, Path], tmp_path: Path) -> ClusterAccess:
    """Cluster access whose kubectl is the shim: ``exec`` runs the command on this machine."""
    shim, _ = kubectl_shim
    return ClusterAccess(tmp_path / "kubeconfig", "jitera", Runner(), kubectl_bin=str(shim))
