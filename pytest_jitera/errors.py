"""One error family, so the CLI and the plugin can print a clean message instead of a traceback.

Every error the harness raises on bad input carries a ``hint``: the thing the user should do
next. The CLI prints ``error: <message>`` and ``hint: <hint>`` and exits 2; the plugin turns the
same errors into ``pytest.UsageError``.

Shared code (the planner, the version parser, the settings) cannot know whether the user typed
``--to`` (the ``pytest-jitera`` command) or ``--jitera-to`` (the plugin), so a message that
names an option writes the placeholder :func:`option` instead, and each front end spells it with
:meth:`JiteraError.render`. A library caller that renders nothing sees the neutral spelling
(the parameter names of :func:`pytest_jitera.release.planner.plan_upgrade`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_OPTION_TOKEN = re.compile(r"\{option:([a-z][a-z0-9_-]*)\}")

# How an option placeholder reads when no front end spells it: the Python parameter names.
NEUTRAL_OPTION_NAMES: Mapping[str, str] = {"from": "source", "to": "target", "direct": "direct=True"}


def option(name: str) -> str:
    """Placeholder for the option that sets ``name`` ("from", "to", "direct", "values", ...)."""
    return "{option:" + name + "}"


def spell_options(text: str, names: Mapping[str, str]) -> str:
    """Replace every :func:`option` placeholder with the spelling of the program that runs.

    A name the front end does not know falls back to the neutral spelling, so a message never
    shows a raw placeholder.
    """
    return _OPTION_TOKEN.sub(
        lambda m: names.get(m.group(1)) or NEUTRAL_OPTION_NAMES.get(m.group(1), m.group(1)), text
    )


class JiteraError(Exception):
    """Base of every error caused by input or environment rather than by a bug."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        # The templates keep the option placeholders for render(); message and hint are what a
        # caller that renders nothing (a script, a log line) reads.
        self.message_template = message
        self.hint_template = hint
        self.message = spell_options(message, {})
        self.hint = spell_options(hint, {}) if hint else hint

    def render(self, names: Mapping[str, str]) -> tuple[str, str | None]:
        """Message and hint with option placeholders spelled as ``names`` says."""
        hint = spell_options(self.hint_template, names) if self.hint_template else None
        return spell_options(self.message_template, names), hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class OptionError(JiteraError):
    """A command-line option, ini key or environment variable was given an unusable value.

    Raised before any work starts (an empty ``--jitera-from``, a ``--values`` that is a folder,
    an ``--out`` that is a file), so the user fixes the command line instead of reading a
    traceback from deep inside the run. ``option`` is the setting's name, for callers that want
    to tell which one was wrong.
    """

    def __init__(self, message: str, hint: str | None = None, *, option: str | None = None) -> None:
        super().__init__(message, hint)
        self.option = option


class VersionError(JiteraError):
    """A release version string does not follow ``vYY.MM.DD(.PATCH)``."""


class PlanError(JiteraError):
    """No runbook-compliant upgrade path exists for the request."""


class InputError(JiteraError):
    """A file the user handed in (values, index, profile) is missing, malformed, too big or unsafe."""


class ChartError(InputError):
    """A chart archive or folder is missing, malformed or unsafe."""


class ToolError(JiteraError):
    """An external tool (docker, kind, helm, kubectl, pg_dump, ...) is missing or too old."""


class DatastoreError(JiteraError):
    """A database could not be reached, dumped, restored or verified."""
