"""Ultron: a service that depends on the Automation schema, PGVector and MongoDB.

At start it compares the newest ``schema_migrations`` version of the Automation database with
the version its chart expects (``AUTOMATION_SCHEMA_VERSION``) and exits 3 when the schema is
behind: a failed or skipped migration hook then shows up as a crash-looping pod, as the
runbook describes. Otherwise it prepares its PGVector table and MongoDB collection and serves
``/healthz``.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg2  # type: ignore[import-untyped,import-not-found,unused-ignore]
import pymongo

EXIT_SCHEMA_BEHIND = 3


def automation_schema_version(dsn: str) -> str | None:
    """Newest applied Automation migration, or None before the first migration ran."""
    conn: Any = psycopg2.connect(dsn, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return None
            cur.execute("SELECT max(version) FROM schema_migrations")
            row = cur.fetchone()
            return str(row[0]) if row and row[0] else None
    finally:
        conn.close()


def prepare_vectors(dsn: str) -> str:
    """Create the embeddings table; pgvector if the server has it, float8[] otherwise.

    Debian bookworm ships no pgvector, so the air-gapped PGVector database is plain PostgreSQL.
    """
    conn: Any = psycopg2.connect(dsn, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            kind = "vector(3)" if cur.fetchone() else "float8[]"
            if kind.startswith("vector"):
                cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
            cur.execute(
                "CREATE TABLE IF NOT EXISTS ultron_embeddings "
                f"(id bigserial PRIMARY KEY, project_id bigint, embedding {kind})"
            )
        return kind
    finally:
        conn.close()


def record_start(uri: str, database: str, release: str) -> None:
    """Write a start event so MongoDB backups and restores have something to carry."""
    client: Any = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        client[database]["ultron_events"].insert_one(
            {"event": "start", "release": release, "at": dt.datetime.now(dt.timezone.utc)}
        )
    finally:
        client.close()


def main() -> int:
    """Check the schema, prepare the stores, then serve until killed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # PID 1 ignores SIGTERM otherwise
    expected = os.environ.get("AUTOMATION_SCHEMA_VERSION", "")
    automation_dsn = os.environ["AUTOMATION_DATABASE_URL"]
    release = os.environ.get("JITERA_RELEASE", "unknown")
    actual = automation_schema_version(automation_dsn)
    if expected and (actual is None or actual < expected):
        print(
            f"ultron {release}: Automation schema is at {actual or 'nothing'}, "
            f"this release needs {expected}; has the migration hook run?",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_SCHEMA_BEHIND
    vector_kind = prepare_vectors(os.environ["PGVECTOR_DATABASE_URL"])
    record_start(os.environ["MONGODB_URI"], os.environ.get("MONGODB_DATABASE", "jitera"), release)
    print(f"ultron {release}: schema {actual}, embeddings as {vector_kind}", flush=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
            status = 200 if self.path == "/healthz" else 404
            body = b"ok\n" if status == 200 else b"not found\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
