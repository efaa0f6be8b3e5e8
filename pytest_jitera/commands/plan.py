"""``pytest-jitera plan``: the ordered upgrade hops between two releases."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_jitera.commands._output import emit_json, emit_lines
from pytest_jitera.config import default_charts_source, parse_version_option
from pytest_jitera.release.catalog import load_catalog
from pytest_jitera.release.planner import plan_upgrade
from pytest_jitera.release.versions import Version


def register(subparsers: Any) -> None:
    """Add the ``plan`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="list the upgrade hops from one release to another",
        description="Step through every released minor in order; land on each intermediate "
        "minor's newest patch; refuse downgrades, unknown versions and skipped minors.",
    )
    parser.add_argument(
        "--charts",
        type=Path,
        default=None,
        metavar="SRC",
        help="folder of jitera-helm-<VERSION>.zip files / chart folders, or index.yaml "
        "(default: the embedded reference series, the same catalog the pytest plugin uses "
        "without --jitera-charts; built on first use, then cached)",
    )
    # Parsed while the arguments are, so run() gets Versions; a bad one names its option.
    parser.add_argument("--from", dest="source", required=True, metavar="VERSION",
                        type=lambda text: parse_version_option(text, "from"),
                        help="release currently installed, e.g. v24.05.01")
    parser.add_argument("--to", dest="target", required=True, metavar="VERSION",
                        type=lambda text: parse_version_option(text, "to"),
                        help="release to upgrade to, e.g. v24.06.01")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="check a single direct hop instead of planning (refused if it skips a minor)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan and print."""
    source: Version = args.source
    target: Version = args.target
    catalog = load_catalog(args.charts or default_charts_source())
    plan = plan_upgrade(catalog, source, target, direct=args.direct)
    if args.json:
        emit_json({**plan.to_json(), "warnings": list(catalog.warnings)})
        return 0
    emit_lines(
        [
            f"upgrade path {source} -> {target}: {len(plan.hops)} hop(s)",
            *(
                f"  {number}. {hop.old.version} -> {hop.new.version}  ({hop.kind.value})  {hop.new.location}"
                for number, hop in enumerate(plan.hops, 1)
            ),
            *(f"warning: {warning}" for warning in catalog.warnings),
        ]
    )
    return 0
