"""The ``pytest-jitera`` command: the runbook's checks without a test run.

Each subcommand lives in :mod:`pytest_jitera.commands` and exposes ``register(subparsers)``;
this module only assembles them and turns every bad input into ``error: ...`` and ``hint: ...``
on stderr and exit code 2 instead of a traceback: a :class:`JiteraError` from the work itself,
an unusable path caught while the arguments are parsed, and argparse's own complaints.

Bad paths are refused up front (see :mod:`pytest_jitera.config`'s checks) rather than by
catching ``OSError`` here: an ``OSError`` that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from pytest_jitera import __version__
from pytest_jitera.errors import JiteraError

# Subcommand modules under pytest_jitera.commands, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "plan",
    "diff",
    "classify",
    "build_reference",
    "reference_data",
    "bootstrap",
    "doctor",
    "report",
)

# How this program spells the options that shared code names by placeholder
# (pytest_jitera.errors.option); the plugin spells the same names --jitera-*.
CLI_OPTION_NAMES: dict[str, str] = {
    "from": "--from",
    "to": "--to",
    "direct": "--direct",
    "charts": "--charts",
    "values": "--values",
    "out": "--out",
    "release": "--release",
    "cache-dir": "--cache-dir",
}

# A process killed by SIGPIPE shows the shell 128 + 13. That is what `yes | head -1` or
# `cat big | head -1` report, and what `set -o pipefail` scripts already expect from a producer
# whose reader stopped early. Python ignores SIGPIPE (and restoring the default would also kill
# us on a closed socket or subprocess pipe mid-bootstrap), so main() catches the error on stdout
# and returns the same status itself. Not 0: the output *was* cut short.
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """argparse with the command's own error format; subparsers inherit it."""

    def error(self, message: str) -> NoReturn:
        """Report a usage mistake like every other bad input: error, hint, exit 2."""
        self.exit(2, f"error: {message}\nhint: see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    """Assemble the top-level parser from every registered subcommand module."""
    parser = _Parser(
        prog="pytest-jitera",
        description="Plan, analyse and rehearse Helm upgrades and rollbacks of Jitera Self-Hosted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"pytest_jitera.commands.{name}")
        module.register(subparsers)
    return parser


def _report(exc: JiteraError) -> None:
    message, hint = exc.render(CLI_OPTION_NAMES)
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


def _discard_stdout() -> None:
    """Point stdout at the null device, so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (an in-process caller)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    try:
        # Path options are checked while parsing; their OptionError is a JiteraError.
        args = parser.parse_args(argv)
        code: int = args.func(args)
        # Flush here, not at interpreter exit: a reader that went away (`| head -1`) must
        # surface inside this try, not as "Exception ignored ... BrokenPipeError".
        sys.stdout.flush()
    except JiteraError as exc:
        _report(exc)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":
    raise SystemExit(main())
