"""mongodump's directory layout, written and read with pymongo's BSON.

Used when mongo-tools are not installed: ``<dir>/<db>/<collection>.bson`` holds the documents
back to back, ``<collection>.metadata.json`` the options and indexes in canonical Extended
JSON, exactly as ``mongodump`` lays them out, so a real ``mongorestore`` can load the result.
Documents stay raw BSON end to end, which keeps types intact and memory flat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bson
from bson import json_util
from bson.raw_bson import RawBSONDocument
from pymongo.database import Database

from pytest_jitera.datastores.mongo.schema import BATCH, INDEX_KEYS, RAW


def write_dump_directory(db: Database[Any], dest: Path) -> None:
    """Write mongodump's layout: ``dest/<db>/<coll>.bson`` and ``<coll>.metadata.json``."""
    out = dest / db.name
    out.mkdir(parents=True, exist_ok=True)
    for info in db.list_collections():
        name = str(info["name"])
        if name.startswith("system.") or info.get("type", "collection") != "collection":
            continue
        coll = db.get_collection(name, codec_options=RAW)
        with (out / f"{name}.bson").open("wb") as fh:
            for doc in coll.find({}, batch_size=BATCH):
                fh.write(doc.raw)
        meta = {
            "indexes": list(db[name].list_indexes()),
            "collectionName": name,
            "type": "collection",
            "options": dict(info.get("options", {})),
        }
        info_uuid = info.get("info", {}).get("uuid")
        if isinstance(info_uuid, bytes):  # bson Binary subtype 4; mongodump writes plain hex
            meta["uuid"] = bytes(info_uuid).hex()
        (out / f"{name}.metadata.json").write_text(
            json_util.dumps(meta, json_options=json_util.CANONICAL_JSON_OPTIONS)
        )


def restore_dump_directory(source_db_dir: Path, db: Database[Any], *, drop: bool = True) -> int:
    """Load a mongodump directory (``<dir>/<coll>.bson``) into ``db``; returns documents."""
    total = 0
    for meta_path in sorted(source_db_dir.glob("*.metadata.json")):
        meta = json_util.loads(meta_path.read_text())
        name = str(meta.get("collectionName") or meta_path.name[: -len(".metadata.json")])
        if drop:
            db.drop_collection(name)
        options = {k: v for k, v in dict(meta.get("options", {})).items() if k != "uuid"}
        db.create_collection(name, **options)
        coll = db.get_collection(name, codec_options=RAW)
        batch: list[RawBSONDocument] = []
        bson_path = source_db_dir / f"{name}.bson"
        with bson_path.open("rb") as fh:
            for doc in bson.decode_file_iter(fh, codec_options=RAW):
                batch.append(doc)
                if len(batch) >= BATCH:
                    coll.insert_many(batch, ordered=True)
                    total += len(batch)
                    batch = []
        if batch:
            coll.insert_many(batch, ordered=True)
            total += len(batch)
        for idx in meta.get("indexes", []):
            if idx.get("name") == "_id_":
                continue
            extra = {k: idx[k] for k in INDEX_KEYS[1:] if k in idx}
            db[name].create_index(list(dict(idx["key"]).items()), name=idx["name"], **extra)
    return total
