"""Destructive statements inside raw SQL that a migration hands to ``execute``.

Many teams drop columns or add NOT NULL constraints with hand-written SQL, which a Ruby-level
analysis cannot see. The SQL is parsed with PostgreSQL's own grammar (pglast) rather than
matched with patterns, so comments, quoting and multi-statement strings do not fool it.
"""

from __future__ import annotations

from typing import Any

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from pytest_jitera.decision.migrations.findings import Finding, could_not_analyse

# Stands in for Ruby string interpolation so the SQL still parses; an object that ends up
# carrying this name is unknown, and the finding says so instead of guessing.
INTERPOLATION_PLACEHOLDER = "jitera_interpolated_value"

_ALTER_OPS: dict[int, str] = {
    AlterTableType.AT_DropColumn: "remove_column",
    AlterTableType.AT_SetNotNull: "change_column_null",
    AlterTableType.AT_AlterColumnType: "change_column",
}


def analyse_sql(sql: str, file: str, line: int) -> list[Finding]:
    """Return the findings for ``sql``, which starts on ``line`` of ``file``.

    SQL that PostgreSQL's grammar rejects becomes a could-not-analyse finding: a statement we
    cannot read may be the one that drops a table.
    """
    try:
        statements = pglast.parse_sql(sql)
    except pglast.parser.ParseError as exc:
        return [could_not_analyse(file, f"SQL passed to execute does not parse: {exc}", line)]
    encoded = sql.encode()
    findings: list[Finding] = []
    for raw in statements:
        location = raw.stmt_location or 0
        # A statement's location may include the whitespace after the previous semicolon.
        rest = encoded[location:]
        location += len(rest) - len(rest.lstrip())
        stmt_line = line + encoded[:location].count(b"\n")
        findings.extend(_statement_findings(raw.stmt, file, stmt_line))
    return [_unknown_if_interpolated(f) for f in findings]


def _statement_findings(stmt: Any, file: str, line: int) -> list[Finding]:
    """Map one parsed statement to zero or more findings."""
    if isinstance(stmt, ast.DropStmt):
        return _drop_findings(stmt, file, line)
    if isinstance(stmt, ast.AlterTableStmt) and stmt.relation is not None:
        table = _relation_name(stmt.relation)
        found = []
        for cmd in stmt.cmds or ():
            op = _ALTER_OPS.get(cmd.subtype)
            if op is None:
                continue
            found.append(Finding(file, line, op, {"table": table, "column": str(cmd.name or "")}))
        return found
    if isinstance(stmt, ast.RenameStmt) and stmt.relation is not None:
        table = _relation_name(stmt.relation)
        if stmt.renameType == ObjectType.OBJECT_TABLE:
            objects = {"table": table, "new_name": str(stmt.newname)}
            return [Finding(file, line, "rename_table", objects)]
        if stmt.renameType == ObjectType.OBJECT_COLUMN:
            objects = {"table": table, "column": str(stmt.subname or ""),
                       "new_name": str(stmt.newname)}
            return [Finding(file, line, "rename_column", objects)]
        return []
    if isinstance(stmt, ast.CreateEnumStmt):
        return [Finding(file, line, "create_enum", {"type": _dotted(stmt.typeName)})]
    if isinstance(stmt, ast.TruncateStmt):
        return [
            Finding(file, line, "truncate", {"table": _relation_name(rel)})
            for rel in stmt.relations or ()
        ]
    return []


def _drop_findings(stmt: Any, file: str, line: int) -> list[Finding]:
    """DROP TABLE and DROP TYPE matter to old code and to restores; other DROPs do not."""
    if stmt.removeType == ObjectType.OBJECT_TABLE:
        return [Finding(file, line, "drop_table", {"table": _dotted(o)}) for o in stmt.objects]
    if stmt.removeType == ObjectType.OBJECT_TYPE:
        return [
            Finding(file, line, "drop_type", {"type": _dotted(o.names)}) for o in stmt.objects
        ]
    if stmt.removeType == ObjectType.OBJECT_INDEX:
        return [Finding(file, line, "remove_index", {"index": _dotted(o)}) for o in stmt.objects]
    return []


def _relation_name(relation: Any) -> str:
    """Use the bare table name: Rails code names tables without their schema."""
    return str(relation.relname)


def _dotted(names: Any) -> str:
    """Last part of a possibly schema-qualified name, as Rails code would spell it."""
    parts = [getattr(n, "sval", str(n)) for n in names]
    return str(parts[-1]) if parts else ""


def _unknown_if_interpolated(finding: Finding) -> Finding:
    """Make a finding undecidable when its name is built at runtime and cannot be searched."""
    if any(INTERPOLATION_PLACEHOLDER in value for value in finding.objects.values()):
        return could_not_analyse(
            finding.file,
            f"{finding.op} on a name built with Ruby interpolation",
            finding.line,
        )
    return finding
