"""Real MongoDB-wire server (FerretDB in CI): snapshot, drop, restore, verify."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from bson import ObjectId, decode_file_iter, json_util

from pytest_jitera.datastores import (
    MongoTarget,
    Snapshot,
    Status,
    capture_mongo_schema,
    capture_mongo_stats,
    restore_mongo,
    snapshot_mongo,
    verify_mongo_snapshot,
)
from pytest_jitera.datastores.mongo.connect import mongo_client
from pytest_jitera.digest import sha256_tree
from pytest_jitera.fixtures.datastores import assert_schema_equal, assert_verified

pytestmark = pytest.mark.mongo


@pytest.fixture
def seeded(mongo: MongoTarget) -> MongoTarget:
    with mongo_client(mongo) as c:
        db = c[mongo.database]
        db.users.insert_many(
            [
                {
                    "_id": ObjectId(),
                    "email": f"u{i}@example.com",
                    "n": i,
                    # FerretDB 1.x has no Decimal128, so plain numbers and strings only.
                    "profile": {"tags": ["a", "b"][: i % 3], "joined": dt.datetime(2024, 1, 1 + i % 28)},
                    "balance": i + 0.25,
                    "ref": f"R{i:05d}",
                }
                for i in range(300)
            ]
        )
        db.users.create_index("email", unique=True, name="email_unique")
        db.projects.insert_many([{"owner": i % 300, "title": f"P{i}"} for i in range(1200)])
        db.projects.create_index([("owner", 1), ("title", -1)], name="owner_title")
    return mongo


def test_snapshot_drop_restore_verify(seeded: MongoTarget, tmp_path: Path) -> None:
    dump = tmp_path / "mongo-dump"
    snap = snapshot_mongo(seeded, dump)
    assert snap.tables["users"]["rows"] == 300
    assert snap.tables["projects"]["rows"] == 1200
    assert {"users.email_unique", "projects.owner_title"} <= set(snap.schema.category("indexes"))
    if snap.fmt == "directory":
        # mongodump's own layout, readable by a real mongorestore.
        users = dump / seeded.database / "users.bson"
        assert sum(1 for _ in decode_file_iter(users.open("rb"))) == 300
        meta = json_util.loads((dump / seeded.database / "users.metadata.json").read_text())
        assert meta["collectionName"] == "users"
        assert {i["name"] for i in meta["indexes"]} == {"_id_", "email_unique"}

    assert_verified(verify_mongo_snapshot(dump, seeded))

    with mongo_client(seeded) as c:
        c.drop_database(seeded.database)
        assert c[seeded.database].list_collection_names() == []
    restore_mongo(dump, seeded)
    with mongo_client(seeded) as c:
        db = c[seeded.database]
        schema, stats = capture_mongo_schema(db), capture_mongo_stats(db)
        seven = db.users.find_one({"n": 7})
        assert seven is not None
        assert seven["balance"] == 7.25
    assert_schema_equal(snap.schema, schema)
    assert stats == snap.tables


@pytest.mark.parametrize("how", ["truncate", "corrupt"])
def test_damaged_mongo_dump_is_unverifiable(how: str, seeded: MongoTarget, tmp_path: Path) -> None:
    dump = tmp_path / "mongo-dump"
    snap = snapshot_mongo(seeded, dump)
    victim = (
        next(p for p in sorted(dump.rglob("*")) if p.name == "projects.bson")
        if (snap.fmt == "directory")
        else dump
    )
    data = bytearray(victim.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2 + 3]
    else:
        mid = len(data) // 2
        data[mid : mid + 64] = b"\xff" * 64
    victim.write_bytes(bytes(data))

    result = verify_mongo_snapshot(dump, seeded)
    assert result.status is Status.UNVERIFIABLE
    assert not result.ok

    # A manifest that matches the damaged bytes must still not yield success.
    digest, size = sha256_tree(dump)
    dataclasses.replace(snap, sha256=digest, dump_bytes=size).save()
    deep = verify_mongo_snapshot(dump, seeded)
    assert deep.status is not Status.VERIFIED, deep.text()
    if how == "truncate":
        assert deep.status is Status.UNVERIFIABLE, deep.text()
    assert Snapshot.load(dump).sha256 == digest
