from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def scenario_dir() -> Path:
    return FIXTURES


def migration(body: str, name: str = "TestMigration") -> str:
    """Wrap method definitions in a migration class."""
    indented = "\n".join(("  " + line) if line else line for line in body.strip("\n").splitlines())
    return f"class {name} < ActiveRecord::Migration[7.1]\n{indented}\nend\n"
