"""Wall time of the headline rehearsal, split by phase, and the harness's own overhead.

Usage: python benchmarks/bench_rehearsal.py [--from v24.05.01] [--to v24.08.01] [--air-gapped]

Runs the rehearsal twice from empty folders: once creating its own kind cluster ("fresh"), once
with ``--jitera-kubeconfig`` on a kind cluster created beforehand ("warm", images already on the
node). For each it prints the phases (summed step durations from the report's summary.json:
cluster and setup, install, per hop backup+verify, dry run, upgrade with hook, smoke) and the
overhead: the share of wall time not spent inside a helm/kubectl/docker/pg command, an API
watch, an HTTP call or a wait (the report's activity.json). Goal: overhead <= 5%.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pytest_jitera.bootstrap import IMAGES, default_cache_dir
from pytest_jitera.cluster.kind import KindCluster, cluster_name, new_run_id
from pytest_jitera.cluster.tools import ALL_TOOLS, find_tools
from pytest_jitera.runner import Runner

PHASES = {
    "install the source release": "install",
    "back up every datastore and prove the backup": "backup+verify",
    "plan the upgrade: helm template and server dry run": "dry run",
    "apply the upgrade": "upgrade",
    "migration hook complete": "hook",
    "rollout complete": "rollout",
    "smoke: studio answers": "smoke",
    "smoke: invited user's e-mail arrives": "smoke",
    "smoke: CLI authenticates and uploads": "smoke",
}


def rehearse(folder: Path, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
            f"--jitera-from={args.source}", f"--jitera-to={args.target}", *extra]
    if args.air_gapped:
        argv.append("--jitera-air-gapped")
    started = time.monotonic()
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"rehearsal failed with exit code {done.returncode}")
    summary = json.loads((folder / "jitera-report" / "summary.json").read_text())
    activity = json.loads((folder / "jitera-report" / "activity.json").read_text())
    phases: dict[str, float] = defaultdict(float)
    for step in summary["steps"]:
        phases[PHASES.get(step["step"], "other checks")] += step["seconds"]
    stepped = sum(phases.values())
    phases["cluster, images, namespace (setup)"] = max(0.0, activity["wall_seconds"] - stepped)
    return {"wall": round(wall, 1), "phases": {k: round(v, 1) for k, v in phases.items()},
            "overhead_ratio": activity["overhead_ratio"], "external": activity["by_kind"]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from", dest="source", default="v24.05.01")
    parser.add_argument("--to", dest="target", default="v24.08.01")
    parser.add_argument("--air-gapped", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["fresh"] = rehearse(Path(tmp) / "fresh", args, [])
        runner = Runner()
        tools = find_tools(runner, ALL_TOOLS, cache_bin=default_cache_dir() / "bin")
        cluster = KindCluster(
            name=cluster_name(new_run_id(), suffix="bench"), workdir=Path(tmp) / "kind", runner=runner,
            kind=tools["kind"], kubectl=tools["kubectl"], docker=tools["docker"], helm=tools["helm"],
            image=IMAGES.node, env=tools.env(),
        )
        with cluster:
            kubeconfig = f"--jitera-kubeconfig={cluster.kubeconfig}"
            rehearse(Path(tmp) / "preload", args, [kubeconfig])  # puts the images on the node
            results["warm"] = rehearse(Path(tmp) / "warm", args, [kubeconfig])
    fresh, warm = results["fresh"], results["warm"]
    results["ratio_fresh_to_warm"] = round(fresh["wall"] / warm["wall"], 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
