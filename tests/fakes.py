"""One fake command runner for unit tests of pure logic (never for an issue's claim)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pytest_jitera.runner import Completed, RunError

# A rule looks at a command line and answers (exit code, stdout), or None to pass.
Rule = Callable[[list[str]], tuple[int, str] | None]


@dataclass(frozen=True)
class Invocation:
    """One recorded call with what the code under test passed besides the command line."""

    argv: tuple[str, ...]
    env: Mapping[str, str] | None
    input: str | None

    def __iter__(self) -> Iterator[Any]:
        """Unpack as ``argv, env, stdin``."""
        return iter((self.argv, self.env, self.input))


class FakeRunner:
    """Records calls; the first rule that answers a command decides its result (default: ok)."""

    def __init__(self, *rules: Rule) -> None:
        self.rules = list(rules)
        self.calls: list[list[str]] = []
        self.invocations: list[Invocation] = []
        self.secrets: set[str] = set()

    def add_secret(self, value: str | None) -> None:
        if value:
            self.secrets.add(value)

    def spawn(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        raise NotImplementedError("the fake runner does not start background processes")

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
        argv = [str(a) for a in argv]
        self.calls.append(argv)
        self.invocations.append(Invocation(tuple(argv), env, input))
        code, out = 0, ""
        for rule in self.rules:
            answer = rule(argv)
            if answer is not None:
                code, out = answer
                break
        if check and code != 0:
            raise RunError(argv, code, out)
        return Completed(tuple(argv), code, out, "" if code == 0 else "failed", 0.0)

    def commands(self, *prefix: str) -> list[list[str]]:
        return [c for c in self.calls if c[: len(prefix)] == list(prefix)]


def by_executable(answers: Mapping[str, tuple[int, str]]) -> Rule:
    """Answer by the program path; unknown programs exit 127 like a shell would."""
    return lambda argv: answers.get(argv[0], (127, ""))
