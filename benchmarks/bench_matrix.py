"""Wall time of the reference matrix, cold and warm, serial and on two workers.

Usage::

    python benchmarks/bench_matrix.py [--starts v24.05.01,v24.05.01.1,v24.06.01,v24.07.01]
                                      [--to v24.08.01] [--air-gapped] [--runs cold-2,warm-2,...]

Each run is ``pytest --jitera-from=STARTS --jitera-to=TO`` from an empty folder:

* ``cold-0`` / ``cold-2``: ``-n 0`` / ``-n 2`` on a new kind cluster, every case installed
  afresh (``--jitera-starting-state=refresh``, which also saves each case's starting state);
* ``warm-0`` / ``warm-2``: the same on a kept cluster (``--jitera-reuse-cluster``, images on
  its node already) with the cached starting states (``use``);
* ``hop``: a warm rerun of the newest start alone (one hop, its rollback included).

Runs go in the order given (a warm run needs a cold one before it: the first cold run also
creates the kept cluster). Prints each run's wall time, the summed time of the install step
across cases, and the speedups: from caching (cold / warm, same -n) and from parallelism
(-n 0 / -n 2, same cache state). The kept cluster is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_jitera.bootstrap import default_cache_dir
from pytest_jitera.cluster.tools import ALL_TOOLS, find_tools
from pytest_jitera.runner import Runner

INSTALL_STEP = "install the source release"
KEPT = "jitera-bench-matrix"


def _summaries(report: Path) -> list[dict[str, Any]]:
    top = json.loads((report / "summary.json").read_text())
    if top.get("kind") != "matrix":
        return [top]
    return [json.loads((report / case["folder"] / "summary.json").read_text()) for case in top["cases"]]


def rehearse(folder: Path, args: argparse.Namespace, run: str) -> dict[str, Any]:
    folder.mkdir(parents=True)
    starts = args.starts.split(",")[-1] if run == "hop" else args.starts
    workers = "2" if run.endswith("-2") else "0"
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", workers,
            f"--jitera-from={starts}", f"--jitera-to={args.target}"]
    if args.air_gapped:
        argv.append("--jitera-air-gapped")
    # Every run keeps the cluster, so the warm runs find it; a cold run refreshes each state.
    argv.append(f"--jitera-reuse-cluster={KEPT}")
    argv.append("--jitera-starting-state=" + ("refresh" if run.startswith("cold") else "use"))
    started = time.monotonic()
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{run}: the rehearsal failed with exit code {done.returncode}")
    cases = _summaries(folder / "jitera-report")
    install = sum(s["seconds"] for case in cases for s in case["steps"] if s["step"] == INSTALL_STEP)
    skipped = sum(any(n.startswith("install skipped") for n in case["notes"]) for case in cases)
    return {"wall": round(wall, 1), "cases": len(cases), "install_seconds": round(install, 1),
            "installs_skipped": skipped}


def _delete_kept() -> None:
    runner = Runner()
    tools = find_tools(runner, ALL_TOOLS, cache_bin=default_cache_dir() / "bin")
    runner.run([tools["kind"], "delete", "cluster", "--name", KEPT], env=tools.env(), check=False)


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    return round(a["wall"] / b["wall"], 2) if a and b else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", default="v24.05.01,v24.05.01.1,v24.06.01,v24.07.01")
    parser.add_argument("--to", dest="target", default="v24.08.01")
    parser.add_argument("--air-gapped", action="store_true")
    parser.add_argument("--runs", default="cold-2,warm-2,hop,cold-0,warm-0")
    args = parser.parse_args()
    _delete_kept()  # a cold run starts without the kept cluster
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in args.runs.split(","):
                results[run] = rehearse(Path(tmp) / run, args, run)
                print(run, json.dumps(results[run]), flush=True)
    finally:
        _delete_kept()
    get = results.get
    results["speedup_from_caching"] = {"n0": _ratio(get("cold-0"), get("warm-0")),
                                       "n2": _ratio(get("cold-2"), get("warm-2"))}
    results["speedup_from_parallelism"] = {"cold": _ratio(get("cold-0"), get("cold-2")),
                                           "warm": _ratio(get("warm-0"), get("warm-2"))}
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
