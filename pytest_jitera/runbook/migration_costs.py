"""What each migration of a hop cost: read from the hook's own log, slowest first.

The runbook's downtime table gives the migration hook a range; which migration makes a hop
slow, and which table it works on, is what an operator needs before the maintenance window.
Rails and data_migrate both announce every migration with its measured duration and every
schema statement with its arguments, so the hook log already holds the answer; nothing is
timed twice. Row counts come from the backup taken just before the hop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_jitera.report.model import MigrationRow, TouchedTable

# "== 20240601000001 DropLegacyReports: migrated (0.0041s) ===" (db:migrate and data:migrate).
_DONE = re.compile(
    r"== (?P<version>\d+) (?P<name>[A-Za-z0-9_:]+): (?:migrated|reverted) \((?P<seconds>[0-9.]+)s\)"
)
_START = re.compile(r"== \d+ [A-Za-z0-9_:]+: (?:migrating|reverting)")
# "-- add_column(:projects, :archived_at, :datetime, {:null=>true})" and "-- execute(\"UPDATE ...\")".
_STATEMENT = re.compile(r"^-- (?P<method>[a-z_]+)\((?P<args>.*)$")
_FIRST_SYMBOL = re.compile(r"^\s*:\"?(?P<table>[A-Za-z_][A-Za-z0-9_.]*)")
_FIRST_STRING = re.compile(r"^\s*\"(?P<table>[A-Za-z_][A-Za-z0-9_.]*)\"")
_SQL_TABLE = re.compile(
    r"\b(?:ALTER\s+TABLE(?:\s+ONLY)?|UPDATE(?:\s+ONLY)?|INSERT\s+INTO|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?"
    r"|DROP\s+TABLE(?:\s+IF\s+EXISTS)?|CREATE\s+TABLE(?:\s+IF\s+NOT\s+EXISTS)?|ON(?:\s+ONLY)?)"
    r"\s+\"?(?P<table>[A-Za-z_][A-Za-z0-9_]*)\"?(?:\.\"?(?P<qualified>[A-Za-z_][A-Za-z0-9_]*)\"?)?",
    re.IGNORECASE,
)
_NOT_TABLES = frozenset({"if", "only", "table", "conflict"})
# A log line as the hook watch writes it: "[pod/container] text".
_LABEL = re.compile(r"^\[[^\]]*\] ")


@dataclass(frozen=True)
class MigrationCost:
    """One migration the hook ran: its measured duration and the tables its statements named."""

    version: str
    name: str
    seconds: float
    tables: tuple[str, ...]


def parse_migration_log(lines: Iterable[str]) -> list[MigrationCost]:
    """Every finished migration in the order the hook ran it.

    A migration that started and never printed its end (the hook died in it) is left out:
    it has no duration to report, and the hook step names it already.
    """
    costs: list[MigrationCost] = []
    tables: dict[str, None] = {}
    for raw in lines:
        line = _LABEL.sub("", raw.rstrip("\n"))
        if _START.search(line):
            tables = {}
            continue
        statement = _STATEMENT.match(line)
        if statement:
            for table in statement_tables(statement["method"], statement["args"]):
                tables.setdefault(table, None)
            continue
        done = _DONE.search(line)
        if done:
            costs.append(MigrationCost(done["version"], done["name"], float(done["seconds"]), tuple(tables)))
            tables = {}
    return costs


def read_hook_log(path: Path) -> list[MigrationCost]:
    """The migrations of one hook log file; none when the watch wrote no file."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", errors="replace") as lines:
        return parse_migration_log(lines)


def statement_tables(method: str, args: str) -> list[str]:
    """The tables one announced statement works on.

    Schema helpers take the table as their first argument; ``execute`` carries SQL, whose
    ALTER/UPDATE/INSERT/DELETE/CREATE INDEX ... ON targets are read from the text.
    """
    if method == "execute":
        found = []
        for match in _SQL_TABLE.finditer(args.replace('\\"', '"')):
            table = match["qualified"] or match["table"]
            if table.lower() not in _NOT_TABLES:
                found.append(table)
        return found
    first = _FIRST_SYMBOL.match(args) or _FIRST_STRING.match(args)
    return [first["table"].rsplit(".", 1)[-1]] if first else []


def cost_table(costs: Iterable[MigrationCost], before: Mapping[str, Mapping[str, Any]]) -> list[MigrationRow]:
    """The hop's migrations, slowest first, each table with its rows before the hop.

    ``before`` is a snapshot's per-table statistics, keyed ``schema.table``; a table the
    migration created has no entry and shows no row count.
    """
    seen: dict[str, Mapping[str, Any]] = {}
    for key, stats in before.items():
        seen.setdefault(key.rsplit(".", 1)[-1], stats)

    def touched(table: str) -> TouchedTable:
        stats = seen.get(table)
        if stats is None:
            return TouchedTable(table, None)
        size = stats.get("bytes")
        return TouchedTable(table, int(stats.get("rows", 0)), None if size is None else int(size))

    rows = [MigrationRow(c.version, c.name, c.seconds, tuple(touched(t) for t in c.tables)) for c in costs]
    return sorted(rows, key=lambda r: (-r.seconds, r.version))


def _held(table: TouchedTable) -> str:
    """`` (1000000 rows, 84.2 MB)``, or nothing for a table the migration created."""
    if table.rows is None:
        return ""
    size = "" if table.bytes is None else f", {table.bytes / 1e6:.1f} MB"
    return f" ({table.rows} rows{size})"


def describe(rows: Iterable[MigrationRow], limit: int = 3) -> str:
    """The slowest migrations in one line, for the terminal and the step log."""
    parts = []
    for row in list(rows)[:limit]:
        touched = ", ".join(t.table + _held(t) for t in row.tables)
        parts.append(f"{row.version} {row.name} {row.seconds:.2f} s" + (f" on {touched}" if touched else ""))
    return "; ".join(parts) or "no migration ran"
