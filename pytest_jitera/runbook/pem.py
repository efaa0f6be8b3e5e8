"""Checks of the CLI key the chart stores as a PEM in a Secret.

The runbook warns that the post-install hook may strip the PEM's newlines on some platforms,
which breaks ``jitera init`` authentication while everything else looks healthy. A PEM that
survived intact has its armour lines on their own lines and base64 lines of at most 64
characters; these checks say which rule broke without ever echoing the key.
"""

from __future__ import annotations

import base64
import binascii
import re

_BEGIN = re.compile(r"^-----BEGIN ([A-Z0-9 ]+)-----$")
_END = re.compile(r"^-----END ([A-Z0-9 ]+)-----$")


def pem_problems(text: str) -> list[str]:
    """Everything wrong with a PEM block; empty when it is well-formed."""
    stripped = text.strip()
    if not stripped:
        return ["the value is empty"]
    if "-----BEGIN" not in stripped:
        return ["no '-----BEGIN ...-----' armour line: not a PEM"]
    lines = stripped.splitlines()
    if len(lines) < 3:
        return [
            "the PEM has no line breaks (newlines were stripped): the armour and the base64 body "
            "share one line"
        ]
    problems: list[str] = []
    begin, end = _BEGIN.match(lines[0].strip()), _END.match(lines[-1].strip())
    if not begin:
        problems.append("the first line is not a '-----BEGIN <TYPE>-----' armour line")
    if not end:
        problems.append("the last line is not an '-----END <TYPE>-----' armour line")
    if begin and end and begin.group(1) != end.group(1):
        problems.append(f"BEGIN {begin.group(1)!r} does not match END {end.group(1)!r}")
    body = [line.strip() for line in lines[1:-1] if ":" not in line]  # skip RFC 1421 headers
    long_lines = [n for n, line in enumerate(body, 2) if len(line) > 76]
    if long_lines:
        problems.append(f"base64 lines longer than 76 characters (line {long_lines[0]}): wrapped wrongly")
    try:
        base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        problems.append("the body is not valid base64")
    return problems
