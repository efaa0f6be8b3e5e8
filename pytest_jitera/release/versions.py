"""Jitera release versions: ``vYY.MM.DD`` and ``vYY.MM.DD.PATCH``.

The runbook's upgrade rule is stated in terms of minors: a *minor* is the ``vYY.MM.DD`` part
(month bumps may carry schema migrations), a *patch* is the optional fourth number (image
updates, never schema changes), and a change of year counts as a *major* step. Everything that
plans or classifies a step asks this module, so the rule lives in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import total_ordering

from pytest_jitera.errors import VersionError

EXPECTED_FORM = "vYY.MM.DD or vYY.MM.DD.PATCH with two-digit YY, MM and DD, e.g. v24.05.01 or v24.05.01.1"

# ASCII digits only: Python's \d and int() also accept Arabic-Indic, full-width and other Unicode
# digits, so "v24.05.01" spelled in Arabic-Indic digits would otherwise parse as v24.05.01, a tag
# that Helm, git and the image registry would all see as a different string. Patterns are
# matched with fullmatch, so a trailing newline is not silently accepted either (``$`` would).
_VERSION_RE = re.compile(r"v([0-9]{2})\.([0-9]{2})\.([0-9]{2})(?:\.([0-9]+))?")
# Charts must carry a SemVer `version`; we map vYY.MM.DD.P to YY.MMDD.P so Helm orders releases
# exactly as we do (a prerelease or build suffix would sort or compare wrongly).
_SEMVER_RE = re.compile(r"([0-9]{2})\.([0-9]{3,4})\.([0-9]+)")


class StepKind(str, Enum):
    """How far apart two releases are, in the runbook's terms."""

    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


@total_ordering
@dataclass(frozen=True)
class Version:
    """One released version; ordered by year, month, day, then patch (absent patch first)."""

    year: int
    month: int
    day: int
    patch: int | None = None

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``vYY.MM.DD(.PATCH)``; the error shows the expected form and the bad text."""
        if not isinstance(text, str):
            raise VersionError(f"not a release version: {text!r}", hint=f"use {EXPECTED_FORM}")
        raw = text.strip()
        match = _VERSION_RE.fullmatch(raw)
        if not match:
            hint = f"use {EXPECTED_FORM}"
            guess = _normalise_guess(raw)
            if guess:
                hint += f" (did you mean {guess}?)"
            raise VersionError(f"not a release version: {text!r}", hint=hint)
        yy, mm, dd, patch = match.groups()
        version = cls(int(yy), int(mm), int(dd), int(patch) if patch is not None else None)
        try:
            date(2000 + version.year, version.month, version.day)
        except ValueError as exc:
            raise VersionError(
                f"not a release version: {text!r} ({exc})", hint=f"use {EXPECTED_FORM}"
            ) from exc
        if version.patch is not None and version.patch < 1:
            raise VersionError(
                f"not a release version: {text!r} (patch numbers start at 1)",
                hint=f"use {EXPECTED_FORM}",
            )
        return version

    @classmethod
    def from_semver(cls, text: str) -> Version:
        """Read the chart ``version`` form ``YY.MMDD.PATCH`` (patch 0 = the minor itself)."""
        match = _SEMVER_RE.fullmatch(text.strip().lstrip("v"))
        if not match:
            raise VersionError(
                f"not a Jitera chart version: {text!r}",
                hint="chart versions look like 24.501.0 (= v24.05.01) or 24.501.1 (= v24.05.01.1)",
            )
        yy, mmdd, patch = match.groups()
        mmdd_i = int(mmdd)
        tag = f"v{yy}.{mmdd_i // 100:02d}.{mmdd_i % 100:02d}" + (f".{patch}" if int(patch) else "")
        return cls.parse(tag)

    @classmethod
    def coerce(cls, text: str) -> Version:
        """Accept either the release tag or the chart's SemVer form."""
        stripped = str(text).strip()
        if _SEMVER_RE.fullmatch(stripped.lstrip("v")):
            return cls.from_semver(stripped)
        return cls.parse(stripped)

    @property
    def minor(self) -> Version:
        """The ``vYY.MM.DD`` release this version patches (itself when it has no patch)."""
        return Version(self.year, self.month, self.day)

    @property
    def is_patch(self) -> bool:
        """Whether this is a patch release."""
        return self.patch is not None

    def semver(self) -> str:
        """The SemVer string used as the chart ``version``."""
        return f"{self.year}.{self.month * 100 + self.day}.{self.patch or 0}"

    def _key(self) -> tuple[int, int, int, int]:
        return (self.year, self.month, self.day, self.patch or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        base = f"v{self.year:02d}.{self.month:02d}.{self.day:02d}"
        return base if self.patch is None else f"{base}.{self.patch}"


def step_kind(old: Version, new: Version) -> StepKind:
    """Classify the step between two releases (direction does not matter)."""
    if old.minor == new.minor:
        return StepKind.PATCH
    if old.year == new.year:
        return StepKind.MINOR
    return StepKind.MAJOR


def _normalise_guess(raw: str) -> str | None:
    """Suggest the canonical spelling for near misses like ``v24.5.1`` or ``24.05.01``."""
    parts = raw.lstrip("vV").split(".")
    # str.isdigit() is true for Unicode digits too; a suggestion must be ASCII like the tag.
    if len(parts) not in (3, 4) or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    yy, mm, dd = (int(p) for p in parts[:3])
    if yy > 99 and yy >= 2000:
        yy -= 2000
    if not (0 <= yy <= 99 and 1 <= mm <= 12 and 1 <= dd <= 31):
        return None
    guess = f"v{yy:02d}.{mm:02d}.{dd:02d}"
    if len(parts) == 4 and int(parts[3]) > 0:
        guess += f".{int(parts[3])}"
    return guess if guess != raw else None
