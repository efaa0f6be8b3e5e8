"""The common currency of every consistency check: a list of findings.

Checks return findings instead of raising so that one test run can report *every* problem of
a restore at once (an operator fixing the first of five issues and re-running four more times
is exactly the delay the runbook warns about), and so the same checks serve the CLI, a JSON
report and the pytest assertion helpers alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CheckFinding:
    """One thing a datastore check found wrong, and what an operator should do about it.

    Not to be confused with :class:`pytest_jitera.decision.migrations.findings.Finding`, one
    schema operation a migration file performs: that one predicts, this one observes.
    """

    kind: str
    object: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        """Plain data for JSON reports."""
        return asdict(self)


def format_findings(findings: Sequence[CheckFinding], title: str = "datastore findings") -> str:
    """A failure message listing every finding, grouped by kind, each with its fix."""
    if not findings:
        return f"{title}: none"
    lines = [f"{title} ({len(findings)}):"]
    for kind in sorted({f.kind for f in findings}):
        lines.append(f"  [{kind}]")
        for f in (f for f in findings if f.kind == kind):
            lines.append(f"    - {f.object}: {f.message}")
            lines.append(f"      fix: {f.fix}")
    return "\n".join(lines)


def findings_to_json(findings: Iterable[CheckFinding]) -> str:
    """Stable JSON for reports and artifacts."""
    return json.dumps([f.to_dict() for f in findings], indent=2, sort_keys=True)
