"""``pytest-jitera classify``: which rollback scenario a release pair needs, with evidence.

Exit code 0 means the classification ran (read the scenario from the output or ``--json``);
input problems exit 2 through the CLI's error handling.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pytest_jitera.charts.diff import diff_charts
from pytest_jitera.commands._output import emit_json
from pytest_jitera.decision.classify import Classification, classify_release
from pytest_jitera.decision.migrations.findings import COULD_NOT_ANALYSE
from pytest_jitera.decision.migrations.inventory import DEFAULT_IMAGE_APP_PATH, image_app_tree


def register(subparsers: Any) -> None:
    """Add the ``classify`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "classify",
        help="decide the runbook's rollback scenario (1, 2 or 3) for a release pair",
        description="Diff the charts, list the migrations the new release adds, look for "
        "destructive operations in them and for old code that still uses what they destroy. "
        "Exit code 0 when the classification ran; 2 on bad input.",
    )
    parser.add_argument("--old-chart", required=True, type=Path, metavar="CHART",
                        help="the chart currently deployed (zip or folder)")
    parser.add_argument("--new-chart", required=True, type=Path, metavar="CHART",
                        help="the chart being rolled out (zip or folder)")
    old = parser.add_mutually_exclusive_group(required=True)
    old.add_argument("--old-app", type=Path, metavar="DIR",
                     help="Rails root of the old release (holds db/migrate/)")
    old.add_argument("--old-image", metavar="IMAGE", help="Rails image of the old release")
    new = parser.add_mutually_exclusive_group(required=True)
    new.add_argument("--new-app", type=Path, metavar="DIR",
                     help="Rails root of the new release (holds db/migrate/)")
    new.add_argument("--new-image", metavar="IMAGE", help="Rails image of the new release")
    parser.add_argument("--image-app-path", default=DEFAULT_IMAGE_APP_PATH, metavar="PATH",
                        help=f"Rails root inside the images (default {DEFAULT_IMAGE_APP_PATH})")
    parser.add_argument("--writes-during-rollback", action="store_true",
                        help="users or jobs may write between rollback and re-upgrade")
    parser.add_argument("--full-consistency", action="store_true",
                        help="the data must be exactly consistent after rollback")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Classify and print."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jitera-classify-")))
        chart = diff_charts(args.old_chart, args.new_chart, workdir=workdir)
        old_app = args.old_app or stack.enter_context(
            image_app_tree(args.old_image, args.image_app_path, label="old"))
        new_app = args.new_app or stack.enter_context(
            image_app_tree(args.new_image, args.image_app_path, label="new"))
        result = classify_release(
            Path(old_app),
            Path(new_app),
            chart=chart,
            writes_during_rollback=args.writes_during_rollback,
            full_consistency=args.full_consistency,
        )
    if args.json:
        emit_json(result.to_json())
    else:
        print(render(result))
    return 0


def render(result: Classification) -> str:
    """Format a Markdown table plus reasons and steps, ready for a release note."""
    chart_text = "no structural change (image tags / versions only)"
    if result.chart is not None and result.chart.structural_change:
        why = result.chart.structural_reasons
        chart_text = "structural change" + (f": {'; '.join(why[:3])}" if why else "")
        if len(why) > 3:
            chart_text += f" (+{len(why) - 3} more)"
    added = result.migrations.added
    data = sum(1 for m in added if m.kind == "data")
    destructive = [f for f in result.findings if f.destructive]
    unknown = [f for f in result.findings if f.op == COULD_NOT_ANALYSE]
    rows = [
        ("Chart", chart_text),
        ("Migrations added", f"{len(added)} ({len(added) - data} schema, {data} data)"),
        ("Migrations removed", str(len(result.migrations.removed))),
        ("Destructive operations", _join(f"{f.op} {_objects(f)} ({f.file}:{f.line})"
                                         for f in destructive)),
        ("Could not analyse", _join(f"{f.file}:{f.line} {f.detail}" for f in unknown)),
        ("Old code using them", _join(_usage(key, refs) for key, refs in
                                      result.references.items())),
        ("Writes during rollback", "yes" if result.writes_during_rollback else "no"),
        ("Full consistency required", "yes" if result.full_consistency else "no"),
    ]
    lines = [
        f"Rollback scenario {int(result.scenario)}: {result.scenario.title}",
        "",
        "| Check | Result |",
        "|---|---|",
        *(f"| {name} | {_cell(value)} |" for name, value in rows),
        "",
        "Reasons:",
    ]
    for reason in result.reasons:
        lines.append(f"  [{int(reason.scenario)}] {reason.text}")
        shown = reason.evidence[:6]
        if shown:
            more = len(reason.evidence) - len(shown)
            lines.append("      " + ", ".join(shown) + (f" (+{more} more)" if more else ""))
    lines += ["", "Procedure:"]
    lines += [f"  {n}. {step}" for n, step in enumerate(result.procedure, 1)]
    return "\n".join(lines)


def _usage(key: str, refs: list[Any]) -> str:
    user = [r for r in refs if r.kind == "user_facing"]
    admin = [r for r in refs if r.kind == "admin"]
    first = (user or admin)[:1]
    example = f", e.g. {first[0].file}:{first[0].line}" if first else ""
    return f"{key}: {len(user)} user-facing, {len(admin)} admin{example}"


def _objects(finding: Any) -> str:
    objects = finding.objects
    if "column" in objects:
        return f"{objects.get('table', '?')}.{objects['column']}"
    return str(objects.get("table") or objects.get("type") or objects.get("index") or "")


def _join(items: Any) -> str:
    values = list(items)
    if not values:
        return "none"
    if len(values) > 4:
        return "; ".join(values[:4]) + f"; +{len(values) - 4} more"
    return "; ".join(values)


def _cell(text: str) -> str:
    """Keep Markdown table cells on one line and free of column separators."""
    return text.replace("|", "\\|").replace("\n", " ")
