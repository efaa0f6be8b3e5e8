"""Which rehearsals a matrix run holds, and which of them one CI shard runs.

A nightly job proves that every installed version still in support upgrades to the candidate.
Release engineers name those versions either one by one or as a window (``last:3``: the newest
patch of each of the three minors before the target, which is what "still in support" usually
means). Sharding splits the selected rehearsals across CI jobs; it must be deterministic (every
job computes the same split without talking to the others) and complete (the shards together
hold each rehearsal exactly once), so the merged report equals an unsharded run's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from pytest_jitera.errors import JiteraError, VersionError, option
from pytest_jitera.release.catalog import Catalog
from pytest_jitera.release.planner import Hop, UpgradePlan, nearest_released
from pytest_jitera.release.versions import Version

T = TypeVar("T")

_WINDOW = re.compile(r"^last:(\d+)$")
_SHARD = re.compile(r"^(\d+)/(\d+)$")


class MatrixError(JiteraError):
    """The start versions or the shard cannot be honoured; the message says which and why."""


@dataclass(frozen=True, order=True)
class MatrixCase:
    """One rehearsal of the matrix: an installed version upgraded hop by hop to the target."""

    start: Version
    target: Version

    @property
    def label(self) -> str:
        """``v24.05.01=>v24.08.01``: ``=>`` for the whole path, ``->`` stays a hop's."""
        return f"{self.start}=>{self.target}"


def split_starts(text: str) -> list[str]:
    """The items of a ``--jitera-from`` list, stripped; an empty item is refused here only."""
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise MatrixError(
            f"{option('from')}={text!r} has an empty item",
            hint="separate versions with single commas, e.g. v24.05.01,v24.06.01, or use last:N",
        )
    return items


def is_window(item: str) -> bool:
    """Whether one start item is a ``last:N`` window, which only the catalog can expand."""
    return _WINDOW.match(item) is not None


def select_starts(catalog: Catalog, target: Version, starts: Sequence[str]) -> tuple[Version, ...]:
    """The start versions the items name (releases, ``last:N`` windows, or a mix), deduplicated."""
    chosen: set[Version] = set()
    for item in starts:
        window = _WINDOW.match(item)
        if window:
            chosen.update(_window(catalog, target, int(window.group(1))))
        else:
            chosen.add(_one(catalog, target, item))
    return tuple(sorted(chosen))


def _window(catalog: Catalog, target: Version, count: int) -> list[Version]:
    minors = sorted({v.minor for v in catalog.versions if v.minor < target.minor})
    if count < 1:
        raise MatrixError(
            f"{option('from')}=last:{count} selects nothing",
            hint="use last:1 or more",
        )
    if count > len(minors):
        have = ", ".join(str(m) for m in minors) or "none"
        raise MatrixError(
            f"{option('from')}=last:{count} asks for {count} minors before {target}, "
            f"but the catalog has {len(minors)} ({have})",
            hint=f"use last:{len(minors)} or fewer" if minors else "pick an older target",
        )
    return [max(v for v in catalog.versions if v.minor == m) for m in minors[-count:]]


def _one(catalog: Catalog, target: Version, text: str) -> Version:
    try:
        version = Version.coerce(text)
    except VersionError as exc:
        raise MatrixError(f"{option('from')}: {exc}", hint=exc.hint) from None
    if catalog.get(version) is None:
        near = nearest_released(catalog, version)
        raise MatrixError(
            f"{option('from')}: {version} is not a released version in {catalog.source}",
            hint="nearest released: " + ", ".join(map(str, near)) if near else "the catalog is empty",
        )
    if not version < target:
        raise MatrixError(
            f"{option('from')}: {version} is not older than the target {target}",
            hint="a matrix upgrades each start version to one newer target",
        )
    return version


def matrix(catalog: Catalog, target: Version, starts: Sequence[str]) -> tuple[MatrixCase, ...]:
    """Every rehearsal of the run, oldest start first."""
    return tuple(MatrixCase(start, target) for start in select_starts(catalog, target, starts))


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1-based K) as a pair; anything else is refused with the expected form."""
    found = _SHARD.match(text.strip())
    if found is None:
        raise MatrixError(
            f"{option('shard')}={text!r} is not K/N",
            hint="e.g. --jitera-shard=1/3 in the first of three CI jobs",
        )
    index, total = int(found.group(1)), int(found.group(2))
    if total < 1 or not 1 <= index <= total:
        raise MatrixError(
            f"{option('shard')}={text}: K must be between 1 and N",
            hint=f"use 1/{max(total, 1)} to {max(total, 1)}/{max(total, 1)}",
        )
    return index, total


def shard(cases: Sequence[T], index: int, total: int) -> list[T]:
    """Shard ``index`` of ``total``: every ``total``-th case, starting at ``index - 1``.

    Round-robin over the sorted cases rather than contiguous blocks, so the oldest starts
    (the longest paths) spread over the jobs instead of landing in the first one.
    """
    return [case for position, case in enumerate(cases) if position % total == index - 1]


def is_matrix(starts: Sequence[str]) -> bool:
    """Whether the start versions as given name a matrix (several rehearsals) or one path.

    A single release keeps today's ids and report layout; a window is a matrix even when it
    selects one minor, so ``last:N`` runs read the same whatever N is.
    """
    return len(starts) > 1 or any(is_window(item) for item in starts)


@dataclass(frozen=True)
class PlannedCase:
    """A matrix case with the hops it rehearses."""

    case: MatrixCase
    plan: UpgradePlan

    @property
    def label(self) -> str:
        """The case's label (``v24.05.01=>v24.08.01``)."""
        return self.case.label


def union_plan(plans: Sequence[UpgradePlan]) -> UpgradePlan:
    """One plan holding every hop of ``plans`` once, oldest first.

    What is done once per run rather than once per case (classifying each hop, building the
    reference images, opening the charts) works on this plan; a hop two cases share is the
    same ``helm upgrade`` and gets the same classification.
    """
    if not plans:
        raise ValueError("union_plan needs at least one plan")
    hops: dict[tuple[Version, Version], Hop] = {}
    for plan in plans:
        for hop in plan.hops:
            hops.setdefault((hop.old.version, hop.new.version), hop)
    ordered = tuple(hops[key] for key in sorted(hops))
    return UpgradePlan(
        source=min(plan.source for plan in plans), target=max(plan.target for plan in plans), hops=ordered
    )
