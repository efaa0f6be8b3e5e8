"""One way to run docker, kind, helm, kubectl, pg_dump and friends.

Every external command goes through :class:`Runner` so that a failure always shows the same
three things: a command line that can be pasted into a shell, the exit code and the tail of
the output, with secrets masked. Unit tests of pure logic may pass any object that satisfies
:class:`CommandRunner`; nothing else should call :mod:`subprocess` directly.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from pytest_jitera.activity import external
from pytest_jitera.errors import JiteraError, ToolError
from pytest_jitera.redact import redact

OUTPUT_TAIL_LINES = 40


@dataclass(frozen=True)
class Completed:
    """What a finished command left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def last_line(self) -> str:
        """The line a one-line status shows: the last of stderr (else stdout), or the exit code."""
        lines = (self.stderr or self.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit code {self.returncode}"


class RunError(JiteraError):
    """A command exited non-zero or timed out; the message is safe to print."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int | None,
        output: str,
        secrets: Iterable[str] = (),
        reason: str | None = None,
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        secrets = tuple(secrets)
        self.command_line = redact(shlex.join(self.argv), secrets)
        tail = "\n".join(output.rstrip().splitlines()[-OUTPUT_TAIL_LINES:])
        self.output = redact(tail, secrets)
        status = reason or f"exit code {returncode}"
        message = f"command failed ({status}): {self.command_line}"
        if self.output:
            message += "\n" + "\n".join("    " + line for line in self.output.splitlines())
        super().__init__(message)


class CommandRunner(Protocol):
    """The interface the library needs from a runner; fakes implement it in unit tests.

    Secret registration is part of the protocol, not an optional extra: a password found in a
    Secret by the datastore layer must be masked in the next helm or kubectl error as well, so
    every caller registers on the one runner every command goes through.
    """

    def add_secret(self, value: str | None) -> None: ...

    def spawn(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start a long-running command (port-forward, log follow); the caller ends it."""
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float | None = None,
        cwd: Path | None = None,
        stdout: IO[bytes] | None = None,
    ) -> Completed: ...


@dataclass
class Runner:
    """Runs commands for real.

    ``secrets`` holds values that must never appear in an error message (passwords read from
    chart values or Secrets are added as they are discovered). ``echo`` prints each command
    line, redacted, before it runs: long runbook steps should never be silent.
    """

    secrets: set[str] = field(default_factory=set)
    echo: bool = False
    log: IO[str] = field(default_factory=lambda: sys.stderr)
    # Names printed everywhere anyway (the release name): a password equal to one of them
    # hides nothing by being masked, and masking it would blank every object name instead.
    public: set[str] = field(default_factory=set)

    def add_secret(self, value: str | None) -> None:
        """Remember a value that must be masked wherever it would be printed."""
        if value and value not in self.public:
            self.secrets.add(value)

    def add_public(self, value: str) -> None:
        """Declare a name that is shown everywhere; it is never masked, and unmasked if it was."""
        self.public.add(value)
        self.secrets.discard(value)

    def spawn(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``argv`` with its output (stdout and stderr together) readable as text lines."""
        argv = [str(a) for a in argv]
        if self.echo:
            print(f"$ {redact(shlex.join(argv), self.secrets)} &", file=self.log, flush=True)
        try:
            return subprocess.Popen(
                argv,
                env={**os.environ, **env} if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
            )
        except FileNotFoundError as exc:
            raise ToolError(
                f"{argv[0]!r} was not found", hint="install it, or put it on PATH (or in --jitera-tools-dir)"
            ) from exc

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float | None = None,
        cwd: Path | None = None,
        stdout: IO[bytes] | None = None,
    ) -> Completed:
        """Run ``argv``; raise :class:`RunError` on failure when ``check`` is true.

        With ``stdout`` given the command's output is streamed straight into that binary file
        (dumps can be many gigabytes) and ``Completed.stdout`` is empty.
        """
        argv = [str(a) for a in argv]
        full_env = {**os.environ, **env} if env is not None else None
        if self.echo:
            print(f"$ {redact(shlex.join(argv), self.secrets)}", file=self.log, flush=True)
        started = time.monotonic()
        label = Path(argv[0]).name if argv else "command"
        with external(label):
            return self._run_recorded(argv, full_env, input, check, timeout, cwd, stdout, started)

    def _run_recorded(
        self,
        argv: list[str],
        full_env: dict[str, str] | None,
        input: str | None,
        check: bool,
        timeout: float | None,
        cwd: Path | None,
        stdout: IO[bytes] | None,
        started: float,
    ) -> Completed:
        """The body of :meth:`run`, inside its activity record."""
        try:
            if stdout is not None:
                proc_b = subprocess.run(
                    argv,
                    env=full_env,
                    input=input.encode() if input is not None else None,
                    stdout=stdout,
                    stderr=subprocess.PIPE,
                    timeout=timeout,
                    cwd=cwd,
                    check=False,
                )
                result = Completed(
                    tuple(argv),
                    proc_b.returncode,
                    "",
                    proc_b.stderr.decode(errors="replace"),
                    time.monotonic() - started,
                )
            else:
                proc = subprocess.run(
                    argv,
                    env=full_env,
                    input=input,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    timeout=timeout,
                    cwd=cwd,
                    check=False,
                )
                result = Completed(
                    tuple(argv),
                    proc.returncode,
                    proc.stdout,
                    proc.stderr,
                    time.monotonic() - started,
                )
        except FileNotFoundError as exc:
            raise ToolError(
                f"{argv[0]!r} was not found on PATH",
                hint="install it, or run `pytest-jitera bootstrap --air-gapped` on a host "
                "without registry access",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            out = _text(exc.stdout) + _text(exc.stderr)
            raise RunError(argv, None, out, self.secrets, reason=f"timed out after {timeout}s") from exc
        if check and result.returncode != 0:
            raise RunError(argv, result.returncode, result.stdout + result.stderr, self.secrets)
        return result


_SESSION: Runner | None = None


def session_runner() -> Runner:
    """The process's one runner, so a secret registered anywhere is masked everywhere.

    Library code that is not handed a runner uses this one; the pytest layer and the CLI use it
    too. Tests of pure logic pass a fake instead.
    """
    global _SESSION
    if _SESSION is None:
        _SESSION = Runner()
    return _SESSION


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
