"""What a rehearsal brings to the cluster before the runbook starts: the values only it may set.

An operator's deployment sends mail through a real SMTP server and is used by a real CLI.
A rehearsal must observe both, so it points the chart's SMTP settings at the mail catcher it
deployed in the namespace, and gives the chart the public half of a CLI key pair it made for
this run (the private half never leaves this process's temporary folder). Those values go in
a file of their own that is applied last on every hop, so the operator's own values stay
exactly as given and the rehearsal's additions are visible in one place.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pytest_jitera.errors import JiteraError
from pytest_jitera.profile import Profile
from pytest_jitera.release.versions import Version

HARNESS_VALUES = "rehearsal-values.yaml"


@dataclass(frozen=True)
class CliKeyPair:
    """The CLI key of this rehearsal: the chart gets the public PEM, uploads are signed here."""

    private_key: rsa.RSAPrivateKey
    public_pem: str

    def sign(self, body: bytes) -> str:
        """The Base64 RSA-SHA256 signature the CLI sends with an upload."""
        signature = self.private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


def new_cli_key() -> CliKeyPair:
    """A fresh 2048-bit key pair; generated per run, so no key is shared between rehearsals."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CliKeyPair(key, public.decode())


def _put(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


def harness_values(
    profile: Profile,
    release: Version,
    *,
    smtp: tuple[str, int] | None,
    cli_key: CliKeyPair | None,
) -> dict[str, Any]:
    """The values tree pointing the chart of ``release`` at the mail catcher and the CLI key.

    Keys are spelled as the profile says that release spells them (a key may move between
    releases); the SMTP login is blanked, since the mail catcher accepts any.
    """
    tree: dict[str, Any] = {}
    invite = profile.smoke.invite
    if smtp is not None and invite is not None:
        keys = invite.smtp_values
        _put(tree, keys.host.at(release), smtp[0])
        _put(tree, keys.port.at(release), smtp[1])
        for optional in (keys.username, keys.password):
            if optional is not None:
                _put(tree, optional.at(release), "")
    if cli_key is not None and profile.cli_key is not None and profile.cli_key.values_key is not None:
        _put(tree, profile.cli_key.values_key.at(release), cli_key.public_pem)
    return tree


def write_harness_values(folder: Path, tree: Mapping[str, Any], release: Version) -> Path:
    """Write the rehearsal's values for ``release``, readable by the owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{release}-{HARNESS_VALUES}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(dict(tree), out, sort_keys=True)
    return path


def endpoint_values(
    profile: Profile, release: Version, moved: Mapping[str, tuple[str, int, str | None]]
) -> dict[str, Any]:
    """The values tree pointing the chart of ``release`` at datastores moved to new servers.

    ``moved`` maps a chart StatefulSet name (``jitera-postgresql``, as the profile's
    ``in_cluster.statefulset`` says) to the new server's (service, port, URI or None). The
    chart's own server is switched off through the profile's ``enabled_value`` and the
    endpoint keys get the new address, spelled as that release spells them.
    """
    tree: dict[str, Any] = {}
    for store in profile.datastores:
        if store.in_cluster is None or store.in_cluster.statefulset not in moved:
            continue
        service, port, uri = moved[store.in_cluster.statefulset]
        keys = store.endpoint_values
        if store.in_cluster.enabled_value is None:
            raise JiteraError(
                f"{profile.source}: datastore {store.name} has no in_cluster.enabled_value",
                hint="name the values key that switches the chart's own server off, so the "
                "chart can be pointed at a restored one",
            )
        _put(tree, store.in_cluster.enabled_value.at(release), False)
        if uri is not None and keys.uri is not None:
            _put(tree, keys.uri.at(release), uri)
        if keys.host is not None:
            _put(tree, keys.host.at(release), service)
        if keys.port is not None:
            _put(tree, keys.port.at(release), port)
    return tree
