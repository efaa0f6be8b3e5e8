"""The rehearsal's starting state made from the operator's own dumps (``--jitera-seed-*``).

Release A is installed as usual, its hook creating an empty schema; then every store given a
dump is replaced by it: the application is scaled down so no pod keeps a connection or a
cached schema, each PostgreSQL database is dropped and restored from the dump (owners and
grants left out, so the objects belong to the release's login whatever the operator's were),
analysed so the first hop's migrations plan as they would on a server with statistics, and
MongoDB's database is dropped and restored. Only counts, sizes and timings are kept; the data
stays in the cluster, and the SQL script a directory-format dump becomes is deleted at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from pytest_jitera.datastores import LocalMongoTools, PgConnInfo, restore_mongo, restore_postgres
from pytest_jitera.datastores.postgres.client import PodPgTools
from pytest_jitera.errors import DatastoreError
from pytest_jitera.profile import Profile
from pytest_jitera.report.model import MaskedColumn, SeedRow
from pytest_jitera.runbook.before_upgrade import mongo_target, unfreeze_workloads
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import pg_login, pg_pod_tools
from pytest_jitera.runbook.rollback import scale_down_app
from pytest_jitera.runner import RunError
from pytest_jitera.seed.dumps import SEED_OPTIONS, SeedDumps, mongo_dump_layout, pg_dump_format
from pytest_jitera.seed.masking import ColumnMask

MONGODB = "mongodb"
_SIZE_SQL = (
    "SELECT json_build_object('rows', coalesce((SELECT sum(greatest(reltuples, 0))::bigint FROM pg_class "
    "WHERE relkind = 'r' AND relnamespace NOT IN ('pg_catalog'::regnamespace, "
    "'information_schema'::regnamespace)), 0), 'tables', (SELECT count(*) FROM pg_stat_user_tables), "
    "'bytes', pg_database_size(current_database()))"
)


def describe(row: SeedRow) -> str:
    """``postgresql from prod.dump: 1,000,412 rows in 6 tables, 212.4 MB, restored in 41 s``."""
    unit, noun = ("collections", "documents") if row.store == MONGODB else ("tables", "rows")
    text = (
        f"{row.store} from {row.dump}: {row.rows:,} {noun} in {row.tables} {unit}, "
        f"{row.bytes / 1e6:.1f} MB, restored in {row.seconds:.0f} s"
    )
    if row.masked:
        text += "; masked " + ", ".join(f"{m.column} ({m.rule}, {m.rows:,})" for m in row.masked)
    return text


def seed_from_dumps(
    r: Rehearsal,
    profile: Profile,
    seeds: SeedDumps,
    scratch: Path,
    *,
    pg_restore: str = "pg_restore",
    masks: Sequence[ColumnMask] = (),
) -> list[SeedRow]:
    """Replace each seeded store of the installed release with the operator's dump, then mask it.

    ``scratch`` is a folder only this process reads (a directory dump's script passes through
    it); ``pg_restore`` is the local one the dump's versions were read with. Masking happens
    before the application is scaled back up, so no pod ever reads an original value.
    """
    done: list[SeedRow] = []
    replicas = scale_down_app(r, profile, step="scale down for the seed")
    with r.step("seed from the operator's dumps"):
        for store, dump in seeds.postgres().items():
            r.say(f"restoring {store} from {dump.name} ({_on_disk(dump) / 1e6:.1f} MB on disk)")
            seconds = _restore_postgres(r, store, dump, scratch, pg_restore)
            mine = [mask for mask in masks if mask.store == store]
            masked = mask_columns(r, store, mine) if mine else ()
            done.append(_settled(r, store, dump, seconds, masked))
            r.say(describe(done[-1]))
        if seeds.mongodb is not None:
            r.say(f"restoring mongodb from {seeds.mongodb.name}")
            done.append(_seed_mongo(r, seeds.mongodb))
            r.say(describe(done[-1]))
    unfreeze_workloads(r, replicas)
    return done


def mask_columns(r: Rehearsal, store: str, masks: Sequence[ColumnMask]) -> tuple[MaskedColumn, ...]:
    """Apply each mask inside the store's server, then prove no unmasked value is left."""
    login = pg_login(r, store)
    tools = pg_pod_tools(r, store, timeout=None)
    salt = secrets.token_hex(16)
    r.runner.add_secret(salt)  # the digests are only as private as the salt
    done: list[MaskedColumn] = []
    with r.step("mask the seeded data"):
        for mask in masks:
            try:
                changed = int(tools.query_json(login, mask.update_sql(salt)) or 0)
                left = int(tools.query_json(login, mask.left_sql()) or 0)
            except DatastoreError as exc:
                raise DatastoreError(
                    f"masking {mask.name} ({mask.rule}) failed: {exc.message}",
                    hint="check the masking file's table and column against the dump "
                    "(pg_restore --list FILE); hash and email need a text column that holds 32 hex digits",
                ) from None
            if left:
                raise DatastoreError(
                    f"masking {mask.name} ({mask.rule}) left {left} row(s) that do not have the masked form",
                    hint="the rehearsal stops here so no unmasked value reaches a later step",
                )
            r.say(f"masked {mask.name} ({mask.rule}): {changed:,} value(s), none left")
            done.append(MaskedColumn(mask.name, mask.rule, changed))
    return tuple(done)


def _on_disk(path: Path) -> int:
    """Bytes of a dump file, or of every file of a dump folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(child.stat().st_size for child in path.rglob("*") if child.is_file())


def _restore_postgres(r: Rehearsal, store: str, dump: Path, scratch: Path, pg_restore: str) -> float:
    """Drop the store's database and restore the dump into a new one; the seconds it took."""
    login = pg_login(r, store)
    tools = pg_pod_tools(r, store, timeout=None)
    started = time.monotonic()
    tools.drop_database(login.with_db("postgres"), login.dbname)
    if pg_dump_format(dump, SEED_OPTIONS[store]) == "directory":
        _restore_directory(r, tools, login, dump, scratch / "seed.sql", pg_restore)
    else:
        restore_postgres(dump, login, tools=tools, no_owner=True)
    return time.monotonic() - started


def _settled(
    r: Rehearsal, store: str, dump: Path, seconds: float, masked: tuple[MaskedColumn, ...]
) -> SeedRow:
    """Vacuum and analyse (masking left a dead row per masked value), then measure the store.

    Statistics make the first hop's migrations plan as on the operator's server; the vacuum
    keeps the masking from doubling the tables the migrations then rewrite.
    """
    login = pg_login(r, store)
    tools = pg_pod_tools(r, store, timeout=None)
    tools.execute(login, "VACUUM ANALYZE")
    size = tools.query_json(login, _SIZE_SQL) or {}
    rows, tables, on_server = (int(size.get(key, 0)) for key in ("rows", "tables", "bytes"))
    return SeedRow(store, dump.name, rows, tables, on_server, seconds, masked)


def _restore_directory(
    r: Rehearsal, tools: PodPgTools, login: PgConnInfo, dump: Path, script: Path, pg_restore: str
) -> None:
    """pg_restore cannot read a folder from stdin: it becomes a script here, fed to psql there."""
    tools.execute(login.with_db("postgres"), f'CREATE DATABASE "{login.dbname}" TEMPLATE template0')
    try:
        r.runner.run([pg_restore, "--no-owner", "--no-acl", f"--file={script}", str(dump)])
        tools.run_script(login, script)
    except RunError as exc:
        raise DatastoreError(f"restoring {dump} failed: {exc.output}") from None
    finally:
        script.unlink(missing_ok=True)


def _seed_mongo(r: Rehearsal, dump: Path) -> SeedRow:
    target = mongo_target(r)
    tools = LocalMongoTools(r.runner)
    _, source_db = mongo_dump_layout(dump, SEED_OPTIONS[MONGODB])
    started = time.monotonic()
    with r.access.port_forward(f"svc/{r.instance(MONGODB)}", target.port()) as port:
        local = target.through_port(port)
        with tools.database(local) as db:
            db.client.drop_database(db.name)
        restore_mongo(dump, local, source_db=source_db or local.database, tools=tools, drop=True)
        with tools.database(local) as db:
            names = [n for n in db.list_collection_names() if not n.startswith("system.")]
            documents = sum(db[n].estimated_document_count() for n in names)
            size = int(db.command("dbStats").get("dataSize", 0))
    return SeedRow(MONGODB, dump.name, documents, len(names), size, time.monotonic() - started)
