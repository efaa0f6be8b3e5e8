"""Passwords never reach exception text, logs, command lines or JSON reports."""

from __future__ import annotations

import io
import logging
import socket
from pathlib import Path

import pytest

from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.datastores import (
    LocalPgTools,
    MongoTarget,
    PgConnInfo,
    PodPgTools,
    find_restore_leftovers,
    findings_to_json,
    snapshot_mongo,
    snapshot_postgres,
    verify_postgres_snapshot,
)
from pytest_jitera.datastores.postgres.connect import connect
from pytest_jitera.errors import DatastoreError, JiteraError
from pytest_jitera.runner import Runner

PW = "Kn0wn-Pa55w0rd-XYZ"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert PW not in text


def error_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), str(exc.__cause__ or ""), str(exc.__context__ or "")]


def test_unreachable_postgres_names_host_and_port_not_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log = io.StringIO()
    port = closed_port()
    conn = PgConnInfo("127.0.0.1", port, "jitera", "app", PW)
    with pytest.raises(DatastoreError) as direct:
        connect(conn)
    with pytest.raises(JiteraError) as via_snapshot:
        snapshot_postgres(conn, tmp_path / "x.dump", tools=LocalPgTools(Runner(echo=True, log=log)))
    for exc in (direct.value, via_snapshot.value):
        assert f"127.0.0.1:{port}" in str(exc)
        assert exc.hint
        assert_clean(*error_texts(exc))
    assert_clean(log.getvalue(), caplog.text)


@pytest.mark.postgres
def test_failing_pg_dump_with_known_password_leaks_nowhere(
    jitera_test_postgres: PgConnInfo,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    log = io.StringIO()
    runner = Runner(echo=True, log=log)
    wrong = PgConnInfo(
        jitera_test_postgres.host, jitera_test_postgres.port, "postgres", jitera_test_postgres.user, PW
    )
    local = LocalPgTools(runner)
    with pytest.raises(DatastoreError) as dump_err:
        local.pg_dump(wrong, tmp_path / "x.dump")
    # Through a (fake) kubectl exec as well: the password rides on stdin there.
    shim = tmp_path / "kubectl"
    shim.write_text('#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done; shift; exec "$@"\n')
    shim.chmod(0o755)
    access = ClusterAccess(tmp_path / "kubeconfig", "jitera", runner, kubectl_bin=str(shim))
    pod = PodPgTools(access, "pg-0")
    with pytest.raises(DatastoreError) as pod_err:
        pod.pg_dump(wrong, tmp_path / "y.dump")
    assert "password authentication failed" in str(pod_err.value)
    out, err = capfd.readouterr()
    for exc in (dump_err.value, pod_err.value):
        assert_clean(*error_texts(exc))
    assert_clean(log.getvalue(), caplog.text, out, err)
    assert PW in runner.secrets  # registered for masking


@pytest.mark.postgres
def test_reports_and_manifests_never_hold_the_password(
    jitera_test_postgres: PgConnInfo, pg_db: PgConnInfo, tmp_path: Path
) -> None:
    assert jitera_test_postgres.password
    secret = jitera_test_postgres.password
    dump = tmp_path / "s.dump"
    snap = snapshot_postgres(pg_db, dump)
    result = verify_postgres_snapshot(dump, jitera_test_postgres)
    bad = tmp_path / "bad.dump"
    bad.write_bytes(dump.read_bytes()[:100])
    (tmp_path / "bad.dump.manifest.json").write_text(snap.manifest_path.read_text())
    unverifiable = verify_postgres_snapshot(bad, jitera_test_postgres)
    findings = find_restore_leftovers(snap.schema, snap.schema)
    for text in (
        snap.manifest_path.read_text(),
        result.to_json(),
        unverifiable.to_json(),
        unverifiable.text(),
        findings_to_json(findings),
        repr(snap),
    ):
        assert secret not in text


def test_unreachable_mongo_hides_credentials(tmp_path: Path) -> None:
    port = closed_port()
    target = MongoTarget(f"mongodb://root:{PW}@127.0.0.1:{port}/?authSource=admin", "jitera")
    with pytest.raises(DatastoreError) as err:
        snapshot_mongo(target, tmp_path / "m")
    assert f"127.0.0.1:{port}" in str(err.value)
    assert_clean(*error_texts(err.value), repr(target))
