"""Enough of Rails' inflector to turn a table name into the names code uses for it.

Old code rarely spells ``legacy_reports``; it says ``LegacyReport.where(...)`` or
``has_many :legacy_reports`` / ``belongs_to :legacy_report``. The reference search therefore
needs the singular and the model class name, computed the way ActiveSupport does for the
common cases (regular plurals, -ies, -ses/-xes/-ches, a handful of irregular words).
"""

from __future__ import annotations

import re

# Words Rails treats as their own singular.
_UNCOUNTABLE = frozenset(
    {"equipment", "information", "rice", "money", "species", "series", "fish", "sheep",
     "jeans", "police", "news", "metadata", "feedback", "staff"}
)

# Plural -> singular for words no suffix rule handles.
_IRREGULAR = {
    "people": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "sexes": "sex",
    "moves": "move",
    "zombies": "zombie",
    "oxen": "ox",
    "geese": "goose",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
}

# Suffix rules, most specific first (ActiveSupport applies the same set, newest first).
_SINGULAR_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"(database)s$", r"\1"),
        (r"(quiz)zes$", r"\1"),
        (r"(matr)ices$", r"\1ix"),
        (r"(vert|ind)ices$", r"\1ex"),
        (r"(alias|status)(es)?$", r"\1"),
        (r"(octop|vir)(us|i)$", r"\1us"),
        (r"^(a)x[ie]s$", r"\1xis"),
        (r"(cris|test)(is|es)$", r"\1is"),
        (r"(shoe)s$", r"\1"),
        (r"(o)es$", r"\1"),
        (r"(bus)(es)?$", r"\1"),
        (r"(x|ch|ss|sh)es$", r"\1"),
        (r"(m)ovies$", r"\1ovie"),
        (r"([^aeiouy]|qu)ies$", r"\1y"),
        (r"([lr])ves$", r"\1f"),
        (r"(tive)s$", r"\1"),
        (r"(hive)s$", r"\1"),
        (r"([^f])ves$", r"\1fe"),
        (r"((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)(sis|ses)$", r"\1sis"),
        (r"([ti])a$", r"\1um"),
        (r"(ss)$", r"\1"),
        (r"s$", ""),
    )
)


def singularize_word(word: str) -> str:
    """Singular of one lower-case English word, as ActiveSupport would compute it."""
    if word in _UNCOUNTABLE:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    for pattern, replacement in _SINGULAR_RULES:
        if pattern.search(word):
            return pattern.sub(replacement, word, count=1)
    return word


def singularize(table: str) -> str:
    """Singular of a snake_case table name; only the last word changes (``legacy_reports``)."""
    head, _, last = table.rpartition("_")
    singular = singularize_word(last)
    return f"{head}_{singular}" if head else singular


def camelize(snake: str) -> str:
    """``legacy_report`` -> ``LegacyReport``."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_") if part)


def model_class_name(table: str) -> str:
    """Return the model class Rails would map to ``table`` (``people`` -> ``Person``)."""
    return camelize(singularize(table.rpartition(".")[2]))
