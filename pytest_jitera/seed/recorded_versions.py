"""Which migrations a dump says were applied, and whether they are release A's.

Rails records every schema migration it ran in ``schema_migrations`` and data_migrate every
data migration in ``data_migrations``, by version. A dump taken from another release than the
rehearsal's first one carries other versions; rehearsed anyway, its first hop would run the
wrong migrations (or none), and every later check would judge a path no operator takes. So the
dump's versions are read on this machine, before any cluster work, with ``pg_restore`` writing
only those two tables' rows as SQL, and compared with the migration files release A ships.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_jitera.errors import JiteraError, OptionError, option
from pytest_jitera.runner import CommandRunner, RunError

# The migration tables, and the kind of migration file that records its version in each.
RECORDING_TABLES: dict[str, str] = {"schema_migrations": "migrate", "data_migrations": "data"}

_COPY = re.compile(r"^COPY (?:[\w\"]+\.)?\"?(\w+)\"? \(([^)]*)\) FROM stdin;$")
_INSERT = re.compile(r"^INSERT INTO (?:[\w\"]+\.)?\"?(\w+)\"?(?: \([^)]*\))? VALUES \('([^']*)'")
_SHOWN = 8  # versions named in a message before "and N more"


@dataclass(frozen=True)
class RecordedVersions:
    """The versions each migration table of a dump holds; None when the table is not in it."""

    by_table: Mapping[str, frozenset[str] | None]

    def table(self, name: str) -> frozenset[str] | None:
        """The versions of one table."""
        return self.by_table.get(name)


def parse_table_rows(sql: str, tables: Iterable[str]) -> dict[str, list[str]]:
    r"""The first column of each named table's rows in ``pg_restore -a -f -`` output.

    pg_dump writes rows as ``COPY ... FROM stdin;`` blocks ending in ``\.``, or, with
    ``--inserts``, as one ``INSERT`` per row; both are read. A table with no rows in the dump
    still has its (empty) COPY block, so "empty" and "absent" stay apart.
    """
    wanted = set(tables)
    rows: dict[str, list[str]] = {}
    copying: str | None = None
    for line in sql.splitlines():
        if copying is not None:
            if line == "\\.":
                copying = None
            else:
                rows[copying].append(line.split("\t", 1)[0])
            continue
        copy = _COPY.match(line)
        if copy and copy.group(1) in wanted:
            copying = copy.group(1)
            rows.setdefault(copying, [])
            continue
        insert = _INSERT.match(line)
        if insert and insert.group(1) in wanted:
            rows.setdefault(insert.group(1), []).append(insert.group(2))
    return rows


def read_recorded_versions(
    dump: Path, pg_restore: str, runner: CommandRunner, *, name: str
) -> RecordedVersions:
    """Ask ``pg_restore`` for the migration tables' rows of ``dump`` (no server is involved)."""
    argv = [pg_restore, "--data-only", "--file=-"]
    for table in RECORDING_TABLES:
        argv.append(f"--table={table}")
    try:
        done = runner.run([*argv, str(dump)])
    except RunError as exc:
        raise OptionError(
            f"{option(name)} {dump}: pg_restore cannot read it: {exc.output or exc.returncode}",
            hint="a dump from a newer PostgreSQL needs a pg_restore at least as new; "
            "check it with: pg_restore --list FILE",
            option=name,
        ) from None
    rows = parse_table_rows(done.stdout, RECORDING_TABLES)
    found = {table: frozenset(rows[table]) if table in rows else None for table in RECORDING_TABLES}
    return RecordedVersions(found)


def _listed(versions: Iterable[str]) -> str:
    ordered = sorted(versions)
    shown = ", ".join(ordered[:_SHOWN])
    return shown + (f" and {len(ordered) - _SHOWN} more" if len(ordered) > _SHOWN else "")


def version_mismatches(recorded: RecordedVersions, shipped: Mapping[str, Iterable[str]]) -> list[str]:
    """What differs between the dump and the release's files, one sentence per table.

    ``shipped`` maps a migration kind (``migrate``, ``data``) to the versions of the files the
    release ships. A version the files have and the dump lacks was never applied to that
    database (it is older than the release); one the dump has and the files lack came from a
    release that is newer or another product's.
    """
    problems: list[str] = []
    for table, kind in RECORDING_TABLES.items():
        files = frozenset(shipped.get(kind, ()))
        found = recorded.table(table)
        if found is None:
            if files:
                problems.append(f"it has no {table} table; the release ships {len(files)} such migration(s)")
            continue
        missing, extra = files - found, found - files
        if missing:
            problems.append(f"{table} lacks {_listed(missing)}")
        if extra:
            problems.append(f"{table} has {_listed(extra)}, which the release does not ship")
    return problems


class SeedMismatch(JiteraError):
    """The dump was taken from another release than the rehearsal's first one."""


def refuse_other_release(
    dump: Path,
    release: str,
    problems: list[str],
    *,
    name: str,
    matches: str | None = None,
) -> None:
    """Stop the run with every difference named, and the release the dump matches if known."""
    if not problems:
        return
    guess = f"; its versions are those of {matches}" if matches else ""
    raise SeedMismatch(
        f"{option(name)} {dump} was not taken from {release}: " + "; ".join(problems) + guess,
        hint=f"pass a dump of a database at {release} (the release the rehearsal starts from), "
        f"or start the rehearsal from the dump's release with {option('from')}",
    )
