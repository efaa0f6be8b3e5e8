"""Upgrade-path planning: one minor version at a time, never skipping a released minor.

The rule (the runbook's "upgrade one minor version at a time"):

* every released minor strictly between the installed minor and the target's minor is
  visited, in order;
* at each intermediate minor the path lands on its **newest patch** (patches carry no schema
  changes, so the newest one is the best-fixed place to stand on, and its own migrations are
  the minor's migrations);
* the last hop lands exactly on the requested target;
* a target in the same minor as the installed version is a single patch hop.

A requested direct jump (``direct=True``) is refused when it would skip a released minor,
because the skipped release's migrations would never run.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from pytest_jitera.errors import PlanError, option
from pytest_jitera.release.catalog import Catalog, Release
from pytest_jitera.release.versions import StepKind, Version, step_kind


@dataclass(frozen=True)
class Hop:
    """One ``helm upgrade`` in the plan."""

    old: Release
    new: Release

    @property
    def kind(self) -> StepKind:
        """Patch, minor or major step."""
        return step_kind(self.old.version, self.new.version)

    def to_json(self) -> dict[str, str]:
        """Plain data for ``--json`` output."""
        return {
            "from": str(self.old.version),
            "to": str(self.new.version),
            "kind": self.kind.value,
            "chart": self.new.location,
        }


@dataclass(frozen=True)
class UpgradePlan:
    """The ordered hops from the installed release to the target."""

    source: Version
    target: Version
    hops: tuple[Hop, ...]

    @property
    def versions(self) -> list[Version]:
        """Every version the deployment passes through, start and end included."""
        return [self.source, *(hop.new.version for hop in self.hops)]

    @property
    def releases(self) -> list[Release]:
        """Every release whose chart the rehearsal opens, start and end included, oldest first.

        Taken from every hop's two ends, so a matrix run's union of paths (which need not be
        one chain) lists each release once.
        """
        found = {r.version: r for hop in self.hops for r in (hop.old, hop.new)}
        return [found[v] for v in sorted(found)]

    def to_json(self) -> dict[str, object]:
        """Plain data for ``--json`` output."""
        return {
            "from": str(self.source),
            "to": str(self.target),
            "path": [str(v) for v in self.versions],
            "hops": [hop.to_json() for hop in self.hops],
        }


def nearest_released(catalog: Catalog, version: Version) -> list[Version]:
    """The released versions just below and just above ``version``."""
    versions = catalog.versions
    index = bisect_left(versions, version)
    return [
        v
        for v in (
            versions[index - 1] if index > 0 else None,
            versions[index] if index < len(versions) else None,
        )
        if v is not None
    ]


def _require_released(catalog: Catalog, version: Version, role: str) -> Release:
    """``role`` is the option that named ``version`` ("from" or "to"), for the message."""
    release = catalog.get(version)
    if release is None:
        near = nearest_released(catalog, version)
        hint = "nearest released: " + ", ".join(str(v) for v in near) if near else "the catalog is empty"
        raise PlanError(
            f"{option(role)} {version} is not a released version in {catalog.source}", hint=hint
        )
    return release


def skipped_minors(catalog: Catalog, old: Version, new: Version) -> list[Version]:
    """Released minors strictly between the minors of ``old`` and ``new``."""
    minors = sorted({v.minor for v in catalog.versions})
    return [m for m in minors if old.minor < m < new.minor]


def plan_upgrade(catalog: Catalog, source: Version, target: Version, *, direct: bool = False) -> UpgradePlan:
    """Compute the hops from ``source`` to ``target`` or refuse with the reason."""
    if source == target:
        raise PlanError(
            f"nothing to do: {option('from')} and {option('to')} are both {source}",
            hint=f"pick a newer {option('to')}",
        )
    if target < source:
        raise PlanError(
            f"{source} -> {target} is a downgrade ({option('to')} is older than {option('from')}); "
            "Helm upgrades only move forward",
            hint="database migrations have no down path: roll back with a rollback scenario "
            "(helm rollback and, for Scenario 3, a snapshot restore) instead",
        )
    start = _require_released(catalog, source, "from")
    end = _require_released(catalog, target, "to")
    between = skipped_minors(catalog, source, target)
    if direct:
        if between:
            raise PlanError(
                f"a direct upgrade {source} -> {target} would skip the released minor(s) "
                + ", ".join(str(m) for m in between)
                + "; their schema migrations would never run and the database would be left inconsistent",
                hint=f"upgrade one minor at a time: drop {option('direct')} to get the full path",
            )
        hops: tuple[Hop, ...] = (Hop(start, end),)
    else:
        stops = [_newest_patch(catalog, minor) for minor in between]
        stops.append(end)
        hops_list: list[Hop] = []
        previous = start
        for stop in stops:
            hops_list.append(Hop(previous, stop))
            previous = stop
        hops = tuple(hops_list)
    missing = [hop.new for hop in hops if hop.new.missing]
    if start.missing:
        missing.insert(0, start)
    if missing:
        raise PlanError(
            "the catalog lists these versions but their charts are missing: "
            + ", ".join(f"{r.version} ({r.location or 'no URL'})" for r in missing),
            hint="add the missing jitera-helm-<VERSION>.zip files beside the index",
        )
    return UpgradePlan(source, target, hops)


def _newest_patch(catalog: Catalog, minor: Version) -> Release:
    return max((r for r in catalog.releases if r.version.minor == minor), key=lambda r: r.version)
