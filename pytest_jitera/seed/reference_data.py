"""Rows for the reference stack's databases at a chosen size: the shape of the curve, no real data.

An operator who wants to see how the maintenance window grows before trusting the rehearsal
with a copy of production, and the project's own window benchmark, both need the reference
stack's tables filled to a size: users, their projects, uploads, one embedding per project in
PGVector and start events in MongoDB. The rows are written by the server itself
(``generate_series``), so a million projects take seconds and no data crosses the wire. Every
run adds rows with keys of its own (``token``), so the generator can be run again to grow a
database, never colliding with the unique e-mail index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# The tables the reference stack's first release creates, which the rows below fill.
AUTOMATION_TABLES = ("users", "projects", "uploads")
PGVECTOR_TABLE = "ultron_embeddings"
MONGO_COLLECTION = "ultron_events"
EVENT_BATCH = 5_000


@dataclass(frozen=True)
class ReferenceSize:
    """How many rows of each kind; what is not given follows from the projects."""

    projects: int
    users: int | None = None
    uploads: int | None = None
    vectors: int | None = None
    events: int | None = None

    def __post_init__(self) -> None:
        for name in ("projects", "users", "uploads", "vectors", "events"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be 0 or more, not {value}")

    def counts(self) -> dict[str, int]:
        """Every kind's count: a user per 10 projects (at least one), an upload per 2, ..."""
        def given(value: int | None, default: int) -> int:
            return default if value is None else value

        return {
            "projects": self.projects,
            "users": given(self.users, max(1, self.projects // 10)),
            "uploads": given(self.uploads, self.projects // 2),
            "vectors": given(self.vectors, self.projects),
            "events": given(self.events, self.projects // 10),
        }


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def automation_statements(size: ReferenceSize, token: str) -> list[str]:
    """SQL that adds the users, projects and uploads to a database at the first release's schema.

    Projects go to the users round-robin, created over the last 1,000 hours; one in ten carries
    a legacy note, the column a later release removes, so its migration has data to move.
    """
    counts = size.counts()
    tag = _literal(token)
    return [
        "INSERT INTO users (email, name, admin, created_at, updated_at) "
        f"SELECT 'user' || g || '.' || {tag} || '@example.invalid', 'User ' || g, false, now(), now() "
        f"FROM generate_series(1, {counts['users']}) AS g",
        "WITH owners AS (SELECT array_agg(id ORDER BY id) AS ids FROM users "
        f"WHERE email LIKE '%.' || {tag} || '@example.invalid') "
        "INSERT INTO projects (user_id, name, legacy_notes, created_at, updated_at) "
        "SELECT owners.ids[1 + g % cardinality(owners.ids)], 'Project ' || g, "
        "CASE WHEN g % 10 = 0 THEN 'note ' || md5(g::text) END, "
        "now() - (g % 1000) * interval '1 hour', now() "
        f"FROM owners, generate_series(1, {counts['projects']}) AS g",
        "INSERT INTO uploads (name, byte_size, sha256, created_at, updated_at) "
        "SELECT 'upload-' || g || '.bin', 1024 + (g::bigint * 7919) % 1048576, "
        "encode(sha256(g::text::bytea), 'hex'), now(), now() "
        f"FROM generate_series(1, {counts['uploads']}) AS g",
    ]


def pgvector_statements(size: ReferenceSize) -> list[str]:
    """SQL that adds an embedding per project (the table is made as the stack makes it if absent)."""
    return [
        f"CREATE TABLE IF NOT EXISTS {PGVECTOR_TABLE} "
        "(id bigserial PRIMARY KEY, project_id bigint, embedding float8[])",
        f"INSERT INTO {PGVECTOR_TABLE} (project_id, embedding) "
        "SELECT g, ARRAY[random(), random(), random()] "
        f"FROM generate_series(1, {size.counts()['vectors']}) AS g",
    ]


def mongo_events(
    size: ReferenceSize, token: str, *, batch: int = EVENT_BATCH
) -> Iterator[list[dict[str, Any]]]:
    """The MongoDB start events, in batches for ``insert_many``."""
    total = size.counts()["events"]
    start = datetime(2024, 5, 1, tzinfo=UTC)
    for first in range(0, total, batch):
        yield [
            {"event": "start", "release": "generated", "seq": i, "batch": token,
             "at": start + timedelta(minutes=i)}
            for i in range(first, min(total, first + batch))
        ]
