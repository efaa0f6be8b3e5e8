"""Feed a local file, after one secret line, into a command that runs inside a pod.

A datastore tool inside a database pod is reached with ``kubectl exec -i``, whose stdin is the
only channel that neither ``ps`` nor the API server's audit log shows. So the secret (a
PostgreSQL password, a MongoDB URI) travels as the first line of stdin and a tiny shell
prologue inside the pod reads it; when the tool also reads a dump on stdin (pg_restore,
mongorestore) the dump follows that line, streamed from disk by ``cat`` and never held in
memory. The secret reaches the local feeding shell in its environment, never on its argv.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

FIRST_LINE_ENV = "JITERA_FIRST_LINE"
"""Environment variable holding the line the local feed writes before the file."""

_FEED = 'set -o pipefail; f=$1; shift; { printf "%s\\n" "${' + FIRST_LINE_ENV + '-}"; cat -- "$f"; } | "$@"'


def feed_file_argv(stdin_file: Path, argv: Sequence[str]) -> list[str]:
    """``bash`` that writes ``$JITERA_FIRST_LINE``, then ``stdin_file``, into ``argv``'s stdin."""
    return ["bash", "-c", _FEED, "feed", str(stdin_file), *argv]
