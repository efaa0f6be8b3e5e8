"""Forward-running schema operations found by the tree-sitter walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jitera.decision.migrations.findings import COULD_NOT_ANALYSE, Finding
from pytest_jitera.decision.migrations.ruby_analysis import MAX_UNROLLED, analyse_file, analyse_source

from .conftest import migration


def analyse(body: str) -> list[Finding]:
    return analyse_source(migration(body).encode(), "db/migrate/20240601000000_x.rb")


# op, call in `change`/`up`, call inside `change_table :users do |t|` (or None), SQL (or None),
# expected op, expected objects (subset)
OPERATIONS = [
    ("drop_table", "drop_table :legacy_reports", None, "DROP TABLE legacy_reports",
     "drop_table", {"table": "legacy_reports"}),
    ("remove_column", "remove_column :users, :legacy_flag, :boolean", "t.remove :legacy_flag",
     "ALTER TABLE users DROP COLUMN legacy_flag", "remove_column",
     {"table": "users", "column": "legacy_flag"}),
    ("remove_columns", "remove_columns :users, :legacy_flag, type: :boolean",
     "t.remove :legacy_flag, type: :boolean", "ALTER TABLE users DROP COLUMN IF EXISTS legacy_flag",
     "remove_column", {"table": "users", "column": "legacy_flag"}),
    ("remove_reference", "remove_reference :users, :org, index: true", "t.remove_references :org",
     "ALTER TABLE users DROP COLUMN org_id", None, {"table": "users", "column": "org_id"}),
    ("remove_belongs_to", "remove_belongs_to :users, :org", "t.remove_belongs_to :org", None,
     "remove_reference", {"table": "users", "column": "org_id"}),
    ("remove_index", "remove_index :users, column: :email", "t.remove_index column: :email",
     "DROP INDEX index_users_on_email", "remove_index", {}),
    ("remove_foreign_key", "remove_foreign_key :users, :orgs", "t.remove_foreign_key :orgs", None,
     "remove_foreign_key", {"table": "users", "to_table": "orgs"}),
    ("rename_table", "rename_table :legacy_reports, :reports", None,
     "ALTER TABLE legacy_reports RENAME TO reports", "rename_table",
     {"table": "legacy_reports", "new_name": "reports"}),
    ("rename_column", "rename_column :users, :legacy_flag, :flag", "t.rename :legacy_flag, :flag",
     "ALTER TABLE users RENAME COLUMN legacy_flag TO flag", "rename_column",
     {"table": "users", "column": "legacy_flag", "new_name": "flag"}),
    ("change_column", "change_column :users, :legacy_flag, :integer",
     "t.change :legacy_flag, :integer", "ALTER TABLE users ALTER COLUMN legacy_flag TYPE integer",
     "change_column", {"table": "users", "column": "legacy_flag"}),
    ("change_column_null", "change_column_null :users, :legacy_flag, false",
     "t.change_null :legacy_flag, false",
     "ALTER TABLE users ALTER COLUMN legacy_flag SET NOT NULL", "change_column_null",
     {"table": "users", "column": "legacy_flag"}),
    ("create_enum", "create_enum :mood, %w[happy sad]", None,
     "CREATE TYPE mood AS ENUM ('happy', 'sad')", "create_enum", {"type": "mood"}),
    ("drop_enum", "drop_enum :mood", None, "DROP TYPE mood", "drop_type", {"type": "mood"}),
]
IDS = [o[0] for o in OPERATIONS]


def _expect(findings: list[Finding], op: str, objects: dict[str, str]) -> None:
    assert len(findings) == 1, findings
    assert findings[0].op == op
    assert objects.items() <= findings[0].objects.items()
    assert findings[0].line > 1


@pytest.mark.parametrize(("name", "call", "table_call", "sql", "op", "objects"), OPERATIONS, ids=IDS)
def test_operation_in_change(name, call, table_call, sql, op, objects) -> None:
    _expect(analyse(f"def change\n  {call}\nend"), op or name, objects)


@pytest.mark.parametrize(("name", "call", "table_call", "sql", "op", "objects"), OPERATIONS, ids=IDS)
def test_operation_in_up_and_self_up(name, call, table_call, sql, op, objects) -> None:
    _expect(analyse(f"def up\n  {call}\nend\ndef down\nend"), op or name, objects)
    _expect(analyse(f"def self.up\n  {call}\nend"), op or name, objects)


@pytest.mark.parametrize(("name", "call", "table_call", "sql", "op", "objects"), OPERATIONS, ids=IDS)
def test_operation_inside_safety_assured(name, call, table_call, sql, op, objects) -> None:
    _expect(analyse(f"def change\n  safety_assured {{ {call} }}\nend"), op or name, objects)
    _expect(analyse(f"def change\n  safety_assured do\n    {call}\n  end\nend"), op or name,
            objects)


@pytest.mark.parametrize(
    ("name", "call", "table_call", "sql", "op", "objects"),
    [o for o in OPERATIONS if o[2]], ids=[o[0] for o in OPERATIONS if o[2]],
)
def test_operation_in_change_table(name, call, table_call, sql, op, objects) -> None:
    body = f"def change\n  change_table :users, bulk: true do |t|\n    {table_call}\n  end\nend"
    _expect(analyse(body), op or name, objects)


@pytest.mark.parametrize(
    ("name", "call", "table_call", "sql", "op", "objects"),
    [o for o in OPERATIONS if o[3]], ids=[o[0] for o in OPERATIONS if o[3]],
)
def test_operation_as_raw_sql(name, call, table_call, sql, op, objects) -> None:
    expected_op = "remove_column" if name == "remove_reference" else (op or name)
    sql_objects = {k: v for k, v in objects.items() if k != "to_table"}
    if name == "remove_index":
        sql_objects = {"index": "index_users_on_email"}
    # plain string, heredoc, %q{} and through the connection object
    _expect(analyse(f'def up\n  execute "{sql}"\nend'), expected_op, sql_objects)
    _expect(analyse(f"def up\n  execute <<~SQL\n    {sql};\n  SQL\nend"), expected_op, sql_objects)
    _expect(analyse(f"def up\n  execute %q{{{sql}}}\nend"), expected_op, sql_objects)
    _expect(analyse(f"def up\n  safety_assured {{ connection.execute(%q[{sql}]) }}\nend"),
            expected_op, sql_objects)


@pytest.mark.parametrize(("name", "call", "table_call", "sql", "op", "objects"), OPERATIONS, ids=IDS)
def test_down_only_operation_is_not_reported(name, call, table_call, sql, op, objects) -> None:
    assert analyse(f"def up\n  add_column :users, :x, :string\nend\ndef down\n  {call}\nend") == []
    assert analyse(f"def down\n  {call}\nend") == []


def test_reversible_counts_only_the_up_direction() -> None:
    body = """
def change
  reversible do |dir|
    dir.up { execute "ALTER TABLE users DROP COLUMN legacy_flag" }
    dir.down do
      drop_table :users
      execute <<~SQL
        DROP TABLE accounts;
      SQL
    end
  end
end
"""
    findings = analyse(body)
    assert [(f.op, f.objects) for f in findings] == [
        ("remove_column", {"table": "users", "column": "legacy_flag"})
    ]
    assert findings[0].line == 4


def test_heredoc_statement_lines_point_at_the_sql() -> None:
    body = """
def up
  execute <<~SQL
    CREATE TYPE mood AS ENUM ('a');
    ALTER TABLE users
      DROP COLUMN legacy_flag;
  SQL
end
"""
    findings = analyse(body)
    assert [(f.op, f.line) for f in findings] == [("create_enum", 4), ("remove_column", 5)]


def test_revert_turns_create_table_into_drop_table() -> None:
    findings = analyse("def change\n  revert do\n    create_table :legacy_reports\n  end\nend")
    assert [(f.op, f.objects) for f in findings] == [("drop_table", {"table": "legacy_reports"})]


def test_revert_of_another_migration_cannot_be_analysed() -> None:
    findings = analyse("def change\n  revert CreateLegacyReports\nend")
    assert [f.op for f in findings] == [COULD_NOT_ANALYSE]


def test_create_table_with_force_drops_first() -> None:
    findings = analyse("def change\n  create_table :reports, force: :cascade do |t|\n  end\nend")
    assert [(f.op, f.objects) for f in findings] == [("drop_table", {"table": "reports"})]


def test_harmless_migration_has_no_findings() -> None:
    body = """
def change
  add_column :users, :nickname, :string
  add_column :users, :score, :integer, null: false, default: 0
  add_index :users, :nickname
  change_column_null :users, :email, true
  create_table :projects do |t|
    t.string :name, null: false
  end
  change_table :users do |t|
    t.string :bio
    t.index :bio
  end
end
"""
    assert analyse(body) == []


def test_not_null_column_without_default_breaks_old_inserts() -> None:
    findings = analyse("def change\n  add_column :users, :tenant, :string, null: false\nend")
    assert [(f.op, f.objects) for f in findings] == [
        ("add_not_null_column", {"table": "users", "column": "tenant"})
    ]


def test_names_built_at_runtime_are_undecidable() -> None:
    findings = analyse('def up\n  execute "DROP TABLE #{table_name}"\nend')
    assert [f.op for f in findings] == [COULD_NOT_ANALYSE]
    findings = analyse("def up\n  execute(sql_from_somewhere)\nend")
    assert [f.op for f in findings] == [COULD_NOT_ANALYSE]


def test_invalid_sql_is_undecidable() -> None:
    findings = analyse('def up\n  execute "DROPP TABLE users"\nend')
    assert [f.op for f in findings] == [COULD_NOT_ANALYSE]
    assert "does not parse" in findings[0].detail


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"class X < ActiveRecord::Migration[7.1]\n  def change\n    drop_table :x\n", "syntax"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"class X\n  def up\n    execute '\xff\xfe DROP TABLE x'\n  end\nend\n", "UTF-8"),
        (b"# just a comment\n", "no `change` or `up`"),
    ],
    ids=["syntax-error", "binary", "non-utf8", "no-methods"],
)
def test_unparseable_files_become_findings(tmp_path: Path, content: bytes, detail: str) -> None:
    path = tmp_path / "20240601000000_broken.rb"
    path.write_bytes(content)
    findings = analyse_file(path, "db/migrate/20240601000000_broken.rb")
    assert len(findings) == 1
    assert findings[0].op == COULD_NOT_ANALYSE
    assert detail in findings[0].detail
    assert findings[0].to_json()["file"] == "db/migrate/20240601000000_broken.rb"


def test_missing_file_becomes_finding(tmp_path: Path) -> None:
    findings = analyse_file(tmp_path / "gone.rb", "db/migrate/gone.rb")
    assert [f.op for f in findings] == [COULD_NOT_ANALYSE]


def test_helper_methods_called_from_change_are_followed() -> None:
    body = """
def change
  drop_old_tables
  self.tidy_users(:users)
end

def drop_old_tables
  drop_table :legacy_reports
end

def tidy_users(table)
  remove_column :users, :legacy_flag
  tidy_users(table)
end

def down
  drop_table :never_forward
end

def unused_helper
  drop_table :never_called
end
"""
    assert [(f.op, f.objects) for f in analyse(body)] == [
        ("drop_table", {"table": "legacy_reports"}),
        ("remove_column", {"table": "users", "column": "legacy_flag"}),
    ]


@pytest.mark.parametrize(
    "body",
    [
        'def up\n  execute <<~SQL.squish\n    ALTER TABLE users DROP COLUMN legacy_flag\n  SQL\nend',
        'def up\n  sql = <<~SQL\n    ALTER TABLE users DROP COLUMN legacy_flag\n  SQL\n  execute(sql)\nend',
        'def up\n  execute "ALTER TABLE \\"users\\" DROP COLUMN \\"legacy_flag\\""\nend',
        "def up\n  execute(%Q(ALTER TABLE users DROP COLUMN legacy_flag).strip)\nend",
    ],
    ids=["heredoc-squish", "local-variable", "escaped-quotes", "percent-Q-strip"],
)
def test_common_sql_spellings(body: str) -> None:
    findings = analyse(body)
    assert [(f.op, f.objects) for f in findings] == [
        ("remove_column", {"table": "users", "column": "legacy_flag"})
    ]


def test_variable_assigned_twice_is_undecidable() -> None:
    body = 'def up\n  sql = "SELECT 1"\n  sql = "DROP TABLE users"\n  execute sql\nend'
    assert [f.op for f in analyse(body)] == [COULD_NOT_ANALYSE]


def test_truncated_and_mangled_sources_never_raise() -> None:
    source = migration("""
def change
  safety_assured { remove_column :users, :legacy_flag }
  change_table :users do |t|
    t.rename :a, :b
  end
  reversible do |dir|
    dir.up { execute <<~SQL.squish }
      ALTER TABLE users ALTER COLUMN email SET NOT NULL;
    SQL
  end
  revert { create_table :zz }
end
""").encode()
    for cut in range(0, len(source), 3):
        for variant in (source[:cut], source[:cut] + b"\xff" + source[cut:]):
            findings = analyse_source(variant, "x.rb")
            assert isinstance(findings, list)
            assert all(isinstance(f, Finding) for f in findings)


def test_revert_of_unknown_helper_is_undecidable_and_of_removal_is_harmless() -> None:
    body = "def change\n  revert do\n    change_table(:users) { |t| t.string :x }\n  end\nend"
    assert [f.op for f in analyse(body)] == [COULD_NOT_ANALYSE]
    assert analyse("def change\n  revert { drop_table :old_things }\nend") == []


def _ops(findings: list[Finding]) -> list[tuple[str, dict[str, str]]]:
    return [(f.op, f.objects) for f in findings]


def test_loop_over_literal_array_reports_each_element() -> None:
    # db/migrate of a public Rails app: the call is written once and runs twice.
    source = b"""class RemoveTaxesForeignKeys < ActiveRecord::Migration[7.0]
  def change
    [:invoices_taxes, :fees_taxes].each do |table|
      remove_foreign_key table, :taxes
    end
  end
end
"""
    findings = analyse_source(source, "db/migrate/20230601000000_remove_taxes_foreign_keys.rb")
    assert _ops(findings) == [
        ("remove_foreign_key", {"table": "invoices_taxes", "to_table": "taxes"}),
        ("remove_foreign_key", {"table": "fees_taxes", "to_table": "taxes"}),
    ]
    assert {f.line for f in findings} == {4}
    assert not any(f.has_unknown_object for f in findings)


DROP_A_AND_B = [("drop_table", {"table": "a"}), ("drop_table", {"table": "b"})]


@pytest.mark.parametrize(
    ("loop", "expected"),
    [
        ("%i[a b].each do |t|\n  drop_table t\nend", DROP_A_AND_B),
        ("%w[a b].each do |t|\n  drop_table t\nend", DROP_A_AND_B),
        ('["a", :b].each do |t|\n  drop_table t\nend', DROP_A_AND_B),
        ("%i[a b].each { |t| drop_table t }", DROP_A_AND_B),
        ("%i[a b].each_with_index do |t, i|\n  drop_table t\nend", DROP_A_AND_B),
        ("%i[a b].map { |t| drop_table(t) }", DROP_A_AND_B),
        ("%i[a b].freeze.each { |t| safety_assured { drop_table t } }", DROP_A_AND_B),
        ("%i[a b].each { drop_table it }", DROP_A_AND_B),
        ("[[:users, :x], [:posts, :y]].each { |table, column| remove_column table, column }",
         [("remove_column", {"table": "users", "column": "x"}),
          ("remove_column", {"table": "posts", "column": "y"})]),
        ("{ users: :x }.each_with_index { |(table, column), i| remove_column table, column }",
         [("remove_column", {"table": "users", "column": "x"})]),
        ("%i[a b].each do |t|\n  change_table t do |tbl|\n    tbl.remove :c\n  end\nend",
         [("remove_column", {"table": "a", "column": "c"}),
          ("remove_column", {"table": "b", "column": "c"})]),
    ],
    ids=["percent-i", "percent-w", "string-and-symbol", "brace-block", "each_with_index", "map",
         "frozen-in-safety-assured", "implicit-it", "destructured-pairs", "hash",
         "change_table"],
)
def test_loop_spellings_are_unrolled(loop: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert _ops(analyse(f"def up\n  {loop}\nend")) == expected


def test_nested_loops_report_every_combination() -> None:
    body = """
def change
  %i[users posts].each do |table|
    %w[legacy_flag old_score].each { |column| remove_column table, column }
  end
end
"""
    assert _ops(analyse(body)) == [
        ("remove_column", {"table": "users", "column": "legacy_flag"}),
        ("remove_column", {"table": "users", "column": "old_score"}),
        ("remove_column", {"table": "posts", "column": "legacy_flag"}),
        ("remove_column", {"table": "posts", "column": "old_score"}),
    ]


@pytest.mark.parametrize(
    ("body", "objects"),
    [
        ("tables.each do |t|\n  drop_table t\nend", {"table": "<unknown: t>"}),
        ("drop_table table_name_for(:reports)", {"table": "<unknown: table_name_for(:reports)>"}),
        ("[:a, *OTHERS].each { |t| drop_table t }", {"table": "<unknown: *OTHERS>"}),
        ("%i[a].each { |t| tables.each { |t| drop_table t } }", {"table": "<unknown: t>"}),
        ("%i[a].each { |t| drop_them }\nend\ndef drop_them\n  drop_table t",
         {"table": "<unknown: t>"}),
    ],
    ids=["computed-receiver", "method-call", "splat-element", "shadowed-variable",
         "helper-does-not-see-block-variable"],
)
def test_computed_names_are_reported_as_unknown(body: str, objects: dict[str, str]) -> None:
    findings = analyse(f"def up\n  {body}\nend")
    assert ("drop_table", objects) in _ops(findings)
    assert all(f.op == "drop_table" for f in findings)
    assert all(f.destructive for f in findings)
    assert findings[-1].has_unknown_object


def test_too_many_combinations_leave_the_loop_variable_unknown() -> None:
    tables = [f"t{n}" for n in range(MAX_UNROLLED // 8)]
    columns = [f"c{n}" for n in range(9)]  # one more than fits under the bound
    body = (f"def up\n  %i[{' '.join(tables)}].each do |table|\n"
            f"    %i[{' '.join(columns)}].each {{ |column| remove_column table, column }}\n"
            "  end\nend")
    findings = analyse(body)
    assert _ops(findings) == [("remove_column", {"table": t, "column": "<unknown: column>"})
                              for t in tables]
