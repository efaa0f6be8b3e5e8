"""Where the release's in-cluster PostgreSQL databases are, and how the steps log in to them.

Steps that back up, restore or read the migration tables all need the same two things: the
login and the datastores tools that run ``psql``/``pg_dump`` inside the database pod. The
password is read from the release's own credentials Secret (what the pods themselves use),
registered on the session's runner so no later error can print it, and handed to those tools,
which give it to the command on stdin, never on a command line (``ps`` and the API server's
audit log both show argv). This module is the only place the runbook picks the datastores
tools: a change there is a change here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_jitera.datastores import PgConnInfo, PodPgTools, pg_conninfo_from_secret
from pytest_jitera.errors import DatastoreError
from pytest_jitera.runbook.context import Rehearsal

# The migration bookkeeping tables of the Rails app (db:migrate and data:migrate).
MIGRATION_TABLES = ("schema_migrations", "data_migrations")


@dataclass(frozen=True)
class PgStore:
    """One in-cluster PostgreSQL of the chart: workload, values section, Secret key."""

    component: str
    values_key: str
    password_key: str
    container: str = "postgresql"


#: The chart's PostgreSQL databases: the Automation database and the PGVector one.
PG_STORES: dict[str, PgStore] = {
    "postgresql": PgStore("postgresql", "externalPostgres", "automation-db-password"),
    "pgvector": PgStore("pgvector", "externalPgvector", "pgvector-db-password"),
}

#: The store the migration hook migrates: the Automation database.
AUTOMATION_STORE = "postgresql"

#: Their names, in the order the steps visit them.
PG_STORE_NAMES: tuple[str, ...] = tuple(PG_STORES)


def pg_store(store: str) -> PgStore:
    """The store called ``store`` (``postgresql`` or ``pgvector``)."""
    try:
        return PG_STORES[store]
    except KeyError:
        raise DatastoreError(
            f"no in-cluster PostgreSQL called {store!r}", hint=f"use one of {', '.join(PG_STORES)}"
        ) from None


def pg_login(r: Rehearsal, store: str = "postgresql") -> PgConnInfo:
    """The login of ``store`` as seen from inside its pod; the password is registered as secret.

    User and database come from the release's values (``helm get values --all``), the password
    from the credentials Secret the chart renders them into.
    """
    spec = pg_store(store)
    values: Any = r.helm.values(r.release, all_values=True).get(spec.values_key) or {}
    defaults = PgConnInfo(
        host="127.0.0.1",
        dbname=str(values.get("database") or "postgres"),
        user=str(values.get("username") or "postgres"),
    )
    secret = r.kubectl.get_json("secret", r.name("credentials"))
    login = pg_conninfo_from_secret(secret, defaults=defaults, keys={"password": spec.password_key})
    for value in login.secrets():
        r.runner.add_secret(value)
    return login


def pg_pod_tools(
    r: Rehearsal, store: str = "postgresql", timeout: float | None = 600, *, instance: str | None = None
) -> PodPgTools:
    """The datastores tools for ``store``, run inside its server's pod through the rehearsal's access.

    The server is the one in use (:meth:`Rehearsal.instance`) unless ``instance`` names another.
    """
    spec = pg_store(store)
    server = instance or r.instance(spec.component)
    return PodPgTools(r.access, f"statefulset/{server}", container=spec.container, timeout=timeout)


def query_json(r: Rehearsal, sql: str, store: str = "postgresql") -> Any:
    """Run a query that returns one JSON value, with ``psql`` inside the store's pod."""
    return pg_pod_tools(r, store, timeout=120).query_json(pg_login(r, store), sql)


def applied_versions(r: Rehearsal, table: str, store: str = "postgresql") -> list[str]:
    """The versions recorded in a migration table, sorted (the table must be a known one)."""
    if table not in MIGRATION_TABLES:
        raise DatastoreError(
            f"{table!r} is not a migration table", hint=f"use {' or '.join(MIGRATION_TABLES)}"
        )
    found = query_json(r, f"SELECT coalesce(json_agg(version ORDER BY version), '[]') FROM {table}", store)
    return [str(v) for v in found or []]
