"""Diff two charts: ``values.yaml`` keys, ``templates/`` file by file, and a verdict.

The verdict answers the first question of the runbook's rollback decision: is the new chart
*structurally* the same as the old one? A release that only bumps image tags and
``appVersion`` has no structural change; anything else (a new or removed template, a changed
manifest, a values key added, removed or retyped, a new dependency) does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_jitera.charts import Chart, load_yaml_mapping, open_chart
from pytest_jitera.values_diff import ValuesDiff, diff_values

# Version-looking tokens: v24.05.01, v24.05.01.1, 1.2.3, 24.501.0, sha256 digests.
_VERSIONISH = re.compile(r"sha256:[0-9a-f]{16,}|\bv?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.-]+)?\b")


@dataclass(frozen=True)
class TemplateChange:
    """One file under ``templates/`` that differs."""

    path: str
    change: str  # "added", "removed", "modified", "tag-only"
    diff: str = ""

    def to_json(self) -> dict[str, str]:
        """Plain data."""
        return {"path": self.path, "change": self.change}


@dataclass(frozen=True)
class ChartDiff:
    """Everything that differs between two charts, and what it means."""

    old: Chart
    new: Chart
    values: ValuesDiff
    templates: tuple[TemplateChange, ...]
    dependencies_changed: bool

    @property
    def structural_reasons(self) -> list[str]:
        """Why the change is structural; empty when it is a tag-only release."""
        reasons = [f"template {t.path} {t.change}" for t in self.templates if t.change != "tag-only"]
        reasons += [f"values key {c.describe()}" for c in self.values.structural]
        if self.dependencies_changed:
            reasons.append("Chart.yaml dependencies changed")
        return reasons

    @property
    def structural_change(self) -> bool:
        """True unless only image tags / versions differ."""
        return bool(self.structural_reasons)

    @property
    def verdict(self) -> str:
        """The sentence a release note would carry."""
        return "structural change" if self.structural_change else "no structural change"

    def to_json(self) -> dict[str, Any]:
        """Plain data; see the README for the shape."""
        return {
            "old": {
                "name": self.old.name,
                "version": self.old.version,
                "appVersion": self.old.app_version,
                "source": str(self.old.source),
            },
            "new": {
                "name": self.new.name,
                "version": self.new.version,
                "appVersion": self.new.app_version,
                "source": str(self.new.source),
            },
            "verdict": self.verdict,
            "structural_change": self.structural_change,
            "structural_reasons": self.structural_reasons,
            "values": self.values.to_json(),
            "templates": [t.to_json() for t in self.templates],
            "dependencies_changed": self.dependencies_changed,
        }

    def render(self) -> str:
        """Human output for the terminal and failure messages."""
        lines = [
            f"{self.old.name} {self.old.app_version or self.old.version} -> "
            f"{self.new.name} {self.new.app_version or self.new.version}: {self.verdict.upper()}"
        ]
        if self.values.hazards:
            lines.append("override hazards (your values that the new chart will not read):")
            lines += [f"  ! {h.describe()}" for h in self.values.hazards]
        if self.values.risky:
            lines.append("changes under risky prefixes:")
            lines += [f"  * {c.describe()}" for c in self.values.risky]
        if self.values.changes:
            lines.append("values.yaml:")
            lines += [f"  {c.describe()}" for c in self.values.changes]
        if self.templates:
            lines.append("templates/:")
            lines += [f"  {t.path}: {t.change}" for t in self.templates]
        if self.dependencies_changed:
            lines.append("Chart.yaml: dependencies changed")
        return "\n".join(lines)


def _normalise(text: str) -> str:
    return _VERSIONISH.sub("<version>", text)


def diff_templates(old: dict[str, str], new: dict[str, str]) -> tuple[TemplateChange, ...]:
    """Compare template files; a change that vanishes once versions are masked is tag-only."""
    changes: list[TemplateChange] = []
    for path in sorted(set(old) | set(new)):
        if path not in new:
            changes.append(TemplateChange(path, "removed"))
        elif path not in old:
            changes.append(TemplateChange(path, "added"))
        elif old[path] != new[path]:
            kind = "tag-only" if _normalise(old[path]) == _normalise(new[path]) else "modified"
            diff = "".join(
                difflib.unified_diff(
                    old[path].splitlines(keepends=True),
                    new[path].splitlines(keepends=True),
                    f"old/templates/{path}",
                    f"new/templates/{path}",
                )
            )
            changes.append(TemplateChange(path, kind, diff))
    return tuple(changes)


def _dependencies(chart: Chart) -> list[tuple[str, str]]:
    deps = chart.metadata.get("dependencies") or []
    return sorted((str(d.get("name")), str(d.get("repository", ""))) for d in deps if isinstance(d, dict))


def compare_charts(old: Chart, new: Chart, overrides: Sequence[tuple[str, dict[str, Any]]] = ()) -> ChartDiff:
    """Diff two opened charts."""
    return ChartDiff(
        old=old,
        new=new,
        values=diff_values(old.values(), new.values(), overrides),
        templates=diff_templates(old.templates(), new.templates()),
        dependencies_changed=_dependencies(old) != _dependencies(new),
    )


def diff_charts(
    old: Path, new: Path, user_values: Sequence[Path] = (), workdir: Path | None = None
) -> ChartDiff:
    """Open two charts (zips or folders) and diff them, checking the user's values files."""
    old_chart = open_chart(Path(old), workdir, name=f"old-{Path(old).stem}")
    new_chart = open_chart(Path(new), workdir, name=f"new-{Path(new).stem}")
    overrides = [(str(p), load_yaml_mapping(Path(p))) for p in user_values]
    return compare_charts(old_chart, new_chart, overrides)
