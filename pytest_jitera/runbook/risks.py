"""The runbook's three risks of ``helm rollback`` alone, observed on the reference stack.

Risk A: the old code reads what the newer migrations dropped. Risk B: rows the old code
writes between the rollback and the re-upgrade never get the newer release's backfill,
because the data migration is already recorded as done. Risk C: a clean-mode restore leaves
the objects the newer release created, so its migration fails when it runs again. The
reference stack ships these on purpose in v24.06.01 -> v24.07.01 (``expected.yaml``); the
facts below are that release pair's, which is why this module names tables and endpoints.
"""

from __future__ import annotations

import secrets

from pytest_jitera.cluster.api import HttpResult, ServiceHttp
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import query_json

PROJECTS = "/api/projects"
AUTOMATION_PORT = 3000
#: Risk A's error: v24.06.01 lists projects with a column v24.07.01 dropped.
RISK_A_ERROR = "UndefinedColumn"
#: Risk C's error: the re-upgrade's migration creates a type the clean restore left behind.
RISK_C_ERROR = "DuplicateObject"
RISK_C_TYPE = "project_status"


def list_projects(r: Rehearsal, http: ServiceHttp) -> HttpResult:
    """The user-facing projects listing, as a user's browser asks for it."""
    with r.step("list projects as a user"):
        return http.get(r.access.namespace, r.name("automation"), AUTOMATION_PORT, PROJECTS, timeout=60)


def create_project(r: Rehearsal, http: ServiceHttp) -> HttpResult:
    """A user creates a project: a write, whichever release's code is running."""
    name = f"rollback-window-{secrets.token_hex(3)}"
    with r.step("create a project as a user"):
        return http.request(
            "POST", r.access.namespace, r.name("automation"), AUTOMATION_PORT, PROJECTS,
            json={"project": {"name": name}}, timeout=60,
        )


def projects_without_slug(r: Rehearsal) -> int:
    """Rows the v24.07.01 backfill should have given a slug and did not."""
    with r.step("count projects without a slug"):
        return int(query_json(r, "SELECT count(*) FROM projects WHERE slug IS NULL") or 0)


def type_exists(r: Rehearsal, name: str = RISK_C_TYPE) -> bool:
    """Whether the Automation database has the type ``name`` (Risk C's leftover)."""
    sql = f"SELECT count(*) FROM pg_type WHERE typname = '{name}'"
    return int(query_json(r, sql) or 0) > 0
