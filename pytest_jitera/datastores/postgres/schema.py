"""Capture a PostgreSQL schema snapshot from the catalogs.

Each query returns a single JSON value so that the same SQL runs through psycopg locally and
through ``psql`` inside a database pod (the two
:class:`~pytest_jitera.datastores.postgres.client.PgTools` implementations).
Objects that belong to an extension are left out of ``types``/``tables``/...: they come and go
with the extension, which is listed on its own, and must not be mistaken for orphans.
"""

from __future__ import annotations

from typing import Any

from pytest_jitera.datastores.postgres.connect import QueryJson
from pytest_jitera.datastores.schema import SchemaSnapshot

_USER_NS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
)


def _not_ext(catalog: str, oid: str) -> str:
    return (
        "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE "
        f"d.classid = '{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e')"
    )


_TYPE_NOT_EXT = _not_ext("pg_type", "t.oid")
_REL_NOT_EXT = _not_ext("pg_class", "c.oid")
_TBL_NOT_EXT = _not_ext("pg_class", "tc.oid")


def _agg(select_key: str, select_value: str, body: str) -> str:
    return f"SELECT coalesce(json_object_agg({select_key}, {select_value}), '{{}}'::json) FROM ({body}) s"


QUERIES: dict[str, str] = {
    "extensions": _agg(
        "s.extname",
        "json_build_object('version', s.extversion, 'schema', s.nspname)",
        "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'",
    ),
    "types": _agg(
        "s.name",
        "json_build_object('kind', s.kind, 'labels', s.labels, 'base', s.base)",
        "SELECT n.nspname || '.' || t.typname AS name, "
        "CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite' "
        "WHEN 'r' THEN 'range' WHEN 'm' THEN 'multirange' ELSE t.typtype::text END AS kind, "
        "(SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e "
        " WHERE e.enumtypid = t.oid) AS labels, "
        "CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        f"WHERE {_USER_NS} AND t.typtype IN ('e', 'd', 'c', 'r', 'm') "
        "AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid)"
        " = 'c') "
        f"AND {_TYPE_NOT_EXT}",
    ),
    "sequences": _agg(
        "s.name",
        "json_build_object('type', s.typ, 'increment', s.seqincrement, 'start', s.seqstart, "
        "'cycle', s.seqcycle, 'owned_by', s.owned_by)",
        "SELECT n.nspname || '.' || c.relname AS name, format_type(q.seqtypid, NULL) AS typ, "
        "q.seqincrement, q.seqstart, q.seqcycle, "
        "(SELECT tn.nspname || '.' || tc.relname || '.' || a.attname FROM pg_depend d "
        " JOIN pg_class tc ON tc.oid = d.refobjid "
        " JOIN pg_namespace tn ON tn.oid = tc.relnamespace "
        " JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        " WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
        " AND d.deptype IN ('a', 'i') LIMIT 1) AS owned_by "
        "FROM pg_sequence q JOIN pg_class c ON c.oid = q.seqrelid "
        f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_NS} "
        f"AND {_REL_NOT_EXT}",
    ),
    "tables": _agg(
        "s.name",
        "json_build_object('kind', s.kind, 'persistence', s.persistence)",
        "SELECT n.nspname || '.' || c.relname AS name, "
        "CASE c.relkind WHEN 'p' THEN 'partitioned' ELSE 'table' END AS kind, "
        "c.relpersistence::text AS persistence "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ('r', 'p') AND {_USER_NS} "
        f"AND {_REL_NOT_EXT}",
    ),
    "columns": _agg(
        "s.name",
        "json_build_object('position', s.pos, 'type', s.typ, 'nullable', s.nullable, "
        "'default', s.dflt, 'identity', s.ident, 'generated', s.gen)",
        "SELECT n.nspname || '.' || c.relname || '.' || a.attname AS name, "
        "row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS pos, "
        "format_type(a.atttypid, a.atttypmod) AS typ, NOT a.attnotnull AS nullable, "
        "pg_get_expr(ad.adbin, ad.adrelid) AS dflt, nullif(a.attidentity, '') AS ident, "
        "nullif(a.attgenerated, '') AS gen "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
        "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm') "
        f"AND {_USER_NS} AND {_REL_NOT_EXT}",
    ),
    "indexes": _agg(
        "s.name",
        "json_build_object('table', s.tbl, 'definition', s.def)",
        "SELECT n.nspname || '.' || ic.relname AS name, n.nspname || '.' || tc.relname AS tbl, "
        "pg_get_indexdef(i.indexrelid) AS def FROM pg_index i "
        "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid "
        f"JOIN pg_namespace n ON n.oid = ic.relnamespace WHERE {_USER_NS} "
        f"AND {_TBL_NOT_EXT}",
    ),
    "constraints": _agg(
        "s.name",
        "json_build_object('table', s.tbl, 'type', s.contype, 'definition', s.def)",
        "SELECT n.nspname || '.' || c.relname || '.' || k.conname AS name, "
        "n.nspname || '.' || c.relname AS tbl, k.contype::text AS contype, "
        "pg_get_constraintdef(k.oid) AS def FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE {_USER_NS} AND {_REL_NOT_EXT}",
    ),
    "views": _agg(
        "s.name",
        "json_build_object('materialized', s.mat, 'definition', s.def)",
        "SELECT n.nspname || '.' || c.relname AS name, c.relkind = 'm' AS mat, "
        "pg_get_viewdef(c.oid) AS def FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ('v', 'm') AND {_USER_NS} "
        f"AND {_REL_NOT_EXT}",
    ),
}

MIGRATION_TABLES = {"schema_migrations": "schema_migrations", "data_migrations": "data_migrations"}

_TABLE_EXISTS = "SELECT to_json(to_regclass('{schema}.{table}') IS NOT NULL)"
_VERSIONS = (
    "SELECT coalesce(json_object_agg(version::text, '{{}}'::json), '{{}}'::json) "
    'FROM "{schema}"."{table}"'
)

SERVER_INFO = (
    "SELECT json_build_object('server_version', current_setting('server_version'), "
    "'server_version_num', current_setting('server_version_num')::int, "
    "'database', current_database(), 'size_bytes', pg_database_size(current_database()))"
)


def capture_pg_schema(query: QueryJson, database: str, *, app_schema: str = "public") -> SchemaSnapshot:
    """Read every category of :data:`~pytest_jitera.datastores.schema.PG_CATEGORIES`.

    Rails keeps ``schema_migrations`` (``db/migrate``) and the data-migrate gem's
    ``data_migrations`` (``db/data``) in ``app_schema``; a missing table reads as no versions.
    """
    objects: dict[str, dict[str, dict[str, Any]]] = {}
    for category, sql in QUERIES.items():
        objects[category] = dict(query(sql) or {})
    for category, table in MIGRATION_TABLES.items():
        exists = query(_TABLE_EXISTS.format(schema=app_schema, table=table))
        objects[category] = (
            dict(query(_VERSIONS.format(schema=app_schema, table=table)) or {}) if exists else {}
        )
    return SchemaSnapshot("postgresql", database, objects)


def server_info(query: QueryJson) -> dict[str, Any]:
    """Server version and database size, recorded with every snapshot."""
    return dict(query(SERVER_INFO))
