"""The wrapper module's lines that depend on the Kubernetes release being built.

Each Kubernetes minor adds or drops staging modules (1.37 brought ``k8s.io/streaming`` and
``k8s.io/cri-streaming``) and raises its ``go`` line, so a fixed list in the template breaks
the next time the pin moves. The lines are therefore read from the release's own ``go.mod``:
every ``k8s.io/<name> => ./staging/...`` replacement becomes one that points at the published
``v0.<minor>.<patch>`` of the same module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STAGING = re.compile(r"^\s*(k8s\.io/[A-Za-z0-9._/-]+)\s*=>\s*\./staging/", re.MULTILINE)
_GO = re.compile(r"^go\s+(\S+)\s*$", re.MULTILINE)
_GODEBUG = re.compile(r"^godebug\s+(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class UpstreamModule:
    """What the wrapper copies from ``k8s.io/kubernetes``'s ``go.mod``."""

    go: str
    godebug: str
    staging: tuple[str, ...]

    def replace_block(self, staging_version: str) -> str:
        """The wrapper's ``replace`` entries, one published module per staging folder."""
        return "\n".join(f"\t{m} => {m} {staging_version}" for m in self.staging)


def parse_upstream(gomod: str) -> UpstreamModule:
    """Read the ``go`` line, the ``godebug`` line and the staging replacements."""
    go = _GO.search(gomod)
    staging = tuple(sorted(set(_STAGING.findall(gomod))))
    if go is None or not staging:
        raise ValueError("this go.mod has no go line or no ./staging replacements")
    godebug = _GODEBUG.search(gomod)
    return UpstreamModule(
        go=go.group(1),
        godebug=godebug.group(1) if godebug else f"default=go{_minor(go.group(1))}",
        staging=staging,
    )


def _minor(go_version: str) -> str:
    return ".".join(go_version.split(".")[:2])
