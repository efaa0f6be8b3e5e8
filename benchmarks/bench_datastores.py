"""Benchmark: harness snapshot+verify vs plain pg_dump + pg_restore on a >= 2 GB database.

Usage:
    source /var/tmp/jitera-datastores/env.sh   # from .ci/start-datastores.sh
    python benchmarks/bench_datastores.py [--size-gb 2] [--jobs 2] [--rounds 2] [--workdir DIR]
                                           [--json OUT]

The generated database (``jitera_bench``: many tables, an ENUM, indexes; built server-side
with generate_series) is kept and reused by later runs. Both paths run in the same process
and the same run, in alternating order per round: the by-hand baseline (pg_dump -Fc,
createdb, pg_restore into a new database) and the harness (snapshot_postgres +
verify_postgres_snapshot). Reported: both
wall times, overhead ratio (target <= 10%), and peak RSS of this process before and after the
harness (flat if dumps are streamed rather than loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from pytest_jitera.datastores import (
    LocalPgTools,
    PgConnInfo,
    snapshot_postgres,
    verify_postgres_snapshot,
)
from pytest_jitera.datastores.postgres.connect import connected, create_database, drop_database
from pytest_jitera.runner import Runner

DB = "jitera_bench"
TABLES = 16


def progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def db_size(server: PgConnInfo, name: str) -> int:
    with connected(server) as c:
        row = c.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
    return int(row[0]) if row else 0


def ensure_database(server: PgConnInfo, size_gb: float) -> int:
    """Create and fill jitera_bench unless a complete one is already there."""
    target = int(size_gb * 1024**3)
    with connected(server) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone()
    if exists:
        with connected(server.with_db(DB)) as c:
            done = c.execute("SELECT to_regclass('bench_meta') IS NOT NULL").fetchone()
        if done and done[0] and db_size(server, DB) >= target:
            progress(f"reusing {DB} ({db_size(server, DB) / 1024**3:.2f} GiB)")
            return db_size(server, DB)
        drop_database(server, DB)
    progress(f"generating {DB} (~{size_gb} GiB) with generate_series")
    create_database(server, DB)
    # ~160 bytes per row including heap, TOAST-free text and three indexes (measured).
    rows = int(target / TABLES / 160)
    with connected(server.with_db(DB)) as c:
        c.execute("CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'returned')")
        c.execute(
            "CREATE TABLE schema_migrations (version varchar PRIMARY KEY);"
            "INSERT INTO schema_migrations SELECT to_char(d, 'YYYYMMDDHH24MISS') "
            "FROM generate_series('2023-01-01'::timestamptz, '2024-12-01', '1 month') d"
        )
        for i in range(TABLES):
            t0 = time.monotonic()
            c.execute(
                f"CREATE TABLE orders_{i:02d} (id bigserial PRIMARY KEY, account_id int NOT NULL,"
                " status order_status NOT NULL DEFAULT 'new', reference text NOT NULL,"
                " note text, amount numeric(12, 2), created_at timestamptz NOT NULL)"
            )
            c.execute(
                f"INSERT INTO orders_{i:02d} (account_id, status, reference, note, amount,"
                " created_at) SELECT g % 50000, (enum_range(NULL::order_status))[1 + g % 4],"
                " md5(g::text), CASE WHEN g % 3 = 0 THEN repeat(md5((g * 7)::text), 2) END,"
                " (g % 100000) / 100.0, '2024-01-01'::timestamptz + g * interval '1 second'"
                f" FROM generate_series(1, {rows}) g"
            )
            c.execute(f"CREATE INDEX ON orders_{i:02d} (account_id)")
            c.execute(f"CREATE INDEX ON orders_{i:02d} (created_at)")
            progress(f"  orders_{i:02d}: {rows} rows in {time.monotonic() - t0:.0f}s")
        c.execute("VACUUM ANALYZE")
        c.execute("CREATE TABLE bench_meta AS SELECT now() AS generated_at")
    size = db_size(server, DB)
    progress(f"generated {size / 1024**3:.2f} GiB")
    return size


def baseline(server: PgConnInfo, work: Path, jobs: int) -> dict[str, float]:
    """What an operator types by hand."""
    env = {**os.environ, **server.client_env()}
    dump = work / "baseline.dump"
    conn = server.client_args()
    t0 = time.monotonic()
    subprocess.run(["pg_dump", *conn, "-d", DB, "-Fc", "-f", str(dump)], env=env, check=True)
    t1 = time.monotonic()
    scratch = "jitera_bench_manual"
    drop_database(server, scratch)
    subprocess.run(["createdb", *conn, "-T", "template0", scratch], env=env, check=True)
    subprocess.run(
        ["pg_restore", *conn, "-d", scratch, "--exit-on-error", f"-j{jobs}", str(dump)],
        env=env,
        check=True,
    )
    # Dropping the scratch database is inside the timing, as it is inside the harness's verify.
    drop_database(server, scratch)
    t2 = time.monotonic()
    size = dump.stat().st_size
    dump.unlink()
    return {"dump_s": t1 - t0, "restore_s": t2 - t1, "total_s": t2 - t0, "dump_bytes": size}


def harness(server: PgConnInfo, work: Path, jobs: int) -> dict[str, Any]:
    tools = LocalPgTools(Runner())
    dump = work / "harness.dump"
    t0 = time.monotonic()
    snap = snapshot_postgres(server.with_db(DB), dump, tools=tools)
    t1 = time.monotonic()
    result = verify_postgres_snapshot(dump, server, snapshot=snap, tools=tools, jobs=jobs)
    t2 = time.monotonic()
    if not result.ok:
        raise SystemExit("harness verification failed:\n" + result.text())
    dump.unlink()
    dump.with_name(dump.name + ".manifest.json").unlink()
    return {
        "snapshot_s": t1 - t0,
        "verify_s": t2 - t1,
        "total_s": t2 - t0,
        "snapshot_timings": snap.timings,
        "dump_bytes": snap.dump_bytes,
        "verified_rows": result.details.get("rows"),
        "tables": result.details.get("tables"),
        "verify_timings": result.details.get("timings"),
    }


def maxrss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gb", type=float, default=2.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    dsn = os.environ.get("JITERA_BENCH_POSTGRES_DSN") or os.environ.get("JITERA_TEST_POSTGRES_DSN")
    if not dsn:
        raise SystemExit("set JITERA_TEST_POSTGRES_DSN (run .ci/start-datastores.sh)")
    server = PgConnInfo.from_dsn(dsn)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="jitera-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    size = ensure_database(server, args.size_gb)
    with psycopg.connect(server.with_db(DB).dsn()) as c:
        tables = c.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    rss_start = maxrss_mib(resource.RUSAGE_SELF)
    # Rounds alternate the order (B H, H B, ...) so a machine that gets busier or quieter
    # during the run does not favour one side.
    bases: list[dict[str, float]] = []
    harns: list[dict[str, Any]] = []
    rss_before = rss_after = rss_start
    for r in range(args.rounds):
        order = ("baseline", "harness") if r % 2 == 0 else ("harness", "baseline")
        for side in order:
            if side == "baseline":
                progress(f"round {r + 1}: baseline pg_dump -Fc + createdb + pg_restore")
                bases.append(baseline(server, work, args.jobs))
                progress(f"round {r + 1}: baseline {bases[-1]['total_s']:.1f}s")
            else:
                progress(f"round {r + 1}: harness snapshot_postgres + verify_postgres_snapshot")
                if not harns:
                    rss_before = maxrss_mib(resource.RUSAGE_SELF)
                harns.append(harness(server, work, args.jobs))
                rss_after = maxrss_mib(resource.RUSAGE_SELF)
                progress(f"round {r + 1}: harness {harns[-1]['total_s']:.1f}s")
    base_total = sum(b["total_s"] for b in bases)
    harn_total = sum(float(h["total_s"]) for h in harns)
    overhead = harn_total / base_total - 1
    report = {
        "database_bytes": size,
        "tables": tables[0] if tables else None,
        "jobs": args.jobs,
        "rounds": args.rounds,
        "baseline": bases,
        "harness": harns,
        "baseline_total_s": base_total,
        "harness_total_s": harn_total,
        "overhead_ratio": round(overhead, 4),
        "load_average": os.getloadavg(),
        "peak_rss_mib": {
            "at_start": round(rss_start, 1),
            "before_harness": round(rss_before, 1),
            "after_harness": round(rss_after, 1),
            "children_max": round(maxrss_mib(resource.RUSAGE_CHILDREN), 1),
        },
    }
    text = json.dumps(report, indent=2, default=lambda v: round(v, 3) if isinstance(v, float) else str(v))
    print(text)
    if args.json:
        args.json.write_text(text)
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"baseline {base_total:.1f}s, harness {harn_total:.1f}s over {args.rounds} round(s), "
        f"overhead {overhead:+.1%} (target <= +10%), harness peak RSS "
        f"{rss_before:.0f} -> {rss_after:.0f} MiB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
