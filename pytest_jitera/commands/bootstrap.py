"""``pytest-jitera bootstrap``: prepare kind, helm, kubectl and a kind node image.

Only the air-gapped route exists: on a host that can reach registries, the official kind,
helm and kubectl releases and ``kindest/node`` images are simpler, and the command says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pytest_jitera.bootstrap import Bootstrap, default_cache_dir
from pytest_jitera.config import check_output_dir
from pytest_jitera.errors import JiteraError
from pytest_jitera.runner import session_runner


def register(subparsers: Any) -> None:
    """Add the ``bootstrap`` subcommand."""
    parser = subparsers.add_parser(
        "bootstrap",
        help="build kind, helm, kubectl and a kind node image without a container registry",
        description=(
            "Build kind, helm and kubectl from the Go module proxy and a complete kind node "
            "image (Kubernetes, containerd, etcd, CoreDNS, ...) from source and Debian "
            "packages, for hosts that cannot pull container images. Cached by version: a "
            "second run only checks and takes seconds."
        ),
    )
    parser.add_argument(
        "--air-gapped",
        action="store_true",
        help="build everything locally (the only mode; required so the cost is explicit)",
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
    """Run the bootstrap; exit code 0 when the node image and tools are ready."""
    if not args.air_gapped:
        raise JiteraError(
            "only `pytest-jitera bootstrap --air-gapped` is supported",
            hint="with registry access, install the official kind, helm and kubectl binaries "
            "instead; kind then pulls its node image itself",
        )
    cache = (args.cache_dir or default_cache_dir()).expanduser().resolve()
    boot = Bootstrap(cache=cache, runner=session_runner(), out=sys.stdout)
    boot.run()
    print("\nstep durations:")
    for result in boot.results:
        print(f"  {result.seconds:8.1f}s  {'cached' if result.cached else 'ran   '}  {result.name}")
    return 0
