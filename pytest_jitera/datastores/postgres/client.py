"""How the harness reaches a PostgreSQL server: one interface, two ways.

:class:`PgTools` is what the snapshot, restore and capture code needs: SQL that returns JSON,
single statements, ``pg_dump``, ``pg_restore`` and a dump taken together with its statistics.
:class:`LocalPgTools` runs the client tools on this machine against a server reachable from
here (loopback, a port-forward) and reads the catalogs with psycopg. :class:`PodPgTools` runs
them inside the database pod, the runbook's in-cluster path, through the cluster layer's
``kubectl exec`` prefix (:meth:`~pytest_jitera.cluster.access.ClusterAccess.exec_argv`).

Two constraints shape both: dumps can be far larger than memory, so they stream through pipes
and files and never through Python strings; and a password must not appear on any command
line (``ps`` and the Kubernetes audit log both show argv). Locally the password goes in
``PGPASSWORD``; in the pod it is the first line of the command's stdin, read into
``PGPASSWORD`` by a tiny shell prologue (see :mod:`pytest_jitera.datastores._inpod`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_jitera.datastores import _inpod
from pytest_jitera.datastores.connection import PgConnInfo
from pytest_jitera.datastores.postgres import connect as _connect
from pytest_jitera.datastores.postgres.connect import QueryJson, psycopg_query
from pytest_jitera.datastores.postgres.content import (
    capture_stats,
    capture_stats_parallel,
    exported_snapshot,
)
from pytest_jitera.datastores.postgres.schema import capture_pg_schema, server_info
from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.datastores.snapshot import Capture, Stats
from pytest_jitera.errors import DatastoreError
from pytest_jitera.runner import CommandRunner, Completed, RunError, session_runner

if TYPE_CHECKING:
    from pytest_jitera.cluster.access import ClusterAccess

# Inside the pod: take the password from the first stdin line, leave the rest of stdin (the
# dump, for pg_restore) to the real command.
POD_PROLOGUE = 'IFS= read -r PGPASSWORD; export PGPASSWORD; exec "$@"'


class PgTools(Protocol):
    """The PostgreSQL client tools and catalog queries, wherever they run."""

    @property
    def runner(self) -> CommandRunner:
        """The runner every tool goes through (and on which the passwords are registered)."""
        ...

    def query(self, conn: PgConnInfo) -> contextlib.AbstractContextManager[QueryJson]:
        """A :data:`QueryJson` on ``conn`` for the duration of the block."""
        ...

    def query_json(self, conn: PgConnInfo, sql: str) -> Any:
        """Run one query that returns one JSON value; return it decoded."""
        ...

    def execute(self, conn: PgConnInfo, statement: str) -> None:
        """Run one statement in autocommit (``CREATE DATABASE`` and friends)."""
        ...

    def drop_database(self, server: PgConnInfo, name: str) -> None:
        """Drop ``name`` on ``server``, disconnecting stragglers; a missing one is fine."""
        ...

    def pg_dump(
        self,
        conn: PgConnInfo,
        target: Path,
        *,
        fmt: str = "custom",
        jobs: int = 1,
        snapshot_id: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> Completed:
        """Dump ``conn.dbname`` to ``target`` (custom format is streamed into the file)."""
        ...

    def pg_restore(
        self,
        conn: PgConnInfo,
        source: Path,
        *,
        clean: bool = False,
        jobs: int = 1,
        no_owner: bool = False,
        exit_on_error: bool = True,
    ) -> Completed:
        """Restore the dump ``source`` into ``conn.dbname``."""
        ...

    def list_archive(self, source: Path) -> Completed:
        """``pg_restore --list``: read the archive's table of contents without a server."""
        ...

    def dump_and_capture(
        self,
        conn: PgConnInfo,
        dest: Path,
        *,
        fmt: str,
        jobs: int,
        stats_workers: int,
        timings: dict[str, float],
    ) -> Capture:
        """Dump ``conn.dbname`` and capture its server info, schema and table statistics."""
        ...

    def capture(self, conn: PgConnInfo, *, workers: int = 2) -> tuple[SchemaSnapshot, Stats]:
        """Schema and per-table statistics of a live database."""
        ...


# ----------------------------------------------------------------- shared command lines
def psql_argv(tool: str, conn: PgConnInfo, sql: str, *, json_out: bool) -> list[str]:
    """``psql`` running one statement; ``json_out`` prints a bare value (``-A -t``)."""
    flags = ["-X", "-A", "-t", "-q"] if json_out else ["-X", "-q"]
    return [tool, *conn.client_args(), "-d", conn.dbname, *flags, "-v", "ON_ERROR_STOP=1", "-c", sql]


def _dump_argv(tool: str, conn: PgConnInfo, snapshot_id: str | None, extra: tuple[str, ...]) -> list[str]:
    argv = [tool, *conn.client_args(), "-d", conn.dbname, *extra]
    return [*argv, f"--snapshot={snapshot_id}"] if snapshot_id else argv


def _restore_argv(
    tool: str, conn: PgConnInfo, *, clean: bool, no_owner: bool, exit_on_error: bool
) -> list[str]:
    argv = [tool, *conn.client_args(), "-d", conn.dbname]
    if clean:
        argv += ["--clean", "--if-exists"]
    if no_owner:
        argv += ["--no-owner", "--no-acl"]
    if exit_on_error:
        argv.append("--exit-on-error")
    return argv


EMPTY_ANSWER_ATTEMPTS = 3


def _decode(out: str) -> Any:
    text = out.strip()
    return json.loads(text) if text else None


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _unknown_format(fmt: str) -> DatastoreError:
    return DatastoreError(f"unknown dump format {fmt!r}", hint="use 'custom' or 'directory'")


def _list_archive(runner: CommandRunner, tool: str, source: Path) -> Completed:
    try:
        return runner.run([tool, "--list", str(source)])
    except RunError as exc:
        raise DatastoreError(f"pg_restore cannot read {source}: {exc.output}") from None


def _tool_error(conn: PgConnInfo, tool: str, exc: RunError) -> DatastoreError:
    text = exc.output
    name = Path(tool).name
    if "could not connect" in text or "Connection refused" in text or "timeout" in text:
        return DatastoreError(
            f"{name} could not reach PostgreSQL at {conn.host}:{conn.port} "
            f"(database {conn.dbname!r}, user {conn.user!r}): {text}",
            hint="check the host/port (port-forward or in-pod host), that the server is up, "
            "and the credentials in the chart values or Secret",
        )
    return DatastoreError(
        f"{name} failed against {conn.describe()}: {exc}",
        hint="read the tool output above; for restores check that the dump is complete",
    )


def _register(runner: CommandRunner, conn: PgConnInfo) -> None:
    for secret in conn.secrets():
        runner.add_secret(secret)


# ----------------------------------------------------------------- here
@dataclass(frozen=True)
class LocalPgTools:
    """Client tools on this machine (``bindir`` or ``PATH``), SQL through psycopg."""

    runner: CommandRunner = field(default_factory=session_runner)
    bindir: Path | None = None
    timeout: float | None = None

    def _tool(self, name: str) -> str:
        return str(self.bindir / name) if self.bindir else name

    def _run(self, conn: PgConnInfo, argv: Sequence[str], *, stdout_path: Path | None = None) -> Completed:
        _register(self.runner, conn)
        env = conn.client_env()
        try:
            if stdout_path is None:
                return self.runner.run(argv, env=env, timeout=self.timeout)
            with stdout_path.open("wb") as out:
                return self.runner.run(argv, env=env, stdout=out, timeout=self.timeout)
        except RunError as exc:
            raise _tool_error(conn, argv[0], exc) from None

    @contextlib.contextmanager
    def query(self, conn: PgConnInfo) -> Iterator[QueryJson]:
        """A psycopg connection, closed with the block."""
        with _connect.connected(conn) as c:
            yield psycopg_query(c)

    def query_json(self, conn: PgConnInfo, sql: str) -> Any:
        """One JSON value through psycopg."""
        with self.query(conn) as run:
            return run(sql)

    def execute(self, conn: PgConnInfo, statement: str) -> None:
        """One statement through psycopg, in autocommit."""
        _connect.execute(conn, statement)

    def drop_database(self, server: PgConnInfo, name: str) -> None:
        """``DROP DATABASE IF EXISTS ... WITH (FORCE)`` through psycopg."""
        _connect.drop_database(server, name)

    def pg_dump(
        self,
        conn: PgConnInfo,
        target: Path,
        *,
        fmt: str = "custom",
        jobs: int = 1,
        snapshot_id: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> Completed:
        """Custom format streams stdout into ``target``; directory format dumps in parallel."""
        argv = _dump_argv(self._tool("pg_dump"), conn, snapshot_id, extra)
        if fmt == "custom":
            return self._run(conn, [*argv, "-Fc"], stdout_path=target)
        if fmt == "directory":
            return self._run(conn, [*argv, "-Fd", f"-j{jobs}", "-f", str(target)])
        raise _unknown_format(fmt)

    def pg_restore(
        self,
        conn: PgConnInfo,
        source: Path,
        *,
        clean: bool = False,
        jobs: int = 1,
        no_owner: bool = False,
        exit_on_error: bool = True,
    ) -> Completed:
        """``pg_restore`` reading the file itself, with ``jobs`` parallel workers."""
        argv = _restore_argv(
            self._tool("pg_restore"), conn, clean=clean, no_owner=no_owner, exit_on_error=exit_on_error
        )
        if jobs > 1:
            argv.append(f"-j{jobs}")
        return self._run(conn, [*argv, str(source)])

    def list_archive(self, source: Path) -> Completed:
        """``pg_restore --list`` on this machine."""
        return _list_archive(self.runner, self._tool("pg_restore"), source)

    def dump_and_capture(
        self,
        conn: PgConnInfo,
        dest: Path,
        *,
        fmt: str,
        jobs: int,
        stats_workers: int,
        timings: dict[str, float],
    ) -> Capture:
        """Dump and per-table statistics at the same time, inside one exported snapshot.

        Both see exactly the same data even while the application keeps writing.
        """
        with exported_snapshot(conn) as (snap_id, query):
            info = server_info(query)
            t0 = time.monotonic()
            schema = capture_pg_schema(query, conn.dbname)
            timings["schema"] = time.monotonic() - t0
            stats_box: dict[str, Stats] = {}
            errors: list[BaseException] = []

            def stats() -> None:
                t1 = time.monotonic()
                try:
                    stats_box["s"] = capture_stats_parallel(conn, snapshot_id=snap_id, workers=stats_workers)
                except BaseException as exc:  # re-raised in the caller's thread
                    errors.append(exc)
                timings["stats"] = time.monotonic() - t1

            thread = threading.Thread(target=stats, name="jitera-pg-stats")
            thread.start()
            t2 = time.monotonic()
            try:
                self.pg_dump(conn, dest, fmt=fmt, jobs=jobs, snapshot_id=snap_id)
            finally:
                thread.join()
            timings["dump"] = time.monotonic() - t2
            if errors:
                raise errors[0]
        return _capture(fmt, info, schema, stats_box["s"])

    def capture(self, conn: PgConnInfo, *, workers: int = 2) -> tuple[SchemaSnapshot, Stats]:
        """Schema through psycopg, statistics over ``workers`` connections."""
        with self.query(conn) as query:
            schema = capture_pg_schema(query, conn.dbname)
        return schema, capture_stats_parallel(conn, workers=workers)


# ----------------------------------------------------------------- inside the pod
@dataclass(frozen=True)
class PodPgTools:
    """Client tools inside the database pod ``pod`` (``statefulset/x`` works too).

    The prefix comes from ``access.exec_argv`` and every command runs through
    ``access.runner`` with the access's tool environment. ``conn`` is the login as seen from
    inside the pod (usually ``127.0.0.1``). Directory-format dumps cannot be streamed out of a
    pod, and ``pg_restore`` reads the dump on stdin there, so it restores without parallel jobs.
    """

    access: ClusterAccess
    pod: str
    container: str | None = None
    timeout: float | None = None

    @property
    def runner(self) -> CommandRunner:
        """The cluster access's runner."""
        return self.access.runner

    def _in_pod(self, conn: PgConnInfo, argv: Sequence[str]) -> list[str]:
        """``kubectl exec -i <pod> -- env <non-secret libpq vars> sh -c <prologue> sh <argv>``."""
        env = {k: v for k, v in conn.client_env().items() if k != "PGPASSWORD"}
        pod_env = [f"{k}={v}" for k, v in sorted(env.items())]
        prefix = self.access.exec_argv(self.pod, container=self.container)
        return [*prefix, "env", *pod_env, "sh", "-c", POD_PROLOGUE, "sh", *argv]

    def _run(self, conn: PgConnInfo, argv: Sequence[str], *, stdout_path: Path | None = None) -> Completed:
        _register(self.runner, conn)
        full = self._in_pod(conn, argv)
        stdin = (conn.password or "") + "\n"
        env = dict(self.access.env)
        try:
            if stdout_path is None:
                return self.runner.run(full, env=env, input=stdin, timeout=self.timeout)
            with stdout_path.open("wb") as out:
                return self.runner.run(full, env=env, input=stdin, stdout=out, timeout=self.timeout)
        except RunError as exc:
            raise _tool_error(conn, argv[0], exc) from None

    def _run_feeding(self, conn: PgConnInfo, argv: Sequence[str], stdin_file: Path) -> Completed:
        """Stream ``stdin_file`` into ``argv`` in the pod, after the password line."""
        _register(self.runner, conn)
        feed = _inpod.feed_file_argv(stdin_file, self._in_pod(conn, argv))
        env = {**self.access.env, _inpod.FIRST_LINE_ENV: conn.password or ""}
        try:
            return self.runner.run(feed, env=env, timeout=self.timeout)
        except RunError as exc:
            raise _tool_error(conn, argv[0], exc) from None

    @contextlib.contextmanager
    def query(self, conn: PgConnInfo) -> Iterator[QueryJson]:
        """``psql`` in the pod, one process per query (no connection outlives a call)."""
        yield lambda sql: self.query_json(conn, sql)

    def query_json(self, conn: PgConnInfo, sql: str) -> Any:
        """One JSON value printed by ``psql -A -t`` in the pod.

        ``kubectl exec`` can end with exit code 0 and no output when the API server is busy,
        which reads exactly like SQL NULL. The queries here only read, so an empty answer is
        asked again (twice) before it is taken for NULL.
        """
        argv = psql_argv("psql", conn, sql, json_out=True)
        out = ""
        for _ in range(EMPTY_ANSWER_ATTEMPTS):
            out = self._run(conn, argv).stdout
            if out.strip():
                break
        return _decode(out)

    def execute(self, conn: PgConnInfo, statement: str) -> None:
        """One statement through ``psql`` in the pod."""
        self._run(conn, psql_argv("psql", conn, statement, json_out=False))

    def drop_database(self, server: PgConnInfo, name: str) -> None:
        """``DROP DATABASE IF EXISTS ... WITH (FORCE)`` through ``psql`` in the pod."""
        self.execute(server, f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")

    def pg_dump(
        self,
        conn: PgConnInfo,
        target: Path,
        *,
        fmt: str = "custom",
        jobs: int = 1,
        snapshot_id: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> Completed:
        """Custom format only: the pod's stdout is streamed into ``target``."""
        if fmt == "directory":
            raise DatastoreError(
                "directory-format dumps cannot be streamed out of a pod",
                hint="use fmt='custom' for in-cluster databases",
            )
        if fmt != "custom":
            raise _unknown_format(fmt)
        argv = _dump_argv("pg_dump", conn, snapshot_id, extra)
        return self._run(conn, [*argv, "-Fc"], stdout_path=target)

    def pg_restore(
        self,
        conn: PgConnInfo,
        source: Path,
        *,
        clean: bool = False,
        jobs: int = 1,
        no_owner: bool = False,
        exit_on_error: bool = True,
    ) -> Completed:
        """The dump is streamed over stdin; pg_restore cannot run parallel jobs from stdin."""
        argv = _restore_argv("pg_restore", conn, clean=clean, no_owner=no_owner, exit_on_error=exit_on_error)
        return self._run_feeding(conn, argv, source)

    def run_script(self, conn: PgConnInfo, script: Path) -> Completed:
        """A local SQL script streamed into ``psql`` in the pod, stopping at the first error.

        The way in for what ``pg_restore`` cannot stream: a directory-format dump is turned into
        a script on this machine and fed here.
        """
        argv = ["psql", *conn.client_args(), "-d", conn.dbname, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        return self._run_feeding(conn, [*argv, "-f", "-"], script)

    def list_archive(self, source: Path) -> Completed:
        """``pg_restore --list`` on this machine: the file is here, and no server is needed."""
        return _list_archive(self.runner, "pg_restore", source)

    def dump_and_capture(
        self,
        conn: PgConnInfo,
        dest: Path,
        *,
        fmt: str,
        jobs: int,
        stats_workers: int,
        timings: dict[str, float],
    ) -> Capture:
        """Schema, dump, then statistics, one after the other.

        ``kubectl exec`` gives no long-lived connection to share an exported snapshot over, so
        the figures match the dump only once writers are scaled down, as the runbook requires.
        """
        with self.query(conn) as query:
            info = server_info(query)
            t0 = time.monotonic()
            schema = capture_pg_schema(query, conn.dbname)
            timings["schema"] = time.monotonic() - t0
            t1 = time.monotonic()
            self.pg_dump(conn, dest, fmt=fmt)
            timings["dump"] = time.monotonic() - t1
            t2 = time.monotonic()
            tables = capture_stats(query)
            timings["stats"] = time.monotonic() - t2
        return _capture(fmt, info, schema, tables)

    def capture(self, conn: PgConnInfo, *, workers: int = 2) -> tuple[SchemaSnapshot, Stats]:
        """Schema and statistics through ``psql`` in the pod, serially (``workers`` unused)."""
        with self.query(conn) as query:
            return capture_pg_schema(query, conn.dbname), capture_stats(query)


def _capture(fmt: str, info: dict[str, Any], schema: SchemaSnapshot, tables: Stats) -> Capture:
    return Capture(
        fmt=fmt,
        tool="pg_dump",
        schema=schema,
        tables=tables,
        server_version=str(info["server_version"]),
        size_bytes=int(info["size_bytes"]),
    )
