"""Where a database lives and how to log in, with the password kept out of every printout.

Connection details arrive from chart values (``externalPostgres.*``-style keys) or from a
Kubernetes Secret, and they end up in three places that are easy to leak from: command lines,
exception messages and reports. :class:`PgConnInfo` therefore never renders its password
(``repr`` and :meth:`PgConnInfo.describe` omit it) and hands it out only as ``PGPASSWORD`` in
an environment mapping.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pytest_jitera.charts.values_diff import dig
from pytest_jitera.errors import DatastoreError

DEFAULT_PG_PORT = 5432


@dataclass(frozen=True)
class PgConnInfo:
    """A PostgreSQL login; ``password`` is excluded from ``repr`` on purpose."""

    host: str
    port: int = DEFAULT_PG_PORT
    dbname: str = "postgres"
    user: str = "postgres"
    password: str | None = field(default=None, repr=False)
    sslmode: str | None = None

    @classmethod
    def from_dsn(cls, dsn: str) -> PgConnInfo:
        """Parse ``postgresql://user:pw@host:port/db?sslmode=...``."""
        parts = urlsplit(dsn)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise DatastoreError(
                "not a PostgreSQL URL (expected postgresql://user:password@host:port/db)",
                hint="check the DSN's scheme and host",
            )
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PG_PORT,
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password is not None else None,
            sslmode=query.get("sslmode"),
        )

    def with_db(self, dbname: str) -> PgConnInfo:
        """The same login on another database of the same server."""
        return replace(self, dbname=dbname)

    def describe(self) -> str:
        """``user@host:port/db`` for messages: enough to find the server, never the password."""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"

    def dsn(self) -> str:
        """A libpq URL *with* the password, for in-process drivers only (never print it)."""
        auth = quote(self.user, safe="")
        if self.password is not None:
            auth += ":" + quote(self.password, safe="")
        url = f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"
        return url + (f"?sslmode={self.sslmode}" if self.sslmode else "")

    def client_args(self) -> list[str]:
        """Connection flags for pg_dump/pg_restore/psql; the password is not among them."""
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

    def client_env(self) -> dict[str, str]:
        """Environment for the client tools: the only place the password travels."""
        env = {"PGCONNECT_TIMEOUT": "10"}
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        if self.sslmode:
            env["PGSSLMODE"] = self.sslmode
        return env

    def secrets(self) -> tuple[str, ...]:
        """Values a runner must mask."""
        return (self.password,) if self.password else ()


# Chart keys differ between releases (the runbook lists ``externalPostgres.*`` among the keys
# that changed historically), so each field is looked up under a few spellings.
_VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "host": ("host", "hostname", "address"),
    "port": ("port",),
    "dbname": ("database", "db", "dbname", "name"),
    "user": ("username", "user"),
    "password": ("password",),
    "sslmode": ("sslmode", "sslMode"),
}


def pg_conninfo_from_values(values: Mapping[str, Any], prefix: str = "externalPostgres") -> PgConnInfo:
    """Read a login from Helm values under ``prefix`` (e.g. ``externalPgvector``)."""
    section = dig(values, prefix)
    if not isinstance(section, Mapping):
        raise DatastoreError(
            f"chart values have no {prefix!r} section",
            hint=f"pass the values file the release was installed with (helm get values), "
            f"or set {prefix}.host/port/database/username/password",
        )
    found: dict[str, Any] = {}
    for name, keys in _VALUE_KEYS.items():
        for key in keys:
            if section.get(key) not in (None, ""):
                found[name] = section[key]
                break
    if "host" not in found:
        raise DatastoreError(f"{prefix}.host is not set", hint=f"set {prefix}.host in the values")
    return PgConnInfo(
        host=str(found["host"]),
        port=_port(found.get("port", DEFAULT_PG_PORT), f"{prefix}.port"),
        dbname=str(found.get("dbname", "postgres")),
        user=str(found.get("user", "postgres")),
        password=str(found["password"]) if "password" in found else None,
        sslmode=str(found["sslmode"]) if "sslmode" in found else None,
    )


def decode_secret_data(secret: Mapping[str, Any]) -> dict[str, str]:
    """Decode a Secret manifest's ``data`` (base64) and merge ``stringData`` over it."""
    out: dict[str, str] = {}
    name = dig(secret, "metadata.name") or "<unnamed>"
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise DatastoreError(
                f"Secret {name!r} key {key!r} is not valid base64 text",
                hint="re-create the Secret with `kubectl create secret generic --from-literal`",
            ) from exc
    out.update({k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    return out


def pg_conninfo_from_secret(
    secret: Mapping[str, Any],
    *,
    defaults: PgConnInfo | None = None,
    keys: Mapping[str, str] | None = None,
) -> PgConnInfo:
    """Overlay a Secret's fields on ``defaults`` (usually read from the values).

    ``keys`` maps our field names (host, port, dbname, user, password) to the Secret's keys;
    common spellings (``postgres-password``, ``POSTGRES_PASSWORD``, ``password``...) are
    tried when it is not given.
    """
    data = decode_secret_data(secret)
    guesses: dict[str, tuple[str, ...]] = {
        "host": ("host", "POSTGRES_HOST", "DB_HOST"),
        "port": ("port", "POSTGRES_PORT", "DB_PORT"),
        "dbname": ("database", "dbname", "POSTGRES_DB", "DB_NAME"),
        "user": ("username", "user", "POSTGRES_USER", "DB_USERNAME"),
        "password": ("password", "postgres-password", "POSTGRES_PASSWORD", "DB_PASSWORD"),
    }
    picked: dict[str, str] = {}
    for name, candidates in guesses.items():
        wanted = (keys[name],) if keys and name in keys else candidates
        for key in wanted:
            if key in data:
                picked[name] = data[key]
                break
    base = defaults or PgConnInfo(host=picked.get("host", ""))
    info = replace(
        base,
        host=picked.get("host", base.host),
        port=_port(picked["port"], "Secret port") if "port" in picked else base.port,
        dbname=picked.get("dbname", base.dbname),
        user=picked.get("user", base.user),
        password=picked.get("password", base.password),
    )
    if not info.host:
        raise DatastoreError(
            "no database host in the Secret or the chart values",
            hint="pass defaults=pg_conninfo_from_values(values) or name the Secret's host key",
        )
    return info


def _port(value: Any, where: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if not 0 < port < 65536:
        raise DatastoreError(f"{where} is not a TCP port: {value!r}", hint="use e.g. 5432")
    return port
