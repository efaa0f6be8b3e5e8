"""A rehearsal started from dumps, as an operator starts one from a copy of production.

The dumps are made the way an operator's are: a real database migrated by the reference
Rails app's own hook to v24.05.01, filled by ``pytest-jitera reference-data`` (a million
projects), and dumped with the real ``pg_dump`` (the PGVector one in directory format, the
MongoDB one as a mongodump folder). The rehearsal runs in a folder of its own against this
session's kind cluster; the assertions read the report folder the operator would read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from reference._support import RailsApp, bundle, query, ruby_missing_reason, scratch_database

from pytest_jitera.cli import main
from pytest_jitera.cluster.kind import KindCluster
from pytest_jitera.datastores import LocalMongoTools, MongoTarget
from pytest_jitera.datastores.mongo.connect import mongo_client
from pytest_jitera.reference.build import build_reference
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import query_json

pytestmark = pytest.mark.e2e

PROJECTS = 1_000_000


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    admin = os.environ.get("JITERA_TEST_POSTGRES_DSN")
    mongo = os.environ.get("JITERA_TEST_MONGO_URI")
    missing = ruby_missing_reason()
    needs = "the seed dumps are made with the local PostgreSQL, FerretDB and the reference Rails app"
    assert admin, f"{needs}: JITERA_TEST_POSTGRES_DSN is not set (.ci/start-datastores.sh)"
    assert mongo, f"{needs}: JITERA_TEST_MONGO_URI is not set (.ci/start-datastores.sh)"
    assert missing is None, f"{needs}: {missing}"
    out = tmp_path_factory.mktemp("dumps")
    tree = build_reference(out / "reference", versions=["v24.05.01"]).releases[0].trees["automation"]
    bundle(tree)
    mongo_db = f"seed_{uuid.uuid4().hex[:8]}"
    with scratch_database(admin) as automation, scratch_database(admin) as vectors:
        RailsApp(tree, automation).hook()
        vectors_db = vectors.rsplit("/", 1)[1]
        subprocess.run(["psql", admin, "-X", "-q", "-c", f'CREATE DATABASE "{vectors_db}"'], check=True)
        assert main([
            "reference-data", f"--projects={PROJECTS}", "--vectors=20000", "--events=3000",
            f"--automation-dsn={automation}", f"--pgvector-dsn={vectors}",
            f"--mongo-uri={mongo}", f"--mongo-db={mongo_db}",
        ]) == 0
        found = {
            "postgresql": out / "automation.dump",
            "pgvector": out / "pgvector.dir",
            "mongodb": out / "mongo",
        }
        originals = query(automation, "SELECT email, name FROM users ORDER BY id LIMIT 50")
        (out / "originals.json").write_text(json.dumps([value for row in originals for value in row]))
        subprocess.run(["pg_dump", "-Fc", "-d", automation, "-f", str(found["postgresql"])], check=True)
        subprocess.run(["pg_dump", "-Fd", "-d", vectors, "-f", str(found["pgvector"])], check=True)
    target = MongoTarget(mongo, mongo_db)
    LocalMongoTools(use_tools=False).dump(target, found["mongodb"])
    with mongo_client(target) as client:
        client.drop_database(mongo_db)
    return found


MASKS = {"users.email": "email", "users.name": "hash", "uploads.sha256": "constant:masked"}


def _rehearsal_database(cluster: KindCluster, namespace: str, tmp_path: Path) -> Rehearsal:
    return Rehearsal(access=cluster.access(namespace), report_dir=tmp_path / "inspect")


def test_a_rehearsal_seeded_with_a_million_projects_passes_and_costs_each_migration(
    kind_cluster: KindCluster, tmp_path: Path, dumps: dict[str, Path]
) -> None:
    """Also masking: the masked columns hold no original value, and none reaches the report."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "masking.yaml").write_text(yaml.safe_dump(MASKS))
    argv = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v",
        f"--jitera-kubeconfig={kind_cluster.kubeconfig}", "--jitera-air-gapped",
        "--jitera-from=v24.05.01", "--jitera-to=v24.07.01",
        f"--jitera-seed-postgres={dumps['postgresql']}", f"--jitera-seed-pgvector={dumps['pgvector']}",
        f"--jitera-seed-mongo={dumps['mongodb']}", "--jitera-mask=masking.yaml",
        # kept for the look inside below, then deleted by this test
        "--jitera-keep-cluster",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITERA_")}
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=3600)
    output = done.stdout + done.stderr
    (folder / "output.txt").write_text(output)
    summary = json.loads((folder / "jitera-report" / "summary.json").read_text())
    namespace = summary["namespace"]
    kept = re.search(r"keeping the dumps of your data in (\S+):", output)
    try:
        assert done.returncode == 0, output[-6000:]
        _assert_masked(_rehearsal_database(kind_cluster, namespace, tmp_path), dumps)
    finally:
        kind_cluster.access(namespace).delete_namespace(wait=False)
        if kept:
            shutil.rmtree(kept.group(1), ignore_errors=True)
    seeded = {row["store"]: row for row in summary["seeded"]}
    assert set(seeded) == {"postgresql", "pgvector", "mongodb"}, summary["seeded"]
    assert seeded["postgresql"]["rows"] >= PROJECTS, seeded
    assert seeded["pgvector"]["rows"] == 20_000, seeded
    assert seeded["mongodb"]["rows"] == 3_000, seeded
    # Only counts, sizes and times of the data: no dump in the report, no generated user's e-mail.
    report = folder / "jitera-report"
    assert not (report / "backups").exists(), sorted(p.name for p in report.iterdir())
    kept_values = json.loads((dumps["postgresql"].parent / "originals.json").read_text())
    originals = [*(value.encode() for value in kept_values), b"@example.invalid"]
    files = [p for p in report.rglob("*") if p.is_file()]
    leaked = [str(p) for p in files if any(o in p.read_bytes() for o in originals)]
    assert not leaked, f"seeded values appear in {leaked}"
    masked = {m["column"]: m for m in seeded["postgresql"]["masked"]}
    assert set(masked) == set(MASKS), masked
    assert masked["users.email"]["rows"] == PROJECTS // 10 + 1, masked
    hops = {hop["name"]: hop for hop in summary["hops"]}
    slugs = {m["version"]: m for m in hops["v24.06.01->v24.07.01"]["migrations"]}
    assert set(slugs) == {"20240701000001", "20240701000002", "20240701000003", "20240701100001"}, slugs
    backfill = slugs["20240701100001"]
    [projects] = backfill["tables"]
    assert projects["table"] == "projects", backfill
    assert projects["rows"] == PROJECTS, backfill
    assert projects["bytes"] > PROJECTS * 50, backfill  # a million rows hold tens of MB
    # The maintenance window at that size, with the restore of the Scenario 3 procedure.
    window = hops["v24.06.01->v24.07.01"]["window"]
    assert window["rows"] >= PROJECTS, window
    steps = {row["step"]: row for row in window["steps"]}
    assert set(steps) == {
        "back up and prove every datastore", "migration hook", "upgrade: helm upgrade to rolled out",
        "restore into a new instance",
    }, window
    assert steps["upgrade: helm upgrade to rolled out"]["estimate"] == [10, 30], window
    assert steps["migration hook"]["seconds"] >= backfill["seconds"], window
    for hop in hops.values():
        durations = [m["seconds"] for m in hop["migrations"]]
        assert durations == sorted(durations, reverse=True), hop["migrations"]
    print("\n".join(n for n in summary["notes"] if n.startswith("seeded")))
    print(json.dumps(hops["v24.06.01->v24.07.01"]["migrations"], indent=1))
    print(json.dumps(window, indent=1))


def _assert_masked(r: Rehearsal, dumps: dict[str, Path]) -> None:
    """The kept rehearsal's Automation database, read the way the rehearsal reads it."""
    originals = json.loads((dumps["postgresql"].parent / "originals.json").read_text())
    listed = ", ".join("'" + value.replace("'", "''") + "'" for value in originals)
    found = query_json(
        r,
        "SELECT json_build_object("
        f"'originals', (SELECT count(*) FROM users WHERE email IN ({listed}) OR name IN ({listed})), "
        "'emails', (SELECT count(*) FROM users WHERE email LIKE '%@example.invalid' "
        "OR email = 'admin@jitera.local'), "
        "'names', (SELECT count(*) FROM users WHERE name LIKE 'User %' OR name = 'Administrator'), "
        "'sha256', (SELECT count(*) FROM uploads WHERE name LIKE 'upload-%.bin' AND sha256 <> 'masked'), "
        "'masked', (SELECT count(*) FROM users WHERE email ~ '^masked-[0-9a-f]{32}@masked[.]invalid$' "
        "AND name ~ '^[0-9a-f]{32}$'))",
    )
    # Rows the rehearsal's own steps add later (the smoke upload) are not the operator's data.
    assert found == {"originals": 0, "emails": 0, "names": 0, "sha256": 0, "masked": PROJECTS // 10 + 1}
