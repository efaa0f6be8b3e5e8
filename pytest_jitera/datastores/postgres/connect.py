"""Open psycopg connections that fail with a useful, password-free message.

psycopg's own ``OperationalError`` text is usually safe, but it is not guaranteed to be (a
DSN echoed by a pooler, a password in a libpq error), so the message is built from the parts
we know and passed through :func:`~pytest_jitera.redact.redact` anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from pytest_jitera.datastores.connection import PgConnInfo
from pytest_jitera.errors import DatastoreError
from pytest_jitera.redact import redact

QueryJson = Callable[[str], Any]
"""Runs SQL that yields exactly one JSON value and returns it decoded."""


def connect(conn: PgConnInfo, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """Connect or raise :class:`DatastoreError` naming host and port but no password."""
    try:
        return psycopg.connect(
            host=conn.host,
            port=conn.port,
            dbname=conn.dbname,
            user=conn.user,
            password=conn.password,
            sslmode=conn.sslmode or "prefer",
            connect_timeout=10,
            autocommit=autocommit,
            application_name="pytest-jitera",
        )
    except psycopg.OperationalError as exc:
        detail = redact(str(exc).strip(), conn.secrets())
        raise DatastoreError(
            f"cannot connect to PostgreSQL at {conn.host}:{conn.port} "
            f"(database {conn.dbname!r}, user {conn.user!r}): {detail}",
            hint="is the server running and reachable from here (port-forward for in-cluster "
            "databases)? are the credentials from the chart values or Secret current?",
        ) from None


@contextmanager
def connected(conn: PgConnInfo) -> Iterator[psycopg.Connection[Any]]:
    """:func:`connect` as a context manager that always closes."""
    c = connect(conn)
    try:
        yield c
    finally:
        c.close()


def psycopg_query(c: psycopg.Connection[Any]) -> QueryJson:
    """A :data:`QueryJson` over an open psycopg connection."""

    def run(query: str) -> Any:
        with c.cursor() as cur:
            cur.execute(query.encode())
            row = cur.fetchone()
        return None if row is None else row[0]

    return run


def execute(conn: PgConnInfo, statement: str | sql.Composed) -> None:
    """Run one statement in autocommit; server errors become :class:`DatastoreError`."""
    with connected(conn) as c:
        try:
            c.execute(statement.encode() if isinstance(statement, str) else statement)
        except psycopg.Error as exc:
            raise DatastoreError(
                f"{conn.describe()}: {redact(str(exc).strip(), conn.secrets())}",
                hint="read the server's message above",
            ) from None


def create_database(conn: PgConnInfo, name: str) -> None:
    """``CREATE DATABASE name TEMPLATE template0`` via the maintenance database ``conn``."""
    execute(conn, sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))


def drop_database(conn: PgConnInfo, name: str) -> None:
    """Drop ``name``, disconnecting stragglers (a scratch database must never linger)."""
    with connected(conn) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(conn: PgConnInfo, name: str) -> bool:
    """Whether ``name`` exists on the server of ``conn``."""
    with connected(conn) as c:
        row = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None
