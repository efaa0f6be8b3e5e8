"""Structure and content fingerprints of a MongoDB database.

Structure (collections with options, indexes, validators) goes into a
:class:`~pytest_jitera.datastores.schema.SchemaSnapshot` so the same diff serves both engines.
Content is a per-collection document count plus a sum of hashes of each document's raw BSON:
independent of the order documents come back in, and sensitive to any byte of any value.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.database import Database

from pytest_jitera.datastores.schema import SchemaSnapshot
from pytest_jitera.datastores.snapshot import Stats

RAW = CodecOptions(document_class=RawBSONDocument)
BATCH = 1000
INDEX_KEYS = ("key", "unique", "sparse", "partialFilterExpression", "expireAfterSeconds")
_VALIDATION = ("validator", "validationLevel", "validationAction")


def capture_mongo_schema(db: Database[Any]) -> SchemaSnapshot:
    """Collections (with options), indexes and validators of one database."""
    collections: dict[str, dict[str, Any]] = {}
    indexes: dict[str, dict[str, Any]] = {}
    validators: dict[str, dict[str, Any]] = {}
    for info in db.list_collections():
        name = str(info["name"])
        if name.startswith("system."):
            continue
        options = dict(info.get("options", {}))
        valid = {k: _plain(options.pop(k)) for k in _VALIDATION if k in options}
        collections[name] = {"type": info.get("type", "collection"), "options": _plain(options)}
        if valid:
            validators[name] = valid
        if info.get("type", "collection") != "collection":
            continue
        for idx in db[name].list_indexes():
            indexes[f"{name}.{idx['name']}"] = {k: _plain(idx[k]) for k in INDEX_KEYS if k in idx}
    return SchemaSnapshot(
        "mongodb",
        db.name,
        {"collections": collections, "indexes": indexes, "validators": validators},
    )


def capture_mongo_stats(db: Database[Any]) -> Stats:
    """Document count and an order-independent checksum of every collection's raw BSON."""
    out: Stats = {}
    for name in sorted(db.list_collection_names()):
        if name.startswith("system."):
            continue
        count, total = 0, 0
        for doc in db.get_collection(name, codec_options=RAW).find({}, batch_size=BATCH):
            count += 1
            total += int.from_bytes(hashlib.sha256(doc.raw).digest()[:8], "big")
        out[name] = {"rows": count, "checksum": str(total % (1 << 64))}
    return out


def server_info(db: Database[Any]) -> dict[str, Any]:
    """Server version and data size of one database, recorded with every snapshot."""
    stats = db.command("dbStats")
    return {
        "server_version": str(db.client.server_info().get("version", "")),
        "size_bytes": int(stats.get("dataSize", 0)),
    }


def _plain(value: Any) -> Any:
    """BSON values as JSON-friendly data (relaxed Extended JSON), for snapshots and diffs."""
    return json.loads(json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS))
