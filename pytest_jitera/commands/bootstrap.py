"""``pytest-jitera bootstrap``: put good kind, helm and kubectl in the cache, and a node image if needed.

Two routes, because hosts differ in what they can reach:

* default: download the pinned official release binaries of kind, helm and kubectl into
  ``<cache>/bin``, each verified against the sha256 published beside it; kind then pulls its own
  ``kindest/node`` image when a cluster is created. Seconds, on a host with network access (or
  a mirror of the release sites).
* ``--air-gapped``: build the tools and a complete kind node image from the Go module proxy and
  Debian packages, for hosts that cannot pull container images. Tens of minutes the first time,
  which is why it must be asked for by name.

Both are cached: a second run only checks and takes about a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pytest_jitera.bootstrap import Bootstrap, default_cache_dir
from pytest_jitera.bootstrap.pins import OFFICIAL
from pytest_jitera.cluster.tools import SPECS, format_version, parse_version, probe
from pytest_jitera.config import check_output_dir
from pytest_jitera.errors import OptionError
from pytest_jitera.runner import session_runner


def register(subparsers: Any) -> None:
    """Add the ``bootstrap`` subcommand."""
    parser = subparsers.add_parser(
        "bootstrap",
        help="download (or, --air-gapped, build) kind, helm and kubectl into the cache",
        description=(
            f"Download the official kind {OFFICIAL.kind}, helm {OFFICIAL.helm} and kubectl "
            f"{OFFICIAL.kubectl} release binaries into <cache>/bin, each checked against the "
            "sha256 published beside it before it is used. With --air-gapped, build kind, helm "
            "and kubectl from the Go module proxy and a complete kind node image from source and "
            "Debian packages instead, for hosts that cannot pull container images. Cached: a "
            "second run only checks and takes seconds."
        ),
    )
    parser.add_argument(
        "--air-gapped",
        action="store_true",
        help="build everything locally, node image included (tens of minutes the first time)",
    )
    parser.add_argument(
        "--mirror",
        metavar="URL",
        default=None,
        help="a mirror holding the official hosts' layout below it, e.g. URL/get.helm.sh/helm-... "
        "and URL/dl.k8s.io/release/... (default: $JITERA_DOWNLOAD_BASE, else the release sites)",
    )
    parser.add_argument(
        "--download-base",
        metavar="TOOL=URL",
        action="append",
        default=[],
        help="replace one tool's official base URL (repeatable), e.g. "
        "kind=https://mirror.example/kind/releases/download; wins over --mirror",
    )
    parser.add_argument(
        "--cache-dir",
        type=lambda text: check_output_dir(Path(text).expanduser(), "cache-dir"),
        default=None,
        help="where binaries, build state and logs go "
        "(default: $JITERA_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/pytest-jitera)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the chosen route; exit code 0 when the tools (and, air-gapped, the node image) are ready."""
    cache = (args.cache_dir or default_cache_dir()).expanduser().resolve()
    if args.air_gapped:
        if args.mirror or args.download_base:
            raise OptionError(
                "--mirror and --download-base apply to the download route, not to --air-gapped",
                hint="drop them, or drop --air-gapped to download the official binaries",
                option="mirror",
            )
        return _air_gapped(cache)
    return _official(cache, args.download_base, args.mirror)


def _air_gapped(cache: Path) -> int:
    boot = Bootstrap(cache=cache, runner=session_runner(), out=sys.stdout)
    boot.run()
    print("\nstep durations:")
    for result in boot.results:
        print(f"  {result.seconds:8.1f}s  {'cached' if result.cached else 'ran   '}  {result.name}")
    return 0


def _official(cache: Path, download_base: list[str], mirror: str | None) -> int:
    # httpx is imported here, not at start-up: every other subcommand would pay for it.
    from pytest_jitera.bootstrap.download import Downloader, resolve_bases

    bases = resolve_bases(download_base, mirror)
    bin_dir = cache / "bin"
    downloader = Downloader(bin_dir=bin_dir, stamps_dir=cache / "stamps", bases=bases, out=sys.stdout)
    print(f"[bootstrap] cache: {cache}", flush=True)
    installed = downloader.install_all()
    runner = session_runner()
    print("\ntools:")
    wrong: list[str] = []
    for item in installed:
        # A verified file can still be the wrong program for this host (another architecture
        # on a mirror); asking it for its version is the cheapest proof that it runs.
        version = probe(runner, SPECS[item.tool], item.path)
        state = "cached    " if item.cached else "downloaded"
        said = format_version(version) if version else "no version: it does not run here"
        print(f"  {state}  {item.tool} {item.version}  {item.path}  (reports {said})")
        if version is None or parse_version(item.version) != version:
            wrong.append(f"{item.tool} at {item.path} reports {said}, not {item.version}")
    if wrong:
        print("error: " + "; ".join(wrong), file=sys.stderr)
        print(
            "hint: a mirror may serve files for another platform; `pytest-jitera doctor` shows what runs",
            file=sys.stderr,
        )
        return 1
    print(f"\nnext: export PATH={bin_dir}:$PATH  (kind pulls its node image on `kind create cluster`)")
    print("check everything with: pytest-jitera doctor")
    return 0
