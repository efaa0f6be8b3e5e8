"""The product profile: everything the harness must know about one product, in one YAML file.

The reference stack's profile ships as :data:`REFERENCE_PROFILE` and is the default of
``--jitera-profile``; :func:`load_profile` reads and checks any other. Nothing here imports
pytest or reaches a cluster: a profile is data, usable from a plain script.
"""

from __future__ import annotations

from pathlib import Path

from pytest_jitera.profile.load import load_profile, parse_profile
from pytest_jitera.profile.model import (
    AdminTask,
    CliCheck,
    CliKey,
    Credentials,
    Datastore,
    EndpointValues,
    External,
    HttpCheck,
    ImageValues,
    InCluster,
    InviteCheck,
    LoginValues,
    MigrationHook,
    MigrationImage,
    Profile,
    SmokeChecks,
    SmtpValues,
    UserFacing,
    ValuesKey,
    WorkloadRef,
    Workloads,
)

#: The shipped profile of the reference stack (``pytest_jitera/reference/chart``).
REFERENCE_PROFILE = Path(__file__).resolve().parent.parent / "reference" / "profile.yaml"

__all__ = [
    "REFERENCE_PROFILE",
    "AdminTask",
    "CliCheck",
    "CliKey",
    "Credentials",
    "Datastore",
    "EndpointValues",
    "External",
    "HttpCheck",
    "ImageValues",
    "InCluster",
    "InviteCheck",
    "LoginValues",
    "MigrationHook",
    "MigrationImage",
    "Profile",
    "SmokeChecks",
    "SmtpValues",
    "UserFacing",
    "ValuesKey",
    "WorkloadRef",
    "Workloads",
    "load_profile",
    "parse_profile",
]
