"""The operator's dumps given to seed a rehearsal: which store each is for, and its layout.

Each is checked when the run starts, not when the restore meets it half an hour later: a
PostgreSQL dump must be pg_dump's custom (``-Fc``) or directory (``-Fd``) format, which
``pg_restore`` reads and the rehearsal can restore in place; a plain SQL script is refused
with the command that makes a usable one. A MongoDB dump is a ``mongodump --archive`` file or
a ``mongodump`` folder holding one database.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pytest_jitera.errors import OptionError, option

PgFormat = Literal["custom", "directory", "tar"]
MongoLayout = Literal["archive", "directory"]

# The first bytes of a pg_dump custom-format file, and the table of contents of a directory one.
_CUSTOM_MAGIC = b"PGDMP"
_DIRECTORY_TOC = "toc.dat"
_TAR_MAGIC_OFFSET = 257
_TAR_MAGIC = b"ustar"


@dataclass(frozen=True)
class SeedDumps:
    """The dumps a run was given, per store; a store without one keeps what the install made."""

    postgresql: Path | None = None
    pgvector: Path | None = None
    mongodb: Path | None = None

    @property
    def given(self) -> bool:
        """Whether the run rehearses on the operator's data at all."""
        return any(path is not None for path in (self.postgresql, self.pgvector, self.mongodb))

    def paths(self) -> dict[str, Path]:
        """Every dump given, by store name (``postgresql``, ``pgvector``, ``mongodb``)."""
        found = {"postgresql": self.postgresql, "pgvector": self.pgvector, "mongodb": self.mongodb}
        return {store: path for store, path in found.items() if path is not None}

    def postgres(self) -> dict[str, Path]:
        """The PostgreSQL dumps by store name."""
        return {store: path for store, path in self.paths().items() if store != "mongodb"}

    def describe(self) -> str:
        """``postgresql from prod.dump, mongodb from mongo/`` for progress lines and the report."""
        return ", ".join(f"{store} from {path.name}" for store, path in self.paths().items())


# The option that gives each store's dump (spelled by the front end, see errors.option).
SEED_OPTIONS: dict[str, str] = {
    "postgresql": "seed-postgres",
    "pgvector": "seed-pgvector",
    "mongodb": "seed-mongo",
}


def _refuse(name: str, message: str, hint: str) -> OptionError:
    return OptionError(f"{option(name)} {message}", hint=hint, option=name)


def check_dump_path(path: Path, name: str) -> Path:
    """A dump is a file or a folder that exists and can be read; anything else is refused now."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        where = "" if path.is_absolute() else f" (relative paths are taken from {Path.cwd()})"
        raise _refuse(name, f"{path}: no such file or folder", f"check the path{where}") from None
    except OSError as exc:
        raise _refuse(name, f"{path}: cannot be read ({exc.strerror})", "fix its permissions") from None
    wanted = os.R_OK | (os.X_OK if stat.S_ISDIR(info.st_mode) else 0)
    if not os.access(path, wanted):
        raise _refuse(name, f"{path} is not readable", "fix its permissions or pass a copy you can read")
    return path


def pg_dump_format(path: Path, name: str) -> PgFormat:
    """Which of pg_dump's archive formats ``path`` holds, read from its first bytes."""
    if path.is_dir():
        if (path / _DIRECTORY_TOC).is_file():
            return "directory"
        raise _refuse(
            name,
            f"{path} is a folder without {_DIRECTORY_TOC}, so not a pg_dump directory-format dump",
            "pass the folder pg_dump -Fd -f FOLDER wrote, or a pg_dump -Fc file",
        )
    try:
        with path.open("rb") as fh:
            head = fh.read(_TAR_MAGIC_OFFSET + len(_TAR_MAGIC))
    except OSError as exc:
        raise _refuse(name, f"{path}: cannot be read ({exc.strerror})", "fix its permissions") from None
    if head.startswith(_CUSTOM_MAGIC):
        return "custom"
    if head[_TAR_MAGIC_OFFSET:].startswith(_TAR_MAGIC):
        return "tar"
    if head.lstrip().startswith(b"--") or b"CREATE " in head or b"SET " in head:
        what = "a plain SQL script"
    elif not head:
        what = "empty"
    else:
        what = "not a pg_dump archive"
    raise _refuse(
        name,
        f"{path} is {what}; a rehearsal restores pg_dump's custom or directory format",
        "take the dump with: pg_dump -Fc -d DATABASE -f FILE (or -Fd -f FOLDER)",
    )


def mongo_dump_layout(path: Path, name: str) -> tuple[MongoLayout, str | None]:
    """``("archive", None)`` for a file, ``("directory", database)`` for a mongodump folder.

    A folder must hold exactly one database's folder of ``.bson`` files: the rehearsal restores
    it into the release's one database, and guessing among several would rehearse the wrong one.
    """
    if path.is_file():
        return "archive", None
    databases = sorted(
        child.name
        for child in path.iterdir()
        if child.is_dir() and child.name not in ("admin", "config", "local") and any(child.glob("*.bson"))
    )
    if len(databases) != 1:
        found = ", ".join(databases) or "none"
        raise _refuse(
            name,
            f"{path} must hold the dump of one database (a folder of .bson files); found: {found}",
            "dump one database: mongodump --db=NAME --out=FOLDER, or pass --archive's file",
        )
    return "directory", databases[0]
