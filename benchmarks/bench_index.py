"""Benchmark ``load_catalog`` on a big Helm repository ``index.yaml`` against plain ``yaml.safe_load``.

Usage::

    python benchmarks/bench_index.py [--entries 100000] [--repeat 3] [--root DIR] [--skip-old]

A Helm-shaped index (the fields and layout ``helm repo index`` writes, newest version first,
relative chart URLs) with ``--entries`` versions of the ``jitera`` chart is generated in a
temporary folder (or ``--root``). Every approach runs in its own fresh Python process, so the
peak RSS it reports (``resource.getrusage``) belongs to that approach alone; the figure
before loading (interpreter and imports) is shown too. (Linux carries a process's peak RSS
across fork and exec, so the index is generated in a child too: this parent stays small.)
All approaches run in this one run:

* ``safe_load``: what the catalog did before, ``yaml.safe_load`` of the file's text;
* ``CSafeLoader``: the same with libyaml's C parser (``yaml.load(text, CSafeLoader)``);
* ``libyaml events``: only iterating ``yaml.parse(stream, CSafeLoader)``'s events, keeping
  nothing (a lower bound for any reader that walks events in Python);
* ``load_catalog``: the catalog as built now (validation by libyaml, then the scanner).

The best wall time of ``--repeat`` runs is reported (the old approach runs once: it takes
about half a minute), with the ratio to ``load_catalog``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APPROACHES = ("safe_load", "CSafeLoader", "libyaml events", "load_catalog")
GOAL_SECONDS = 2.0
GOAL_MB = 200.0


def release_versions(count: int) -> list[tuple[str, str]]:
    """(tag, chart version) pairs, newest first as Helm orders them."""
    found: list[tuple[str, str]] = []
    for year in range(100):
        for month in range(1, 13):
            for day in (1, 15):
                for patch in range(100):
                    tag = f"v{year:02d}.{month:02d}.{day:02d}" + (f".{patch}" if patch else "")
                    found.append((tag, f"{year}.{month * 100 + day}.{patch}"))
    found = found[: min(count, len(found))]
    found.sort(key=lambda pair: tuple(int(p) for p in pair[1].split(".")), reverse=True)
    return found


def generate(index: Path, count: int) -> None:
    """Write the index (in a child process: see the module docstring)."""
    lines = ["apiVersion: v1", "entries:", "  jitera:"]
    for tag, chart_version in release_versions(count):
        digest = hashlib.sha256(chart_version.encode()).hexdigest()
        lines += [
            "  - apiVersion: v2",
            f"    appVersion: {tag}",
            '    created: "2024-05-01T10:00:00.000000000Z"',
            f"    digest: {digest}",
            "    name: jitera",
            "    urls:",
            f"    - jitera-{chart_version}.tgz",
            f"    version: {chart_version}",
        ]
    lines.append('generated: "2024-06-01T10:00:00.000000000Z"')
    index.write_text("\n".join(lines) + "\n")


def child(approach: str, index: Path) -> None:
    """Run one approach in this (fresh) process and print its figures as JSON."""
    import yaml

    from pytest_jitera.release.catalog import load_catalog

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    if approach == "safe_load":
        result = len(yaml.safe_load(index.read_text())["entries"]["jitera"])
    elif approach == "CSafeLoader":
        result = len(yaml.load(index.read_text(), Loader=yaml.CSafeLoader)["entries"]["jitera"])
    elif approach == "libyaml events":
        with index.open("rb") as stream:
            result = sum(1 for _event in yaml.parse(stream, Loader=yaml.CSafeLoader))
    else:
        result = len(load_catalog(index).releases)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "peak_mb": peak, "before_mb": before, "result": result}))


def run_child(*args: str) -> str:
    """This script in a fresh interpreter, importing the package from this checkout."""
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    return proc.stdout


def measure(approach: str, index: Path, repeat: int) -> dict[str, float]:
    """Best wall time of ``repeat`` fresh processes, and the peak RSS of that run."""
    runs = [json.loads(run_child("--child", approach, str(index))) for _ in range(repeat)]
    return min(runs, key=lambda run: run["wall"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "jitera-bench-index")
    parser.add_argument("--skip-old", action="store_true", help="do not run the ~30 s safe_load")
    parser.add_argument("--child", nargs=2, metavar=("APPROACH", "INDEX"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, metavar="INDEX", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    if args.generate:
        generate(args.generate, args.entries)
        return 0

    args.root.mkdir(parents=True, exist_ok=True)
    index = args.root / f"index-{args.entries}.yaml"
    if not index.exists():
        run_child("--generate", str(index), "--entries", str(args.entries))
    print(f"index: {index} ({index.stat().st_size / 1e6:.1f} MB, {args.entries:,} entries); "
          f"cpus usable: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f}")
    figures: dict[str, dict[str, float]] = {}
    for approach in APPROACHES:
        if approach == "safe_load" and args.skip_old:
            continue
        repeat = 1 if approach == "safe_load" else args.repeat
        figures[approach] = measure(approach, index, repeat)
    new = figures["load_catalog"]
    print(f"{'':16} {'seconds':>8} {'peak MB':>8} {'before load':>12} {'vs load_catalog':>16}")
    for approach, run in figures.items():
        ratio = run["wall"] / new["wall"]
        print(f"{approach:16} {run['wall']:8.2f} {run['peak_mb']:8.0f} {run['before_mb']:12.0f} "
              f"{ratio:15.1f}x   ({int(run['result']):,} {'events' if 'events' in approach else 'entries'})")
    ok = new["wall"] < GOAL_SECONDS and new["peak_mb"] < GOAL_MB
    goal = f"goal: load_catalog under {GOAL_SECONDS:.0f} s and {GOAL_MB:.0f} MB peak"
    print(("PASS" if ok else "MISS") + f" ({goal})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
