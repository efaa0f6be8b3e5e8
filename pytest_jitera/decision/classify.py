"""Which rollback scenario of the runbook a release pair falls into, and why.

The runbook's decision is a short chain: no chart structure change and no new migration
means Scenario 1; otherwise destructive migrations are inspected and the old code is searched
for what they destroy; writes during the rollback window or a need for full consistency
escalate to Scenario 3; and anything unclear is Scenario 3. This module encodes that chain
over inputs computed elsewhere (chart diff, migration inventory, analysis, reference search)
so it can be tested without Docker or Helm, and keeps every reason with its evidence so the
verdict can be checked by a human and pasted into a release note.

Each reason carries the lowest scenario it allows; the verdict is the highest of them. That
makes "when in doubt, Scenario 3" a matter of adding one reason, never of reordering rules.

Choices the runbook leaves open, and why:

* Added migrations with no destructive operation are Scenario 2, not 1: old code keeps
  working after ``helm rollback``, but the schema has moved forward with no way back, data
  migrations will skip rows written in the meantime (Risk B) and new enum types survive a
  clean-mode restore (Risk C), so the operator must know.
* A structural chart change without migrations is Scenario 2 for the same reason: the
  runbook reserves Scenario 1 for tag-only releases.
* ``writes_during_rollback`` / ``full_consistency`` do not lift a Scenario 1 release: with
  no new migration there is nothing for the old code to trip over and nothing to re-run.
* Removed migration files and files that could not be analysed are Scenario 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from pytest_jitera.charts.diff import ChartDiff
from pytest_jitera.decision.migrations.findings import COULD_NOT_ANALYSE, ENUM_OPS, Finding
from pytest_jitera.decision.migrations.inventory import InventoryDiff, diff_inventories, load_inventory
from pytest_jitera.decision.migrations.references import (
    Reference,
    SearchTarget,
    column_target,
    search_references,
    table_target,
)
from pytest_jitera.decision.migrations.ruby_analysis import analyse_file

# Operations whose table the old code must not use any more.
_TABLE_OPS = frozenset({"drop_table", "rename_table", "truncate"})
# Operations whose column the old code must not read or write as before.
_COLUMN_OPS = frozenset(
    {"remove_column", "remove_reference", "rename_column", "change_column", "change_column_null"}
)


class Scenario(IntEnum):
    """The runbook's rollback scenarios; a higher number is a heavier rollback.

    An ``IntEnum`` so that "the highest reason wins" is ``max`` and reports print 1, 2 or 3.
    """

    PATCH_ROLLBACK = 1
    FORWARD_COMPATIBLE = 2
    INTEGRITY_RISK = 3

    @property
    def title(self) -> str:
        """The scenario's one-line meaning, for the human report."""
        return _TITLES[self]


_TITLES = {
    Scenario.PATCH_ROLLBACK: "patch rollback: helm rollback alone",
    Scenario.FORWARD_COMPATIBLE: "forward-compatible: helm rollback works, snapshot restore recommended",
    Scenario.INTEGRITY_RISK: "integrity risk: database snapshot restore required",
}


@dataclass(frozen=True)
class Reason:
    """One fact behind the verdict; ``scenario`` is the least scenario this fact allows."""

    scenario: Scenario
    text: str
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain data for reports."""
        return {"scenario": int(self.scenario), "text": self.text, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Classification:
    """The verdict with everything that produced it.

    ``chart`` is None when the caller had no charts to compare; the verdict then rests on the
    migrations alone.
    """

    scenario: Scenario
    reasons: tuple[Reason, ...]
    chart: ChartDiff | None
    migrations: InventoryDiff
    findings: tuple[Finding, ...]
    references: dict[str, list[Reference]]
    procedure: tuple[str, ...]
    writes_during_rollback: bool = False
    full_consistency: bool = False

    @property
    def structural_change(self) -> bool:
        """Whether the chart changed beyond image tags (False when no charts were given)."""
        return self.chart is not None and self.chart.structural_change

    def to_json(self) -> dict[str, Any]:
        """Build the machine-readable report behind ``pytest-jitera classify --json``."""
        chart = self.chart.to_json() if self.chart is not None else {}
        return {
            "scenario": int(self.scenario),
            "reasons": [r.to_json() for r in self.reasons],
            "chart": {**chart, "structural_change": self.structural_change},
            "migrations": self.migrations.to_json(),
            "findings": [f.to_json() for f in self.findings],
            "references": {
                key: [r.to_json() for r in refs] for key, refs in self.references.items()
            },
            "procedure": list(self.procedure),
            "flags": {
                "writes_during_rollback": self.writes_during_rollback,
                "full_consistency": self.full_consistency,
            },
        }


def classify_release(
    old_app: Path,
    new_app: Path,
    *,
    chart: ChartDiff | None = None,
    writes_during_rollback: bool = False,
    full_consistency: bool = False,
    workers: int | None = None,
) -> Classification:
    """Classify the pair of Rails trees ``old_app`` -> ``new_app``, given the charts' diff.

    Only migrations the new release adds are parsed (the others already ran), and only the
    old tree is searched, because it is the old code that runs after ``helm rollback``.
    Without ``chart`` the charts count as unchanged: the migrations decide alone.
    """
    diff = diff_inventories(load_inventory(old_app, "old"), load_inventory(new_app, "new"))
    findings: list[Finding] = []
    for migration in diff.added:
        findings.extend(analyse_file(new_app / migration.path, migration.path))
    targets = search_targets(findings)
    references = search_references(old_app, targets, workers=workers)
    return decide(
        chart=chart,
        diff=diff,
        findings=findings,
        references=references,
        writes_during_rollback=writes_during_rollback,
        full_consistency=full_consistency,
    )


def search_targets(findings: Sequence[Finding]) -> list[SearchTarget]:
    """Name what to look for in the old code: one target per destroyed or changed object."""
    targets: dict[str, SearchTarget] = {}
    for finding in findings:
        table = finding.objects.get("table")
        column = finding.objects.get("column")
        if not table or finding.has_unknown_object:
            continue  # a name computed at runtime cannot be searched for
        if finding.op in _TABLE_OPS or finding.op == "add_not_null_column":
            # A new NOT NULL column breaks every insert the old model makes into the table.
            target = table_target(table)
        elif finding.op in _COLUMN_OPS and column:
            target = column_target(table, column, association=finding.op == "remove_reference")
        else:
            continue
        targets.setdefault(target.key, target)
    return list(targets.values())


def target_key(finding: Finding) -> str | None:
    """Return the reference key a finding's evidence is filed under, if it has one."""
    table = finding.objects.get("table")
    column = finding.objects.get("column")
    if not table:
        return None
    if finding.op in _TABLE_OPS or finding.op == "add_not_null_column":
        return table
    if finding.op in _COLUMN_OPS and column:
        return f"{table}.{column}"
    return None


def decide(
    *,
    chart: ChartDiff | None = None,
    diff: InventoryDiff,
    findings: Sequence[Finding],
    references: dict[str, list[Reference]],
    writes_during_rollback: bool = False,
    full_consistency: bool = False,
) -> Classification:
    """Apply the runbook's decision chain to already-computed facts."""
    structural_change = chart is not None and chart.structural_change
    reasons: list[Reason] = []
    if diff.removed:
        reasons.append(Reason(
            Scenario.INTEGRITY_RISK,
            "the new release no longer ships migration files the old one had; the schema "
            "history cannot be trusted, so assume the worst",
            tuple(m.path for m in diff.removed),
        ))
    if not structural_change and not diff.added:
        if not reasons:
            reasons.append(Reason(
                Scenario.PATCH_ROLLBACK,
                "chart differs at most in image tags and no new migration or data "
                "migration ships; helm rollback restores the previous state completely",
            ))
        return _result(reasons, chart, diff, findings, references,
                       writes_during_rollback, full_consistency)

    if structural_change:
        reasons.append(Reason(
            Scenario.FORWARD_COMPATIBLE,
            "chart templates or values keys changed structurally, so this is not a "
            "patch-level rollback",
        ))
    reasons.extend(_migration_reasons(diff, findings, references))
    if writes_during_rollback:
        reasons.append(Reason(
            Scenario.INTEGRITY_RISK,
            "writes may happen during the rollback window: rows written by the old code "
            "are skipped by data migrations on re-upgrade and keep NULL in new columns",
        ))
    if full_consistency:
        reasons.append(Reason(
            Scenario.INTEGRITY_RISK,
            "full data consistency is required, which only a snapshot restore guarantees",
        ))
    return _result(reasons, chart, diff, findings, references,
                   writes_during_rollback, full_consistency)


def _migration_reasons(
    diff: InventoryDiff,
    findings: Sequence[Finding],
    references: dict[str, list[Reference]],
) -> list[Reason]:
    """Reasons contributed by the added migrations and the old code that uses their objects."""
    reasons: list[Reason] = []
    if diff.added:
        schema = sum(1 for m in diff.added if m.kind == "migrate")
        data = len(diff.added) - schema
        text = (f"the new release adds {schema} schema migration(s) and {data} data "
                "migration(s), which have no downgrade path")
        if data:
            text += ("; rows written between rollback and re-upgrade will be skipped by the "
                     "data migrations (pass --writes-during-rollback if that can happen)")
        reasons.append(Reason(Scenario.FORWARD_COMPATIBLE, text, tuple(m.path for m in diff.added)))
    for finding in findings:
        where = f"{finding.file}:{finding.line}"
        if finding.op == COULD_NOT_ANALYSE:
            reasons.append(Reason(
                Scenario.INTEGRITY_RISK,
                f"could not analyse {finding.file}: {finding.detail}; treated as destructive",
                (where,),
            ))
            continue
        if finding.has_unknown_object:
            reasons.append(Reason(
                Scenario.INTEGRITY_RISK,
                f"{finding.op} {_describe(finding)}: the name is computed at runtime, so "
                "the old code cannot be searched for it; treated as used by user-facing code",
                (where,),
            ))
            continue
        if finding.op in ENUM_OPS:
            reasons.append(Reason(
                Scenario.FORWARD_COMPATIBLE,
                f"new enum type {finding.objects.get('type', '?')}: a clean-mode "
                "pg_restore leaves it behind and the re-upgrade then fails "
                "(PG::DuplicateObject); restore into a fresh database", (where,),
            ))
            continue
        if not finding.destructive:
            continue
        reasons.append(_destructive_reason(finding, references))
    return reasons


def _destructive_reason(finding: Finding, references: dict[str, list[Reference]]) -> Reason:
    """Scenario 3 if user-facing old code uses the object, Scenario 2 otherwise."""
    where = f"{finding.file}:{finding.line}"
    what = f"{finding.op} {_describe(finding)}"
    key = target_key(finding)
    if key is None:
        return Reason(
            Scenario.FORWARD_COMPATIBLE,
            f"{what}: old code keeps working but the schema is no longer the one it was released with",
            (where,),
        )
    refs = references.get(key, [])
    user = [r for r in refs if r.kind == "user_facing"]
    admin = [r for r in refs if r.kind == "admin"]
    if user:
        return Reason(
            Scenario.INTEGRITY_RISK,
            f"{what}: old user-facing code still uses {key} ({len(user)} place(s)), so "
            "those features fail after helm rollback",
            (where, *(f"{r.file}:{r.line}" for r in user), *(f"{r.file}:{r.line}" for r in admin)),
        )
    if admin:
        return Reason(
            Scenario.FORWARD_COMPATIBLE,
            f"{what}: only old admin code uses {key} ({len(admin)} place(s)); those "
            "admin paths fail after helm rollback",
            (where, *(f"{r.file}:{r.line}" for r in admin)),
        )
    return Reason(
        Scenario.FORWARD_COMPATIBLE,
        f"{what}: no old code under app/, lib/, script/ or bin/ names {key}",
        (where,),
    )


def _describe(finding: Finding) -> str:
    objects = finding.objects
    if "column" in objects:
        text = f"{objects.get('table', '?')}.{objects['column']}"
    else:
        text = objects.get("table") or objects.get("type") or objects.get("index") or "?"
    if "new_name" in objects:
        text += f" -> {objects['new_name']}"
    return text


def _result(
    reasons: list[Reason],
    chart: ChartDiff | None,
    diff: InventoryDiff,
    findings: Sequence[Finding],
    references: dict[str, list[Reference]],
    writes_during_rollback: bool,
    full_consistency: bool,
) -> Classification:
    scenario = max((r.scenario for r in reasons), default=Scenario.PATCH_ROLLBACK)
    has_enum = any(f.op in ENUM_OPS for f in findings)
    admin_files = sorted({r.file for refs in references.values() for r in refs
                          if r.kind == "admin"})
    return Classification(
        scenario=scenario,
        reasons=tuple(sorted(reasons, key=lambda r: -r.scenario)),
        chart=chart,
        migrations=diff,
        findings=tuple(findings),
        references=references,
        procedure=procedure_for(scenario, has_enum=has_enum, admin_files=admin_files),
        writes_during_rollback=writes_during_rollback,
        full_consistency=full_consistency,
    )


def procedure_for(scenario: Scenario, *, has_enum: bool = False,
                  admin_files: Sequence[str] = ()) -> tuple[str, ...]:
    """List the rollback steps that follow from ``scenario``, in the order to perform them."""
    if scenario == Scenario.PATCH_ROLLBACK:
        return (
            "Run `helm rollback <release> <revision recorded before the upgrade>` (or re-apply "
            "the previous chart path with Terraform, targeting the helm release).",
            "No database restore and no scale-down: the schema is the one the old release "
            "expects.",
            "Check that every pod is Ready on the previous image tags, then smoke-test: app "
            "domain answers 200, a test invitation email arrives, `jitera init` authenticates.",
        )
    if scenario == Scenario.FORWARD_COMPATIBLE:
        steps = [
            "`helm rollback` to the recorded revision restores user-facing features; the "
            "migrated schema stays in place.",
            "Afterwards verify: all pods Ready on the previous tags, no migration job re-ran, "
            "smoke tests pass.",
            "Until the release is upgraded again, do not run the old admin paths that use "
            "dropped or changed objects"
            + (f": {', '.join(admin_files)}." if admin_files else "."),
            "Recommended when the window allows: follow the Scenario 3 snapshot restore "
            "instead, so admin operations do not fail days later.",
        ]
        if has_enum:
            steps.append(
                "If you restore later, restore into a new database instance; an in-place "
                "clean-mode restore keeps the new enum types and breaks the re-upgrade."
            )
        return tuple(steps)
    return (
        "helm rollback alone is not enough: plan a database snapshot restore.",
        "Stop writers first: scale Automation, Ultron and background workers to 0 and put "
        "user-facing services in maintenance mode.",
        "Restore every pre-upgrade snapshot together (Automation PostgreSQL, PGVector, "
        "MongoDB/DocumentDB/Cosmos DB), preferably into new instances.",
        "Point the previous chart's values at the restored instances, then `helm rollback` "
        "to the revision recorded before the upgrade.",
        "Restoring in place instead: `helm rollback` resets replica counts, so drain the "
        "database clients a second time before dropping the database, and recreate it rather "
        "than using a clean-mode restore (new enum types would survive it).",
        "Wait for the rollout, smoke-test, and confirm the schema version matches the old "
        "release before planning the re-upgrade.",
    )
