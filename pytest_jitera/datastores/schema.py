"""A schema snapshot as plain, JSON-friendly data, for PostgreSQL and MongoDB alike.

Everything is flattened to ``category -> object name -> attributes`` so that one diff routine
serves both engines and every object (a column, an ENUM label list, an index definition, an
applied migration version) is addressable by a single name in a failure message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_CATEGORIES = (
    "extensions",
    "types",
    "sequences",
    "tables",
    "columns",
    "indexes",
    "constraints",
    "views",
    "schema_migrations",
    "data_migrations",
)
MONGO_CATEGORIES = ("collections", "indexes", "validators")

Objects = dict[str, dict[str, dict[str, Any]]]


@dataclass
class SchemaSnapshot:
    """The structure of one database at one moment (no row data)."""

    engine: str
    database: str
    objects: Objects = field(default_factory=dict)

    def category(self, name: str) -> dict[str, dict[str, Any]]:
        """Objects of one category; empty when the category was not captured."""
        return self.objects.get(name, {})

    @property
    def schema_migrations(self) -> list[str]:
        """Applied ``db/migrate`` versions, sorted."""
        return sorted(self.category("schema_migrations"))

    @property
    def data_migrations(self) -> list[str]:
        """Applied ``db/data`` versions, sorted."""
        return sorted(self.category("data_migrations"))

    def to_dict(self) -> dict[str, Any]:
        """Plain data, sorted so that two equal snapshots serialize identically."""
        return {
            "engine": self.engine,
            "database": self.database,
            "objects": {
                cat: {name: objs[name] for name in sorted(objs)} for cat, objs in sorted(self.objects.items())
            },
        }

    def to_json(self) -> str:
        """Stable JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SchemaSnapshot:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["engine"]), str(data["database"]), dict(data.get("objects", {})))

    def save(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        path.write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path) -> SchemaSnapshot:
        """Read a file written by :meth:`save`."""
        return cls.from_dict(json.loads(path.read_text()))
