"""pytest-jitera: a Helm upgrade-and-rollback runbook, run as real tests.

The package is split so that every runbook decision (versions, path planning, chart and
migration analysis, scenario classification, schema diffing) can be used from a plain script
or the ``pytest-jitera`` command without importing pytest; only :mod:`pytest_jitera.plugin`
and :mod:`pytest_jitera.fixtures` know about pytest.
"""

__version__ = "0.1.0"
