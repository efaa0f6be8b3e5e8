"""Shared output helpers for subcommands: JSON goes to stdout, nothing else does."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any


def emit_json(data: Any) -> None:
    """Print ``data`` as stable, indented JSON on stdout."""
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def emit_lines(lines: Iterable[str]) -> None:
    """Write human output as whole lines: every line, the last included, ends with one newline.

    Shells, ``wc -l``, ``tail`` and line-based log collectors treat an unterminated last line
    as incomplete, so the terminator is written here rather than left to each caller.
    """
    for line in lines:
        sys.stdout.write(line.rstrip("\n") + "\n")
