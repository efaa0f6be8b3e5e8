"""Run pg_dump, pg_restore and psql either here or inside a database pod.

The runbook's in-cluster path is ``kubectl exec`` into the database pod. Two constraints shape
this module: dumps can be far larger than memory, so they stream through pipes and files and
never through Python strings; and a password must not appear on any command line (``ps`` and
the Kubernetes audit log both show argv). Locally the password goes in ``PGPASSWORD``; through
``kubectl exec`` it is written as the first line of the command's stdin and read into
``PGPASSWORD`` by a tiny shell prologue inside the pod.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_jitera.datastores.connection import PgConnInfo
from pytest_jitera.errors import DatastoreError
from pytest_jitera.runner import CommandRunner, Completed, RunError

# Inside the pod: take the password from the first stdin line, leave the rest of stdin (the
# dump, for pg_restore) to the real command.
_POD_PROLOGUE = 'IFS= read -r PGPASSWORD; export PGPASSWORD; exec "$@"'
# Here: feed the password line, then the dump file, into kubectl's stdin.
_LOCAL_FEED = 'set -o pipefail; f=$1; shift; { printf "%s\\n" "${PGPASSWORD-}"; cat -- "$f"; } | "$@"'


@dataclass(frozen=True)
class KubectlExec:
    """Where to ``kubectl exec``: the database pod and how to reach the cluster."""

    pod: str
    namespace: str = "default"
    container: str | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    kubectl: str = "kubectl"

    def prefix(self) -> list[str]:
        """``kubectl ... exec -i <pod> --`` up to the command to run in the pod."""
        argv = [self.kubectl]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        if self.context:
            argv += ["--context", self.context]
        argv += ["exec", "-i", "-n", self.namespace, self.pod]
        if self.container:
            argv += ["-c", self.container]
        return [*argv, "--"]


@dataclass
class PgClient:
    """The client tools, run locally (``exec_in=None``) or in a pod, always via the runner."""

    runner: CommandRunner
    exec_in: KubectlExec | None = None
    bindir: Path | None = None
    timeout: float | None = None
    _registered: set[str] = field(default_factory=set, repr=False)

    def _tool(self, name: str) -> str:
        return str(self.bindir / name) if self.bindir and self.exec_in is None else name

    def _register(self, conn: PgConnInfo) -> None:
        add = getattr(self.runner, "add_secret", None)
        for secret in conn.secrets():
            if callable(add) and secret not in self._registered:
                add(secret)
                self._registered.add(secret)

    def _wrap(self, conn: PgConnInfo, argv: list[str]) -> tuple[list[str], dict[str, str], str]:
        """Final argv, local env and stdin prologue for one tool invocation."""
        self._register(conn)
        if self.exec_in is None:
            return argv, conn.client_env(), ""
        env = {k: v for k, v in conn.client_env().items() if k != "PGPASSWORD"}
        pod_env = [f"{k}={v}" for k, v in sorted(env.items())]
        wrapped = [*self.exec_in.prefix(), "env", *pod_env, "sh", "-c", _POD_PROLOGUE, "sh"]
        return [*wrapped, *argv], {}, (conn.password or "") + "\n"

    def run(self, conn: PgConnInfo, argv: list[str], *, stdout_path: Path | None = None) -> Completed:
        """Run one client tool with the login applied; errors become :class:`DatastoreError`."""
        full, env, stdin = self._wrap(conn, argv)
        try:
            if stdout_path is not None:
                with stdout_path.open("wb") as out:
                    return self.runner.run(
                        full, env=env, input=stdin or None, stdout=out, timeout=self.timeout
                    )
            return self.runner.run(full, env=env, input=stdin or None, timeout=self.timeout)
        except RunError as exc:
            raise _tool_error(conn, argv[0], exc) from None

    def run_with_file(self, conn: PgConnInfo, argv: list[str], stdin_file: Path) -> Completed:
        """Run a tool that reads ``stdin_file`` on stdin, streamed, never loaded in memory."""
        if self.exec_in is None:
            return self.run(conn, [*argv, str(stdin_file)])
        full, _, _ = self._wrap(conn, argv)
        feed = ["bash", "-c", _LOCAL_FEED, "feed", str(stdin_file), *full]
        try:
            return self.runner.run(feed, env=conn.client_env(), timeout=self.timeout)
        except RunError as exc:
            raise _tool_error(conn, argv[0], exc) from None

    def query_json(self, conn: PgConnInfo, sql: str) -> Any:
        """Run a query that returns one JSON value, through psql (works inside pods)."""
        argv = [self._tool("psql"), *conn.client_args(), "-d", conn.dbname]
        argv += ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]
        out = self.run(conn, argv).stdout.strip()
        return json.loads(out) if out else None

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
        """Dump ``conn.dbname``; custom format streams stdout straight into ``target``."""
        argv = [self._tool("pg_dump"), *conn.client_args(), "-d", conn.dbname, *extra]
        if snapshot_id:
            argv.append(f"--snapshot={snapshot_id}")
        if fmt == "custom":
            return self.run(conn, [*argv, "-Fc"], stdout_path=target)
        if fmt == "directory":
            if self.exec_in is not None:
                raise DatastoreError(
                    "directory-format dumps cannot be streamed out of a pod",
                    hint="use fmt='custom' for in-cluster databases",
                )
            return self.run(conn, [*argv, "-Fd", f"-j{jobs}", "-f", str(target)])
        raise DatastoreError(f"unknown dump format {fmt!r}", hint="use 'custom' or 'directory'")

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
        """Restore into ``conn.dbname``; in a pod the dump is streamed over stdin."""
        argv = [self._tool("pg_restore"), *conn.client_args(), "-d", conn.dbname]
        if clean:
            argv += ["--clean", "--if-exists"]
        if no_owner:
            argv += ["--no-owner", "--no-acl"]
        if exit_on_error:
            argv.append("--exit-on-error")
        if self.exec_in is not None:
            # pg_restore cannot run parallel jobs from stdin.
            return self.run_with_file(conn, argv, source)
        if jobs > 1:
            argv.append(f"-j{jobs}")
        return self.run(conn, [*argv, str(source)])

    def list_archive(self, source: Path) -> Completed:
        """``pg_restore --list``: reads the archive's table of contents without a server."""
        try:
            return self.runner.run([self._tool("pg_restore"), "--list", str(source)])
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
