"""Schema operations that an added Rails migration performs when it runs forward.

The file is parsed with tree-sitter's Ruby grammar, not matched with patterns: a
``remove_column`` inside ``def down`` or ``dir.down`` never runs on upgrade and must not make
a release look dangerous, while one wrapped in ``safety_assured`` or ``change_table`` must
not hide. A loop over a literal array or hash (``%i[a b].each do |t|``) is unrolled, so each
element is reported as if the call were written out once per element. A table or column the
walk still cannot pin to a literal is reported under an unknown name rather than dropped,
because the runbook says to assume the worst when unsure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import tree_sitter
import tree_sitter_ruby

from pytest_jitera.decision.migrations import _ruby_nodes as nodes
from pytest_jitera.decision.migrations.findings import (
    Finding,
    could_not_analyse,
    is_unknown_name,
    unknown_name,
)
from pytest_jitera.decision.migrations.sql_analysis import analyse_sql

# Migration files larger than this are not hand-written migrations; refuse rather than stall.
MAX_MIGRATION_BYTES = 2_000_000

# Calls whose block simply runs in place: their contents count as if written outside.
_TRANSPARENT_CALLS = frozenset(
    {"safety_assured", "up_only", "suppress_messages", "say_with_time", "transaction"}
)
# Methods that hand raw SQL to the database.
_SQL_CALLS = frozenset({"execute", "exec_query", "exec_update", "exec_delete", "safe_execute"})
# Receivers under which the usual migration helpers still mean schema changes.
_SCHEMA_RECEIVERS = ("connection", "self")
# Enumerators whose block runs once per element of the receiver.
_LOOP_METHODS = frozenset({"each", "each_with_index", "map", "collect", "flat_map"})
# Block locals a parameterless block gets (``_1`` and Ruby 3.4's ``it``).
_IMPLICIT_PARAMS = frozenset({"_1", "it"})
# Most loop iterations unrolled along one path, nested loops multiplied; beyond this the
# loop variables stay unknown, which keeps a generated migration from stalling the walk.
MAX_UNROLLED = 256
# Longest piece of code quoted in an unknown name; enough to recognise the expression.
_SNIPPET_CHARS = 60
# What `revert do ... end` turns each constructive helper into.
_REVERTED = {
    "create_table": "drop_table",
    "add_column": "remove_column",
    "add_reference": "remove_reference",
    "add_belongs_to": "remove_reference",
    "add_index": "remove_index",
    "add_foreign_key": "remove_foreign_key",
    "create_enum": "drop_type",
    "add_timestamps": "remove_column",
}


@lru_cache(maxsize=1)
def _parser() -> tree_sitter.Parser:
    """Build the parser once; creating the language object is the slow part."""
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_ruby.language()))


def analyse_file(path: Path, display_name: str) -> list[Finding]:
    """Analyse the migration at ``path``, reporting it under ``display_name``.

    Unreadable, oversized, binary or non-UTF-8 files become a could-not-analyse finding
    instead of an exception, so one odd file never hides the rest of the report.
    """
    try:
        size = path.stat().st_size
        if size > MAX_MIGRATION_BYTES:
            reason = f"file is {size} bytes, too large to be a migration"
            return [could_not_analyse(display_name, reason)]
        source = path.read_bytes()
    except OSError as exc:
        return [could_not_analyse(display_name, f"cannot read file: {exc.strerror or exc}")]
    return analyse_source(source, display_name)


def analyse_source(source: bytes, file: str) -> list[Finding]:
    """Analyse migration ``source`` (bytes as read from disk) named ``file``."""
    if b"\x00" in source:
        return [could_not_analyse(file, "file is binary, not Ruby source")]
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [could_not_analyse(file, f"file is not valid UTF-8 (byte {exc.start})")]
    tree = _parser().parse(source)
    root = tree.root_node
    if root.has_error:
        line = nodes.first_error_line(root)
        return [could_not_analyse(file, f"Ruby syntax error near line {line}", line)]
    forward, has_down, helpers = nodes.forward_methods(root)
    walker = _Walker(file, nodes.pair_heredocs(root), helpers)
    walker.string_vars = nodes.single_assignments(root)
    if not forward:
        if has_down:
            return []  # only a down method: nothing runs on upgrade
        return [could_not_analyse(file, "no `change` or `up` method found")]
    for method in forward:
        body = method.child_by_field_name("body")
        if body is not None:
            walker.walk(body, _Context())
    return _unique(walker.findings)


def _unique(findings: list[Finding]) -> list[Finding]:
    """Drop repeats: a loop whose body does not use its variable reports the same call each time."""
    seen: set[tuple[object, ...]] = set()
    unique: list[Finding] = []
    for finding in findings:
        key = (finding.line, finding.op, tuple(sorted(finding.objects.items())), finding.detail)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


@dataclass(frozen=True)
class _Context:
    """Where the walk currently is: which block variables mean what.

    ``bindings`` holds the element each enclosing unrolled loop is at, and ``iterations``
    how many iterations those loops add up to, so nesting can be bounded.
    """

    table_vars: dict[str, str] = field(default_factory=dict)
    direction_vars: frozenset[str] = frozenset()
    reverted: bool = False
    bindings: Mapping[str, str] = field(default_factory=dict)
    iterations: int = 1


def _snippet(node: tree_sitter.Node) -> str:
    """Quote ``node`` on one line, shortened, for the unknown name of what it computes."""
    code = " ".join(nodes.text(node).split())
    return code if len(code) <= _SNIPPET_CHARS else code[: _SNIPPET_CHARS - 3] + "..."


def _name(node: tree_sitter.Node | None, bindings: Mapping[str, str]) -> str | None:
    """Read a table or column argument as written out: a literal, or a bound loop variable.

    Anything else is computed at runtime and becomes an unknown name; only a missing
    argument gives None, so callers can fall back to another option.
    """
    if node is None:
        return None
    if node.type == "identifier" and nodes.text(node) in bindings:
        return bindings[nodes.text(node)]
    value = nodes.hash_key(node)
    return value if value is not None else unknown_name(_snippet(node))


@dataclass(frozen=True)
class _Call:
    """One helper call, whose names are read under the loop variables bound where it runs."""

    node: tree_sitter.Node
    args: list[tree_sitter.Node]
    bindings: Mapping[str, str]

    @property
    def positional(self) -> list[tree_sitter.Node]:
        """The positional arguments: options hashes carry no table or column."""
        return nodes.positional(self.args)

    def name(self, node: tree_sitter.Node | None) -> str | None:
        """Read ``node`` as a name; see :func:`_name`."""
        return _name(node, self.bindings)

    def arg(self, index: int) -> str | None:
        """Name given as positional argument ``index``; None if the call has no such argument."""
        positional = self.positional
        return self.name(positional[index]) if len(positional) > index else None

    def option(self, key: str) -> str | None:
        """Name given as option ``key:``; None if the call does not pass it."""
        return self.name(nodes.kwarg_node(self.args, key))

    def index_name(self, at: int) -> str | None:
        """Name an index by its positional name or its ``name:``/``column:`` option."""
        if len(self.positional) > at:
            return self.arg(at)
        return self.option("name") or self.option("column")


def _bind(
    params: list[tree_sitter.Node],
    values: list[tree_sitter.Node | None],
    outer: Mapping[str, str],
) -> dict[str, str]:
    """Give block parameters the names one iteration yields, as Ruby's block call would.

    A parameter whose value is not a name (an index, a missing element) stays unbound, so
    a call that uses it reports an unknown name.
    """
    if not params:
        implicit = _name(values[0], outer) if values else None
        return dict.fromkeys(_IMPLICIT_PARAMS, implicit) if implicit is not None else {}
    if len(params) > 1 and len(values) == 1:
        values = list(nodes.parts(values[0]))  # one array yielded to `|a, b|` is spread
    bound: dict[str, str] = {}
    for index, param in enumerate(params):
        value = values[index] if index < len(values) else None
        if param.type == "destructured_parameter":
            bound.update(_bind(list(param.named_children), list(nodes.parts(value)), outer))
            continue
        name = _name(value, outer) if param.type == "identifier" else None
        if name is not None:
            bound[nodes.text(param)] = name
    return bound


class _Walker:
    """Collects findings from the statements of one forward-running method."""

    def __init__(
        self,
        file: str,
        heredocs: dict[int, tree_sitter.Node],
        helpers: dict[str, tree_sitter.Node] | None = None,
    ) -> None:
        self.file = file
        self.heredocs = heredocs
        # Other methods of the migration: `def change; drop_old_tables; end` must be followed.
        self.helpers = helpers or {}
        self._in_helper: set[str] = set()
        self.findings: list[Finding] = []
        # Local variables assigned exactly once, for `sql = <<~SQL ... execute(sql)`.
        self.string_vars: dict[str, tree_sitter.Node] = {}

    def _helper(self, name: str, ctx: _Context) -> bool:
        """Walk the body of helper method ``name`` once per call chain; False if unknown.

        A method body does not see the caller's block variables, so loop bindings end here.
        """
        method = self.helpers.get(name)
        if method is None:
            return False
        if name not in self._in_helper:
            self._in_helper.add(name)
            body = method.child_by_field_name("body")
            if body is not None:
                self.walk(body, replace(ctx, bindings={}))
            self._in_helper.discard(name)
        return True

    def walk(self, node: tree_sitter.Node, ctx: _Context) -> None:
        """Visit ``node`` and its children, treating calls specially."""
        if node.type == "call":
            self._call(node, ctx)
            return
        if node.type == "identifier" and self._helper(nodes.text(node), ctx):
            return
        if node.type in ("method", "singleton_method", "class", "module", "heredoc_body"):
            return  # a nested definition does not run as part of this migration
        for child in node.named_children:
            self.walk(child, ctx)

    def add(self, node: tree_sitter.Node, op: str, **objects: str | None) -> None:
        """Record ``op``; a name the call leaves out is as unknown as one computed at runtime."""
        line = node.start_point.row + 1
        names = {key: unknown_name() if value is None else value for key, value in objects.items()}
        self.findings.append(Finding(self.file, line, op, names))

    def _call(self, node: tree_sitter.Node, ctx: _Context) -> None:
        name = nodes.text(node.child_by_field_name("method"))
        receiver = node.child_by_field_name("receiver")
        receiver_text = nodes.text(receiver) if receiver is not None else None
        args = nodes.arguments(node)
        block = node.child_by_field_name("block")

        if receiver_text is not None and receiver_text in ctx.direction_vars:
            if name == "up" and block is not None:
                self._walk_block(block, ctx)
            return  # dir.down never runs forward
        if receiver_text is not None and receiver_text in ctx.table_vars:
            call = _Call(node, args, ctx.bindings)
            self._table_call(call, name, ctx.table_vars[receiver_text], ctx)
            return
        if name in _SQL_CALLS:
            self._sql_call(node, args)
            return
        schema_receiver = receiver_text is None or receiver_text.endswith(_SCHEMA_RECEIVERS)
        if schema_receiver and self._schema_call(node, name, args, block, ctx):
            return
        if receiver is not None and block is not None and name in _LOOP_METHODS:
            self._loop(receiver, name, block, ctx)
            return
        if receiver_text in (None, "self") and name in self.helpers:
            self._helper(name, ctx)
        # Any other call: its receiver, arguments and block may still hold migration calls.
        for index, child in enumerate(node.children):
            if not child.is_named or node.field_name_for_child(index) == "method":
                continue
            if child.type in ("do_block", "block"):
                self._walk_block(child, ctx)
            else:
                self.walk(child, ctx)

    def _walk_block(
        self, block: tree_sitter.Node, ctx: _Context, bound: Mapping[str, str] | None = None
    ) -> None:
        """Walk a block's body; its parameters hide outer loop variables, ``bound`` sets them."""
        hidden = nodes.param_names(block) | _IMPLICIT_PARAMS
        bindings = {k: v for k, v in ctx.bindings.items() if k not in hidden}
        ctx = replace(ctx, bindings={**bindings, **(bound or {})})
        body = block.child_by_field_name("body")
        for child in (body,) if body is not None else block.named_children:
            if child.type != "block_parameters":
                self.walk(child, ctx)

    def _loop(
        self, receiver: tree_sitter.Node, method: str, block: tree_sitter.Node, ctx: _Context
    ) -> None:
        """Walk a loop's block once per element of a literal receiver, variables bound.

        A computed receiver, or more iterations than :data:`MAX_UNROLLED`, leaves the
        variables unbound: the block is walked once and its names come out unknown.
        """
        items = nodes.collection_items(receiver)
        iterations = ctx.iterations * len(items) if items is not None else 0
        if items is None or iterations > MAX_UNROLLED:
            self.walk(receiver, ctx)
            self._walk_block(block, ctx)
            return
        params = nodes.block_param_nodes(block)
        inner = replace(ctx, iterations=max(iterations, 1))
        for element in items:
            values: list[tree_sitter.Node | None] = [element]
            if method == "each_with_index":
                values.append(None)  # the index is a number, never a name
            self._walk_block(block, inner, _bind(params, values, ctx.bindings))

    def _schema_call(
        self,
        node: tree_sitter.Node,
        name: str,
        args: list[tree_sitter.Node],
        block: tree_sitter.Node | None,
        ctx: _Context,
    ) -> bool:
        """Handle a top-level migration helper; return False if ``name`` is not one."""
        call = _Call(node, args, ctx.bindings)
        if name in _TRANSPARENT_CALLS:
            if block is not None:
                self._walk_block(block, ctx)
            return True
        if name == "reversible":
            if block is not None:
                directions = ctx.direction_vars | set(nodes.block_params(block))
                self._walk_block(block, replace(ctx, direction_vars=directions))
            return True
        if name == "revert":
            if args or block is None:
                self.findings.append(
                    could_not_analyse(self.file, "`revert` of another migration class",
                                      node.start_point.row + 1)
                )
            else:
                self._walk_block(block, replace(ctx, reverted=True))
            return True
        if ctx.reverted:
            self._reverted_call(call, name)
            return True
        if name == "change_table":
            if block is not None:
                # Even an unknown table is worth the walk: adding columns to it is harmless.
                table = call.name(args[0] if args else None) or unknown_name()
                vars_ = dict.fromkeys(nodes.block_params(block), table)
                self._walk_block(block, replace(ctx, table_vars={**ctx.table_vars, **vars_}))
            return True
        handler = _SCHEMA_HANDLERS.get(name)
        if handler is None:
            return False
        handler(self, call)
        return True

    def _reverted_call(self, call: _Call, name: str) -> None:
        """Inside ``revert``, constructive helpers become their destructive inverse."""
        op = _REVERTED.get(name)
        node = call.node
        if op is None:
            if name == "rename_table" and len(call.positional) >= 2:
                self.add(node, "rename_table", table=call.arg(1), new_name=call.arg(0))
            elif name == "rename_column" and len(call.positional) >= 3:
                self.add(node, "rename_column", table=call.arg(0), column=call.arg(2),
                         new_name=call.arg(1))
            elif not name.startswith(("remove_", "drop_")):
                # Reverting a removal only recreates things; anything else is a guess.
                detail = f"cannot tell what reverting `{name}` does"
                self.findings.append(could_not_analyse(self.file, detail, node.start_point.row + 1))
            return
        table = call.arg(0)
        if op == "drop_table":
            self.add(node, op, table=table)
        elif op == "drop_type":
            self.add(node, op, type=table)
        elif op == "remove_column" and name == "add_timestamps":
            for stamp in ("created_at", "updated_at"):
                self.add(node, op, table=table, column=stamp)
        elif op in ("remove_column", "remove_reference"):
            column = call.arg(1)
            if op == "remove_reference" and column is not None and not is_unknown_name(column):
                column = f"{column}_id"
            self.add(node, "remove_column" if op == "remove_reference" else op,
                     table=table, column=column)
        else:
            self.add(node, op, table=table)

    def _table_call(self, call: _Call, name: str, table: str, ctx: _Context) -> None:
        """Handle calls on the block variable of ``change_table :table do |t|``."""
        node, args, positional = call.node, call.args, call.positional
        if name == "remove":
            for arg in nodes.or_unknown(positional):
                self.add(node, "remove_column", table=table, column=call.name(arg))
        elif name in ("remove_references", "remove_belongs_to", "remove_reference"):
            for arg in positional:
                self._reference_columns(call, "remove_reference", table, arg)
        elif name == "remove_timestamps":
            for column in ("created_at", "updated_at"):
                self.add(node, "remove_column", table=table, column=column)
        elif name == "remove_index":
            self.add(node, "remove_index", table=table, index=call.index_name(0))
        elif name == "remove_foreign_key":
            self.add(node, "remove_foreign_key", table=table,
                     to_table=call.arg(0) if positional else call.option("column"))
        elif name == "rename":
            self.add(node, "rename_column", table=table, column=call.arg(0),
                     new_name=call.arg(1))
        elif name == "change":
            self.add(node, "change_column", table=table, column=call.arg(0))
        elif name == "change_null":
            if nodes.is_false(positional[1] if len(positional) > 1 else None):
                self.add(node, "change_column_null", table=table, column=call.arg(0))
        elif name in ("references", "belongs_to"):
            if nodes.adds_not_null(args):
                for arg in positional:
                    self._reference_columns(call, "add_not_null_column", table, arg)
        elif nodes.adds_not_null(args) and name not in ("index", "change_default", "timestamps"):
            for arg in positional:
                self.add(node, "add_not_null_column", table=table, column=call.name(arg))
        elif name not in _HARMLESS_TABLE_CALLS:
            # Unknown helper on the table object: walk it anyway so nested SQL is seen.
            for child in node.named_children:
                self.walk(child, ctx)

    def _reference_columns(
        self, call: _Call, op: str, table: str, ref: tree_sitter.Node | None
    ) -> None:
        """Expand a reference named ``user`` to the column ``user_id`` (and ``user_type``)."""
        name = call.name(ref)
        if name is None or is_unknown_name(name):
            self.add(call.node, op, table=table, column=name)
            return
        self.add(call.node, op, table=table, column=f"{name}_id")
        polymorphic = nodes.kwarg_node(call.args, "polymorphic")
        if polymorphic is not None and not nodes.is_false(polymorphic):
            self.add(call.node, op, table=table, column=f"{name}_type")

    def _sql_literal(self, node: tree_sitter.Node, depth: int = 0) -> tree_sitter.Node | None:
        """Find the literal behind ``<<~SQL.squish`` or a local ``sql = <<~SQL`` variable."""
        if depth > 5:
            return None
        if node.type == "call":
            receiver = node.child_by_field_name("receiver")
            method = nodes.text(node.child_by_field_name("method"))
            if receiver is not None and method in nodes.STRING_METHODS and not nodes.arguments(node):
                return self._sql_literal(receiver, depth + 1)
            return None
        if node.type == "parenthesized_statements" and node.named_child_count == 1:
            inner = node.named_children[0]
            return self._sql_literal(inner, depth + 1)
        if node.type == "identifier":
            value = self.string_vars.get(nodes.text(node))
            return self._sql_literal(value, depth + 1) if value is not None else None
        return node

    def _sql_call(self, node: tree_sitter.Node, args: list[tree_sitter.Node]) -> None:
        positional = nodes.positional(args)
        line = node.start_point.row + 1
        if not positional:
            self.findings.append(could_not_analyse(self.file, "execute without SQL", line))
            return
        first = self._sql_literal(positional[0])
        sql = nodes.sql_text(first, self.heredocs) if first is not None else None
        if first is None or sql is None:
            detail = "execute with SQL built at runtime (not a literal string)"
            self.findings.append(could_not_analyse(self.file, detail, line))
            return
        sql_line = first.start_point.row + 1
        if first.type == "heredoc_beginning":
            body = self.heredocs.get(first.start_byte)
            sql_line = body.start_point.row + 1 if body is not None else sql_line
        self.findings.extend(analyse_sql(sql, self.file, sql_line))


# Handlers for the top-level helpers, keyed by method name.
_Handler = Callable[[_Walker, _Call], None]


def _drop_table(w: _Walker, call: _Call) -> None:
    for arg in nodes.or_unknown(call.positional):
        w.add(call.node, "drop_table", table=call.name(arg))


def _drop_join_table(w: _Walker, call: _Call) -> None:
    explicit = call.option("table_name")
    names = [call.arg(0), call.arg(1)]
    if explicit is not None:
        w.add(call.node, "drop_table", table=explicit)
    elif all(n is not None and not is_unknown_name(n) for n in names):
        w.add(call.node, "drop_table", table="_".join(sorted(n for n in names if n)))
    else:
        unknown = [n for n in names if n is not None and is_unknown_name(n)]
        w.add(call.node, "drop_table", table=unknown[0] if unknown else None)


def _remove_column(w: _Walker, call: _Call) -> None:
    w.add(call.node, "remove_column", table=call.arg(0), column=call.arg(1))


def _remove_columns(w: _Walker, call: _Call) -> None:
    table = call.arg(0)
    for arg in nodes.or_unknown(call.positional[1:]):
        w.add(call.node, "remove_column", table=table, column=call.name(arg))


def _remove_timestamps(w: _Walker, call: _Call) -> None:
    table = call.arg(0)
    for column in ("created_at", "updated_at"):
        w.add(call.node, "remove_column", table=table, column=column)


def _remove_reference(w: _Walker, call: _Call) -> None:
    table = call.arg(0)
    if table is None:
        w.add(call.node, "remove_reference", table=None)
        return
    positional = call.positional
    w._reference_columns(call, "remove_reference", table,
                         positional[1] if len(positional) > 1 else None)


def _remove_index(w: _Walker, call: _Call) -> None:
    w.add(call.node, "remove_index", table=call.arg(0), index=call.index_name(1))


def _remove_foreign_key(w: _Walker, call: _Call) -> None:
    target = call.arg(1) if len(call.positional) > 1 else call.option("to_table")
    if target is None:
        target = call.option("column") or call.option("name")
    w.add(call.node, "remove_foreign_key", table=call.arg(0), to_table=target)


def _rename_table(w: _Walker, call: _Call) -> None:
    w.add(call.node, "rename_table", table=call.arg(0), new_name=call.arg(1))


def _rename_column(w: _Walker, call: _Call) -> None:
    w.add(call.node, "rename_column", table=call.arg(0), column=call.arg(1),
          new_name=call.arg(2))


def _change_column(w: _Walker, call: _Call) -> None:
    w.add(call.node, "change_column", table=call.arg(0), column=call.arg(1))


def _change_column_null(w: _Walker, call: _Call) -> None:
    positional = call.positional
    allow_null = positional[2] if len(positional) > 2 else None
    if allow_null is not None and allow_null.type == "true":
        return  # relaxing a constraint never breaks old code
    w.add(call.node, "change_column_null", table=call.arg(0), column=call.arg(1))


def _add_column(w: _Walker, call: _Call) -> None:
    """Flag a NOT NULL column without default: it rejects every insert old code makes."""
    if nodes.adds_not_null(call.args):
        w.add(call.node, "add_not_null_column", table=call.arg(0), column=call.arg(1))


def _add_reference(w: _Walker, call: _Call) -> None:
    if not nodes.adds_not_null(call.args):
        return
    table = call.arg(0)
    if table is None:
        w.add(call.node, "add_not_null_column", table=None)
        return
    positional = call.positional
    w._reference_columns(call, "add_not_null_column", table,
                         positional[1] if len(positional) > 1 else None)


def _create_table(w: _Walker, call: _Call) -> None:
    """``force: true`` or ``force: :cascade`` drops an existing table of that name first."""
    force = nodes.kwarg_node(call.args, "force")
    if force is not None and not nodes.is_false(force):
        w.add(call.node, "drop_table", table=call.arg(0))


def _create_enum(w: _Walker, call: _Call) -> None:
    w.add(call.node, "create_enum", type=call.arg(0))


def _drop_enum(w: _Walker, call: _Call) -> None:
    w.add(call.node, "drop_type", type=call.arg(0))


_SCHEMA_HANDLERS: dict[str, _Handler] = {
    "drop_table": _drop_table,
    "drop_join_table": _drop_join_table,
    "remove_column": _remove_column,
    "remove_columns": _remove_columns,
    "remove_timestamps": _remove_timestamps,
    "remove_reference": _remove_reference,
    "remove_belongs_to": _remove_reference,
    "remove_index": _remove_index,
    "remove_foreign_key": _remove_foreign_key,
    "rename_table": _rename_table,
    "rename_column": _rename_column,
    "change_column": _change_column,
    "change_column_null": _change_column_null,
    "add_column": _add_column,
    "add_reference": _add_reference,
    "add_belongs_to": _add_reference,
    "create_table": _create_table,
    "create_enum": _create_enum,
    "drop_enum": _drop_enum,
}

# change_table helpers that only add things old code can ignore.
_HARMLESS_TABLE_CALLS = frozenset(
    {"index", "timestamps", "change_default", "check_constraint", "foreign_key",
     "column", "string", "text", "integer", "bigint", "boolean", "datetime", "date",
     "decimal", "float", "json", "jsonb", "uuid", "binary", "enum", "references",
     "belongs_to", "index_exists?", "column_exists?"}
)
