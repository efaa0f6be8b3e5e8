"""``pytest-jitera build-reference``: build the reference release series outside a test run.

A developer rehearsing by hand, or CI preparing a kind cluster, needs the chart zips and images
without running pytest; the logic lives in :mod:`pytest_jitera.reference.build`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_jitera.config import check_output_dir
from pytest_jitera.errors import JiteraError
from pytest_jitera.reference.build import build_reference
from pytest_jitera.runner import session_runner


def register(subparsers: Any) -> None:
    """Add the ``build-reference`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "build-reference",
        help="build the reference chart zips (and images) of every release in the series",
        description="Write jitera-helm-<VERSION>.zip for every reference release into --out; "
        "with --images also docker-build jitera/{automation,ultron,studio}:<VERSION>.",
    )
    parser.add_argument(
        "--out",
        type=lambda text: check_output_dir(Path(text), "out"),
        required=True,
        metavar="DIR",
        help="output folder (created if missing; earlier chart trees in it are replaced)",
    )
    parser.add_argument(
        "--release",
        action="append",
        metavar="VERSION",
        help="build only this release (repeatable), e.g. v24.06.01; default: all",
    )
    parser.add_argument("--images", action="store_true", help="also build the release images")
    parser.add_argument(
        "--air-gapped",
        action="store_true",
        help="also build the Debian PostgreSQL, FerretDB and Mailpit images (needs --images, Go)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build and print one line per artefact."""
    if args.air_gapped and not args.images:
        raise JiteraError("--air-gapped builds images", hint="add --images")
    runner = session_runner() if args.images else None
    if runner is not None:
        runner.echo = True  # image builds take minutes: show each command as it starts
    result = build_reference(
        args.out,
        versions=args.release,
        images=args.images,
        air_gapped=args.air_gapped,
        runner=runner,
    )
    for release in result.releases:
        print(
            f"{release.version}\tchart {release.version.semver()}\t{release.zip_path}\t"
            f"schema {release.schema_versions[-1]}\tdata {len(release.data_versions)}"
        )
    for image in result.images:
        print(f"image\t{image}")
    return 0
