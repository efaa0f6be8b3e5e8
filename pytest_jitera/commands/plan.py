"""``pytest-jitera plan``: the ordered upgrade hops between two releases."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_jitera.catalog import load_catalog
from pytest_jitera.commands._output import emit_json
from pytest_jitera.planner import plan_upgrade
from pytest_jitera.versions import Version


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
        required=True,
        type=Path,
        metavar="SRC",
        help="folder of jitera-helm-<VERSION>.zip files / chart folders, or index.yaml",
    )
    parser.add_argument("--from", dest="source", required=True, metavar="VERSION")
    parser.add_argument("--to", dest="target", required=True, metavar="VERSION")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="check a single direct hop instead of planning (refused if it skips a minor)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan and print."""
    source, target = Version.parse(args.source), Version.parse(args.target)
    catalog = load_catalog(args.charts)
    plan = plan_upgrade(catalog, source, target, direct=args.direct)
    if args.json:
        emit_json({**plan.to_json(), "warnings": list(catalog.warnings)})
        return 0
    print(f"upgrade path {source} -> {target}: {len(plan.hops)} hop(s)")
    for number, hop in enumerate(plan.hops, 1):
        print(f"  {number}. {hop.old.version} -> {hop.new.version}  ({hop.kind.value})  {hop.new.location}")
    for warning in catalog.warnings:
        print(f"warning: {warning}")
    return 0
