"""Diff of two charts' ``values.yaml``, read as dotted keys, and the user's override hazards.

An override that the new chart no longer reads is silently ignored by Helm: the upgrade goes
through and the deployment quietly falls back to a default (an in-cluster database instead of
the managed one, say). That is why every user key the new chart removed, renamed or retyped is
reported as a hazard, and why the historically risky prefixes are always listed.

Values are printed only through :mod:`pytest_jitera.redact`: a diff that names a changed
credential is useful, one that prints it leaks it into CI logs and release notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_jitera.redact import MASK, is_secret_key, mask_value

RISKY_PREFIXES: tuple[str, ...] = (
    "externalPostgres",
    "externalPgvector",
    "externalMongodb",
    "kong.proxy.annotations",
    "boost.api_config",
    "credentials",
)

# Keys whose change is a release bump, not a structural change.
_TAG_KEY = re.compile(r"(^|\.)(tag|imageTag|appVersion|version|digest)$", re.IGNORECASE)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Map nested values to ``a.b.c`` keys; lists and scalars are leaves, empty maps too."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def dig(values: Mapping[str, Any], dotted: str) -> Any:
    """``values["a"]["b"]`` for ``"a.b"``: the other half of :func:`flatten`; None when absent."""
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def type_name(value: Any) -> str:
    """YAML-level type names, so that a message reads like the values file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "map"
    return type(value).__name__


def is_risky(key: str) -> bool:
    """Whether a key sits under one of the historically risky prefixes."""
    return any(key == p or key.startswith(p + ".") for p in RISKY_PREFIXES)


def is_tag_key(key: str) -> bool:
    """Whether a key only carries an image tag or version (a release bump)."""
    return bool(_TAG_KEY.search(key))


@dataclass(frozen=True, repr=False)
class KeyChange:
    """One key that differs between the two charts.

    ``old`` and ``new`` hold the real values, for comparisons; everything that turns them
    into text (:meth:`describe`, :meth:`to_json`, ``repr``) masks secret keys, because chart
    defaults under ``credentials.*`` are real credentials on clusters that never override them.
    """

    key: str
    change: str  # "added", "removed", "default", "type", "renamed"
    old: Any = None
    new: Any = None
    renamed_to: str | None = None

    def shown(self, value: Any) -> Any:
        """``value`` as it may be printed; a rename into a secret key masks it too."""
        if self.renamed_to and is_secret_key(self.renamed_to):
            return mask_value(self.renamed_to, value)
        return mask_value(self.key, value)

    def describe(self) -> str:
        """A one-line, human-readable description."""
        old, new = _text(self.shown(self.old)), _text(self.shown(self.new))
        if self.change == "added":
            return f"{self.key}: added (default {new})"
        if self.change == "removed":
            return f"{self.key}: removed (was {old})"
        if self.change == "renamed":
            return f"{self.key}: moved to {self.renamed_to} (value {old})"
        if self.change == "type":
            kinds = f"{type_name(self.old)} -> {type_name(self.new)}"
            return f"{self.key}: type {kinds} ({old} -> {new})"
        return f"{self.key}: default changed ({old} -> {new})"

    def to_json(self) -> dict[str, Any]:
        """Plain data; a type change names both types, since masked values no longer show them."""
        data: dict[str, Any] = {
            "key": self.key,
            "change": self.change,
            "old": self.shown(self.old),
            "new": self.shown(self.new),
        }
        if self.change == "type":
            data["old_type"] = type_name(self.old)
            data["new_type"] = type_name(self.new)
        if self.renamed_to:
            data["renamed_to"] = self.renamed_to
        return data

    def __repr__(self) -> str:
        """Masked like :meth:`describe`: pytest prints reprs when an assertion on a diff fails."""
        return (
            f"KeyChange(key={self.key!r}, change={self.change!r}, old={_text(self.shown(self.old))}, "
            f"new={_text(self.shown(self.new))}, renamed_to={self.renamed_to!r})"
        )


def _text(value: Any) -> str:
    """``repr`` of a shown value, with the mask bare so it cannot be mistaken for a value."""
    return MASK if value == MASK else repr(value)


@dataclass(frozen=True)
class OverrideHazard:
    """A key the user overrides that the new chart does not read the same way."""

    key: str
    problem: str  # "removed", "renamed", "retyped"
    user_value: Any = field(repr=False)  # may be a secret: never printed, not even by pytest
    source: str
    detail: str
    suggestion: str | None = None

    def describe(self) -> str:
        """A one-line message that says what to do."""
        text = f"{self.key} (set in {self.source}): {self.detail}"
        if self.suggestion:
            text += f"; {self.suggestion}"
        return text

    def to_json(self) -> dict[str, Any]:
        """Plain data; the user's value is left out because it may be a secret."""
        return {
            "key": self.key,
            "problem": self.problem,
            "source": self.source,
            "detail": self.detail,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class ValuesDiff:
    """Key-level differences and their consequences for the user's overrides."""

    changes: tuple[KeyChange, ...]
    hazards: tuple[OverrideHazard, ...] = field(default=())

    @property
    def structural(self) -> tuple[KeyChange, ...]:
        """Changes that are more than an image-tag or version bump."""
        return tuple(c for c in self.changes if not (c.change == "default" and is_tag_key(c.key)))

    @property
    def risky(self) -> tuple[KeyChange, ...]:
        """Changes under the historically risky prefixes."""
        return tuple(c for c in self.changes if is_risky(c.key) or (c.renamed_to and is_risky(c.renamed_to)))

    def to_json(self) -> dict[str, Any]:
        """Plain data; see the README for the shape."""
        return {
            "added": [c.key for c in self.changes if c.change == "added"],
            "removed": [c.key for c in self.changes if c.change in ("removed", "renamed")],
            "renamed": {c.key: c.renamed_to for c in self.changes if c.change == "renamed"},
            "changed_default": [c.to_json() for c in self.changes if c.change == "default"],
            "type_changed": [c.to_json() for c in self.changes if c.change == "type"],
            "risky": [c.describe() for c in self.risky],
            "override_hazards": [h.to_json() for h in self.hazards],
        }


def _leaf(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _rename_target(key: str, old_value: Any, added: dict[str, Any]) -> str | None:
    """Guess where a removed key went: an added key with the same leaf name and top section."""
    leaf, top = _leaf(key), key.split(".", 1)[0]
    candidates = [k for k in added if _leaf(k) == leaf and k.split(".", 1)[0] == top]
    same_value = [k for k in candidates if added[k] == old_value]
    pick = same_value or candidates
    return sorted(pick, key=len)[0] if len(pick) >= 1 else None


def diff_values(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    overrides: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> ValuesDiff:
    """Compare default values and check each user override file against the new chart.

    ``overrides`` holds ``(label, values)`` pairs, typically one per ``--jitera-values`` file.
    """
    old_flat, new_flat = flatten(old), flatten(new)
    added = {k: v for k, v in new_flat.items() if k not in old_flat and not _is_parent(k, old_flat)}
    changes: list[KeyChange] = []
    renamed: dict[str, str] = {}
    for key, value in old_flat.items():
        if key in new_flat:
            if (
                type_name(value) != type_name(new_flat[key])
                and value is not None
                and new_flat[key] is not None
            ):
                changes.append(KeyChange(key, "type", value, new_flat[key]))
            elif value != new_flat[key]:
                changes.append(KeyChange(key, "default", value, new_flat[key]))
        elif _is_parent(key, new_flat):
            # A leaf became a map (e.g. host: x -> host: {primary: x}): a type change.
            changes.append(KeyChange(key, "type", value, dig(new, key)))
        else:
            target = _rename_target(key, value, added)
            if target:
                renamed[key] = target
                changes.append(KeyChange(key, "renamed", value, added[target], renamed_to=target))
            else:
                changes.append(KeyChange(key, "removed", value))
    moved_to = set(renamed.values())
    for key, value in added.items():
        if key in moved_to:
            continue
        if any(key.startswith(old_key + ".") for old_key in old_flat):
            continue  # reported as the parent's type change
        changes.append(KeyChange(key, "added", None, value))
    changes.sort(key=lambda c: c.key)

    hazards: list[OverrideHazard] = []
    for label, values in overrides:
        hazards.extend(_override_hazards(label, flatten(values), old_flat, new_flat, renamed))
    return ValuesDiff(tuple(changes), tuple(hazards))


def _is_parent(key: str, flat: Mapping[str, Any]) -> bool:
    prefix = key + "."
    return any(k.startswith(prefix) for k in flat)




def _override_hazards(
    label: str,
    user: Mapping[str, Any],
    old_flat: Mapping[str, Any],
    new_flat: Mapping[str, Any],
    renamed: Mapping[str, str],
) -> list[OverrideHazard]:
    hazards: list[OverrideHazard] = []
    for key, value in sorted(user.items()):
        if key in new_flat:
            new_default = new_flat[key]
            if (
                value is not None
                and new_default is not None
                and type_name(value) != type_name(new_default)
                and not (isinstance(value, (int, float)) and isinstance(new_default, (int, float)))
            ):
                hazards.append(
                    OverrideHazard(
                        key,
                        "retyped",
                        value,
                        label,
                        f"the new chart expects a {type_name(new_default)}, "
                        f"your value is a {type_name(value)}",
                        "convert the value to the new type",
                    )
                )
            continue
        if _is_parent(key, new_flat):
            hazards.append(
                OverrideHazard(
                    key,
                    "retyped",
                    value,
                    label,
                    "the new chart turned this key into a map; your scalar value will not be read",
                    "set the keys below it instead: "
                    + ", ".join(sorted(k for k in new_flat if k.startswith(key + "."))[:5]),
                )
            )
            continue
        if any(key.startswith(k + ".") for k in new_flat):
            parent = next(k for k in new_flat if key.startswith(k + "."))
            hazards.append(
                OverrideHazard(
                    key,
                    "retyped",
                    value,
                    label,
                    f"the new chart made {parent} a {type_name(new_flat[parent])}; "
                    "this nested key is not read",
                    f"set {parent} directly",
                )
            )
            continue
        in_old = key in old_flat or _is_parent(key, old_flat)
        if key in renamed:
            hazards.append(
                OverrideHazard(
                    key,
                    "renamed",
                    value,
                    label,
                    f"the new chart removed this key (it moved to {renamed[key]}); "
                    "your value would be ignored",
                    f"move your value to {renamed[key]}",
                )
            )
        elif in_old:
            hazards.append(
                OverrideHazard(
                    key,
                    "removed",
                    value,
                    label,
                    "the new chart removed this key; your value would be silently ignored",
                    "find its replacement in the new chart's values.yaml or drop the override",
                )
            )
    return hazards
