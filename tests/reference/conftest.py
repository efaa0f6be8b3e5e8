from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_jitera.reference import EXPECTED_MANIFEST
from pytest_jitera.reference.build import BuildResult, ReleaseBuild, build_reference

from ._support import bundle, env_dsn, ruby_missing_reason


@pytest.fixture(scope="session")
def reference_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return build_reference(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="session")
def expected() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXPECTED_MANIFEST.read_text())
    return data


@pytest.fixture(scope="session")
def releases(reference_build: BuildResult) -> dict[str, ReleaseBuild]:
    return {str(r.version): r for r in reference_build.releases}


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    dsn = env_dsn()
    if dsn is None:
        pytest.skip(
            "JITERA_TEST_POSTGRES_DSN is not set (a superuser URL, e.g. postgres://postgres@127.0.0.1:5499/postgres)"
        )
    if not dsn.startswith(("postgres://", "postgresql://")):
        pytest.skip("JITERA_TEST_POSTGRES_DSN must be a URL (postgres://...) for DATABASE_URL")
    return dsn


@pytest.fixture(scope="session")
def rails_trees(releases: dict[str, ReleaseBuild]) -> dict[str, Path]:
    reason = ruby_missing_reason()
    if reason:
        pytest.skip(reason)
    trees = {}
    for version, release in releases.items():
        bundle(release.trees["automation"])
        trees[version] = release.trees["automation"]
    return trees
