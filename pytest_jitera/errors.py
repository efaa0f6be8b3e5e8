"""One error family, so the CLI and the plugin can print a clean message instead of a traceback.

Every error the harness raises on bad input carries a ``hint``: the thing the user should do
next. The CLI prints ``error: <message>`` and ``hint: <hint>`` and exits 2; the plugin turns the
same errors into ``pytest.UsageError``.
"""

from __future__ import annotations


class JiteraError(Exception):
    """Base of every error caused by input or environment rather than by a bug."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class VersionError(JiteraError):
    """A release version string does not follow ``vYY.MM.DD(.PATCH)``."""


class PlanError(JiteraError):
    """No runbook-compliant upgrade path exists for the request."""


class ChartError(JiteraError):
    """A chart zip or folder is missing, malformed or unsafe."""


class ToolError(JiteraError):
    """An external tool (docker, kind, helm, kubectl, pg_dump, ...) is missing or too old."""


class DatastoreError(JiteraError):
    """A database could not be reached, dumped, restored or verified."""
