"""Per-table row counts and content checksums: the proof that a restore brought the data back.

A checksum is the sum of a 64-bit hash of every row. A sum does not depend on row order (a
restored table has a different physical order) and, unlike XOR, duplicate rows do not cancel
out. Rows are hashed with ``hash_record_extended`` over the columns' own hash functions, about
three times cheaper than hashing each row's text form; columns whose hash would not survive a
restore (ENUMs hash their OIDs, reg* types are OIDs) or that have no hash function (json,
arrays, composites, ...) are hashed as text. It costs one sequential scan per table; scans are
spread over a few connections that all share one exported snapshot, so the figures describe
the same instant as the ``pg_dump --snapshot`` taken alongside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from pytest_jitera.datastores.connection import PgConnInfo
from pytest_jitera.datastores.postgres.connect import QueryJson, connect, psycopg_query
from pytest_jitera.datastores.snapshot import Stats
from pytest_jitera.waiting import Progress

_PORTABLE_HASH = (
    "t.typtype = 'b' AND t.typcategory <> 'A' AND t.typname NOT LIKE 'reg%' "
    "AND t.typname NOT IN ('oid', 'tid', 'xid', 'cid') AND EXISTS ("
    "SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash' "
    "JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amprocnum = 2 "
    "AND ap.amproclefttype = oc.opcintype WHERE oc.opcdefault AND oc.opcintype = a.atttypid)"
)

LIST_TABLES = (
    "SELECT coalesce(json_object_agg(s.name, json_build_array(s.quoted, s.expr)), '{}'::json) "
    "FROM (SELECT n.nspname || '.' || c.relname AS name, "
    "format('%I.%I', n.nspname, c.relname) AS quoted, "
    "coalesce('hash_record_extended(ROW(' || (SELECT string_agg(CASE WHEN "
    + _PORTABLE_HASH
    + " THEN quote_ident(a.attname) ELSE quote_ident(a.attname) || '::text' END, ', ' "
    "ORDER BY a.attnum) FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
    "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) || '), 0)', "
    "'hashtextextended(t::text, 0)') AS expr "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
    "AND d.objid = c.oid AND d.deptype = 'e')) s"
)


def table_stats_sql(quoted_table: str, row_hash: str = "hashtextextended(t::text, 0)") -> str:
    """One JSON row: count, order-independent checksum and bytes on disk of ``quoted_table``.

    The size (indexes and TOAST included) is what a migration that rewrites the table has to
    write again; comparisons of two captures use the count and checksum only, since a restore
    packs the same rows into fewer pages.
    """
    name = "'" + quoted_table.replace("'", "''") + "'"
    return (
        "SELECT json_build_object('rows', count(*), 'checksum', "
        f"coalesce(sum({row_hash}), 0)::text, 'bytes', pg_total_relation_size({name}::regclass)) "
        f"FROM ONLY {quoted_table} t"
    )


def list_tables(query: QueryJson) -> dict[str, tuple[str, str]]:
    """Display name to (quoted identifier, row hash expression) of every user table."""
    return {k: (v[0], v[1]) for k, v in dict(query(LIST_TABLES) or {}).items()}


def capture_stats(query: QueryJson) -> Stats:
    """Stats through any :data:`QueryJson` (serial; used through ``psql`` in pods)."""
    return {
        name: dict(query(table_stats_sql(quoted, expr)))
        for name, (quoted, expr) in sorted(list_tables(query).items())
    }


@contextmanager
def exported_snapshot(conn: PgConnInfo) -> Iterator[tuple[str, QueryJson]]:
    """Hold a REPEATABLE READ transaction open and yield its snapshot id and a query function.

    ``pg_dump --snapshot=<id>`` and :func:`capture_stats_parallel` can then see exactly the
    same data even while the application keeps writing.
    """
    c = connect(conn, autocommit=False)
    try:
        c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = c.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None

        def run(sql: str) -> Any:
            got = c.execute(sql.encode()).fetchone()
            return None if got is None else got[0]

        yield str(row[0]), run
    finally:
        c.rollback()
        c.close()


def capture_stats_parallel(
    conn: PgConnInfo,
    *,
    snapshot_id: str | None = None,
    workers: int = 2,
    progress: Progress | None = None,
) -> Stats:
    """Stats over ``workers`` connections, largest tables first, optionally in a snapshot.

    ``progress`` hears one line per table as it is done (it is called from worker threads).
    """
    c = connect(conn)
    try:
        tables = list_tables(psycopg_query(c))
        sizes = dict(
            c.execute(
                "SELECT n.nspname || '.' || c.relname, c.relpages FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'"
            ).fetchall()
        )
    finally:
        c.close()
    queue = sorted(tables.items(), key=lambda kv: -int(sizes.get(kv[0], 0)))
    results: Stats = {}

    def worker() -> None:
        wc = connect(conn, autocommit=False)
        try:
            wc.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if snapshot_id:
                wc.execute("SET TRANSACTION SNAPSHOT '" + snapshot_id.replace("'", "") + "'")
            while queue:
                try:
                    name, (quoted, expr) = queue.pop(0)
                except IndexError:  # another worker took the last table
                    return
                row = wc.execute(table_stats_sql(quoted, expr).encode()).fetchone()
                assert row is not None
                results[name] = dict(row[0])
                if progress:
                    progress(f"checksummed {name} ({results[name]['rows']} rows)")
        finally:
            wc.rollback()
            wc.close()

    n = max(1, min(workers, len(queue)))
    with ThreadPoolExecutor(n) as pool:
        for fut in [pool.submit(worker) for _ in range(n)]:
            fut.result()
    return dict(sorted(results.items()))
