"""Who owns the release's objects, as the API server records it (``metadata.managedFields``).

Handing a release from Helm 3 to Helm 4 changes how Helm writes objects: Helm 4 installs with
server-side apply, but keeps a release installed by Helm 3 on client-side apply
(``--server-side=auto``) until it is told otherwise. Whether that happened, and whether some
other writer (an operator's ``kubectl edit``, an HPA) owns fields Helm now wants, is visible only
in the managers the API server keeps per object. This module turns those records into short,
comparable labels (``helm:Update``, ``helm:Apply``) and says what changed between two moments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Managers = dict[str, tuple[str, ...]]


def managers_by_object(items: Sequence[Mapping[str, Any]]) -> Managers:
    """``Kind/name`` -> sorted ``manager:operation`` labels of each object's managed fields."""
    found: Managers = {}
    for item in items:
        meta = item.get("metadata") or {}
        key = f"{item.get('kind', '?')}/{meta.get('name', '?')}"
        labels = {
            f"{entry.get('manager', '?')}:{entry.get('operation', '?')}"
            for entry in meta.get("managedFields") or []
            if entry.get("subresource") is None
        }
        found[key] = tuple(sorted(labels))
    return found


def apply_method(managers: Managers, writer: str = "helm") -> str:
    """``server-side``, ``client-side``, ``both`` or ``none``: how ``writer`` wrote the objects."""
    operations = {
        label.split(":", 1)[1]
        for labels in managers.values()
        for label in labels
        if label.split(":", 1)[0] == writer
    }
    if operations >= {"Apply", "Update"}:
        return "both"
    if "Apply" in operations:
        return "server-side"
    if "Update" in operations:
        return "client-side"
    return "none"


def other_writers(managers: Managers, writer: str = "helm") -> dict[str, tuple[str, ...]]:
    """Objects whose fields some manager other than ``writer`` also owns (a later conflict)."""
    own = writer + ":"
    found: dict[str, tuple[str, ...]] = {}
    for key, labels in managers.items():
        others = tuple(label for label in labels if not label.startswith(own))
        if others:
            found[key] = others
    return found


def handover_summary(before: Managers, after: Managers, writer: str = "helm") -> str:
    """One sentence a release engineer reads: the apply method before and after, and who else writes."""
    was, now = apply_method(before, writer), apply_method(after, writer)
    changed = sorted(k for k in after if k in before and before[k] != after[k])
    sentence = (
        f"{writer} wrote the release's objects {was} before and {now} after"
        if was != now
        else f"{writer} kept {now} apply ({len(after)} objects)"
    )
    if changed:
        sentence += f"; managers changed on {', '.join(changed[:5])}"
        if len(changed) > 5:
            sentence += f" and {len(changed) - 5} more"
    others = other_writers(after, writer)
    if others:
        first = ", ".join(f"{k} ({' '.join(v)})" for k, v in sorted(others.items())[:3])
        sentence += f"; fields also owned by other managers: {first}"
    return sentence
