"""The outcome of verifying a backup, with "could not tell" kept apart from "bad".

A corrupted or truncated dump must never pass as verified, and it is not the same as a dump
that restores but holds different data: the first means "take a new backup before you upgrade",
the second "your backup procedure loses data". Hence three states, and only one of them is ok.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    """How far a verification got."""

    VERIFIED = "verified"
    MISMATCH = "mismatch"
    UNVERIFIABLE = "unverifiable"


@dataclass
class Verification:
    """What restoring a snapshot into a scratch database proved."""

    status: Status
    snapshot: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    scratch: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Only a full match counts as success."""
        return self.status is Status.VERIFIED

    def text(self) -> str:
        """Summary for logs and assertion messages."""
        head = f"{self.snapshot}: {self.status.value} ({self.seconds:.1f}s)"
        return "\n".join([head, *("  - " + p for p in self.problems)])

    def to_json(self) -> str:
        """Machine-readable report."""
        data = asdict(self)
        data["status"] = self.status.value
        return json.dumps(data, indent=2, sort_keys=True, default=str)
