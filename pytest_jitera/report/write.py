"""Write the report folder: ``summary.json`` for tools, ``index.html`` for people.

Both files are written to a temporary name in the same folder and renamed into place, so a
reader (a CI step, a browser refreshing the page, a second run writing the same folder) sees
either the previous complete file or the new complete file, never half of one. The report is
masked once, before either file is produced, so the two can never disagree about a secret.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pytest_jitera.report.html import render_html
from pytest_jitera.report.mask import mask_report
from pytest_jitera.report.model import RunReport

SUMMARY = "summary.json"
INDEX = "index.html"


def write_report(folder: Path, report: RunReport, *, secrets: Iterable[str] = ()) -> Path:
    """Write ``summary.json`` and ``index.html`` into ``folder``; return the page's path.

    ``secrets`` are values known to be secret (passwords from the profile, generated
    credentials); they are masked wherever they appear, on top of everything
    :mod:`pytest_jitera.redact` recognises by shape.
    """
    folder.mkdir(parents=True, exist_ok=True)
    masked = mask_report(report, secrets)
    # the page last: a reader that finds index.html can rely on summary.json being current
    _write_atomically(folder / SUMMARY, masked.to_json())
    return _write_atomically(folder / INDEX, render_html(masked))


def _write_atomically(target: Path, text: str) -> Path:
    """Replace ``target`` with ``text`` in one rename; no partial file is ever visible."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file private; the report is meant to be read by others
        temp.chmod(0o644)
        temp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return target
