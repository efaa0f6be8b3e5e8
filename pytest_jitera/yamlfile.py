"""The one way to read a YAML file that came from outside (charts, values, index, profile).

PyYAML's ``safe_load`` is safe against code execution but not against size: a few hundred
bytes of nested aliases expand to billions of nodes once anything walks the result, and its
error messages quote the offending line, which in a values file is often a password. So every
user-supplied YAML goes through here: the file size is bounded, the composed node graph is
weighed with aliases counted as the copies they stand for, and an error names the file, line
and column with quoted text removed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pytest_jitera.errors import InputError

MAX_FILE_BYTES = 5 * 1024 * 1024  # Helm's own per-file bound inside a chart
MAX_EXPANDED_NODES = 1_000_000  # generous for any real values file; a bomb is many orders above
MAX_DEPTH = 200

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")

# the C loader is ~10x faster; fall back when libyaml is not compiled in
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    """The problem and its position, without echoing any text of the document."""
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = _QUOTED.sub("a character", exc.problem or "syntax error")
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return problem
    return "not valid YAML"


def _weigh(root: yaml.Node, limit: int, label: str) -> None:
    """Refuse a document whose alias-expanded size exceeds ``limit`` nodes.

    Each distinct node is weighed once (memoised by identity), so this is linear in the
    composed graph even when aliases make the expanded tree exponential.
    """
    weights: dict[int, int] = {}
    # iterative post-order so a deep document cannot overflow Python's stack
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if id(node) in weights:
            continue
        if depth > MAX_DEPTH:
            raise InputError(
                f"{label}: nested more than {MAX_DEPTH} levels deep; refusing to read it",
                hint="a real values or chart file is a few levels deep; check the file is what you meant",
            )
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if not expanded:
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in children if id(child) not in weights)
            continue
        weight = 1 + sum(weights.get(id(child), 1) for child in children)
        if weight > limit:
            raise InputError(
                f"{label}: expands to more than {limit:,} YAML nodes (an alias bomb?); refusing to read it",
                hint="remove the repeated anchors/aliases (&name / *name) or inline the values",
            )
        weights[id(node)] = weight


def parse_yaml(
    text: str,
    label: str,
    *,
    max_nodes: int = MAX_EXPANDED_NODES,
) -> Any:
    """Parse one YAML document from ``text``; ``label`` names its origin in every message."""
    loader = _BASE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _weigh(node, max_nodes, label)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError(
            f"{label}: not valid YAML ({_describe_yaml_error(exc)})",
            hint="fix the file at that line; a YAML linter shows the exact spot",
        ) from None
    except RecursionError:
        raise InputError(
            f"{label}: nested too deeply to read; refusing it",
            hint="a real values or chart file is a few levels deep; check the file is what you meant",
        ) from None
    finally:
        loader.dispose()


def read_text_file(path: Path, *, what: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The content of a user-supplied text file, or one clear error on every way it can fail."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{what} {path}: file not found", hint="check the path") from None
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot be read ({exc.strerror})", hint="check the path") from None
    if path.is_dir():
        raise InputError(f"{what} {path}: is a folder, not a file", hint="pass the YAML file itself")
    if info.st_size > max_bytes:
        raise InputError(
            f"{what} {path}: {info.st_size:,} bytes is more than the {max_bytes:,} allowed",
            hint="check the file is what you meant",
        )
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(
            f"{what} {path}: cannot be read ({exc.strerror})", hint="check permissions"
        ) from None
    if len(raw) > max_bytes:  # grew since stat, or a special file
        raise InputError(f"{what} {path}: more than the {max_bytes:,} bytes allowed")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} {path}: not UTF-8 text (byte {exc.start})", hint="YAML files must be UTF-8"
        ) from None


def load_yaml_file(
    path: Path,
    *,
    what: str = "YAML file",
    max_bytes: int = MAX_FILE_BYTES,
    max_nodes: int = MAX_EXPANDED_NODES,
) -> Any:
    """Read and parse a user-supplied YAML file under the size and expansion bounds."""
    text = read_text_file(path, what=what, max_bytes=max_bytes)
    return parse_yaml(text, f"{what} {path}", max_nodes=max_nodes)


def load_yaml_mapping(
    path: Path,
    *,
    what: str = "YAML file",
    missing_ok: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
) -> dict[str, Any]:
    """A YAML file that must hold a mapping at the top (values, Chart.yaml, profile)."""
    if missing_ok and not path.exists() and not path.is_symlink():
        return {}
    data = load_yaml_file(path, what=what, max_bytes=max_bytes)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            f"{what} {path}: expected a mapping (key: value) at the top level, got {type(data).__name__}",
            hint="a values file starts with keys, e.g. 'image:'",
        )
    return data
