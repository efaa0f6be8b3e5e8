"""The ``pytest-jitera`` command: the runbook's checks without a test run.

Each subcommand lives in :mod:`pytest_jitera.commands` and exposes ``register(subparsers)``;
this module only assembles them and turns :class:`JiteraError` into a two-line message and
exit code 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pytest_jitera import __version__
from pytest_jitera.errors import JiteraError

# Subcommand modules under pytest_jitera.commands, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "plan",
    "diff",
    "classify",
    "build_reference",
    "bootstrap",
)


def build_parser() -> argparse.ArgumentParser:
    """Assemble the top-level parser from every registered subcommand module."""
    parser = argparse.ArgumentParser(
        prog="pytest-jitera",
        description="Plan, analyse and rehearse Helm upgrades and rollbacks of Jitera Self-Hosted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"pytest_jitera.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except JiteraError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
