"""How the harness reaches a MongoDB: one interface, two ways.

:class:`MongoTools` is what snapshots, restores and verifications need: a pymongo database to
read structure and content from (and drop), a dump, a restore. :class:`LocalMongoTools` talks
to a server reachable from here and runs ``mongodump``/``mongorestore`` on this machine when
they are installed, or writes and reads mongodump's folder layout with pymongo when they are
not. :class:`PodMongoTools` runs ``mongodump``/``mongorestore`` inside the database pod
through the cluster layer's ``kubectl exec`` prefix, the archive streamed between the pod and
a local file, and reads the database with pymongo through a port-forward.

The URI may hold a password, so it never reaches a command line: locally it is written to a
private mongo-tools ``--config`` file; in the pod it is the first line of stdin, which a shell
prologue turns into a config file that is unlinked before the tool starts and read by the tool
through an inherited file descriptor.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import bson
from pymongo.database import Database
from pymongo.errors import PyMongoError

from pytest_jitera.datastores import _inpod
from pytest_jitera.datastores.mongo.connect import MongoTarget, mongo_client
from pytest_jitera.datastores.mongo.dumpdir import restore_dump_directory, write_dump_directory
from pytest_jitera.errors import DatastoreError
from pytest_jitera.redact import redact
from pytest_jitera.runner import CommandRunner, RunError, session_runner

if TYPE_CHECKING:
    from pytest_jitera.cluster.access import ClusterAccess

# Inside the pod: the first stdin line is the URI as a JSON string (valid YAML); write it to a
# private file, open that on fd 3, unlink it, and let the tool read its config from fd 3. The
# rest of stdin (the archive, for mongorestore) is left to the tool.
POD_PROLOGUE = (
    "set -e; umask 077; IFS= read -r line; f=$(mktemp); "
    'printf \'uri: %s\\n\' "$line" > "$f"; exec 3< "$f"; rm -f -- "$f"; '
    'tool=$1; shift; exec "$tool" --config=/dev/fd/3 "$@"'
)


class MongoTools(Protocol):
    """mongodump, mongorestore and a pymongo view of the database, wherever they run."""

    @property
    def runner(self) -> CommandRunner:
        """The runner every tool goes through (and on which the URI's secrets are registered)."""
        ...

    def database(self, target: MongoTarget) -> contextlib.AbstractContextManager[Database[Any]]:
        """A connected pymongo database for the duration of the block."""
        ...

    def dump(self, target: MongoTarget, dest: Path) -> tuple[str, str]:
        """Dump ``target.database`` to ``dest``; return the layout and the tool that wrote it.

        The layout is ``archive`` (``mongodump --archive --gzip``, one file) or ``directory``
        (mongodump's folder layout).
        """
        ...

    def restore(self, dump: Path, target: MongoTarget, *, source_db: str, drop: bool = True) -> None:
        """Restore the ``source_db`` namespace of ``dump`` into ``target.database``."""
        ...


def find_mongo_tools(tools_dir: Path | None = None) -> Path | None:
    """Directory holding both mongodump and mongorestore, if any (``JITERA_MONGO_TOOLS_DIR``)."""
    candidates = [tools_dir] if tools_dir else []
    if os.environ.get("JITERA_MONGO_TOOLS_DIR"):
        candidates.append(Path(os.environ["JITERA_MONGO_TOOLS_DIR"]))
    found = shutil.which("mongodump")
    if found:
        candidates.append(Path(found).parent)
    for d in candidates:
        if (d / "mongodump").is_file() and (d / "mongorestore").is_file():
            return d
    return None


def restore_args(target: MongoTarget, source_db: str, *, drop: bool) -> list[str]:
    """The mongorestore flags that map ``source_db.*`` onto ``target.database.*``."""
    return [
        f"--nsInclude={source_db}.*",
        f"--nsFrom={source_db}.*",
        f"--nsTo={target.database}.*",
        *(["--drop"] if drop else []),
        "--numInsertionWorkersPerCollection=1",
        "--quiet",
    ]


def _register(runner: CommandRunner, target: MongoTarget) -> None:
    for secret in target.secrets():
        runner.add_secret(secret)


def _run_tool(
    runner: CommandRunner,
    target: MongoTarget,
    argv: Sequence[str],
    tool: str,
    *,
    env: dict[str, str] | None = None,
    input: str | None = None,
    stdout_path: Path | None = None,
    timeout: float | None = None,
) -> None:
    """Run one mongo-tools command; failures become a :class:`DatastoreError` without secrets."""
    _register(runner, target)
    try:
        if stdout_path is None:
            runner.run(argv, env=env, input=input, timeout=timeout)
        else:
            with stdout_path.open("wb") as out:
                runner.run(argv, env=env, input=input, stdout=out, timeout=timeout)
    except RunError as exc:
        raise DatastoreError(
            f"{tool} failed against {target.describe()}: {redact(str(exc), target.secrets())}",
            hint="check that the server is reachable and the dump is complete",
        ) from None


def _restore_directory(db_dir: Path, db: Database[Any], target: MongoTarget, *, drop: bool) -> None:
    """Restore with pymongo mongodump's folder layout, with a message safe to print."""
    if not db_dir.is_dir():
        raise DatastoreError(f"{db_dir.parent} has no {db_dir.name}/ directory", hint="is it a mongodump?")
    try:
        restore_dump_directory(db_dir, db, drop=drop)
    except (PyMongoError, bson.errors.BSONError, ValueError, KeyError) as exc:
        raise DatastoreError(
            f"restoring {db_dir} into {target.describe()} failed: {redact(str(exc)[:300], target.secrets())}",
            hint="the dump is damaged or incomplete; take a new snapshot",
        ) from None


# ----------------------------------------------------------------- here
@contextlib.contextmanager
def _tool_config(target: MongoTarget) -> Iterator[Path]:
    """mongo-tools ``--config`` file carrying the URI, so no credential reaches argv."""
    fd, name = tempfile.mkstemp(prefix="jitera-mongo-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("uri: " + json.dumps(target.uri) + "\n")
        yield Path(name)
    finally:
        os.unlink(name)


@dataclass(frozen=True)
class LocalMongoTools:
    """pymongo and, when installed, mongo-tools on this machine.

    ``use_tools`` decides between the two dump layouts: ``None`` uses mongo-tools when found
    (``tools_dir``, ``JITERA_MONGO_TOOLS_DIR``, ``PATH``), ``True`` requires them, ``False``
    never uses them (pymongo writes and reads mongodump's folder layout).
    """

    runner: CommandRunner = field(default_factory=session_runner)
    tools_dir: Path | None = None
    use_tools: bool | None = None
    timeout: float | None = None

    def _binaries(self) -> Path | None:
        if self.use_tools is False:
            return None
        found = find_mongo_tools(self.tools_dir)
        if self.use_tools and found is None:
            raise DatastoreError(
                "mongodump/mongorestore not found",
                hint="put them on PATH or set JITERA_MONGO_TOOLS_DIR (.ci/start-datastores.sh "
                "builds them from github.com/mongodb/mongo-tools)",
            )
        return found

    @contextlib.contextmanager
    def database(self, target: MongoTarget) -> Iterator[Database[Any]]:
        """A pymongo client straight to the target's hosts."""
        _register(self.runner, target)
        with mongo_client(target) as client:
            yield client[target.database]

    def dump(self, target: MongoTarget, dest: Path) -> tuple[str, str]:
        """``mongodump --archive=<dest> --gzip`` with mongo-tools, else the folder layout."""
        binaries = self._binaries()
        if binaries is None:
            with self.database(target) as db:
                write_dump_directory(db, dest)
            return "directory", "pymongo"
        with _tool_config(target) as cfg:
            argv = [
                str(binaries / "mongodump"),
                f"--config={cfg}",
                f"--db={target.database}",
                f"--archive={dest}",
                "--gzip",
                "--quiet",
            ]
            _run_tool(self.runner, target, argv, "mongodump", timeout=self.timeout)
        return "archive", "mongodump"

    def restore(self, dump: Path, target: MongoTarget, *, source_db: str, drop: bool = True) -> None:
        """An archive needs mongorestore; a folder is restored by either."""
        binaries = self._binaries()
        if dump.is_file():
            if binaries is None:
                raise DatastoreError(
                    f"{dump} is a mongodump archive and mongorestore is not available",
                    hint="install mongo-tools or set JITERA_MONGO_TOOLS_DIR",
                )
            source = [f"--archive={dump}", "--gzip"]
        else:
            if not (dump / source_db).is_dir():
                raise DatastoreError(f"{dump} has no {source_db}/ directory", hint="is it a mongodump?")
            source = [f"--dir={dump}"]
        if binaries is None:
            with self.database(target) as db:
                _restore_directory(dump / source_db, db, target, drop=drop)
            return
        # Connect first: "cannot reach MongoDB at host:port" reads better than mongorestore's.
        with self.database(target), _tool_config(target) as cfg:
            argv = [
                str(binaries / "mongorestore"),
                f"--config={cfg}",
                *source,
                *restore_args(target, source_db, drop=drop),
            ]
            _run_tool(self.runner, target, argv, "mongorestore", timeout=self.timeout)


# ----------------------------------------------------------------- inside the pod
@dataclass(frozen=True)
class PodMongoTools:
    """mongo-tools inside the database pod ``pod`` (``statefulset/x`` works too).

    ``target`` URIs are as seen from inside the pod (``mongodb://user:pw@127.0.0.1:27017``).
    The tools' prefix comes from ``access.exec_argv`` and every command runs through
    ``access.runner``; :meth:`database` reaches the same server with pymongo through
    ``access.port_forward`` to the pod and the URI's port. Archives stream both ways; a
    folder-layout dump is restored with pymongo through the port-forward.
    """

    access: ClusterAccess
    pod: str
    container: str | None = None
    timeout: float | None = None

    @property
    def runner(self) -> CommandRunner:
        """The cluster access's runner."""
        return self.access.runner

    def in_pod(self, tool: str, *args: str) -> list[str]:
        """``kubectl exec -i <pod> -- sh -c <prologue> sh <tool> <args>``."""
        prefix = self.access.exec_argv(self.pod, container=self.container)
        return [*prefix, "sh", "-c", POD_PROLOGUE, "sh", tool, *args]

    @contextlib.contextmanager
    def database(self, target: MongoTarget) -> Iterator[Database[Any]]:
        """A pymongo client through a port-forward to the pod, closed with the block."""
        _register(self.runner, target)
        forward = self.pod if "/" in self.pod else f"pod/{self.pod}"
        with self.access.port_forward(forward, target.port()) as port:
            local = target.through_port(port)
            with mongo_client(local) as client:
                yield client[target.database]

    def dump(self, target: MongoTarget, dest: Path) -> tuple[str, str]:
        """``mongodump --archive --gzip`` in the pod, its stdout streamed into ``dest``."""
        argv = self.in_pod("mongodump", f"--db={target.database}", "--archive", "--gzip", "--quiet")
        _run_tool(
            self.runner,
            target,
            argv,
            "mongodump",
            env=dict(self.access.env),
            input=_config_line(target) + "\n",
            stdout_path=dest,
            timeout=self.timeout,
        )
        return "archive", "mongodump"

    def restore(self, dump: Path, target: MongoTarget, *, source_db: str, drop: bool = True) -> None:
        """An archive is streamed into ``mongorestore --archive --gzip`` in the pod."""
        if dump.is_dir():
            with self.database(target) as db:
                _restore_directory(dump / source_db, db, target, drop=drop)
            return
        argv = self.in_pod("mongorestore", "--archive", "--gzip", *restore_args(target, source_db, drop=drop))
        env = {**self.access.env, _inpod.FIRST_LINE_ENV: _config_line(target)}
        _run_tool(
            self.runner,
            target,
            _inpod.feed_file_argv(dump, argv),
            "mongorestore",
            env=env,
            timeout=self.timeout,
        )


def _config_line(target: MongoTarget) -> str:
    """The URI as a JSON string: one line, and valid YAML for the prologue's config file."""
    return json.dumps(target.uri)
