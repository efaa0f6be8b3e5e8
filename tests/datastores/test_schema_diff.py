"""Schema diff and snapshots on pure data: no server needed."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_jitera.datastores import SchemaSnapshot, diff_schemas


def pg(**objects: dict[str, dict[str, object]]) -> SchemaSnapshot:
    return SchemaSnapshot("postgresql", "jitera", dict(objects))


BASE = pg(
    tables={"public.users": {"kind": "table", "persistence": "p"}},
    columns={
        "public.users.id": {"type": "bigint", "nullable": False, "default": None, "position": 1},
        "public.users.email": {"type": "text", "nullable": True, "default": None, "position": 2},
    },
    types={"public.role": {"kind": "enum", "labels": ["admin", "member"], "base": None}},
    schema_migrations={"20240101000000": {}},
)


def test_equal_schemas_have_an_empty_falsy_diff() -> None:
    d = diff_schemas(BASE, SchemaSnapshot.from_dict(json.loads(BASE.to_json())))
    assert not d
    assert d.changes == []
    assert "equals" in d.text()


def test_added_removed_and_changed_objects_are_all_reported() -> None:
    after = SchemaSnapshot.from_dict(json.loads(BASE.to_json()))
    after.objects["types"]["public.role"]["labels"] = ["admin", "member", "guest"]
    after.objects["columns"]["public.users.email"]["nullable"] = False
    after.objects["tables"]["public.audit_events"] = {"kind": "table", "persistence": "p"}
    del after.objects["schema_migrations"]["20240101000000"]
    d = diff_schemas(BASE, after)
    kinds = {(c.category, c.object, c.change) for c in d.changes}
    assert kinds == {
        ("types", "public.role", "changed"),
        ("columns", "public.users.email", "changed"),
        ("tables", "public.audit_events", "added"),
        ("schema_migrations", "20240101000000", "removed"),
    }
    text = d.text()
    assert "~ type public.role: labels: ['admin', 'member'] -> ['admin', 'member', 'guest']" in text
    assert "~ column public.users.email: nullable: True -> False" in text
    assert "+ table public.audit_events" in text
    assert "- schema migration 20240101000000" in text
    assert "4 difference(s)" in text
    report = json.loads(d.to_json())
    assert {c["object"] for c in report["changes"]} == {
        "public.role",
        "public.users.email",
        "public.audit_events",
        "20240101000000",
    }


def test_changed_lists_only_the_attributes_that_differ() -> None:
    after = SchemaSnapshot.from_dict(json.loads(BASE.to_json()))
    after.objects["columns"]["public.users.id"]["default"] = "nextval('users_id_seq')"
    [change] = diff_schemas(BASE, after).changes
    assert change.attributes == ("default",)


def test_ignored_attributes_and_category_filter() -> None:
    after = SchemaSnapshot.from_dict(json.loads(BASE.to_json()))
    after.objects["columns"]["public.users.id"]["position"] = 9
    after.objects["tables"]["public.extra"] = {}
    assert not diff_schemas(BASE, after, ignore_attributes=("position",), categories=("columns",))


def test_mongo_validators_and_indexes_diff() -> None:
    before = SchemaSnapshot(
        "mongodb",
        "jitera",
        {
            "collections": {"projects": {"type": "collection", "options": {}}},
            "indexes": {"projects._id_": {"key": {"_id": 1}}},
            "validators": {"projects": {"validator": {"$jsonSchema": {"required": ["name"]}}}},
        },
    )
    after = SchemaSnapshot.from_dict(json.loads(before.to_json()))
    after.objects["indexes"]["projects.name_1"] = {"key": {"name": 1}, "unique": True}
    after.objects["validators"]["projects"]["validator"] = {"$jsonSchema": {"required": []}}
    text = diff_schemas(before, after).text()
    assert "+ index projects.name_1" in text
    assert "~ validator projects: validator:" in text


def test_long_diffs_are_truncated_but_counted() -> None:
    after = SchemaSnapshot.from_dict(json.loads(BASE.to_json()))
    after.objects["tables"].update({f"public.t{i}": {} for i in range(250)})
    text = diff_schemas(BASE, after).text(limit=10)
    assert "250 difference(s)" in text
    assert "... and 240 more" in text


def test_snapshot_round_trips_through_a_file(tmp_path: Path) -> None:
    BASE.save(tmp_path / "s.json")
    loaded = SchemaSnapshot.load(tmp_path / "s.json")
    assert loaded.to_dict() == BASE.to_dict()
    assert loaded.schema_migrations == ["20240101000000"]
    assert loaded.data_migrations == []
