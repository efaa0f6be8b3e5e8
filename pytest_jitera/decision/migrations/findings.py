"""The single record every analyser produces, so the classifier needs no per-source cases.

A finding is one schema operation that runs when the new release migrates forward. Operations
that old code can trip over are ``destructive``; the others are still recorded because some of
them (new enum types) change how a snapshot restore behaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Operations after which the previous release may misbehave against the migrated schema.
DESTRUCTIVE_OPS: frozenset[str] = frozenset(
    {
        "drop_table",
        "remove_column",
        "remove_reference",
        "remove_index",
        "remove_foreign_key",
        "rename_table",
        "rename_column",
        "change_column",
        "change_column_null",
        "add_not_null_column",
        "drop_type",
        "truncate",
    }
)

# Operation recorded because a plain `pg_restore -c` cannot remove what it creates (Risk C).
ENUM_OPS: frozenset[str] = frozenset({"create_enum"})

# The analyser gave up on a file; the classifier must treat the release as undecidable.
COULD_NOT_ANALYSE = "could_not_analyse"

# How an object named by code (a variable, a method call) is written in ``objects``: the old
# code cannot be searched for it, so whoever reads the finding must assume the worst.
_UNKNOWN_PREFIX = "<unknown"


def unknown_name(expression: str = "") -> str:
    """Stand in for a name only known at runtime, keeping the code that computes it."""
    return f"{_UNKNOWN_PREFIX}: {expression}>" if expression else f"{_UNKNOWN_PREFIX}>"


def is_unknown_name(value: str) -> bool:
    """Tell whether ``value`` came from :func:`unknown_name` rather than from a literal."""
    return value.startswith(_UNKNOWN_PREFIX) and value.endswith(">")


@dataclass(frozen=True)
class Finding:
    """One operation found in an added migration, with where it was found.

    ``objects`` names what the operation touches using the keys ``table``, ``column``,
    ``new_name``, ``type``, ``index`` or ``to_table``; a name the migration computes at
    runtime is kept as :func:`unknown_name` so the operation itself is still reported.
    ``detail`` carries free text such as the reason a file could not be analysed.
    """

    file: str
    line: int
    op: str
    objects: dict[str, str] = field(default_factory=dict)
    detail: str = ""

    @property
    def destructive(self) -> bool:
        """Whether old code may fail or lose data once this operation has run."""
        return self.op in DESTRUCTIVE_OPS

    @property
    def has_unknown_object(self) -> bool:
        """Whether some name is computed at runtime, so no search can clear the old code."""
        return any(is_unknown_name(value) for value in self.objects.values())

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json`` output and for release notes."""
        data: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "op": self.op,
            "objects": dict(self.objects),
            "destructive": self.destructive,
        }
        if self.detail:
            data["detail"] = self.detail
        return data


def could_not_analyse(file: str, reason: str, line: int = 0) -> Finding:
    """Record that ``file`` was not understood, which forces the cautious scenario."""
    return Finding(file=file, line=line, op=COULD_NOT_ANALYSE, detail=reason)
