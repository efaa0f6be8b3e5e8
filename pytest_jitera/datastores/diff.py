"""Compare two schema snapshots and explain the difference to a human and to a machine.

A rollback test fails on "schema differs"; the message must say exactly which ENUM gained a
label or which column became NOT NULL, so the diff works per object and, for changed objects,
per attribute.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_jitera.datastores.schema import SchemaSnapshot

_SINGULAR = {
    "extensions": "extension",
    "types": "type",
    "sequences": "sequence",
    "tables": "table",
    "columns": "column",
    "indexes": "index",
    "constraints": "constraint",
    "views": "view",
    "schema_migrations": "schema migration",
    "data_migrations": "data migration",
    "collections": "collection",
    "validators": "validator",
}


@dataclass(frozen=True)
class Change:
    """One object that is only in one snapshot, or whose attributes differ."""

    category: str
    object: str
    change: str  # "added" (only in actual), "removed" (only in expected), "changed"
    expected: dict[str, Any] | None = None
    actual: dict[str, Any] | None = None
    attributes: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line, or a few for changed attributes."""
        what = f"{_SINGULAR.get(self.category, self.category)} {self.object}"
        if self.change == "added":
            return f"+ {what} {_brief(self.actual)}  (not expected)".rstrip()
        if self.change == "removed":
            return f"- {what} {_brief(self.expected)}  (missing)".rstrip()
        exp, act = self.expected or {}, self.actual or {}
        parts = [f"{a}: {exp.get(a)!r} -> {act.get(a)!r}" for a in self.attributes]
        return f"~ {what}: " + "; ".join(parts)


@dataclass
class SchemaDiff:
    """All changes from ``expected`` to ``actual``; falsy when the schemas are equal."""

    expected_name: str
    actual_name: str
    changes: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def of(self, category: str, change: str | None = None) -> list[Change]:
        """Changes of one category (and kind)."""
        return [c for c in self.changes if c.category == category and change in (None, c.change)]

    def text(self, limit: int = 200) -> str:
        """The human-readable diff used in assertion messages."""
        if not self.changes:
            return f"schema of {self.actual_name} equals {self.expected_name}"
        head = (
            f"schema of {self.actual_name} differs from {self.expected_name} "
            f"({len(self.changes)} difference(s); + only in actual, - missing, ~ changed):"
        )
        lines = [head]
        for c in self.changes[:limit]:
            lines.extend("  " + line for line in c.describe().splitlines())
        if len(self.changes) > limit:
            lines.append(f"  ... and {len(self.changes) - limit} more (see the JSON report)")
        return "\n".join(lines)

    def to_json(self) -> str:
        """Machine-readable form for reports."""
        data = {
            "expected": self.expected_name,
            "actual": self.actual_name,
            "changes": [asdict(c) for c in self.changes],
        }
        return json.dumps(data, indent=2, sort_keys=True, default=str)


def diff_schemas(
    expected: SchemaSnapshot,
    actual: SchemaSnapshot,
    *,
    categories: tuple[str, ...] | None = None,
    ignore_attributes: tuple[str, ...] = (),
) -> SchemaDiff:
    """Every object added, removed or changed between two snapshots.

    ``ignore_attributes`` drops attributes that legitimately differ (e.g. an extension's
    ``schema`` when comparing with a scratch database on another server).
    """
    cats = categories or tuple(sorted(set(expected.objects) | set(actual.objects)))
    result = SchemaDiff(_label(expected), _label(actual))
    for cat in cats:
        exp, act = expected.category(cat), actual.category(cat)
        for name in sorted(set(exp) | set(act)):
            if name not in act:
                result.changes.append(Change(cat, name, "removed", expected=exp[name]))
            elif name not in exp:
                result.changes.append(Change(cat, name, "added", actual=act[name]))
            else:
                keys = sorted((set(exp[name]) | set(act[name])) - set(ignore_attributes))
                changed = tuple(k for k in keys if exp[name].get(k) != act[name].get(k))
                if changed:
                    result.changes.append(Change(cat, name, "changed", exp[name], act[name], changed))
    return result


def _label(s: SchemaSnapshot) -> str:
    return f"{s.engine} database {s.database!r}"


def _brief(attrs: dict[str, Any] | None) -> str:
    if not attrs:
        return ""
    text = ", ".join(f"{k}={v!r}" for k, v in sorted(attrs.items()))
    return f"({text[:160]}{'...' if len(text) > 160 else ''})"
