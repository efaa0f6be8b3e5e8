"""The in-pod implementations: command lines with the fake runner, the prologues with a shim.

No cluster is involved anywhere in this file. The fake runner checks the shape of what would
be run; the kubectl shim (``exec`` runs the command here) checks the shell prologues for real,
with stand-in mongo-tools scripts, because no mongodump/mongorestore exist on this machine.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.datastores import (
    LocalMongoTools,
    MongoTarget,
    PgConnInfo,
    PodMongoTools,
    PodPgTools,
    Status,
    _inpod,
    restore_postgres,
    snapshot_mongo,
    snapshot_postgres,
    verify_mongo_snapshot,
)
from pytest_jitera.datastores.mongo import tools as mongo_tools
from pytest_jitera.datastores.mongo.connect import mongo_client
from pytest_jitera.datastores.postgres import client as pg_client
from pytest_jitera.datastores.postgres.schema import SERVER_INFO
from pytest_jitera.errors import DatastoreError
from pytest_jitera.runner import Runner
from tests.fakes import FakeRunner

PW = "p0d-Pa55w0rd-QRS"
KUBECONFIG = Path("/tmp/jitera-kubeconfig")
TOOLS_ENV = {"PATH": "/opt/jitera-tools/bin:/usr/bin"}
EXEC_PG = [
    "kubectl",
    "--kubeconfig",
    str(KUBECONFIG),
    "--namespace",
    "jitera",
    "exec",
    "-i",
    "postgres-0",
    "-c",
    "postgresql",
    "--",
]


def access(runner: FakeRunner | Runner) -> ClusterAccess:
    return ClusterAccess(KUBECONFIG, "jitera", runner, env=TOOLS_ENV)


def login() -> PgConnInfo:
    return PgConnInfo("127.0.0.1", 5432, "jitera", "app", PW)


# ----------------------------------------------------------------- PostgreSQL, fake runner
def test_pg_dump_in_pod_is_the_cluster_prefix_then_a_prologue_reading_the_password(tmp_path: Path) -> None:
    runner = FakeRunner()
    PodPgTools(access(runner), "postgres-0", container="postgresql").pg_dump(login(), tmp_path / "out.dump")
    [(argv, env, stdin)] = runner.invocations
    assert list(argv) == [
        *EXEC_PG,
        "env",
        "PGCONNECT_TIMEOUT=10",
        "sh",
        "-c",
        pg_client.POD_PROLOGUE,
        "sh",
        "pg_dump",
        "-h",
        "127.0.0.1",
        "-p",
        "5432",
        "-U",
        "app",
        "-d",
        "jitera",
        "-Fc",
    ]
    assert env == TOOLS_ENV
    assert stdin == PW + "\n"
    assert PW in runner.secrets


def test_pg_restore_in_pod_streams_the_file_after_the_password_line(tmp_path: Path) -> None:
    runner = FakeRunner()
    dump = tmp_path / "out.dump"
    PodPgTools(access(runner), "postgres-0", container="postgresql").pg_restore(
        login(), dump, clean=True, jobs=4
    )
    [(argv, env, stdin)] = runner.invocations
    assert list(argv[:5]) == ["bash", "-c", argv[2], "feed", str(dump)]
    assert list(argv[5 : 5 + len(EXEC_PG)]) == EXEC_PG
    tail = list(argv[5 + len(EXEC_PG) :])
    assert tail[:6] == ["env", "PGCONNECT_TIMEOUT=10", "sh", "-c", pg_client.POD_PROLOGUE, "sh"]
    assert tail[6] == "pg_restore"
    assert {"--clean", "--if-exists", "--exit-on-error"} <= set(tail)
    assert "-j4" not in tail  # pg_restore reads stdin: no parallel jobs
    assert str(dump) not in tail  # the file is read here, not in the pod
    assert PW not in " ".join(argv)
    assert env == {**TOOLS_ENV, _inpod.FIRST_LINE_ENV: PW}
    assert stdin is None


def test_pg_sql_in_pod_goes_through_psql_and_the_drop_quotes_the_name() -> None:
    runner = FakeRunner(lambda argv: (0, '{"a": 1}\n') if "psql" in argv else None)
    tools = PodPgTools(access(runner), "postgres-0")
    assert tools.query_json(login(), "SELECT 1") == {"a": 1}
    tools.drop_database(login().with_db("postgres"), "jitera_verify_x")
    query, drop = runner.calls
    assert query[query.index("psql") :][-2:] == ["-c", "SELECT 1"]
    assert "-A" in query
    assert "-t" in query
    assert drop[-1] == 'DROP DATABASE IF EXISTS "jitera_verify_x" WITH (FORCE)'
    assert drop[drop.index("-d") + 1] == "postgres"
    assert drop[:7] == EXEC_PG[:7]
    assert "-c" not in drop[: drop.index("--")]  # no container given, no -c in the prefix


def test_directory_format_cannot_come_out_of_a_pod(tmp_path: Path) -> None:
    with pytest.raises(DatastoreError, match="cannot be streamed"):
        PodPgTools(access(FakeRunner()), "p").pg_dump(login(), tmp_path / "d", fmt="directory")


def test_failed_restore_in_pod_drops_the_half_restored_database(tmp_path: Path) -> None:
    runner = FakeRunner(lambda argv: (1, "pg_restore: error: bad archive") if "pg_restore" in argv else None)
    tools = PodPgTools(access(runner), "postgres-0")
    with pytest.raises(DatastoreError, match="pg_restore failed"):
        restore_postgres(tmp_path / "x.dump", login().with_db("restored"), tools=tools)
    create, restore, drop = (c[-1] for c in runner.calls)
    assert create == 'CREATE DATABASE "restored" TEMPLATE template0'
    assert restore == "--exit-on-error"
    assert drop == 'DROP DATABASE IF EXISTS "restored" WITH (FORCE)'


def test_snapshot_in_pod_runs_schema_dump_then_stats_in_that_order(tmp_path: Path) -> None:
    def psql(argv: list[str]) -> tuple[int, str] | None:
        if "psql" not in argv:
            return None
        if argv[-1] == SERVER_INFO:
            return 0, json.dumps({"server_version": "15.6", "size_bytes": 123})
        return 0, "{}"

    runner = FakeRunner(psql)
    snap = snapshot_postgres(login(), tmp_path / "pod.dump", tools=PodPgTools(access(runner), "postgres-0"))
    tools_run = [c[c.index("sh", c.index("--")) + 4] for c in runner.calls]
    assert tools_run[0] == "psql"
    assert tools_run.count("pg_dump") == 1
    dump_at = tools_run.index("pg_dump")
    assert tools_run[dump_at + 1] == "psql"  # the statistics come after the dump
    assert (snap.engine, snap.fmt, snap.tool, snap.server_version, snap.size_bytes) == (
        "postgresql",
        "custom",
        "pg_dump",
        "15.6",
        123,
    )
    assert snap.manifest_path.is_file()
    assert PW not in snap.manifest_path.read_text()


# ----------------------------------------------------------------- MongoDB, fake runner
def mongo_target() -> MongoTarget:
    return MongoTarget(f"mongodb://root:{PW}@127.0.0.1:27017/?authSource=admin", "jitera")


def pod_mongo(runner: FakeRunner | Runner) -> PodMongoTools:
    return PodMongoTools(access(runner), "mongodb-0", container="mongodb")


EXEC_MONGO = [*EXEC_PG[:7], "mongodb-0", "-c", "mongodb", "--"]


def test_mongodump_in_pod_streams_the_archive_out_and_reads_the_uri_from_stdin(tmp_path: Path) -> None:
    runner = FakeRunner()
    dest = tmp_path / "mongo.archive"
    assert pod_mongo(runner).dump(mongo_target(), dest) == ("archive", "mongodump")
    [(argv, env, stdin)] = runner.invocations
    assert list(argv) == [
        *EXEC_MONGO,
        "sh",
        "-c",
        mongo_tools.POD_PROLOGUE,
        "sh",
        "mongodump",
        "--db=jitera",
        "--archive",
        "--gzip",
        "--quiet",
    ]
    assert env == TOOLS_ENV
    assert stdin == json.dumps(mongo_target().uri) + "\n"
    assert PW not in " ".join(argv)
    assert dest.exists()  # stdout went to the file
    assert set(mongo_target().secrets()) <= runner.secrets


def test_mongorestore_in_pod_streams_the_archive_in_after_the_uri_line(tmp_path: Path) -> None:
    runner = FakeRunner()
    archive = tmp_path / "mongo.archive"
    archive.write_bytes(b"\x6d\xe2\x99\x81 not really an archive")
    pod_mongo(runner).restore(archive, mongo_target().with_db("jitera_verify_x"), source_db="jitera")
    [(argv, env, stdin)] = runner.invocations
    assert list(argv[:5]) == ["bash", "-c", argv[2], "feed", str(archive)]
    assert list(argv[5 : 5 + len(EXEC_MONGO)]) == EXEC_MONGO
    assert list(argv[5 + len(EXEC_MONGO) :]) == [
        "sh",
        "-c",
        mongo_tools.POD_PROLOGUE,
        "sh",
        "mongorestore",
        "--archive",
        "--gzip",
        "--nsInclude=jitera.*",
        "--nsFrom=jitera.*",
        "--nsTo=jitera_verify_x.*",
        "--drop",
        "--numInsertionWorkersPerCollection=1",
        "--quiet",
    ]
    assert env == {**TOOLS_ENV, _inpod.FIRST_LINE_ENV: json.dumps(mongo_target().uri)}
    assert stdin is None
    assert PW not in " ".join(argv)


def test_failed_mongodump_in_pod_names_the_hosts_not_the_password(tmp_path: Path) -> None:
    runner = FakeRunner(lambda argv: (1, f"error connecting to mongodb://root:{PW}@127.0.0.1"))
    with pytest.raises(DatastoreError) as err:
        pod_mongo(runner).dump(mongo_target(), tmp_path / "m.archive")
    assert "mongodump failed against mongodb://127.0.0.1:27017/jitera" in str(err.value)
    assert PW not in str(err.value)


def test_through_port_replaces_the_hosts_and_keeps_login_and_options() -> None:
    t = MongoTarget(
        f"mongodb://root:{PW}@m-0.m:27018,m-1.m:27018/admin?authSource=admin&replicaSet=rs0"
        "&directConnection=false",
        "jitera",
    )
    assert t.port() == 27018
    local = t.through_port(40123)
    assert local.hosts() == "127.0.0.1:40123"
    assert local.uri.startswith(f"mongodb://root:{PW}@127.0.0.1:40123/admin?")
    assert "authSource=admin" in local.uri
    assert "replicaSet=rs0" in local.uri
    assert local.uri.endswith("directConnection=true")
    assert "directConnection=false" not in local.uri
    assert local.database == "jitera"
    assert MongoTarget("mongodb://db", "x").port() == 27017
    with pytest.raises(DatastoreError, match="not a mongodb://"):
        MongoTarget("mongodb+srv://cluster0.example.net", "x").through_port(1)


# ----------------------------------------------------------------- the prologues, for real
FAKE_MONGODUMP = """#!/bin/sh
# Stand-in for mongodump --archive: the archive it "writes" is its config file and argv.
for a in "$@"; do case "$a" in --config=*) cat "${a#--config=}";; esac; done
printf 'ARGS %s\\n' "$*"
"""

FAKE_MONGORESTORE = """#!/bin/sh
# Stand-in for mongorestore --archive: record the config, then the archive read from stdin.
for a in "$@"; do case "$a" in --config=*) cat "${a#--config=}" > "{out}.config";; esac; done
cat > "{out}.archive"
"""


@pytest.fixture
def shim_tools(tmp_path: Path, kubectl_shim: tuple[Path, Path]) -> tuple[PodMongoTools, Path, Path]:
    """PodMongoTools whose kubectl runs here, with stand-in mongo-tools and a private TMPDIR."""
    shim, argv_log = kubectl_shim
    bindir = tmp_path / "pod-bin"
    bindir.mkdir()
    out = tmp_path / "restored"
    (bindir / "mongodump").write_text(FAKE_MONGODUMP)
    (bindir / "mongorestore").write_text(FAKE_MONGORESTORE.replace("{out}", str(out)))
    for tool in bindir.iterdir():
        tool.chmod(0o755)
    pod_tmp = tmp_path / "pod-tmp"
    pod_tmp.mkdir()
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "TMPDIR": str(pod_tmp)}
    cluster = ClusterAccess(tmp_path / "kubeconfig", "jitera", Runner(), kubectl_bin=str(shim), env=env)
    return PodMongoTools(cluster, "mongodb-0"), argv_log, pod_tmp


def test_mongo_prologue_hands_the_uri_over_an_unlinked_file(
    shim_tools: tuple[PodMongoTools, Path, Path], tmp_path: Path
) -> None:
    tools, argv_log, pod_tmp = shim_tools
    dest = tmp_path / "out.archive"
    tools.dump(mongo_target(), dest)
    written = dest.read_text()
    assert written.startswith("uri: " + json.dumps(mongo_target().uri) + "\n")
    assert "ARGS --config=/dev/fd/3 --db=jitera --archive --gzip --quiet" in written
    assert list(pod_tmp.iterdir()) == []  # the config file was gone before the tool ran
    assert PW not in argv_log.read_text()


def test_mongo_prologue_leaves_the_archive_bytes_to_mongorestore(
    shim_tools: tuple[PodMongoTools, Path, Path], tmp_path: Path
) -> None:
    tools, argv_log, pod_tmp = shim_tools
    archive = tmp_path / "in.archive"
    payload = bytes(range(256)) * 4096 + b"\n\n tail without newline"
    archive.write_bytes(payload)
    tools.restore(archive, mongo_target(), source_db="jitera")
    assert (tmp_path / "restored.archive").read_bytes() == payload
    assert (tmp_path / "restored.config").read_text() == "uri: " + json.dumps(mongo_target().uri) + "\n"
    assert list(pod_tmp.iterdir()) == []
    assert PW not in argv_log.read_text()


# ----------------------------------------------------------------- MongoDB through a stand-in forward
@dataclass(frozen=True)
class ForwardedAccess(ClusterAccess):
    """Cluster access whose port-forward is the test server's port: no kubectl involved."""

    local_port: int = 0
    forwards: list[tuple[str, int]] = field(default_factory=list, compare=False)

    @contextlib.contextmanager
    def port_forward(self, target: str, remote_port: int, *, timeout: float = 60) -> Iterator[int]:
        self.forwards.append((target, remote_port))
        yield self.local_port


@pytest.mark.mongo
def test_pod_mongo_reads_and_restores_through_the_forward(
    mongo: MongoTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mongo_client(mongo) as c:
        c[mongo.database].users.insert_many([{"n": i, "email": f"u{i}@example.com"} for i in range(50)])
        c[mongo.database].users.create_index("email", unique=True, name="email_unique")
    dump = tmp_path / "local-dump"
    local = snapshot_mongo(mongo, dump, tools=LocalMongoTools(use_tools=False))
    assert local.fmt == "directory"

    # The pod sees the server at its own port; the forward maps that to the test server.
    in_pod = MongoTarget(mongo.uri, mongo.database)
    runner = FakeRunner()
    cluster = ForwardedAccess(KUBECONFIG, "jitera", runner, local_port=mongo.port())
    tools = PodMongoTools(cluster, "statefulset/jitera-mongodb")
    result = verify_mongo_snapshot(dump, in_pod, tools=tools)
    assert result.status is Status.VERIFIED, result.text()
    assert result.details["collections"] == 1
    assert result.details["documents"] == 50
    assert {target for target, _ in cluster.forwards} == {"statefulset/jitera-mongodb"}
    assert {port for _, port in cluster.forwards} == {in_pod.port()}

    # A snapshot through the pod: the statistics come over the forward, the dump from mongodump
    # in the pod (here the fake runner, which writes nothing).
    snap = snapshot_mongo(in_pod, tmp_path / "pod.archive", tools=tools)
    assert (snap.fmt, snap.tool) == ("archive", "mongodump")
    assert snap.tables == local.tables
    assert snap.schema.to_dict() == local.schema.to_dict()
    mongodump = runner.calls[-1]
    assert mongodump[mongodump.index("sh") + 4 :] == [
        "mongodump",
        f"--db={mongo.database}",
        "--archive",
        "--gzip",
        "--quiet",
    ]
