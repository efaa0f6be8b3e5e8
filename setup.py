"""Ship the rehearsal suites inside the package while they stay at the repository's top level.

``suites/`` is what users run, so it sits beside ``pytest_jitera/`` where a reader looks for
it; pyproject's static package discovery cannot map a folder to a subpackage, so this one
mapping lives here. Everything else about the build is in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["pytest_jitera", "pytest_jitera.*"]), "pytest_jitera.suites"],
    package_dir={"pytest_jitera.suites": "suites"},
)
