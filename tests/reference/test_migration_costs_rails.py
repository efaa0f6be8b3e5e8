"""The per-migration cost table read from what the real Rails hook prints (Debian Rails 6.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jitera.runbook.migration_costs import cost_table, parse_migration_log

from ._support import RailsApp, query, scratch_database

pytestmark = pytest.mark.postgres


def test_each_migration_of_a_real_hop_is_timed_with_the_tables_it_touched(
    admin_dsn: str, rails_trees: dict[str, Path]
) -> None:
    with scratch_database(admin_dsn) as dsn:
        RailsApp(rails_trees["v24.06.01"], dsn).hook()
        query_rows = query(dsn, "INSERT INTO projects (name, created_at, updated_at) "
                                "SELECT 'p' || g, now(), now() FROM generate_series(1, 500) g RETURNING id")
        assert len(query_rows) == 500
        done = RailsApp(rails_trees["v24.07.01"], dsn).hook()
        log = (done.stdout + "\n" + done.stderr).splitlines()
        costs = parse_migration_log(f"[pod/migrate] {line}" for line in log)
        by_version = {c.version: c for c in costs}
        assert list(by_version) == [
            "20240701000001", "20240701000002", "20240701000003", "20240701100001"
        ], log
        assert by_version["20240701000001"].name == "CreateProjectStatusEnum"
        assert by_version["20240701000001"].tables == ("projects",)
        assert by_version["20240701000002"].tables == ("projects",)
        assert by_version["20240701100001"].tables == ("projects",)
        assert all(c.seconds >= 0 for c in costs)
        table = cost_table(costs, {"public.projects": {"rows": 500}, "public.users": {"rows": 1}})
        assert [r.seconds for r in table] == sorted((r.seconds for r in table), reverse=True)
        assert {t.rows for r in table for t in r.tables} == {500}
