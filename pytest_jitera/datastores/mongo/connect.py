"""Where a MongoDB lives, and a client that fails with a message safe to print.

The URI may carry a password (``externalMongodb`` values, DocumentDB connection strings), so
:class:`MongoTarget` keeps it out of ``repr`` and every message uses :meth:`MongoTarget.hosts`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from pytest_jitera.errors import DatastoreError
from pytest_jitera.redact import redact


@dataclass(frozen=True)
class MongoTarget:
    """A MongoDB URI and database; the URI may hold a password and is never printed."""

    uri: str = field(repr=False)
    database: str

    def hosts(self) -> str:
        """``host:port`` list for messages, without credentials."""
        return urlsplit(self.uri).netloc.rpartition("@")[2] or "localhost:27017"

    def describe(self) -> str:
        """``mongodb://hosts/db`` without credentials."""
        return f"mongodb://{self.hosts()}/{self.database}"

    def secrets(self) -> tuple[str, ...]:
        """The password in the URI, if any, and the URI itself."""
        pw = urlsplit(self.uri).password
        return tuple(s for s in (unquote(pw) if pw else None, pw, self.uri) if s)

    def with_db(self, database: str) -> MongoTarget:
        """Same server, another database."""
        return MongoTarget(self.uri, database)

    def port(self) -> int:
        """The port of the first host (27017 when the URI names none)."""
        first = self.hosts().split(",")[0]
        _, colon, port = first.rpartition(":")
        return int(port) if colon and port.isdigit() else 27017

    def through_port(self, port: int) -> MongoTarget:
        """The same login through a port-forward: hosts replaced by ``127.0.0.1:port``.

        ``directConnection=true`` stops the driver from following the replica set's member
        names, which resolve only inside the cluster.
        """
        parts = urlsplit(self.moved_to("127.0.0.1", port).uri)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "directConnection"]
        query.append(("directConnection", "true"))
        return MongoTarget(
            urlunsplit(("mongodb", parts.netloc, parts.path, urlencode(query), "")), self.database
        )

    def moved_to(self, host: str, port: int) -> MongoTarget:
        """The same login and options on another server: every host replaced by ``host:port``."""
        parts = urlsplit(self.uri)
        if parts.scheme != "mongodb":
            raise DatastoreError(
                f"cannot reach {self.describe()} on another host or port: not a mongodb:// URI",
                hint="a mongodb+srv:// URI names an external service; reach it directly",
            )
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (userinfo + "@" if userinfo else "") + f"{host}:{port}"
        return MongoTarget(urlunsplit(("mongodb", netloc, parts.path or "/", parts.query, "")), self.database)


@contextmanager
def mongo_client(target: MongoTarget, timeout_ms: int = 5000) -> Iterator[MongoClient[Any]]:
    """A connected client, or :class:`DatastoreError` naming the hosts but no credentials."""
    client: MongoClient[Any] = MongoClient(
        target.uri, serverSelectionTimeoutMS=timeout_ms, appname="pytest-jitera"
    )
    try:
        try:
            client.admin.command("ping")
        except PyMongoError as exc:
            raise DatastoreError(
                f"cannot reach MongoDB at {target.hosts()} (database {target.database!r}): "
                f"{redact(str(exc).splitlines()[0][:300], target.secrets())}",
                hint="is the server running and reachable from here (port-forward for "
                "in-cluster databases)? are the externalMongodb credentials current?",
            ) from None
        yield client
    finally:
        client.close()
