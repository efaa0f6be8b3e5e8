"""``pytest-jitera diff``: values keys, templates and override hazards of two charts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_jitera.charts.diff import diff_charts
from pytest_jitera.commands._output import emit_json
from pytest_jitera.config import check_input_file


def register(subparsers: Any) -> None:
    """Add the ``diff`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "diff",
        help="diff two charts (zip or folder) and check your values overrides",
        description="Exit code 0: no structural change; 1: structural change; "
        "3: an override you set is removed, renamed or retyped by the new chart.",
    )
    parser.add_argument("old_chart", type=Path, metavar="OLD_CHART")
    parser.add_argument("new_chart", type=Path, metavar="NEW_CHART")
    parser.add_argument(
        "--values",
        # Checked while parsing, before either chart is opened: a folder or a typo here is the
        # user's to fix, and must not surface as an OSError from deep inside the diff.
        type=lambda text: check_input_file(Path(text), "values"),
        action="append",
        default=[],
        metavar="FILE",
        help="your Helm values override file (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--show-diff", action="store_true", help="print unified diffs of templates")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Diff and print; the exit code tells scripts what was found."""
    result = diff_charts(args.old_chart, args.new_chart, args.values)
    if args.json:
        emit_json(result.to_json())
    else:
        print(result.render())
        if args.show_diff:
            for change in result.templates:
                if change.diff:
                    print(change.diff)
    if result.values.hazards:
        return 3
    return 1 if result.structural_change else 0
