"""``pytest-jitera report merge``: one matrix report from the folders of several shards or cases.

The exit code follows pytest's, so a CI job that merges the shards' uploads can fail on the
merge alone: 0 when every case passed, 1 when any failed or is missing, 2 for bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_jitera.commands._output import emit_lines
from pytest_jitera.config import check_output_dir
from pytest_jitera.report.matrix import CaseSummary, MatrixSummary
from pytest_jitera.report.merge import merge_reports
from pytest_jitera.report.text import duration
from pytest_jitera.report.write import INDEX

EXIT_PASSED = 0
EXIT_FAILED = 1


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand and its ``merge`` action."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="combine rehearsal report folders",
        description="Work with the report folders rehearsals write (--jitera-report).",
    )
    actions = parser.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    merge: argparse.ArgumentParser = actions.add_parser(
        "merge",
        help="merge shard or case report folders into one matrix report",
        description="Copy every case of the given folders (matrix folders written by shards, or "
        "single rehearsals' folders) into --out, and write the matrix summary.json and index.html "
        "there. Exit 0 when every case passed, 1 when one failed or is missing, 2 for bad input.",
    )
    merge.add_argument("sources", nargs="+", type=Path, metavar="DIR", help="a report folder to merge")
    merge.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        type=lambda text: check_output_dir(Path(text), "out"),
        help="the matrix report folder to write (created if missing; may be one of the DIRs)",
    )
    merge.add_argument(
        "--previous",
        type=Path,
        default=None,
        metavar="SUMMARY_JSON",
        help="an earlier matrix summary.json; the page shows each case's trend against it",
    )
    merge.set_defaults(func=run_merge)


def run_merge(args: argparse.Namespace) -> int:
    """Merge, print a line per case and where the page is, and exit as pytest would."""
    out: Path = args.out
    summary = merge_reports(args.sources, out, previous=args.previous)
    emit_lines(summary_lines(summary, out.resolve() / INDEX))
    return EXIT_PASSED if summary.outcome == "passed" else EXIT_FAILED


def summary_lines(summary: MatrixSummary, page: Path) -> list[str]:
    """A line per case, the overall outcome, and the page last, as the plugin ends its summary."""
    width = max((len(case.label) for case in summary.cases), default=0)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in summary.counts().items() if n)
    return [
        *(f"{case.label:<{width}}  {case.outcome:<7}  {_took(case)}" for case in summary.cases),
        f"matrix to {summary.target}: {summary.outcome} ({counts})",
        f"report ({summary.outcome}): {page}",
    ]


def _took(case: CaseSummary) -> str:
    return "no report" if case.outcome == "missing" else duration(case.seconds)
