"""Small readers over tree-sitter's Ruby syntax tree, kept apart from the migration logic.

They answer questions such as "what literal is this argument" or "which heredoc body belongs
to this ``<<~SQL``" and return None whenever the answer is not a literal, so the analyser can
turn uncertainty into a could-not-analyse finding instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter

from pytest_jitera.migrations.sql_analysis import INTERPOLATION_PLACEHOLDER


def text(node: tree_sitter.Node | None) -> str:
    """Return the source text of ``node``; empty for a missing node."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def arguments(call: tree_sitter.Node) -> list[tree_sitter.Node]:
    """Return the argument nodes of a call, without punctuation."""
    args = call.child_by_field_name("arguments")
    return list(args.named_children) if args is not None else []


def positional(args: list[tree_sitter.Node]) -> list[tree_sitter.Node]:
    """Keep the positional arguments: options hashes carry no table or column."""
    return [a for a in args if a.type not in ("pair", "hash_splat_argument", "block_argument",
                                               "comment")]


def kwarg_node(args: list[tree_sitter.Node], key: str) -> tree_sitter.Node | None:
    """Return the value node of option ``key`` (``null: false``), wherever it is written."""
    for pair in pairs(args):
        if hash_key(pair.child_by_field_name("key")) == key:
            return pair.child_by_field_name("value")
    return None


def pairs(args: list[tree_sitter.Node]) -> Iterator[tree_sitter.Node]:
    """Yield option pairs, written bare or inside an explicit ``{}`` hash."""
    for arg in args:
        if arg.type == "pair":
            yield arg
        elif arg.type == "hash":
            yield from (c for c in arg.named_children if c.type == "pair")


def kwarg(args: list[tree_sitter.Node], key: str) -> str | None:
    """Return option ``key`` when its value is a literal."""
    value = kwarg_node(args, key)
    return literal(value) if value is not None else None


def hash_key(node: tree_sitter.Node | None) -> str | None:
    """Accept both ``key:`` and ``:key =>`` spellings."""
    if node is None:
        return None
    if node.type == "hash_key_symbol":
        return text(node)
    return literal(node)


def literal(node: tree_sitter.Node | None) -> str | None:
    """Return the value of a symbol or plain string literal; None for anything computed."""
    if node is None:
        return None
    if node.type == "simple_symbol":
        return text(node)[1:]
    if node.type in ("string", "delimited_symbol"):
        parts = node.named_children
        if all(p.type == "string_content" for p in parts):
            return "".join(text(p) for p in parts)
        return None
    if node.type == "array":
        values = [literal(child) for child in node.named_children]
        if values and all(v is not None for v in values):
            return ",".join(v for v in values if v is not None)
        return None
    return None


def or_unknown(nodes: list[tree_sitter.Node]) -> list[tree_sitter.Node | None]:
    """Stand in one unknown argument for none, so a call without names is still reported."""
    return list(nodes) if nodes else [None]


def is_false(node: tree_sitter.Node | None) -> bool:
    """Tell whether ``node`` is a literal ``false`` or ``nil``."""
    return node is not None and node.type in ("false", "nil")


def adds_not_null(args: list[tree_sitter.Node]) -> bool:
    """``null: false`` with no ``default:`` is what breaks inserts from old code."""
    return is_false(kwarg_node(args, "null")) and kwarg_node(args, "default") is None


def index_name(positional: list[tree_sitter.Node], args: list[tree_sitter.Node],
                at: int) -> str | None:
    """Name an index by its positional name or its ``name:``/``column:`` option."""
    if len(positional) > at:
        return literal(positional[at])
    return kwarg(args, "name") or kwarg(args, "column")


def block_params(block: tree_sitter.Node) -> list[str]:
    """Return the names between ``|...|``: the ``t`` or ``dir`` a block works on."""
    for child in block.named_children:
        if child.type == "block_parameters":
            return [text(p) for p in child.named_children if p.type == "identifier"]
    return []


# Ruby methods that return their string receiver cleaned up; SQL stays the same SQL.
STRING_METHODS = frozenset({"squish", "strip", "chomp", "freeze", "strip_heredoc", "dup"})
# Escapes that matter in SQL written inside double-quoted Ruby strings.
ESCAPES = {"\\n": "\n", "\\t": "\t", '\\"': '"', "\\'": "'", "\\\\": "\\"}


def single_assignments(root: tree_sitter.Node) -> dict[str, tree_sitter.Node]:
    """Map local names assigned exactly once in the file to the assigned expression."""
    seen: dict[str, tree_sitter.Node | None] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "assignment":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is not None and right is not None and left.type == "identifier":
                name = text(left)
                seen[name] = None if name in seen else right
        stack.extend(node.named_children)
    return {name: value for name, value in seen.items() if value is not None}


def string_text(node: tree_sitter.Node) -> str:
    """Text of a string or heredoc body, with interpolations replaced by a placeholder."""
    pieces: list[str] = []
    for child in node.named_children:
        if child.type in ("string_content", "heredoc_content"):
            pieces.append(text(child))
        elif child.type == "escape_sequence":
            raw = text(child)
            pieces.append(ESCAPES.get(raw, raw[1:]))
        elif child.type == "interpolation":
            pieces.append(INTERPOLATION_PLACEHOLDER)
    return "".join(pieces)


def sql_text(node: tree_sitter.Node, heredocs: dict[int, tree_sitter.Node]) -> str | None:
    """Return the SQL a literal carries; None when any part is computed."""
    if node.type == "string":
        return string_text(node)
    if node.type == "heredoc_beginning":
        body = heredocs.get(node.start_byte)
        return string_text(body) if body is not None else None
    if node.type == "chained_string":
        texts = [sql_text(child, heredocs) for child in node.named_children]
        return None if None in texts else "".join(t for t in texts if t is not None)
    return None


def pair_heredocs(root: tree_sitter.Node) -> dict[int, tree_sitter.Node]:
    """Match each ``<<~SQL`` opener with its body: Ruby emits bodies in opener order."""
    openers: list[tree_sitter.Node] = []
    bodies: list[tree_sitter.Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "heredoc_beginning":
            openers.append(node)
        elif node.type == "heredoc_body":
            bodies.append(node)
        stack.extend(node.children)
    openers.sort(key=lambda n: n.start_byte)
    bodies.sort(key=lambda n: n.start_byte)
    return {o.start_byte: b for o, b in zip(openers, bodies, strict=False)}


def forward_methods(
    root: tree_sitter.Node,
) -> tuple[list[tree_sitter.Node], bool, dict[str, tree_sitter.Node]]:
    """Find every ``change``/``up`` definition, whether a down exists, and the other methods."""
    forward: list[tree_sitter.Node] = []
    helpers: dict[str, tree_sitter.Node] = {}
    has_down = False
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("method", "singleton_method"):
            name = text(node.child_by_field_name("name"))
            if name in ("change", "up"):
                forward.append(node)
            elif name == "down":
                has_down = True
            else:
                helpers.setdefault(name, node)
            continue
        stack.extend(node.named_children)
    forward.sort(key=lambda n: n.start_byte)
    return forward, has_down, helpers


def first_error_line(root: tree_sitter.Node) -> int:
    """Return the line of the first syntax error, for the finding."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node.start_point.row + 1
        stack.extend(reversed(node.children))
    return 1
