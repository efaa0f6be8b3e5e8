"""Inflection and the reference search in the old tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jitera.decision.migrations.inflection import model_class_name, singularize
from pytest_jitera.decision.migrations.references import (
    classify_path,
    column_target,
    search_references,
    table_target,
)


@pytest.mark.parametrize(
    ("table", "singular", "model"),
    [
        ("legacy_reports", "legacy_report", "LegacyReport"),
        ("people", "person", "Person"),
        ("categories", "category", "Category"),
        ("addresses", "address", "Address"),
        ("statuses", "status", "Status"),
        ("analyses", "analysis", "Analysis"),
        ("boxes", "box", "Box"),
        ("branches", "branch", "Branch"),
        ("companies", "company", "Company"),
        ("user_sessions", "user_session", "UserSession"),
        ("sales_people", "sales_person", "SalesPerson"),
        ("children", "child", "Child"),
        ("news", "news", "News"),
        ("buses", "bus", "Bus"),
        ("responses", "response", "Response"),
        ("media", "medium", "Medium"),
    ],
)
def test_rails_inflection(table: str, singular: str, model: str) -> None:
    assert singularize(table) == singular
    assert model_class_name(table) == model


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("lib/tasks/cleanup.rake", "admin"),
        ("app/controllers/admin/reports_controller.rb", "admin"),
        ("script/backfill.rb", "admin"),
        ("bin/export", "admin"),
        ("app/controllers/reports_controller.rb", "user_facing"),
        ("app/views/reports/index.html.erb", "user_facing"),
        ("app/jobs/report_job.rb", "user_facing"),
        ("lib/report_builder.rb", "user_facing"),
    ],
)
def test_path_classification(path: str, kind: str) -> None:
    assert classify_path(path) == kind


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


TREE = {
    "app/models/legacy_report.rb": "class LegacyReport < ApplicationRecord\nend\n",
    "app/models/user.rb": "class User\n  has_many :legacy_reports\n  belongs_to :org\nend\n",
    "app/controllers/users_controller.rb": (
        "def show\n  x = 1\n  User.find_by_legacy_flag(true)\n  user.legacy_flag_changed?\nend\n"
    ),
    "app/views/users/show.html.erb": "<%= user.legacy_flags_count %>\n<%= :my_legacy_flag %>\n",
    "lib/tasks/legacy.rake": "task :x do\n  LegacyReport.delete_all\nend\n",
    "app/controllers/admin/reports_controller.rb": "def index\n  @r = LegacyReport.all\nend\n",
    "app/assets/logo.png": "\x00\x01binary legacy_reports",
}


@pytest.mark.parametrize("workers", [1, 2])
def test_references_found_and_classified(tmp_path: Path, workers: int) -> None:
    root = _write(tmp_path, TREE)
    refs = search_references(
        root,
        [table_target("legacy_reports"), column_target("users", "legacy_flag"),
         column_target("users", "org_id", association=True), column_target("users", "unused")],
        workers=workers,
    )
    table = [(r.file, r.line, r.kind) for r in refs["legacy_reports"]]
    # the model's own definition file does not count; the association, the admin controller,
    # the rake task and even a binary asset do
    assert table == [
        ("app/assets/logo.png", 1, "user_facing"),
        ("app/controllers/admin/reports_controller.rb", 2, "admin"),
        ("app/models/user.rb", 2, "user_facing"),
        ("lib/tasks/legacy.rake", 2, "admin"),
    ]
    column = [(r.file, r.line, r.name) for r in refs["users.legacy_flag"]]
    # dynamic finder and dirty-tracking spellings count; other words that merely contain it
    # (legacy_flags_count, my_legacy_flag) do not
    assert column == [
        ("app/controllers/users_controller.rb", 3, "legacy_flag"),
        ("app/controllers/users_controller.rb", 4, "legacy_flag"),
    ]
    assert [(r.file, r.line) for r in refs["users.org_id"]] == [("app/models/user.rb", 3)]
    assert refs["users.unused"] == []


def test_no_targets_means_no_scan(tmp_path: Path) -> None:
    assert search_references(tmp_path / "does-not-exist", []) == {}


def test_missing_source_folders_are_tolerated(tmp_path: Path) -> None:
    _write(tmp_path, {"db/migrate/1_a.rb": "legacy_reports"})
    assert search_references(tmp_path, [table_target("legacy_reports")]) == {"legacy_reports": []}


def test_scanner_agrees_with_a_regex_oracle(tmp_path: Path) -> None:
    import random
    import re

    rng = random.Random(7)
    tokens = ["legacy_flag", "find_by_legacy_flag", "legacy_flag_was", "legacy_flag?",
              "my_legacy_flag", "legacy_flags", "LegacyReport", "LegacyReports", "legacy_report",
              "legacy_reports", "legacy_report_id", "xlegacy_report", "Admin::LegacyReport",
              ":legacy_flag", "'legacy_flag'", "find_by_legacy_report", "flag", " ", "\n", ".",
              "(", "_", "legacy_flag_changed?", "legacy_flag=", "find_or_create_by_legacy_flag"]
    texts = {f"app/models/m{i}.rb": "".join(rng.choice(tokens) for _ in range(60))
             for i in range(40)}
    _write(tmp_path, texts)
    targets = [table_target("legacy_reports"), column_target("users", "legacy_flag")]
    refs = search_references(tmp_path, targets, workers=1)

    oracle = re.compile(
        r"(?<![A-Za-z0-9_])(?:find_(?:or_create_|or_initialize_|all_|last_)?by_)?"
        r"(legacy_reports|LegacyReport|legacy_report|legacy_flag)"
        r"(?:_(?:ids?|was|changed|change|will_change|before_type_cast|in_database"
        r"|previously_changed|previously_was|count))?[?!=]?(?![A-Za-z0-9_])"
    )
    expected: dict[str, set[tuple[str, int]]] = {"legacy_reports": set(), "users.legacy_flag": set()}
    for rel, text in texts.items():
        for match in oracle.finditer(text):
            key = "users.legacy_flag" if match.group(1) == "legacy_flag" else "legacy_reports"
            expected[key].add((rel, text.count("\n", 0, match.start()) + 1))
    got = {key: {(r.file, r.line) for r in found} for key, found in refs.items()}
    assert got == expected
    assert sum(map(len, got.values())) > 50
