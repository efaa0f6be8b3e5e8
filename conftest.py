"""Repository root marker for pytest; deliberately holds no hooks.

Its presence makes pytest put the clone's root on ``sys.path``, so the project's tests can
``from tests.conftest import ...``. The rule "a rehearsal without explicit paths runs
``suites/``, not ``tests/``" used to live here; it is in :mod:`pytest_jitera.plugin` now, because
a hook here that reads ``--jitera-*`` options breaks ``pytest -p no:jitera`` (the options are
then not registered).
"""
