"""Keep secrets out of logs, error messages and reports.

Runbook steps pass passwords in DSNs, ``PGPASSWORD`` and ``--set credentials.*``; any of those
can end up in a command line we print on failure. Everything that leaves the process as text
goes through :func:`redact` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "*****"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    # scheme://user:password@host  (postgres, mongodb, redis, smtp, http)
    re.compile(r"(?P<keep>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)(?=@)"),
    # key=value and key: value where the key names a secret
    re.compile(
        r"(?P<keep>(?:[\w.-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)"
        r"[\w.-]*['\"]?)\s*[=:]\s*['\"]?)(?P<secret>[^\s'\",}]+)",
        re.IGNORECASE,
    ),
    # PEM blocks
    re.compile(
        r"(?P<keep>-----BEGIN [A-Z ]*PRIVATE KEY-----)(?P<secret>.*?)(?=-----END)",
        re.DOTALL,
    ),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secret values and anything shaped like a credential."""
    for value in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("keep") + MASK, text)
    return text
