"""Masking the operator's data inside the rehearsal's copy, before the first hop.

A masking file names columns and what to put in them::

    users.email: email                 # masked-<digest>@masked.invalid, one per original value
    users.name: hash                   # a salted digest, the same for the same original
    projects.legacy_notes: null
    invites.token: constant:rehearsal
    pgvector:ultron_embeddings.embedding: null   # another store than the Automation database

``hash`` and ``email`` map equal values to equal results, so unique indexes and joins on the
column still hold; the salt is new on every run, so a digest cannot be looked up in a table of
known e-mails. Each rule is one ``UPDATE`` run by the database server itself inside the
rehearsal's cluster, and then proved: no row may be left that does not have the masked form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_jitera.errors import OptionError, option
from pytest_jitera.yamlfile import load_yaml_mapping

RULES = ("null", "hash", "email", "constant:VALUE")
MASKABLE_STORES = ("postgresql", "pgvector")
_NAME = r"[A-Za-z_][A-Za-z0-9_$]*"
_KEY = re.compile(
    rf"^(?:(?P<store>{'|'.join(MASKABLE_STORES)}):)?(?:(?P<schema>{_NAME})\.)?"
    rf"(?P<table>{_NAME})\.(?P<column>{_NAME})$"
)
MASKED_DOMAIN = "masked.invalid"


@dataclass(frozen=True)
class ColumnMask:
    """One column of one store and the rule that replaces its values."""

    store: str
    schema: str
    table: str
    column: str
    rule: str  # null, hash, email or constant
    constant: str | None = None

    @property
    def name(self) -> str:
        """``users.email`` (``pgvector:ultron_embeddings.embedding`` for the other store)."""
        prefix = "" if self.store == "postgresql" else f"{self.store}:"
        schema = "" if self.schema == "public" else f"{self.schema}."
        return f"{prefix}{schema}{self.table}.{self.column}"

    def _target(self) -> tuple[str, str]:
        return f"{_ident(self.schema)}.{_ident(self.table)}", _ident(self.column)

    def update_sql(self, salt: str) -> str:
        """The statement that masks the column; it answers the number of rows it changed."""
        table, column = self._target()
        if self.rule == "null":
            value = "NULL"
        elif self.rule == "constant":
            value = _literal(self.constant or "")
        elif self.rule == "hash":
            value = f"md5({_literal(salt)} || {column}::text)"
        else:
            value = f"'masked-' || md5({_literal(salt)} || {column}::text) || '@{MASKED_DOMAIN}'"
        changed = f"UPDATE {table} SET {column} = {value} WHERE {column} IS NOT NULL RETURNING 1"
        return f"WITH changed AS ({changed}) SELECT count(*) FROM changed"

    def left_sql(self) -> str:
        """How many rows still hold a value the rule would not have written (must be 0)."""
        table, column = self._target()
        if self.rule == "null":
            unmasked = f"{column} IS NOT NULL"
        elif self.rule == "constant":
            unmasked = f"{column}::text <> {_literal(self.constant or '')}"
        elif self.rule == "hash":
            unmasked = f"{column}::text !~ '^[0-9a-f]{{32}}$'"
        else:
            unmasked = f"{column}::text !~ '^masked-[0-9a-f]{{32}}@{re.escape(MASKED_DOMAIN)}$'"
        return f"SELECT count(*) FROM {table} WHERE {unmasked}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _refuse(path: Path, message: str, hint: str) -> OptionError:
    return OptionError(f"{option('mask')} {path}: {message}", hint=hint, option="mask")


def parse_masking(path: Path, data: Mapping[str, object]) -> tuple[ColumnMask, ...]:
    """The masks a file's mapping describes; every bad entry is named, with the forms accepted."""
    masks: list[ColumnMask] = []
    problems: list[str] = []
    for key, raw in data.items():
        found = _KEY.match(str(key))
        rule = "null" if raw is None else str(raw).strip()
        kind, separator, constant = rule.partition(":")
        if found is None:
            problems.append(f"{key!s}: not table.column (or schema.table.column, or pgvector:table.column)")
            continue
        if kind not in ("null", "hash", "email", "constant") or (kind == "constant") != bool(separator):
            problems.append(f"{key}: unknown rule {rule!r}")
            continue
        masks.append(
            ColumnMask(
                store=found.group("store") or "postgresql",
                schema=found.group("schema") or "public",
                table=found.group("table"),
                column=found.group("column"),
                rule=kind,
                constant=constant if kind == "constant" else None,
            )
        )
    if problems:
        rules = ", ".join(RULES)
        hint = f"write one line per column, COLUMN: RULE, with RULE one of {rules}"
        raise _refuse(path, "; ".join(problems), hint)
    if not masks:
        hint = "add a line such as users.email: email, or leave the option out"
        raise _refuse(path, "names no column", hint)
    return tuple(masks)


def load_masking(path: Path) -> tuple[ColumnMask, ...]:
    """Read and check a masking file before any cluster work."""
    return parse_masking(path, load_yaml_mapping(path, what="masking file"))
