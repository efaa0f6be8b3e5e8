"""Tooling and a kind node image for hosts that cannot pull from any container registry.

See :mod:`pytest_jitera.bootstrap.airgapped` for the steps and
:mod:`pytest_jitera.bootstrap.pins` for the versions. Nothing here imports pytest: the same
code serves ``pytest-jitera bootstrap --air-gapped`` and the e2e fixtures.
"""

from __future__ import annotations

from pytest_jitera.bootstrap.airgapped import (
    Bootstrap,
    BootstrapError,
    StepResult,
    default_cache_dir,
)
from pytest_jitera.bootstrap.pins import IMAGES, PINS, Images, Pins

__all__ = [
    "IMAGES",
    "PINS",
    "Bootstrap",
    "BootstrapError",
    "Images",
    "Pins",
    "StepResult",
    "default_cache_dir",
]
