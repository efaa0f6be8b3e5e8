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

from pytest_jitera.charts.chart import Chart, open_chart, scratch_folder
from pytest_jitera.charts.values_diff import ValuesDiff, diff_values
from pytest_jitera.redact import MASK, redact_lines
from pytest_jitera.yamlfile import load_yaml_mapping

# Version-looking tokens: v24.05.01, v24.05.01.1, 1.2.3, 24.501.0, sha256 digests.
_VERSIONISH = re.compile(r"sha256:[0-9a-f]{16,}|\bv?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.-]+)?\b")


@dataclass(frozen=True)
class TemplateChange:
    """One file under ``templates/`` that differs; ``diff`` is already masked for printing."""

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
            changes.append(TemplateChange(path, kind, masked_diff(path, old[path], new[path])))
    return tuple(changes)


def masked_diff(path: str, old: str, new: str) -> str:
    """A unified diff of two template versions that shows no secret either version holds.

    Hunks are found on the real text, so a rotated password or key line still shows as
    changed, but every line is printed from its masked version. Masking the finished diff
    instead would miss a PEM body whose ``BEGIN`` line fell outside the hunk's context.
    """
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    old_shown, new_shown = _masked_lines(old, old_lines), _masked_lines(new, new_lines)
    out = [f"--- old/templates/{path}\n", f"+++ new/templates/{path}\n"]
    for group in difflib.SequenceMatcher(None, old_lines, new_lines).get_grouped_opcodes(3):
        out.append(_hunk_header(group))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in old_shown[i1:i2]]
            else:
                out += ["-" + line for line in old_shown[i1:i2]]
                out += ["+" + line for line in new_shown[j1:j2]]
    return "".join(out) if len(out) > 2 else ""


def _masked_lines(text: str, lines: list[str]) -> list[str]:
    """``text``'s lines masked, one for one with ``lines``, each ending in a newline."""
    shown = redact_lines(text).splitlines(keepends=True)
    if len(shown) != len(lines):  # cannot happen with line-preserving masking; never risk a leak
        shown = [MASK + "\n"] * len(lines)
    return [line if line.endswith(("\n", "\r")) else line + "\n" for line in shown]


def _hunk_header(group: list[tuple[str, int, int, int, int]]) -> str:
    first, last = group[0], group[-1]
    return f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"


def _range(start: int, stop: int) -> str:
    """Unified-diff line range: 1-based start, and a length unless it is 1."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


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
    """Open two charts (archives or folders) and diff them, checking the user's values files.

    Without a ``workdir`` the archives are extracted into a scratch folder that is gone when
    this returns: the diff holds everything it reports, not paths into the extraction.
    """
    overrides = [(str(p), load_yaml_mapping(Path(p), what="values file")) for p in user_values]
    if workdir is None:
        with scratch_folder() as scratch:
            return _diff_opened(Path(old), Path(new), overrides, scratch)
    return _diff_opened(Path(old), Path(new), overrides, workdir)


def _diff_opened(
    old: Path, new: Path, overrides: Sequence[tuple[str, dict[str, Any]]], workdir: Path
) -> ChartDiff:
    old_chart = open_chart(old, workdir, name=f"old-{old.name}")
    new_chart = open_chart(new, workdir, name=f"new-{new.name}")
    return compare_charts(old_chart, new_chart, overrides)
