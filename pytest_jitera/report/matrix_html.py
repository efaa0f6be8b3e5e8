"""The matrix page: the outcome first, then a row per start version, each cell a link to its case.

Kept apart from :mod:`pytest_jitera.report.matrix` (the facts and their JSON) as
:mod:`pytest_jitera.report.html` is kept apart from the run model: the page changes for readers,
the file format for tools.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from pytest_jitera.errors import VersionError
from pytest_jitera.release.versions import Version
from pytest_jitera.report.html import page
from pytest_jitera.report.matrix import (
    HOP_ARROW,
    CaseHop,
    CaseSummary,
    MatrixSummary,
)
from pytest_jitera.report.text import duration, esc, plural

MATRIX_CSS = """
table.matrix th.hop{text-align:center;border-left:2px solid #e0e0e0}
table.matrix td.first{border-left:2px solid #e0e0e0}
.s-missing{color:#b71c1c;background:#ffebee;font-style:italic}
.s-other{color:#616161;background:#eeeeee;font-style:italic}
td.absent{color:#9e9e9e}.t-better{color:#2e7d32}.t-worse{color:#c62828;font-weight:600}
"""


@dataclass(frozen=True)
class _Column:
    """One column of the table: a hop's upgrade, or one rollback procedure on that hop."""

    hop: str
    procedure: str | None = None


def render_matrix_html(summary: MatrixSummary, previous: MatrixSummary | None = None) -> str:
    """The matrix page: the outcome first, then a row per start version, each cell a link to the case.

    Only labels, statuses, durations and the cases' (masked) notes reach the page; every
    string goes through :func:`esc`.
    """
    title = f"Upgrade matrix to {summary.target}: {summary.outcome}"
    columns = _columns(summary.cases)
    body = [
        *_matrix_headline(summary, previous),
        *_matrix_table(summary, columns, previous),
        *_dropped(summary, previous),
        *_case_notes(summary.cases),
    ]
    return page(title, body, css=MATRIX_CSS)


def _matrix_headline(summary: MatrixSummary, previous: MatrixSummary | None) -> list[str]:
    """Outcome, counts and what did not pass, before the table."""
    counts = summary.counts()
    tally = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n) or "none"
    reported = [case.seconds for case in summary.cases if case.outcome != "missing"]
    facts = [
        ("Target", summary.target),
        ("Cases", f"{plural(len(summary.cases), 'case')}: {tally}"),
        ("Shards", _shards_text(summary)),
        ("Longest case", duration(max(reported)) if reported else "—"),
    ]
    if previous is not None:
        facts.append(("Compared with", f"a previous matrix to {previous.target} ({previous.outcome})"))
    parts = [
        f'<h1>Upgrade matrix to {esc(summary.target)} <span class="badge o-{summary.outcome}">'
        f"{esc(summary.outcome)}</span></h1>",
        '<dl class="facts">',
        *(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in facts),
        "</dl>",
    ]
    if not summary.cases:
        parts.append('<p class="muted">No case was recorded, so nothing was proved.</p>')
    bad = [(n, case) for n, case in enumerate(summary.cases, start=1) if case.outcome != "passed"]
    if bad:
        links = ", ".join(
            f'<a href="#case-{n}">{esc(case.label)}</a> ({esc(case.outcome)})' for n, case in bad
        )
        parts.append(f"<p><strong>{esc(plural(len(bad), 'case'))} did not pass:</strong> {links}</p>")
    return parts


def _shards_text(summary: MatrixSummary) -> str:
    if not summary.shards:
        return "not sharded"
    text = ", ".join(summary.shards)
    gaps = summary.missing_shards()
    if gaps:
        text += f"; NOT MERGED: {', '.join(gaps)} (their cases are absent from this matrix)"
    return text


def _columns(cases: Iterable[CaseSummary]) -> list[_Column]:
    """Per hop (oldest first) its upgrade column, then a column per procedure any case ran on it."""
    procedures: dict[str, dict[str, None]] = {}
    for case in cases:
        for hop in case.hops:
            found = procedures.setdefault(hop.name, {})
            found.update(dict.fromkeys(name for name, _ in hop.rollbacks))
    columns: list[_Column] = []
    for name in sorted(procedures, key=_hop_order):
        columns.append(_Column(name))
        columns += [_Column(name, procedure) for procedure in procedures[name]]
    return columns


def _hop_order(name: str) -> tuple[int, tuple[Version, ...], str]:
    """Hops by their versions; a name that is not OLD->NEW goes after them, by text."""
    try:
        return 0, tuple(Version.parse(part) for part in name.split(HOP_ARROW)), name
    except VersionError:
        return 1, (), name


def _matrix_table(
    summary: MatrixSummary, columns: list[_Column], previous: MatrixSummary | None
) -> list[str]:
    """A row per start version; two header rows: the hops, then upgrade and procedures under each."""
    if not summary.cases:
        return []
    hops = dict.fromkeys(column.hop for column in columns)
    spans = Counter(column.hop for column in columns)
    trend = ["<th rowspan=2>Trend</th>"] if previous is not None else []
    top = [
        "<tr><th rowspan=2>Start</th><th rowspan=2>Case</th>",
        *(f'<th class="hop" colspan="{spans[hop]}">{esc(hop)}</th>' for hop in hops),
        *trend,
        "</tr>",
    ]
    sub = "".join(
        f"<th>{'upgrade' if c.procedure is None else esc('rollback: ' + c.procedure)}</th>" for c in columns
    )
    before = {case.label: case for case in previous.cases} if previous is not None else None
    rows = [_case_row(n, case, columns, before) for n, case in enumerate(summary.cases, start=1)]
    return ["<h2>Cases</h2>", '<table class="matrix">', "".join(top), f"<tr>{sub}</tr>", *rows, "</table>"]


def _case_row(
    n: int, case: CaseSummary, columns: list[_Column], before: Mapping[str, CaseSummary] | None
) -> str:
    """One start version; a missing case says so across the row instead of showing empty cells."""
    cells = [f'<th id="case-{n}">{esc(case.start)}</th>']
    if case.outcome == "missing":
        cells.append('<td><span class="status s-missing">missing</span></td>')
        cells.append(
            f'<td colspan="{max(1, len(columns))}" class="s-missing">missing: no report for '
            f"{esc(case.label)}; its rehearsal did not finish, so the matrix fails until it is rerun</td>"
        )
    else:
        cells.append(_cell(case, case.outcome, case.seconds))
        hops = {hop.name: hop for hop in case.hops}
        cells += [_column_cell(case, hops.get(column.hop), column) for column in columns]
    if before is not None:
        cells.append(_trend_cell(case, before.get(case.label)))
    return "<tr>" + "".join(cells) + "</tr>"


def _column_cell(case: CaseSummary, hop: CaseHop | None, column: _Column) -> str:
    first = ' first' if column.procedure is None else ""
    if hop is None:
        return f'<td class="absent{first}" title="not on this path">—</td>'
    if column.procedure is None:
        return _cell(case, hop.outcome, hop.seconds, first)
    outcomes = [outcome for name, outcome in hop.rollbacks if name == column.procedure]
    if not outcomes:
        return '<td class="absent" title="not chosen for this hop">—</td>'
    # a procedure rehearsed twice shows both ends: the first passing must not hide the second
    return '<td class="cell">' + "<br>".join(_link(case, outcome) for outcome in outcomes) + "</td>"


def _cell(case: CaseSummary, outcome: str, seconds: float, extra: str = "") -> str:
    """A status linked to the case page, with its duration."""
    took = f' <span class="muted">{esc(duration(seconds))}</span>'
    return f'<td class="cell{extra}">{_link(case, outcome)}{took}</td>'


def _link(case: CaseSummary, outcome: str) -> str:
    href = "./" + quote(case.page, safe="/")
    return (
        f'<a class="status {_status_class(outcome)}" href="{esc(href)}">'
        f"{esc(outcome or 'no outcome recorded')}</a>"
    )


def _status_class(outcome: str) -> str:
    """Green only for ``passed``; a procedure's own text such as "not finished" stays neutral."""
    if outcome == "passed":
        return "s-passed"
    if outcome in ("failed", "error"):
        return "s-failed"
    if outcome == "missing":
        return "s-missing"
    return "s-other"


def _trend_cell(case: CaseSummary, old: CaseSummary | None) -> str:
    text, cls = trend(case, old)
    return f'<td class="{cls}">{esc(text)}</td>' if cls else f"<td>{esc(text)}</td>"


def trend(now: CaseSummary, old: CaseSummary | None) -> tuple[str, str]:
    """How the case moved since the previous run, and the CSS class for the direction.

    The duration change is given only when both runs rehearsed the case: a missing run's
    zero seconds would read as a 100 % speed-up.
    """
    if old is None:
        return "new in this run", ""
    same = old.outcome == now.outcome
    words = f"still {now.outcome}" if same else f"was {old.outcome}, now {now.outcome}"
    cls = ""
    if now.outcome == "passed" and old.outcome != "passed":
        cls = "t-better"
    elif old.outcome == "passed" and now.outcome != "passed":
        cls = "t-worse"
    change = _change(old.seconds, now.seconds) if "missing" not in (now.outcome, old.outcome) else None
    if change is not None:
        words += f", {change} ({duration(old.seconds)} before)"
    return words, cls


def _change(old: float, new: float) -> str | None:
    """``+12%``; None when there is nothing to compare against."""
    if not (math.isfinite(old) and math.isfinite(new)) or old <= 0:
        return None
    percent = round((new - old) / old * 100)
    return "±0%" if percent == 0 else f"{percent:+d}%"


def _dropped(summary: MatrixSummary, previous: MatrixSummary | None) -> list[str]:
    """Cases the previous run had and this one does not: a start version dropped from the matrix."""
    if previous is None:
        return []
    now = {case.label for case in summary.cases}
    gone = [case for case in previous.cases if case.label not in now]
    if not gone:
        return []
    items = [f"<li>{esc(case.label)} (was {esc(case.outcome)})</li>" for case in gone]
    return ["<h2>Not in this run</h2>", "<ul>", *items, "</ul>"]


def _case_notes(cases: Iterable[CaseSummary]) -> list[str]:
    parts: list[str] = []
    for case in cases:
        if case.notes:
            items = [f"<li>{esc(note)}</li>" for note in case.notes]
            parts += [f"<h3>{esc(case.label)}</h3>", "<ul>", *items, "</ul>"]
    return ["<h2>Notes</h2>", *parts] if parts else []
