"""Which file names in ``db/migrate`` and ``db/data`` are migrations: one rule for the harness.

The version is any run of ASCII digits, not exactly 14. The Rails generator writes 14-digit
UTC timestamps, but Rails' migrator loads every ``<digits>_<name>.rb`` (an app with
``timestamped_migrations = false`` has ``001_create_users.rb``), and ``schema_migrations``
records whatever those digits are. A narrower pattern would make the harness blind to files
that do run on upgrade: the classifier would miss a migration and the restore check would
expect a version table without it. The digits are spelled ``[0-9]``: Python's digit class also
accepts other scripts' digits (Arabic-Indic, full-width), which Ruby's does not.
"""

from __future__ import annotations

import re

# Group 1 is the version Rails records, group 2 the name. Anchored at both ends with \A and
# \Z: ``$`` would also accept a name ending in a newline, which Rails does not load.
MIGRATION_FILE_NAME = re.compile(r"\A([0-9]+)_([A-Za-z0-9_]+)\.rb\Z")


def migration_version(file_name: str) -> str | None:
    """The version of a migration file name (``20240101000000_add_x.rb``), or None if it is not one."""
    match = MIGRATION_FILE_NAME.match(file_name)
    return match.group(1) if match else None
