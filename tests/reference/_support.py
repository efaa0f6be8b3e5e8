"""Helpers shared by the reference-stack tests: tool discovery and Rails invocations."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from pytest_jitera.runner import Completed, Runner

HERE = Path(__file__).resolve().parent
RACK_CALL = HERE / "rack_call.rb"
HELM_CACHE = Path.home() / ".cache" / "pytest-jitera" / "bin" / "helm"


def find_helm() -> str | None:
    """Helm on PATH, else the one `go install` puts into the pytest-jitera cache."""
    found = shutil.which("helm")
    if found:
        return found
    return str(HELM_CACHE) if HELM_CACHE.is_file() else None


def ruby_missing_reason() -> str | None:
    """Why the Rails app cannot run here, or None when it can."""
    for tool in ("ruby", "bundle"):
        if shutil.which(tool) is None:
            return f"{tool} not found: run .ci/install-ruby.sh (Debian ruby-rails, ruby-pg, ...)"
    return None


def with_database(dsn: str, name: str) -> str:
    """The superuser URL DSN pointed at another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextmanager
def scratch_database(admin_dsn: str) -> Iterator[str]:
    """A fresh, empty database; dropped afterwards even if the Rails app still holds it."""
    name = f"jitera_ref_{uuid.uuid4().hex[:12]}"
    dsn = with_database(admin_dsn, name)
    try:
        yield dsn
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one read-only statement and return all rows."""
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(sql).fetchall())


class RailsApp:
    """One release's automation tree, driven the way the chart's hook and pods drive it."""

    def __init__(self, tree: Path, database_url: str, runner: Runner | None = None) -> None:
        self.tree = tree
        self.database_url = database_url
        self.runner = runner or Runner()

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "RAILS_ENV": "production",
            "DATABASE_URL": self.database_url,
            "SECRET_KEY_BASE": "test-secret-key-base",
            "RAILS_LOG_LEVEL": "warn",
        }
        env.update(extra or {})
        return env

    def rails(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> Completed:
        return self.runner.run(
            ["bin/rails", *args], env=self.env(env), cwd=self.tree, check=check, timeout=300
        )

    def hook(self, check: bool = True) -> Completed:
        """Exactly what the chart's post-install/post-upgrade Job runs."""
        return self.rails("db:create", "db:migrate", "data:migrate", check=check)

    def call(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        **extra: str,
    ) -> dict[str, Any]:
        """One request through the full Rack stack (no server); exceptions come back named."""
        body_file = self.tree / "tmp" / f"body-{uuid.uuid4().hex}"
        body_file.parent.mkdir(exist_ok=True)
        body_file.write_bytes(body)
        try:
            done = self.rails(
                "runner",
                str(RACK_CALL),
                env={
                    "RACK_METHOD": method,
                    "RACK_PATH": path,
                    "RACK_BODY_FILE": str(body_file),
                    "RACK_HEADERS": json.dumps(dict(headers or {})),
                    **extra,
                },
            )
        finally:
            body_file.unlink()
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("RACK_RESULT ")][-1]
        result: dict[str, Any] = json.loads(line.removeprefix("RACK_RESULT "))
        return result


def bundle(tree: Path, runner: Runner | None = None) -> None:
    """Resolve the Gemfile from the Debian system gems, as the image build does."""
    (runner or Runner()).run(["bundle", "install", "--local", "--quiet"], cwd=tree, timeout=300)


def env_dsn() -> str | None:
    """The superuser DSN the postgres-marked tests use, if configured."""
    return os.environ.get("JITERA_TEST_POSTGRES_DSN") or None
