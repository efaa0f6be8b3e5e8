"""The automation app of every release migrates for real, and the runbook's risks reproduce.

Needs Ruby from Debian (.ci/install-ruby.sh) and a PostgreSQL superuser URL in
JITERA_TEST_POSTGRES_DSN; each test works in its own scratch database.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_jitera.runner import Runner

from ._smtp import smtp_sink
from ._support import RailsApp, query, scratch_database

pytestmark = pytest.mark.postgres

VERSIONS = ["v24.05.01", "v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01"]


def _versions(dsn: str, table: str) -> list[str]:
    return [row[0] for row in query(dsn, f"SELECT version FROM {table} ORDER BY version")]


@pytest.mark.parametrize("version", VERSIONS)
def test_fresh_install_holds_exactly_the_expected_versions(
    admin_dsn: str, rails_trees: dict[str, Path], expected: dict[str, Any], version: str
) -> None:
    with scratch_database(admin_dsn) as dsn:
        RailsApp(rails_trees[version], dsn).hook()
        want = expected["releases"][version]
        assert _versions(dsn, "schema_migrations") == want["schema_migrations"]
        assert _versions(dsn, "data_migrations") == want["data_migrations"]
        enums = [r[0] for r in query(dsn, "SELECT typname FROM pg_type WHERE typtype = 'e'")]
        assert sorted(enums) == want["enum_types"]
        tables = {r[0] for r in query(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert tables - {"schema_migrations", "data_migrations", "ar_internal_metadata"} == set(
            want["tables"]
        )


def test_stepwise_upgrade_through_the_series(
    admin_dsn: str, rails_trees: dict[str, Path], expected: dict[str, Any]
) -> None:
    with scratch_database(admin_dsn) as dsn:
        for version in VERSIONS:
            RailsApp(rails_trees[version], dsn).hook()
            assert _versions(dsn, "schema_migrations") == expected["releases"][version]["schema_migrations"]
            assert _versions(dsn, "data_migrations") == expected["releases"][version]["data_migrations"]


def test_scenario_1_patch_rollback_needs_nothing_but_helm(
    admin_dsn: str, rails_trees: dict[str, Path]
) -> None:
    with scratch_database(admin_dsn) as dsn:
        base, patch = RailsApp(rails_trees["v24.05.01"], dsn), RailsApp(rails_trees["v24.05.01.1"], dsn)
        base.hook()
        before = _versions(dsn, "schema_migrations"), _versions(dsn, "data_migrations")
        patch.hook()
        assert (_versions(dsn, "schema_migrations"), _versions(dsn, "data_migrations")) == before
        # helm rollback to v24.05.01: every path of the old code still works.
        assert base.call("GET", "/api/projects")["status"] == 200
        assert base.rails("admin:legacy_reports").returncode == 0


def test_scenario_2_only_the_admin_task_breaks_after_rollback(
    admin_dsn: str, rails_trees: dict[str, Path]
) -> None:
    with scratch_database(admin_dsn) as dsn:
        old = RailsApp(rails_trees["v24.05.01.1"], dsn)
        old.hook()
        RailsApp(rails_trees["v24.06.01"], dsn).hook()
        # helm rollback alone: old code, new schema.
        assert old.call("GET", "/api/projects")["status"] == 200
        task = old.rails("admin:legacy_reports", check=False)
        assert task.returncode != 0
        assert "PG::UndefinedTable" in task.stdout + task.stderr


def test_risk_a_old_projects_listing_fails_on_the_new_schema(
    admin_dsn: str, rails_trees: dict[str, Path]
) -> None:
    with scratch_database(admin_dsn) as dsn:
        old = RailsApp(rails_trees["v24.06.01"], dsn)
        old.hook()
        created = old.call(
            "POST",
            "/api/projects",
            json.dumps({"project": {"name": "Before"}}).encode(),
            {"Content-Type": "application/json"},
        )
        assert created["status"] == 201
        RailsApp(rails_trees["v24.07.01"], dsn).hook()
        result = old.call("GET", "/api/projects")
        assert result["status"] is None, result
        assert result["cause"] == "PG::UndefinedColumn"
        assert "legacy_notes" in result["message"]


def test_risk_b_rows_written_in_the_rollback_window_stay_null(
    admin_dsn: str, rails_trees: dict[str, Path]
) -> None:
    with scratch_database(admin_dsn) as dsn:
        old, new = RailsApp(rails_trees["v24.06.01"], dsn), RailsApp(rails_trees["v24.07.01"], dsn)
        old.hook()
        old.call(
            "POST",
            "/api/projects",
            b'{"project":{"name":"Before Upgrade"}}',
            {"Content-Type": "application/json"},
        )
        new.hook()
        # Rolled back with helm alone; the old code keeps writing.
        window = old.call(
            "POST", "/api/projects", b'{"project":{"name":"In Window"}}', {"Content-Type": "application/json"}
        )
        assert window["status"] == 201, window
        new.hook()  # re-upgrade: data:migrate has nothing left to run
        rows = dict(query(dsn, "SELECT name, slug FROM projects"))
        assert rows["Before Upgrade"] is not None
        assert rows["In Window"] is None


def test_risk_c_clean_restore_leaves_the_enum_and_reupgrade_fails(
    admin_dsn: str, rails_trees: dict[str, Path], tmp_path: Path
) -> None:
    pg_bin = Path("/usr/lib/postgresql/15/bin")
    if not (pg_bin / "pg_restore").exists():
        pytest.skip("PostgreSQL 15 client tools not found in /usr/lib/postgresql/15/bin")
    with scratch_database(admin_dsn) as dsn:
        RailsApp(rails_trees["v24.06.01"], dsn).hook()
        dump = tmp_path / "v24.06.01.dump"
        Runner().run([str(pg_bin / "pg_dump"), "-Fc", "-f", str(dump), "-d", dsn])
        new = RailsApp(rails_trees["v24.07.01"], dsn)
        new.hook()
        Runner().run([str(pg_bin / "pg_restore"), "-c", "--if-exists", "-d", dsn, str(dump)])
        assert _versions(dsn, "schema_migrations")[-1] == "20240601000002"
        assert query(dsn, "SELECT 1 FROM pg_type WHERE typname = 'project_status'")
        again = new.hook(check=False)
        assert again.returncode != 0
        assert "PG::DuplicateObject" in again.stdout + again.stderr


@pytest.fixture(scope="module")
def cli_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli-keys")
    private, public = folder / "cli.key", folder / "cli.pem"
    Runner().run(["openssl", "genrsa", "-out", str(private), "2048"])
    Runner().run(["openssl", "rsa", "-in", str(private), "-pubout", "-out", str(public)])
    stripped = folder / "cli-stripped.pem"
    stripped.write_text(public.read_text().replace("\n", ""))
    return {"private": private, "public": public, "stripped": stripped}


def _sign(private: Path, body: bytes) -> str:
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(private)],
        input=body,
        capture_output=True,
        check=True,
    ).stdout
    return base64.b64encode(signature).decode()


def test_uploads_verify_the_cli_signature(
    admin_dsn: str, rails_trees: dict[str, Path], cli_keys: dict[str, Path]
) -> None:
    body = b"project archive bytes"
    headers = {
        "Content-Type": "application/octet-stream",
        "X-Jitera-Signature": _sign(cli_keys["private"], body),
    }
    with scratch_database(admin_dsn) as dsn:
        app = RailsApp(rails_trees["v24.08.01"], dsn)
        app.hook()
        ok = app.call(
            "POST", "/api/uploads?name=init", body, headers, CLI_PUBLIC_KEY_PATH=str(cli_keys["public"])
        )
        assert ok["status"] == 201, ok
        tampered = app.call(
            "POST", "/api/uploads", body + b"!", headers, CLI_PUBLIC_KEY_PATH=str(cli_keys["public"])
        )
        assert tampered["status"] == 401
        stripped = app.call(
            "POST", "/api/uploads", body, headers, CLI_PUBLIC_KEY_PATH=str(cli_keys["stripped"])
        )
        assert stripped["status"] == 401
        assert "unreadable" in stripped["body"]


def test_invites_send_mail_over_smtp_and_report_smtp_failure(
    admin_dsn: str, rails_trees: dict[str, Path]
) -> None:
    body = b'{"email":"new.user@example.com"}'
    headers = {"Content-Type": "application/json"}
    with scratch_database(admin_dsn) as dsn:
        app = RailsApp(rails_trees["v24.08.01"], dsn)
        app.hook()
        with smtp_sink() as sink:
            port = str(sink.server_address[1])
            sent = app.call("POST", "/api/invites", body, headers, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
            assert sent["status"] == 201, sent
            assert len(sink.messages) == 1
            assert "To: new.user@example.com" in sink.messages[0]
        # The sink is gone: the same request now reports the delivery failure.
        failed = app.call("POST", "/api/invites", body, headers, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
        assert failed["status"] == 502
        assert json.loads(failed["body"])["sent"] is False


def test_worker_holds_a_connection_and_reports_heartbeats(
    admin_dsn: str, rails_trees: dict[str, Path]
) -> None:
    with scratch_database(admin_dsn) as dsn:
        app = RailsApp(rails_trees["v24.08.01"], dsn)
        app.hook()
        done = app.rails(
            "runner",
            "script/worker.rb",
            env={
                "WORKER_MAX_LOOPS": "2",
                "WORKER_INTERVAL_SECONDS": "0.1",
                "JITERA_RELEASE": "v24.08.01",
            },
        )
        assert done.stdout.count("worker heartbeat release=v24.08.01") == 2
