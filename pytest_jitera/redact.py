"""Keep secrets out of logs, error messages and reports.

Runbook steps pass passwords in DSNs, ``PGPASSWORD`` and ``--set credentials.*``; any of those
can end up in a command line we print on failure. Everything that leaves the process as text
goes through :func:`redact` first.

Chart values need the same care: a chart's ``values.yaml`` ships default credentials and a
user's override file holds the real ones, and both are printed by the chart diff. The one
definition of a secret-looking key (:data:`SECRET_KEY`, :func:`is_secret_key`) lives here so
that release-state snapshots, chart diffs and free-text redaction can never disagree about
what must not be shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "*****"

# Words that make a key name a secret wherever they appear in it. ``pem`` catches keys such
# as ``tlsPem`` whose value is key material even when no PEM header survived templating.
_SECRET_WORDS = r"password|passwd|secret|token|api[_-]?key|private[_-]?key|pem"

#: A single key name (one segment of a dotted key) that names a secret.
SECRET_KEY: re.Pattern[str] = re.compile(rf"^credentials$|{_SECRET_WORDS}", re.IGNORECASE)

# The header of any PEM block: private keys, certificates, CSRs alike.
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")

_PATTERNS: tuple[re.Pattern[str], ...] = (
    # scheme://user:password@host  (postgres, mongodb, redis, smtp, http)
    re.compile(r"(?P<keep>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)(?=@)"),
    # key=value and key: value where the key names a secret; the value stays on the key's
    # line, so that "password:" opening a YAML block does not mask the next line's key, and
    # a template reference ({{ .Values.x }}) is left readable because it holds no secret.
    re.compile(
        rf"(?P<keep>(?:[\w.-]*(?:{_SECRET_WORDS})[\w.-]*['\"]?)[ \t]*[=:][ \t]*['\"]?)"
        r"(?!\{\{)(?P<secret>[^\s'\",}]+)",
        re.IGNORECASE,
    ),
    # PEM blocks: everything between the header and the footer.
    re.compile(
        r"(?P<keep>-----BEGIN [A-Z0-9 ]+-----)(?P<secret>.*?)(?=-----END)",
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


def is_secret_key(dotted: str) -> bool:
    """Whether a dotted values key holds a secret, so its value must never be printed.

    Any segment counts: everything below ``credentials`` is secret, and so is
    ``smtp.password`` or ``api.token``.
    """
    return any(SECRET_KEY.search(segment) for segment in dotted.split("."))


def has_pem(value: Any) -> bool:
    """Whether a value carries a PEM block, which is key material whatever its key is called."""
    return isinstance(value, str) and bool(_PEM_BEGIN.search(value))


def mask_value(key: str, value: Any) -> Any:
    """``value`` as it may be shown under ``key``: secrets masked, the rest left readable.

    Other strings still go through :func:`redact`, because a harmless key such as ``url`` can
    hold a DSN with a password in it.

    Nested maps and lists are masked key by key, so a section that changed type as a whole
    still shows its harmless parts. ``None`` and ``""`` pass through: they hold no secret and
    telling "unset" from "set" is what the reader needs.
    """
    if value is None or value == "":
        return value
    if isinstance(value, Mapping):
        return {k: mask_value(f"{key}.{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_item(key, item) for item in value]
    if is_secret_key(key) or has_pem(value):
        return MASK
    if isinstance(value, str):
        return redact(value)
    return value


def mask_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A whole values document as it may be written to a report: every secret masked."""
    return {str(k): mask_value(str(k), v) for k, v in values.items()}


def _mask_item(key: str, item: Any) -> Any:
    """Mask one list entry; ``{name: DB_PASSWORD, value: ...}`` env entries count as secrets."""
    if isinstance(item, Mapping) and isinstance(item.get("name"), str) and is_secret_key(item["name"]):
        return {k: (MASK if k == "value" and item[k] not in (None, "") else v) for k, v in item.items()}
    return mask_value(key, item)


def redact_lines(text: str) -> str:
    """Mask secrets line by line without changing the number of lines.

    Meant for texts that are diffed afterwards: every line of a PEM block body becomes the
    mask, so a hunk that shows only the middle of a key (where :func:`redact` would not see
    the header) still shows nothing of it. A template action (``{{``) ends the block early,
    so a header followed by ``{{ .Values.key }}`` does not hide the rest of the file.
    """
    out: list[str] = []
    in_pem = False
    for line in text.splitlines(keepends=True):
        if in_pem and "-----END " not in line and "{{" not in line:
            out.append(_mask_line(line))
            continue
        in_pem = bool(_PEM_BEGIN.search(line)) and "-----END " not in line
        out.append(redact(line))
    return "".join(out)


def _mask_line(line: str) -> str:
    """The line's indentation and line ending around the mask; blank lines stay blank."""
    body = line.rstrip("\r\n")
    if not body.strip():
        return line
    indent = body[: len(body) - len(body.lstrip())]
    return indent + MASK + line[len(body):]
