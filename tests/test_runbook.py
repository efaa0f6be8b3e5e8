"""The runbook steps' own logic over a fake runner: what they ask the cluster, in what order.

These are unit tests of sequencing and plumbing (which commands, which values files, where the
password travels); whether the steps work on a real cluster is what tests/reference_e2e shows.
"""

from __future__ import annotations

import ast
import base64
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
import yaml

import pytest_jitera.runbook
from pytest_jitera.charts.chart import open_chart
from pytest_jitera.cluster.access import ClusterAccess
from pytest_jitera.cluster.kubectl import PodHealth
from pytest_jitera.datastores import Snapshot
from pytest_jitera.errors import DatastoreError
from pytest_jitera.profile import REFERENCE_PROFILE, load_profile
from pytest_jitera.runbook.after_upgrade import (
    check_migrations,
    http_get,
    migrations_applied,
    verify_cli_key,
    wait_for_answer,
)
from pytest_jitera.runbook.before_upgrade import (
    Backups,
    capture_release_state,
    check_values_carried_forward,
    unfreeze_workloads,
)
from pytest_jitera.runbook.context import CarriedValues, Rehearsal
from pytest_jitera.runbook.databases import applied_versions, pg_login
from pytest_jitera.runbook.downtime import (
    ROLLOUT,
    SCALE_DOWN,
    StepTimer,
    downtime_rows,
    render_downtime_table,
)
from pytest_jitera.runbook.rollback import (
    drop_and_restore_in_place,
    drop_refused,
    rollback_helm_only,
    scale_down_app,
)
from pytest_jitera.runbook.upgrade import crash_looping_or_unready, upgrade_one_hop
from tests.fakes import FakeRunner, Rule

PASSWORD = "pw-5f0c1e2d3b4a69788796a5b4c3d2e1f0"
GOOD_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEq6MnZb7rYbUfRUyk5xAzQ0sS1XiV\n"
    "iCtGmQ1QvJ9bKqf+R0pX1mYV3f0c1cQ1pZ0Xr8k1y7vJ5Wf5kT0mH1H2dQ==\n"
    "-----END PUBLIC KEY-----\n"
)


def when(*words: str, out: object = "", code: int = 0) -> Rule:
    """Answer every command line that contains all ``words`` (JSON-encoding non-strings)."""
    text = out if isinstance(out, str) else json.dumps(out)
    return lambda argv: (code, text) if all(w in argv for w in words) else None


def secret(**data: str) -> dict[str, object]:
    return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


HISTORY = when(
    "history", out=[{"revision": 1, "status": "superseded"}, {"revision": 2, "status": "deployed"}]
)
VALUES = when("get", "values", out={"externalPostgres": {"database": "jitera", "username": "jitera"}})
CREDENTIALS = when("secret", "jitera-credentials", out=secret(**{"automation-db-password": PASSWORD}))


def rehearsal(
    tmp_path: Path, *rules: Rule, values: CarriedValues | None = None
) -> tuple[Rehearsal, FakeRunner]:
    runner = FakeRunner(*rules)
    access = ClusterAccess(kubeconfig=Path("/kube/config"), namespace="ns", runner=runner)
    said: list[str] = []
    r = Rehearsal(access, tmp_path / "report", values=values or CarriedValues(), progress=said.append)
    return r, runner


# ----------------------------------------------------------------------------- context


def test_names_selectors_and_carried_values(tmp_path: Path) -> None:
    r, _ = rehearsal(tmp_path)
    assert r.name("migrate") == "jitera-migrate"
    assert r.selector("ultron") == "app.kubernetes.io/instance=jitera,app.kubernetes.io/component=ultron"
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "values-airgapped.yaml").write_text("{}")
    mine = tmp_path / "mine.yaml"
    carried = CarriedValues(files=(mine,), chart_files=("values-airgapped.yaml", "values-absent.yaml"))
    assert carried.for_chart(chart) == [chart / "values-airgapped.yaml", mine]


def test_no_runbook_module_imports_pytest() -> None:
    for path in Path(pytest_jitera.runbook.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {n for n in names if n.split(".")[0] in ("pytest", "_pytest")}, path.name


# ----------------------------------------------------------------------------- databases


def test_psql_password_travels_on_stdin_only(tmp_path: Path) -> None:
    r, runner = rehearsal(tmp_path, VALUES, CREDENTIALS, when("exec", "psql", out=["20240501000001"]))
    assert applied_versions(r, "schema_migrations") == ["20240501000001"]
    (psql,) = [i for i in runner.invocations if "psql" in i.argv]
    assert "statefulset/jitera-postgresql" in psql.argv
    assert "--kubeconfig" in psql.argv
    assert "ns" in psql.argv
    assert psql.input is not None
    assert PASSWORD in psql.input
    for invocation in runner.invocations:
        assert not any(PASSWORD in arg for arg in invocation.argv), invocation.argv
        assert not any(PASSWORD in v for v in (invocation.env or {}).values()), invocation.argv
    assert PASSWORD in runner.secrets, "the password must be masked in every later error"


def test_login_comes_from_values_and_secret(tmp_path: Path) -> None:
    r, _ = rehearsal(tmp_path, VALUES, CREDENTIALS)
    login = pg_login(r)
    assert (login.host, login.user, login.dbname, login.password) == (
        "127.0.0.1",
        "jitera",
        "jitera",
        PASSWORD,
    )
    assert PASSWORD not in repr(login)


def test_only_migration_tables_are_read(tmp_path: Path) -> None:
    r, runner = rehearsal(tmp_path)
    with pytest.raises(DatastoreError, match="not a migration table"):
        applied_versions(r, "users; DROP TABLE users")
    assert runner.calls == []


def test_migration_check_names_missing_and_extra_versions(tmp_path: Path) -> None:
    r, _ = rehearsal(
        tmp_path,
        VALUES,
        CREDENTIALS,
        when("exec", "psql", out=["1", "2", "3"]),
    )
    assert migrations_applied(r).schema == ["1", "2", "3"]
    problems = check_migrations(r, schema=["1", "2", "4"], data=["1", "2", "3"])
    assert problems == [
        "schema_migrations lacks 4: the migration hook did not finish",
        "schema_migrations has 3 that the release does not ship: the schema is ahead",
    ]


# ----------------------------------------------------------------------------- before upgrade


def test_capture_release_state_saves_masked_values(tmp_path: Path) -> None:
    r, _ = rehearsal(
        tmp_path,
        when("history", out=[{"revision": 4, "app_version": "v24.06.01", "chart": "jitera-24.601.0"}]),
        when("get", "values", out={"externalPostgres": {"password": PASSWORD}}),
    )
    recorded = capture_release_state(r)
    assert recorded.revision == 4
    assert recorded.saved_to.parent == tmp_path / "report" / "release-state"
    assert PASSWORD not in recorded.saved_to.read_text()
    assert "capture release state" in r.timer.seconds


def test_values_carried_forward_flag_an_override_the_new_chart_ignores(
    tmp_path: Path, make_chart: Callable[..., Path]
) -> None:
    override = tmp_path / "mine.yaml"
    override.write_text(yaml.safe_dump({"externalPostgres": {"host": "db.internal"}}))
    r, _ = rehearsal(tmp_path, values=CarriedValues(files=(override,)))
    old = open_chart(make_chart("v24.05.01", values={"externalPostgres": {"host": ""}}), tmp_path / "w")
    new = open_chart(
        make_chart("v24.06.01", values={"externalPostgres": {"primary": {"host": ""}}}), tmp_path / "w"
    )
    diff = check_values_carried_forward(r, old, new)
    assert [h.key for h in diff.hazards] == ["externalPostgres.host"]


def test_scale_down_stops_the_profiles_existing_workloads_and_waits_for_them(tmp_path: Path) -> None:
    deployments = {
        "items": [
            {"metadata": {"name": "jitera-automation"}, "spec": {"replicas": 1}},
            {"metadata": {"name": "jitera-worker"}, "spec": {"replicas": 2}},
            {"metadata": {"name": "jitera-studio"}, "spec": {"replicas": 1}},
        ]
    }
    r, runner = rehearsal(
        tmp_path, when("get", "deployments", out=deployments), when("get", "pods", out={"items": []})
    )
    profile = load_profile(REFERENCE_PROFILE)
    frozen = scale_down_app(r, profile)
    # the profile's database clients and user-facing workloads that exist (no ultron here)
    assert frozen == {"jitera-automation": 1, "jitera-worker": 2, "jitera-studio": 1}
    (scale,) = runner.commands()[1:2]
    assert scale[-5:] == ["deployment", "jitera-automation", "jitera-worker", "jitera-studio", "--replicas=0"]
    assert "get" in runner.calls[-1]
    assert "pods" in runner.calls[-1], "the freeze waits until the pods are gone"
    assert SCALE_DOWN in r.timer.seconds
    unfreeze_workloads(r, frozen)
    assert ["deployment", "jitera-worker", "--replicas=2"] in [argv[-3:] for argv in runner.calls[-3:]]


# ----------------------------------------------------------------------------- upgrade


def test_upgrade_carries_values_forward_and_reports_a_failed_hop(tmp_path: Path) -> None:
    chart = tmp_path / "v24.06.01"
    chart.mkdir()
    (chart / "values-airgapped.yaml").write_text("{}")
    mine = tmp_path / "mine.yaml"
    values = CarriedValues(files=(mine,), chart_files=("values-airgapped.yaml",))
    r, runner = rehearsal(tmp_path, HISTORY, when("upgrade", code=1), values=values)
    outcome = upgrade_one_hop(r, chart, {"faults.hookFails": "true"}, check=False)
    assert not outcome.succeeded
    assert outcome.revision == 2
    (upgrade,) = runner.commands()[:1]
    files = [upgrade[i + 1] for i, arg in enumerate(upgrade) if arg == "--values"]
    assert files == [str(chart / "values-airgapped.yaml"), str(mine)], "the operator's file goes last"
    assert upgrade[upgrade.index("--set-string") + 1] == "faults.hookFails=true"


def _pod(ready: bool, restarts: int, reason: str | None = None, exit_code: int | None = None) -> PodHealth:
    return PodHealth("ultron-1", "ultron", "Running", ready, restarts, reason, exit_code)


def test_crash_looping_or_unready() -> None:
    assert not crash_looping_or_unready([])
    assert not crash_looping_or_unready([_pod(True, 0)])
    assert crash_looping_or_unready([_pod(False, 3, "CrashLoopBackOff")])
    assert crash_looping_or_unready([_pod(False, 1, exit_code=0)]), "restarted and never Ready"
    assert not crash_looping_or_unready([_pod(False, 0)]), "merely starting is not broken yet"


# ----------------------------------------------------------------------------- after upgrade


def test_http_get_from_inside_the_cluster(tmp_path: Path) -> None:
    r, runner = rehearsal(tmp_path, when("exec", "python3", out='[500, "PG::UndefinedColumn: legacy_notes"]'))
    answer = http_get(r, "automation", "/api/projects")
    assert (answer.status, answer.body) == (500, "PG::UndefinedColumn: legacy_notes")
    (argv,) = runner.calls
    assert "deploy/jitera-studio" in argv
    assert argv[-2] == "http://jitera-automation:3000/api/projects"


def test_an_unreachable_pod_is_status_zero_and_the_wait_returns_what_it_saw(tmp_path: Path) -> None:
    r, _ = rehearsal(
        tmp_path, when("exec", code=1, out="error: unable to upgrade connection: container not found")
    )
    answer = wait_for_answer(r, "studio", until=lambda a: a.status == 200, what="studio", timeout=0)
    assert answer.status == 0
    assert "container not found" in answer.body


def test_cli_key_check(tmp_path: Path) -> None:
    flat = GOOD_PEM.replace("\n", "")
    r, _ = rehearsal(tmp_path, when("secret", "jitera-cli-public-key", out=secret(**{"public.pem": flat})))
    problems = verify_cli_key(r)
    assert problems
    assert "newlines were stripped" in problems[0]
    r, _ = rehearsal(tmp_path, when("secret", out=secret(other="x")))
    assert verify_cli_key(r) == ["secret jitera-cli-public-key has no key 'public.pem' (keys: other)"]


# ----------------------------------------------------------------------------- rollback


def test_helm_only_rollback_returns_the_new_revision(tmp_path: Path) -> None:
    r, runner = rehearsal(tmp_path, HISTORY)
    assert rollback_helm_only(r, 1) == 2
    rollback = runner.calls[0]
    assert rollback[rollback.index("rollback") + 1 : rollback.index("rollback") + 3] == ["jitera", "1"]


def test_in_place_restore_drops_without_force_then_restores(tmp_path: Path) -> None:
    """``DROP DATABASE`` must be refused while a client is connected: no ``WITH (FORCE)``."""
    dump = tmp_path / "postgresql.dump"
    dump.write_bytes(b"PGDMP")
    snapshot = cast(Snapshot, SimpleNamespace(path=dump))
    r, runner = rehearsal(tmp_path, VALUES, CREDENTIALS)
    done = drop_and_restore_in_place(r, Backups(postgres={"postgresql": snapshot}))
    assert [d.component for d in done] == ["postgresql"]

    def first(predicate: Callable[[list[str]], bool]) -> int:
        return next(i for i, argv in enumerate(runner.calls) if predicate(argv))

    drop = first(lambda a: any("DROP DATABASE" in arg for arg in a))
    create = first(lambda a: any("CREATE DATABASE" in arg for arg in a))
    restore = first(lambda a: any("pg_restore" in arg for arg in a))
    assert drop < create < restore
    assert not any("FORCE" in arg for arg in runner.calls[drop])
    assert not any(PASSWORD in arg for argv in runner.calls for arg in argv)


def test_a_refused_drop_is_told_apart_from_other_failures() -> None:
    refused = DatastoreError('psql failed: ERROR:  database "jitera" is being accessed by other users')
    assert drop_refused(refused)
    assert not drop_refused(DatastoreError("psql could not reach PostgreSQL"))


# ----------------------------------------------------------------------------- downtime


def test_downtime_table_puts_the_runbook_rows_first_with_their_estimates() -> None:
    timer = StepTimer()
    timer.add("capture release state", 2)
    timer.add(ROLLOUT, 700)
    timer.add(SCALE_DOWN, 30)
    timer.add(SCALE_DOWN, 45)
    rows = downtime_rows(timer)
    assert [(row.step, row.verdict) for row in rows] == [
        (SCALE_DOWN, "within the estimate"),
        (ROLLOUT, "over the estimate"),
        ("capture release state", ""),
    ]
    table = render_downtime_table(rows)
    assert "| app scale-down | 1m 15s | 1 - 5 min | within the estimate |" in table
    assert "| capture release state | 2s | - |  |" in table
