"""Small readers over tree-sitter's Ruby syntax tree, kept apart from the migration logic.

They answer questions such as "what literal is this argument" or "which heredoc body belongs
to this ``<<~SQL``" and return None whenever the answer is not a literal, so the analyser can
turn uncertainty into an unknown name or a could-not-analyse finding instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter

from pytest_jitera.decision.migrations.sql_analysis import INTERPOLATION_PLACEHOLDER

# ``[:a, "b"]``, ``%i[a b]`` and ``%w[a b]``: the spellings of a literal array.
_ARRAY_TYPES = frozenset({"array", "symbol_array", "string_array"})
# Calls that hand back their receiver's elements unchanged, so ``%i[a b].freeze.each`` loops
# over a literal all the same.
_SAME_ELEMENTS = frozenset({"freeze", "dup"})


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
    if node.type in ("string", "delimited_symbol", "bare_symbol", "bare_string"):
        parts = node.named_children
        if all(p.type == "string_content" for p in parts):
            return "".join(text(p) for p in parts)
        return None
    if node.type in _ARRAY_TYPES:
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


def block_params(block: tree_sitter.Node) -> list[str]:
    """Return the names between ``|...|``: the ``t`` or ``dir`` a block works on."""
    return [text(p) for p in block_param_nodes(block) if p.type == "identifier"]


def block_param_nodes(block: tree_sitter.Node) -> list[tree_sitter.Node]:
    """Return the parameters between ``|...|`` as written, ``(a, b)`` destructuring included."""
    for child in block.named_children:
        if child.type == "block_parameters":
            return list(child.named_children)
    return []


def param_names(block: tree_sitter.Node) -> frozenset[str]:
    """Every local a block's parameters introduce, at any destructuring depth.

    These hide outer variables of the same name inside the block.
    """
    names: set[str] = set()
    stack = block_param_nodes(block)
    while stack:
        node = stack.pop()
        if node.type == "identifier":
            names.add(text(node))
        stack.extend(node.named_children)
    return frozenset(names)


def collection_items(node: tree_sitter.Node) -> list[tree_sitter.Node] | None:
    """The elements a literal array or hash yields to ``each``, in order; None otherwise.

    Elements are returned whatever they are: one computed element must not hide the
    literal ones around it, and the caller decides what a non-literal element means.
    """
    while node.type == "call" and text(node.child_by_field_name("method")) in _SAME_ELEMENTS:
        receiver = node.child_by_field_name("receiver")
        if receiver is None or arguments(node):
            return None
        node = receiver
    if node.type in _ARRAY_TYPES or node.type == "hash":
        return [child for child in node.named_children if child.type != "comment"]
    return None


def parts(node: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    """Split a yielded element across several block parameters, as Ruby spreads it.

    A nested array gives its elements and a hash entry its key and value; anything else
    fills the first parameter alone.
    """
    if node is None:
        return []
    if node.type in _ARRAY_TYPES:
        return [child for child in node.named_children if child.type != "comment"]
    if node.type == "pair":
        key, value = node.child_by_field_name("key"), node.child_by_field_name("value")
        return [n for n in (key, value) if n is not None]
    return [node]


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
