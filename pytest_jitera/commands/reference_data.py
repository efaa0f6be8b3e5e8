"""``pytest-jitera reference-data``: fill the reference stack's databases to a chosen size.

The databases must already hold the first release's schema (an installed reference stack, or
a database its migrations ran on); the command adds rows and prints what each store holds
afterwards. Take a dump of the result (``pg_dump -Fc``) and pass it to a rehearsal with
``--jitera-seed-postgres`` to see how each step's time grows with the data.
"""

from __future__ import annotations

import argparse
import secrets
import time
from typing import Any

from pytest_jitera.commands._output import emit_json, emit_lines
from pytest_jitera.datastores import LocalPgTools, MongoTarget, PgConnInfo
from pytest_jitera.datastores.mongo.connect import mongo_client
from pytest_jitera.errors import DatastoreError, OptionError
from pytest_jitera.runner import session_runner
from pytest_jitera.seed.reference_data import (
    AUTOMATION_TABLES,
    MONGO_COLLECTION,
    PGVECTOR_TABLE,
    ReferenceSize,
    automation_statements,
    mongo_events,
    pgvector_statements,
)


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def register(subparsers: Any) -> None:
    """Add the ``reference-data`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "reference-data",
        help="add generated rows to the reference stack's databases, at a chosen size",
        description="Fill the reference stack's Automation (users, projects, uploads), PGVector "
        "(one embedding per project) and MongoDB (events) databases; they must hold the first "
        "release's schema already. Counts not given follow from --projects.",
    )
    parser.add_argument("--projects", type=_count, required=True, metavar="N", help="projects to add")
    parser.add_argument("--users", type=_count, metavar="N", help="users to add (default: projects / 10)")
    parser.add_argument("--uploads", type=_count, metavar="N", help="uploads to add (default: projects / 2)")
    parser.add_argument("--vectors", type=_count, metavar="N", help="embeddings to add (default: projects)")
    parser.add_argument("--events", type=_count, metavar="N", help="MongoDB events (default: projects / 10)")
    parser.add_argument("--automation-dsn", required=True, metavar="URL",
                        help="postgresql://user:password@host:port/db of the Automation database")
    parser.add_argument("--pgvector-dsn", metavar="URL", help="the PGVector database, if it is to be filled")
    parser.add_argument("--mongo-uri", metavar="URI", help="the MongoDB server, if it is to be filled")
    parser.add_argument("--mongo-db", default="jitera", metavar="NAME", help="its database (default jitera)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def _login(dsn: str, option: str) -> PgConnInfo:
    try:
        return PgConnInfo.from_dsn(dsn)
    except DatastoreError as exc:
        raise OptionError(f"{option}: {exc.message}", hint=exc.hint) from None


def _fill_postgres(tools: LocalPgTools, login: PgConnInfo, statements: list[str]) -> float:
    started = time.monotonic()
    for statement in statements:
        tools.execute(login, statement)
    tools.execute(login, "ANALYZE")
    return time.monotonic() - started


def _rows(tools: LocalPgTools, login: PgConnInfo, tables: tuple[str, ...]) -> dict[str, int]:
    counts = ", ".join(f"'{t}', (SELECT count(*) FROM {t})" for t in tables)
    found = dict(tools.query_json(login, f"SELECT json_build_object({counts})"))
    return {table: int(rows) for table, rows in found.items()}


def _require_tables(tools: LocalPgTools, login: PgConnInfo, tables: tuple[str, ...], option: str) -> None:
    listed = ", ".join(f"to_regclass('{t}')::text" for t in tables)
    found = tools.query_json(login, f"SELECT json_build_array({listed})") or []
    missing = [t for t, there in zip(tables, found, strict=True) if there is None]
    if missing:
        raise OptionError(
            f"{option}: {login.describe()} has no {', '.join(missing)} table",
            hint="point it at a database that holds the first release's schema (an installed "
            "reference stack, or one its migrations ran on)",
        )


def run(args: argparse.Namespace) -> int:
    """Add the rows, then report each store's counts and the time it took."""
    size = ReferenceSize(args.projects, args.users, args.uploads, args.vectors, args.events)
    token = secrets.token_hex(4)
    runner = session_runner()
    tools = LocalPgTools(runner)
    automation = _login(args.automation_dsn, "--automation-dsn")
    vectors = _login(args.pgvector_dsn, "--pgvector-dsn") if args.pgvector_dsn else None
    for login in (automation, vectors):
        for secret in login.secrets() if login else ():
            runner.add_secret(secret)
    _require_tables(tools, automation, AUTOMATION_TABLES, "--automation-dsn")
    result: dict[str, Any] = {"counts": size.counts()}
    seconds = _fill_postgres(tools, automation, automation_statements(size, token))
    result["automation"] = {"seconds": round(seconds, 1), "rows": _rows(tools, automation, AUTOMATION_TABLES)}
    if vectors is not None:
        seconds = _fill_postgres(tools, vectors, pgvector_statements(size))
        result["pgvector"] = {"seconds": round(seconds, 1), "rows": _rows(tools, vectors, (PGVECTOR_TABLE,))}
    if args.mongo_uri:
        target = MongoTarget(args.mongo_uri, args.mongo_db)
        for secret in target.secrets():
            runner.add_secret(secret)
        started = time.monotonic()
        with mongo_client(target) as client:
            events = client[args.mongo_db][MONGO_COLLECTION]
            for batch in mongo_events(size, token):
                events.insert_many(batch, ordered=False)
            total = events.estimated_document_count()
        took = round(time.monotonic() - started, 1)
        result["mongodb"] = {"seconds": took, "rows": {MONGO_COLLECTION: total}}
    if args.json:
        emit_json(result)
        return 0
    counts = size.counts()
    added = {
        "automation": f"{counts['users']:,} users, {counts['projects']:,} projects, "
        f"{counts['uploads']:,} uploads",
        "pgvector": f"{counts['vectors']:,} embeddings",
        "mongodb": f"{counts['events']:,} events",
    }
    lines = []
    for store, what in added.items():
        if store in result:
            held = ", ".join(f"{table} {rows:,}" for table, rows in result[store]["rows"].items())
            lines.append(f"{store}: added {what} in {result[store]['seconds']} s; now {held}")
    emit_lines(lines)
    return 0
