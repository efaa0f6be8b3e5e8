"""Time a kind cluster's life: create, Ready (node + system pods), delete.

Usage: python benchmarks/bench_cluster.py [--image IMAGE] [--runs N]
Prints one JSON line per run. Uses the tools and node image of
`pytest-jitera bootstrap --air-gapped` when nothing else is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from pytest_jitera.bootstrap import IMAGES, default_cache_dir
from pytest_jitera.cluster.kind import KindCluster, cluster_name, new_run_id
from pytest_jitera.cluster.tools import ALL_TOOLS, find_tools
from pytest_jitera.runner import Runner

CONFIG = Path(__file__).resolve().parents[1] / "kind-config" / "cluster.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", default=IMAGES.node)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    runner = Runner()
    tools = find_tools(runner, ALL_TOOLS, cache_bin=default_cache_dir() / "bin")
    for _ in range(args.runs):
        name = cluster_name(new_run_id(), suffix="bench")
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            cluster = KindCluster(name=name, workdir=Path(tmp), runner=runner,
                                  kind=tools["kind"], kubectl=tools["kubectl"],
                                  docker=tools["docker"], image=args.image, config=CONFIG,
                                  env=tools.env())
            with cluster:
                ready = time.monotonic() - started
            total = time.monotonic() - started
        print(json.dumps({"cluster": name, "kind_create_s": round(cluster.creation_seconds or 0, 1),
                          "ready_s": round(ready, 1), "delete_s": round(total - ready, 1),
                          "total_s": round(total, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
