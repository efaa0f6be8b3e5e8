"""Reading a Helm repository ``index.yaml``: only what the catalog needs, fast and bounded.

A chart repository's index lists every version ever published: 100,000 entries and tens of
MB are normal for a long-lived repository. Composing that into PyYAML nodes takes seconds per
10,000 entries and most of a gigabyte, yet the catalog needs three fields per version of one
chart (``appVersion``, ``version`` and the first of ``urls``). So there are two readers, and
they must agree on every index the fast one accepts:

* ``scan_index``: for the layout every Helm tool writes (``helm repo index``,
  chart-releaser, ChartMuseum: block style, one scalar per line). libyaml first checks that
  the whole document is valid YAML; then regular expressions, which run in C, find the chosen
  chart and its three fields. It gives up (returns ``None``) on anything it does not fully
  understand: anchors, aliases, tags, flow collections, quoted scalars spanning lines, block
  scalars in unusual positions, unexpected indentation, tabs, CR line ends.
* ``parse_index``: the exact reader, and the definition of what an index means. It goes
  through the safe loader (``yamlfile.parse_yaml``: size and alias-expansion bounds) and
  then applies the mapping rules. It runs whenever the scanner gives up.

The chosen chart is ``jitera``, or the first chart of ``entries`` when there is no non-empty
``jitera`` list (one-chart repositories name their chart as they like).

One difference is deliberate: the scanner never constructs the fields it does not read, so
a value only the constructor rejects (an unquoted ``created: 2024-02-30``) is not an error
there, while the exact reader refuses the file. Syntax errors are found by both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, cast

import yaml

from pytest_jitera.errors import ChartError, InputError
from pytest_jitera.yamlfile import MAX_EXPANDED_NODES, parse_yaml, read_text_file

MAX_INDEX_BYTES = 64 * 1024 * 1024  # a 100,000-entry index is ~25 MB; a values file gets 5 MiB
CHART_NAME = "jitera"
WHAT = "Helm repository index"
# Helm writes about one YAML node per 15 bytes of index. Allowing one per 4 bytes accepts any
# real index while an alias bomb, which needs far more nodes than bytes, is still refused.
BYTES_PER_NODE = 4

INDEX_HINT = "pass the index.yaml of a Helm chart repository (helm repo index writes one)"


class IndexEntry(NamedTuple):
    """The fields of one chart version the catalog reads, as text (None when absent or null).

    ``url`` is the first of ``urls`` (Helm itself only ever fetches the first), or ``""``
    when the entry lists none.
    """

    app_version: str | None
    version: str | None
    url: str


class _GiveUp(Exception):
    """The scanner met something outside the layout it understands; the exact reader decides."""


def read_index(path: Path) -> list[IndexEntry]:
    """The chosen chart's entries of the index at ``path``, or one clear error."""
    text = read_text_file(path, what=WHAT, max_bytes=MAX_INDEX_BYTES)
    entries = scan_index(text)
    return entries if entries is not None else parse_index(text, f"{WHAT} {path}")


# --- the exact reader -------------------------------------------------------------------


def parse_index(text: str, label: str) -> list[IndexEntry]:
    """The meaning of an index: what the safe loader builds, read by the plain mapping rules."""
    max_nodes = max(MAX_EXPANDED_NODES, len(text) // BYTES_PER_NODE)
    try:
        data = parse_yaml(text, label, max_nodes=max_nodes)
    except ValueError as exc:  # the constructor's own checks, e.g. a timestamp on 30 February
        raise ChartError(f"{label}: a value cannot be read ({exc})", hint=INDEX_HINT) from None
    return entries_from_data(data, label)


def entries_from_data(data: object, label: str) -> list[IndexEntry]:
    """Apply the index rules to an already loaded document (entries that are not mappings are skipped)."""
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ChartError(f"{label}: no 'entries' mapping; not a Helm repository index", hint=INDEX_HINT)
    chart = entries.get(CHART_NAME) or next(iter(entries.values()))
    if not isinstance(chart, list):
        raise ChartError(f"{label}: entries must be lists of chart versions", hint=INDEX_HINT)
    return [_entry_from_mapping(entry) for entry in chart if isinstance(entry, dict)]


def _entry_from_mapping(entry: dict[object, object]) -> IndexEntry:
    urls = entry.get("urls") or []
    first = urls[0] if isinstance(urls, list) and urls else None
    url = _field(first) if _is_scalar(first) else None  # a mapping is no URL
    return IndexEntry(_field(entry.get("appVersion")), _field(entry.get("version")), url or "")


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | date)


def _field(value: object) -> str | None:
    """Text of a scalar field; a collection is named by its type, never ``str()``-ed.

    ``str()`` of a collection built from aliases walks the whole expansion, which is exactly
    what the loader's alias bound exists to prevent.
    """
    if value is None:
        return None
    return str(value) if _is_scalar(value) else f"<{type(value).__name__}>"


# --- the fast scanner -------------------------------------------------------------------

_KEY = r"[A-Za-z0-9_][A-Za-z0-9_./-]*+"
_END = r"[ ]*+(?:\#[^\n]*+)?"  # trailing spaces, then an optional comment
_DQ = r'"(?:[^"\\\n]++|\\[^\n])*+"'
_SQ = r"'(?:[^'\n]++|'')*+'"
# A plain scalar: not starting with an indicator, no ": " inside (that would be a mapping).
_PLAIN_START = r"""[^\s\-?:,\[\]{}\#&*!|>'"%@`]"""
_PLAIN = rf"{_PLAIN_START}[^:\n]*+(?::(?=[^ \n])[^:\n]*+)*+"
_VALUE = rf"(?:{_PLAIN}|{_DQ}{_END}|{_SQ}{_END}|\[\]{_END}|\{{\}}{_END}|\#[^\n]*+)"
_LINE = rf"[ ]*+(?:-(?:[ ]++|(?=\n)))*+(?:{_KEY}:(?:[ ]++|(?=\n)))?+{_VALUE}?+\n"
_COMMON_LINE = rf"[ ]*+{_KEY}:[ ]++{_PLAIN_START}[^:\n]*+\n"  # most lines: tried first, for speed
# A block scalar header: ``key: |``, ``- |`` or ``- key: |`` (then its content needs one more
# column than the key). Its content can be anything, so it is skipped, not matched line by line.
_BLOCK_HEADER = re.compile(rf"([ ]*+)(-[ ](?={_KEY}:))?(?:{_KEY}:[ ]++|-[ ]++)[|>][-+]?{_END}\n")
# Possessive repeats holding no capturing group: Python 3.11's engine can fail on the mix.
_LINES = re.compile(rf"(?:{_COMMON_LINE}|{_LINE})*+")
_AWKWARD = "\t\r\x85\u2028\u2029\ufeff"  # tabs, and line breaks other than \n
_DOCUMENT_END = re.compile(r"(?:\A|\n)\.\.\.(?=[ \n])")
_CONTENT = re.compile(r"(?:[ ]*+(?:\#[^\n]*+)?\n)*+([ ]*+)(?=[^ \n])")  # next non-blank line
_ROOT_HEAD = re.compile(rf"(?=[^ \n\#-])(?:({_KEY}):(?=[ \n]))?([^\n]*+)")
_ROOT_LINE = re.compile(rf"\n{_ROOT_HEAD.pattern}")
_INLINE_NOTHING = re.compile(_END)
_DQ_VALUE = re.compile(r'"((?:[^"\\\n]|\\[^\n])*)"[ ]*(?:#.*)?')
_SQ_VALUE = re.compile(r"'((?:[^'\n]|'')*)'[ ]*(?:#.*)?")
_NOT_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@` ")

_RESOLVER = yaml.resolver.Resolver()  # the one CSafeLoader and SafeLoader use
_resolve = cast(Callable[[type[yaml.Node], str, tuple[bool, bool]], str], _RESOLVER.resolve)
_STR_TAG = "tag:yaml.org,2002:str"


class _Block(NamedTuple):
    """The lines of one chart's value: ``text[start:end]``, plus what follows its key inline."""

    start: int
    end: int
    inline: str


def scan_index(text: str) -> list[IndexEntry] | None:
    """The chosen chart's entries, or None when the exact reader must decide."""
    if not yaml.__with_libyaml__:
        return None  # without libyaml there is no fast validity check
    text = text.removeprefix("\ufeff")
    if not text.endswith("\n"):
        text += "\n"
    if any(char in text for char in _AWKWARD) or _has_document_end(text):
        return None
    if not _in_subset(text):
        return None
    if not _is_valid_yaml(text):
        return None  # the exact reader reports where
    try:
        return _scan(text)
    except _GiveUp:
        return None


def _in_subset(text: str) -> bool:
    """Whether every line is one the scanner understands, so no line can hide inside another.

    That rules out flow collections, quoted scalars spanning lines, anchors, aliases, tags
    and complex keys; block scalars are allowed, their content being skipped by indentation.
    """
    position = _end_of(_LINES, text, 0)
    while position < len(text):
        header = _BLOCK_HEADER.match(text, position)
        if header is None:
            return False
        content_indent = len(header.group(1)) + (3 if header.group(2) else 1)
        position = _end_of(_LINES, text, _end_of(_block_content(content_indent), text, header.end()))
    return True


def _end_of(pattern: re.Pattern[str], text: str, position: int) -> int:
    """Where a pattern that also matches the empty string stops matching."""
    match = pattern.match(text, position)
    return position if match is None else match.end()


@lru_cache(maxsize=64)
def _block_content(indent: int) -> re.Pattern[str]:
    """Lines that are blank or indented at least ``indent``: a block scalar's content."""
    return re.compile(rf"(?:[ ]{{{indent}}}[^\n]*+\n|[ ]*+\n)*+")


def _has_document_end(text: str) -> bool:
    """A ``...`` line would end the document (and whatever follows is a second one)."""
    return (text.startswith("...") or "\n..." in text) and _DOCUMENT_END.search(text) is not None


def _is_valid_yaml(text: str) -> bool:
    """Let libyaml parse the whole document, building no Python object at all."""
    parser = yaml.CSafeLoader(text)
    try:
        parser.raw_parse()
    except yaml.YAMLError:
        return False
    finally:
        parser.dispose()
    return True


def _scan(text: str) -> list[IndexEntry]:
    start, end = _entries_region(text)
    block = _chosen_chart(text, _chart_blocks(text, start, end))
    return [] if block is None else _chart_entries(text, block)


def _entries_region(text: str) -> tuple[int, int]:
    """Where the lines of the (last) top-level ``entries:`` value are."""
    first = _CONTENT.match(text)
    if first is None or first.group(1):
        raise _GiveUp  # not a mapping starting at column 0
    region: tuple[int, int] | None = None
    pending: int | None = None
    for key, inline, start, end in _root_lines(text):
        if key is None:
            raise _GiveUp
        if pending is not None:
            region, pending = (pending, start), None
        if key == "entries":
            if not _INLINE_NOTHING.fullmatch(inline):
                raise _GiveUp  # {} or a scalar: not a usable entries mapping
            pending = end + 1
    if pending is not None:
        region = (pending, len(text))
    if region is None:
        raise _GiveUp
    return region


def _root_lines(text: str) -> Iterator[tuple[str | None, str, int, int]]:
    """(key, inline value, start, end) of each line at column 0 that is not a comment or dash.

    Searching for a newline first lets the regex engine skip ahead in C; the first line has
    none before it and is matched on its own.
    """
    head = _ROOT_HEAD.match(text)
    if head is not None:
        yield head.group(1), head.group(2), head.start(), head.end()
    for line in _ROOT_LINE.finditer(text):
        yield line.group(1), line.group(2), line.start() + 1, line.end()


def _chart_blocks(text: str, start: int, end: int) -> dict[object, _Block]:
    """Chart name -> its block, with the loader's rules for repeated keys (last value wins)."""
    first = _CONTENT.match(text, start, end)
    if first is None or not first.group(1):
        raise _GiveUp  # empty, or not a mapping indented under entries:
    indent = len(first.group(1))
    # Lines indented less than the chart names would end up in no chart: give up on them too.
    pattern = re.compile(rf"\n([ ]{{1,{indent}}})(?=[^ \n#-])(?:({_KEY}):(?=[ \n]))?([^\n]*+)")
    lines = list(pattern.finditer(text, start - 1, end))
    blocks: dict[object, _Block] = {}
    for number, line in enumerate(lines):
        spaces, key, inline = line.groups()
        if key is None or len(spaces) != indent:
            raise _GiveUp
        block_end = lines[number + 1].start() + 1 if number + 1 < len(lines) else end
        blocks[_key_value(key)] = _Block(line.end() + 1, block_end, inline)
    return blocks


def _chosen_chart(text: str, blocks: dict[object, _Block]) -> _Block | None:
    """``entries.get("jitera") or <first chart>``; None stands for an empty list."""
    if not blocks:
        raise _GiveUp
    own = blocks.get(CHART_NAME)
    if own is not None and _value_kind(text, own) == "list":
        return own
    first = next(iter(blocks.values()))
    kind = _value_kind(text, first)
    if kind == "null":
        raise _GiveUp  # not a list: the exact reader names the problem
    return first if kind == "list" else None


def _value_kind(text: str, block: _Block) -> str:
    """``list`` (a block sequence), ``empty`` (``[]``) or ``null``; anything else gives up."""
    if not _INLINE_NOTHING.fullmatch(block.inline):
        if re.fullmatch(rf"[ ]*\[\]{_END}", block.inline):
            return "empty"
        raise _GiveUp
    content = _CONTENT.match(text, block.start, block.end)
    if content is None:
        return "null"
    if text.startswith("- ", content.end(1)):
        return "list"
    raise _GiveUp


class _ChartPatterns(NamedTuple):
    """The expressions for one layout: items' dashes at column ``d``, their keys at ``d + 2``."""

    misplaced: re.Pattern[str]
    entry: re.Pattern[str]


_KEPT = "(?:appVersion|version|urls):"


@lru_cache(maxsize=16)
def _chart_patterns(d: int) -> _ChartPatterns:
    """Build the two expressions; one ``entry`` match covers one item, all its lines.

    Inside a repeated group Python keeps the last capture of a group, which is exactly the
    loader's rule for a key written twice.
    """
    k = d + 2
    eol = r"(?=[ \n]|\Z)"  # the misplaced search stops before the block's last newline
    allowed = (
        rf"[ ]{{{d}}}-[ ]{_KEY}:{eol}"  # an item starting with its first key
        rf"|[ ]{{{k}}}(?:{_KEY}:{eol}|-{eol}|\#)"  # a key of an item, or a dash under it
        rf"|[ ]{{{k + 1}}}"  # deeper: part of the value of the key above
        r"|[ ]*+(?:\#|(?=\n)|\Z)"
    )
    # A kept scalar, plus the next line if the scalar continues there (the caller gives up).
    scalar = rf"[^\n]*(?:\n[ ]{{{k + 1}}}(?=[ ]*[^ \n#])[^\n]*)?"
    # The inline value of urls:, then its first list item and a continuation line, if any.
    urls = (
        rf"[^\n]*(?:(?:\n[ ]*(?:\#[^\n]*)?)*?\n(?P<dash>[ ]{{{k},}})-(?=[ \n])(?P<url>[^\n]*)"
        r"(?P<more>\n(?P=dash)[ ]+(?=[^ \n#])[^\n]*)?)?"
    )
    key_line = (
        rf"(?:appVersion:(?=[ \n])(?P<app>{scalar})|version:(?=[ \n])(?P<version>{scalar})"
        rf"|urls:(?=[ \n])(?P<urls>{urls})|(?!{_KEPT})[^\n]+)"
    )
    entry = (
        rf"\n[ ]{{{d}}}-[ ]"
        rf"(?:(?:(?<=-[ ])|\n[ ]{{{k}}}){key_line}"  # the item's first key, or a later one
        rf"|\n(?![ ]{{{d}}}-[ ]|[ ]{{{k}}}{_KEPT})[^\n]*)*"  # any other line of the item
    )
    return _ChartPatterns(re.compile(rf"\n(?!{allowed})"), re.compile(entry))


def _chart_entries(text: str, block: _Block) -> list[IndexEntry]:
    """The three fields of every item of one chart's block sequence."""
    content = _CONTENT.match(text, block.start, block.end)
    if content is None:
        raise _GiveUp
    patterns = _chart_patterns(len(content.group(1)))
    if patterns.misplaced.search(text, block.start - 1, block.end - 1):
        raise _GiveUp
    rows = patterns.entry.findall(text, block.start - 1, block.end)
    return [_entry_from_row(app, version, urls, url, more) for app, version, urls, _, url, more in rows]


def _entry_from_row(app: str, version: str, urls: str, url: str, more: str) -> IndexEntry:
    """A key that is absent and one with an empty value both read as null, as in the loader.

    ``url`` and ``more`` may be left over from an earlier ``urls:`` of the same item (a
    repeated group keeps old captures); ``urls``, set by every ``urls:``, says if its value
    is a list at all, and ``more`` at worst makes the scanner give up needlessly.
    """
    if more or "\n" in app or "\n" in version:
        raise _GiveUp  # a plain scalar continued on the next line
    if urls[:1] == "\n":
        listed = True  # the common ``urls:`` with nothing after it
    else:
        inline, newline, _ = urls.partition("\n")
        listed = bool(newline) and _INLINE_NOTHING.fullmatch(inline) is not None
    return IndexEntry(
        _text(app) if app else None,
        _text(version) if version else None,
        (_text(url) or "") if listed else "",
    )


def _text(source: str) -> str | None:
    """The text of a one-line scalar; plain strings, by far the most common, take a short cut."""
    text = source.strip(" ")
    if text and text[0] not in _NOT_PLAIN_START and " #" not in text and ":" not in text:
        # The resolver files its implicit tags (int, bool, null, ...) under their possible
        # first characters (None: any character); a plain scalar starting elsewhere is a string.
        resolvers = _RESOLVER.yaml_implicit_resolvers
        if text[0] not in resolvers and None not in resolvers:
            return text
        return text if _is_string(text) else _field(_exact_scalar(text))
    return _field(_scalar(text))


def _scalar(source: str) -> object:
    """The value of a one-line scalar as the safe loader constructs it."""
    text = source.strip(" ")
    if not text or text.startswith("#"):
        return None
    if text[0] == '"':
        match = _DQ_VALUE.fullmatch(text)
        if match is None:
            raise _GiveUp
        return match.group(1) if "\\" not in match.group(1) else _exact_scalar(text)
    if text[0] == "'":
        match = _SQ_VALUE.fullmatch(text)
        if match is None:
            raise _GiveUp
        return match.group(1).replace("''", "'")
    if text[0] in _NOT_PLAIN_START:
        raise _GiveUp  # a collection, block scalar, anchor, alias or tag
    comment = text.find(" #")
    plain = text[:comment].rstrip(" ") if comment >= 0 else text
    if ": " in plain or plain.endswith(":"):
        raise _GiveUp  # a mapping, not a scalar
    # a number, boolean, null or date: let the loader build it
    return plain if _is_string(plain) else _exact_scalar(plain)


def _is_string(plain: str) -> bool:
    """Whether the loader's resolver gives this plain scalar the string tag."""
    return _resolve(yaml.ScalarNode, plain, (True, False)) == _STR_TAG


def _key_value(text: str) -> object:
    """A mapping key as the loader would hash it (``1`` and ``0x1`` are the same key)."""
    return text if _is_string(text) else _exact_scalar(text)


def _exact_scalar(source: str) -> object:
    try:
        value = parse_yaml(source, "index value")
    except (InputError, ValueError):
        raise _GiveUp from None
    if isinstance(value, list | dict):
        raise _GiveUp
    return value
