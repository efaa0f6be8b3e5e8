"""Connection details from values and Secrets, and command construction: no server needed."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pytest_jitera.datastores import (
    LocalPgTools,
    MongoTarget,
    PgConnInfo,
    pg_conninfo_from_secret,
    pg_conninfo_from_values,
)
from pytest_jitera.errors import DatastoreError
from tests.fakes import FakeRunner

PW = "s3cr3t-Pa55word"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_dsn_parsing_and_password_never_in_repr_or_describe() -> None:
    info = PgConnInfo.from_dsn(f"postgresql://jitera:{PW}@db.internal:6543/automation")
    assert (info.host, info.port, info.dbname, info.user) == ("db.internal", 6543, "automation", "jitera")
    assert PW not in repr(info)
    assert PW not in info.describe()
    assert PW not in " ".join(info.client_args())
    assert info.client_env()["PGPASSWORD"] == PW
    assert PgConnInfo.from_dsn(info.dsn()) == info


def test_values_sections_under_several_spellings() -> None:
    values = {
        "externalPostgres": {
            "host": "pg",
            "port": "5433",
            "database": "jitera",
            "username": "app",
            "password": PW,
        },
        "externalPgvector": {"hostname": "vec", "db": "vectors", "user": "v"},
    }
    pg = pg_conninfo_from_values(values)
    assert (pg.host, pg.port, pg.dbname, pg.user, pg.password) == ("pg", 5433, "jitera", "app", PW)
    vec = pg_conninfo_from_values(values, "externalPgvector")
    assert (vec.host, vec.port, vec.dbname, vec.user, vec.password) == ("vec", 5432, "vectors", "v", None)


def test_values_errors_name_the_key_to_set() -> None:
    with pytest.raises(DatastoreError, match="no 'externalPostgres' section"):
        pg_conninfo_from_values({})
    with pytest.raises(DatastoreError, match=r"externalPostgres\.port is not a TCP port"):
        pg_conninfo_from_values({"externalPostgres": {"host": "h", "port": "x"}})


def test_secret_data_is_base64_decoded_and_overlays_values() -> None:
    secret = {
        "metadata": {"name": "jitera-postgres"},
        "data": {"postgres-password": b64(PW), "username": b64("owner")},
        "stringData": {"port": "7000"},
    }
    base = pg_conninfo_from_values({"externalPostgres": {"host": "pg", "database": "jitera"}})
    info = pg_conninfo_from_secret(secret, defaults=base)
    assert (info.host, info.port, info.dbname, info.user, info.password) == (
        "pg",
        7000,
        "jitera",
        "owner",
        PW,
    )
    custom = pg_conninfo_from_secret(
        {"data": {"DB_PASS": b64("other")}}, defaults=base, keys={"password": "DB_PASS"}
    )
    assert custom.password == "other"


def test_bad_base64_in_secret_is_a_datastore_error() -> None:
    with pytest.raises(DatastoreError, match="not valid base64"):
        pg_conninfo_from_secret({"data": {"password": "%%%"}})


def test_local_tools_get_password_via_env_only(tmp_path: Path) -> None:
    runner = FakeRunner()
    conn = PgConnInfo("db", 5432, "jitera", "app", PW)
    LocalPgTools(runner).pg_restore(conn, tmp_path / "x.dump", clean=True, jobs=4)
    argv, env, stdin = runner.invocations[0]
    assert PW not in " ".join(argv)
    assert env is not None
    assert env["PGPASSWORD"] == PW
    assert stdin is None
    assert {"--clean", "--if-exists", "--exit-on-error", "-j4"} <= set(argv)
    assert PW in runner.secrets


def test_mongo_target_hides_credentials() -> None:
    t = MongoTarget(f"mongodb://root:{PW}@mongo-0.mongo:27017/?authSource=admin", "jitera")
    assert PW not in repr(t)
    assert t.describe() == "mongodb://mongo-0.mongo:27017/jitera"
    assert PW in t.secrets()
