"""Studio mirrors automation's health; ultron refuses a stale Automation schema."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from pytest_jitera.reference import REFERENCE_ROOT
from pytest_jitera.waiting import Observation, wait_for

from ._support import query, scratch_database

STUDIO = REFERENCE_ROOT / "app" / "studio" / "studio.py"
ULTRON = REFERENCE_ROOT / "app" / "ultron" / "ultron.py"
# Ultron runs on Debian's python3 with python3-psycopg2/python3-pymongo, as in its image.
SYSTEM_PYTHON = "/usr/bin/python3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def fake_automation(status: int) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str) -> int:
    def probe() -> Observation[int]:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return Observation.ready(int(response.status))
        except urllib.error.HTTPError as exc:
            return Observation.ready(exc.code)
        except OSError as exc:
            return Observation.pending(f"no answer ({exc})")

    return wait_for(f"GET {url}", probe, timeout=15, interval=0.2)


@pytest.mark.parametrize(("automation_status", "studio_status"), [(200, 200), (503, 503)])
def test_studio_answers_200_only_while_automation_is_healthy(
    automation_status: int, studio_status: int
) -> None:
    port = _free_port()
    with fake_automation(automation_status) as url:
        env = {**os.environ, "AUTOMATION_URL": url, "PORT": str(port)}
        proc = subprocess.Popen(["python3", str(STUDIO)], env=env, stderr=subprocess.DEVNULL)
        try:
            assert _get(f"http://127.0.0.1:{port}/") == studio_status
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _ultron_python() -> str:
    check = None
    if Path(SYSTEM_PYTHON).exists():
        check = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import psycopg2, pymongo"], capture_output=True, check=False
        )
    if check is None or check.returncode != 0:
        pytest.skip("Debian python3-psycopg2/python3-pymongo missing: run .ci/install-ruby.sh")
    return SYSTEM_PYTHON


@pytest.mark.postgres
def test_ultron_exits_3_while_the_automation_schema_is_behind(admin_dsn: str) -> None:
    python = _ultron_python()
    with scratch_database(admin_dsn) as dsn:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dsn.rsplit("/", 1)[1]}"')
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_migrations (version varchar PRIMARY KEY)")
            conn.execute("INSERT INTO schema_migrations VALUES ('20240601000002')")
        assert query(dsn, "SELECT count(*) FROM schema_migrations") == [(1,)]
        env = {
            "AUTOMATION_SCHEMA_VERSION": "20240701000003",
            "AUTOMATION_DATABASE_URL": dsn,
            "PGVECTOR_DATABASE_URL": dsn,
            "MONGODB_URI": "mongodb://127.0.0.1:1/",
            "JITERA_RELEASE": "v24.07.01",
        }
        done = subprocess.run(
            [python, str(ULTRON)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 3, done.stderr
        assert "needs 20240701000003" in done.stderr


@pytest.mark.postgres
@pytest.mark.mongo
def test_ultron_starts_on_a_current_schema(admin_dsn: str) -> None:
    mongo_uri = os.environ.get("JITERA_TEST_MONGO_URI")
    if not mongo_uri:
        pytest.skip("JITERA_TEST_MONGO_URI is not set (a MongoDB-wire server, e.g. FerretDB)")
    python = _ultron_python()
    port = _free_port()
    with scratch_database(admin_dsn) as dsn:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dsn.rsplit("/", 1)[1]}"')
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_migrations (version varchar PRIMARY KEY)")
            conn.execute("INSERT INTO schema_migrations VALUES ('20240701000003')")
        env = {
            "AUTOMATION_SCHEMA_VERSION": "20240701000003",
            "AUTOMATION_DATABASE_URL": dsn,
            "PGVECTOR_DATABASE_URL": dsn,
            "MONGODB_URI": mongo_uri,
            "MONGODB_DATABASE": "jitera_ref_test",
            "JITERA_RELEASE": "v24.07.01",
            "PORT": str(port),
        }
        proc = subprocess.Popen([python, str(ULTRON)], env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert _get(f"http://127.0.0.1:{port}/healthz") == 200
            assert query(dsn, "SELECT count(*) FROM ultron_embeddings") == [(0,)]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
