"""The one place a report's text is masked, so summary.json and index.html cannot disagree.

Failure messages carry whatever the failing command printed: DSNs with passwords, a values
file echoed by Helm, a TLS key dumped by a misbehaving pod. Masking the report as data, before
either writer sees it, means no writer can forget a field and a new writer inherits the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pytest_jitera.redact import MASK, redact, redact_lines
from pytest_jitera.report.model import RunReport

# Closed vocabularies written by the harness itself, never free text: masking them could only
# turn a valid status into one the reader does not know (a secret that happens to be "patch").
# Named by where they sit (list positions left out), not by key alone: a rollback procedure's
# ``outcome`` is free text from the procedure and is masked, the run's ``outcome`` is not.
_VOCABULARY = frozenset(
    {
        ("format",),
        ("outcome",),
        ("steps", "status"),
        ("hops", "kind"),
        ("hops", "rollbacks", "steps", "verdict"),
        ("hops", "window", "steps", "verdict"),
    }
)

#: An unbroken run of this many base64/hex/token characters is data, not prose.
BLOB_LIMIT = 200
_BLOB = re.compile(rf"[\w.+/=-]{{{BLOB_LIMIT},}}")


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secret values and anything credential-shaped masked.

    :func:`redact` masks a PEM block only when its footer is present; :func:`redact_lines`
    also masks the body of a block whose footer was cut off (a message truncated by a tool),
    so both run.

    Encoded blobs are left out before the patterns run: redact's key=value pattern costs time
    quadratic in the length of a run of word characters, so one line of base64 (a dumped Helm
    release secret is hundreds of kilobytes on one line) would stall the report for hours. A
    blob is unreadable and often key material, so leaving it out also loses nothing a reader
    needs. Known secrets are replaced first, so a secret that straddles a blob's edge cannot
    be cut in two with one half left showing.
    """
    known = sorted({s for s in secrets if s}, key=len, reverse=True)
    text = _replace_known(text, known)
    text = _BLOB.sub(lambda m: f"[{len(m.group())} characters of encoded data left out]", text)
    return redact_lines(redact(text, known))


def _replace_known(text: str, secrets: list[str]) -> str:
    """Known values masked, longest first; the same length floor as :func:`redact`.

    Values shorter than three characters are left to :func:`redact` to refuse: masking every
    "a" in a message would make it unreadable and hide nothing.
    """
    for value in secrets:
        if len(value) >= 3:
            text = text.replace(value, MASK)
    return text


def mask_report(report: RunReport, secrets: Iterable[str] = ()) -> RunReport:
    """The same report with every free-text field masked."""
    known = tuple(secrets)
    return RunReport.from_dict(_mask_tree(report.to_dict(), known, where=()))


def _mask_tree(value: Any, secrets: tuple[str, ...], where: tuple[str, ...]) -> Any:
    """Walk JSON-shaped data and mask every string that is not harness vocabulary.

    Every string is masked unless its place is listed, so a field added later is masked
    without anyone having to remember to.
    """
    if isinstance(value, str):
        return value if where in _VOCABULARY else mask_text(value, secrets)
    if isinstance(value, dict):
        return {k: _mask_tree(v, secrets, (*where, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_tree(item, secrets, where) for item in value]
    return value
