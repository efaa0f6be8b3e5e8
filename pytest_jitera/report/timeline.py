"""A hop's availability as a picture and as one sentence per probe target.

The question after an upgrade is "when was the product down, and during which step?". The
picture answers it at a glance: one lane per probe target on the hop's own seconds, red where
the target did not answer, with the runbook steps drawn above on the same axis so an outage
lines up with the step that caused it. The sentences give the totals for people who paste
them into a change ticket.

The SVG is inline and static (tooltips are ``<title>`` elements) so the page works opened
from disk, attached to a ticket or in a browser that blocks scripts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_jitera.report.model import HopReport, OutageRow, RollbackReport
from pytest_jitera.report.text import esc, finite, plural

WIDTH = 960
PLOT_X = 150  # room for the target names on the left
PLOT_WIDTH = WIDTH - PLOT_X - 20
BAND_HEIGHT = 20
LANE_HEIGHT = 18
LANE_GAP = 6
AXIS_HEIGHT = 26
TOP = 6
CHAR_WIDTH = 6.5  # of the 11 px label font, enough to decide whether a label fits
TICK = 4
MIN_BAR = 1.5  # a sub-pixel outage must still be visible

GREEN, RED, GREY, INK = "#2e7d32", "#c62828", "#9e9e9e", "#616161"
STEP_FILLS = ("#cfd8dc", "#b0bec5")
# lane background by "was it sampled at all": css class, colour, tooltip state
_LANE_STATES = {True: ("available", GREEN, "available"), False: ("unprobed", GREY, "no samples")}


@dataclass(frozen=True)
class Unavailability:
    """A target's total time down in one hop, overlapping outages counted once."""

    target: str
    seconds: float
    intervals: int


def lanes(hop: HopReport) -> tuple[str, ...]:
    """The probe targets, plus any target an outage names, so no outage is silently dropped."""
    names = list(dict.fromkeys(hop.probe_targets))
    names += [o.target for o in hop.outages if o.target not in names]
    return tuple(dict.fromkeys(names))


def unavailability(hop: HopReport) -> tuple[Unavailability, ...]:
    """Per lane, how long and in how many separate intervals the target was unavailable."""
    return tuple(_merge(target, [o for o in hop.outages if o.target == target]) for target in lanes(hop))


def availability_lines(hop: HopReport) -> tuple[str, ...]:
    """One sentence per target; a hop without samples says so instead of claiming uptime."""
    if not hop.outages and hop.samples <= 0:
        if not hop.probe_targets:
            return ("no availability probe ran during this hop",)
        return tuple(f"{target} not probed: no samples were recorded" for target in hop.probe_targets)
    return tuple(_sentence(row) for row in unavailability(hop))


def _sentence(row: Unavailability) -> str:
    """``studio unavailable 3.5 s in 2 intervals`` or ``studio available throughout``."""
    if not row.intervals:
        return f"{row.target} available throughout"
    return f"{row.target} unavailable {row.seconds:.1f} s in {plural(row.intervals, 'interval')}"


def _merge(target: str, outages: Iterable[OutageRow]) -> Unavailability:
    """Union of the intervals: two probes reporting the same minute must not double it."""
    spans = sorted((finite(o.start), max(finite(o.start), finite(o.end))) for o in outages)
    total, count = 0.0, 0
    current: tuple[float, float] | None = None
    for start, end in spans:
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            total, count = total + current[1] - current[0], count + 1
        current = (start, end)
    if current is not None:
        total, count = total + current[1] - current[0], count + 1
    return Unavailability(target, total, count)


def procedure_view(rollback: RollbackReport) -> HopReport:
    """A procedure drawn on its own clock, as a hop the timeline already knows how to draw.

    The report keeps a procedure's times on its hop's clock; drawn on that clock, a
    ten-minute restore after a one-hour upgrade would be a sliver at the right edge. Shifting
    by the procedure's start makes its steps and outages fill the picture.
    """
    shift = finite(rollback.start)
    return HopReport(
        name=rollback.name,
        old="",
        new="",
        kind="",
        started=0.0,
        seconds=rollback.seconds,
        probe_targets=rollback.probe_targets,
        samples=rollback.samples,
        outages=tuple(
            OutageRow(o.target, o.start - shift, o.end - shift, o.reason) for o in rollback.outages
        ),
        step_spans=tuple((row.step, row.start - shift, row.end - shift) for row in rollback.steps),
    )


def render_procedure_svg(rollback: RollbackReport) -> str:
    """The procedure's steps with its outages overlaid, as an inline ``<svg>`` element."""
    return render_svg(procedure_view(rollback))


def axis_seconds(hop: HopReport) -> float:
    """The length the x axis covers: the hop, stretched if a step or outage ran past it."""
    ends = [hop.seconds, *(o.end for o in hop.outages), *(s[2] for s in hop.step_spans)]
    longest = max((finite(end) for end in ends), default=0.0)
    return longest if longest > 0 else 1.0


def render_svg(hop: HopReport) -> str:
    """The hop's timeline as an inline ``<svg>`` element."""
    span = axis_seconds(hop)
    targets = lanes(hop)
    band = bool(hop.step_spans)
    lanes_top = TOP + (BAND_HEIGHT + LANE_GAP if band else 0)
    axis_top = lanes_top + max(len(targets), 1) * (LANE_HEIGHT + LANE_GAP)
    height = axis_top + AXIS_HEIGHT
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{esc("availability during " + hop.name)}">'
    ]
    if band:
        parts += _step_band(hop, span)
    parts += _lanes(hop, targets, lanes_top, span)
    parts += _axis(span, axis_top)
    parts.append("</svg>")
    return "\n".join(parts)


def _x(seconds: float, span: float) -> float:
    """Plot x of a hop-relative time, clamped so nothing is drawn outside the plot."""
    return PLOT_X + PLOT_WIDTH * min(max(finite(seconds), 0.0), span) / span


def _bar(start: float, end: float, span: float) -> tuple[float, float]:
    """Left edge and width of an interval, at least :data:`MIN_BAR` wide and inside the plot."""
    left, right = _x(start, span), _x(max(finite(start), finite(end)), span)
    width = max(right - left, MIN_BAR)
    return min(left, PLOT_X + PLOT_WIDTH - width), width


def _rect(cls: str, x: float, y: float, width: float, height: float, fill: str, title: str) -> str:
    """One rectangle with its tooltip."""
    return (
        f'<rect class="{cls}" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{height:.2f}" '
        f'fill="{fill}"><title>{esc(title)}</title></rect>'
    )


def _label(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "label") -> str:
    """A text element; the font is set by the page's CSS."""
    return f'<text class="{cls}" x="{x:.2f}" y="{y:.2f}" text-anchor="{anchor}">{esc(text)}</text>'


def _fit(text: str, width: float) -> str:
    """As much of ``text`` as fits ``width`` pixels; nothing when even three letters do not."""
    room = int((width - 4) / CHAR_WIDTH)
    if len(text) <= room:
        return text
    return text[: room - 1] + "…" if room >= 3 else ""


def _step_band(hop: HopReport, span: float) -> list[str]:
    """The runbook steps as a thin band above the lanes, labelled where the label fits."""
    parts = [_label(PLOT_X - 8, TOP + 14, "steps", anchor="end")]
    for index, (name, start, end) in enumerate(hop.step_spans):
        x, width = _bar(start, end, span)
        title = f"{name}: {finite(start):.1f} s to {finite(end):.1f} s"
        parts.append(_rect("step", x, TOP, width, BAND_HEIGHT, STEP_FILLS[index % 2], title))
        if shown := _fit(name, width):
            parts.append(_label(x + 2, TOP + 14, shown, cls="step-label"))
    return parts


def _lanes(hop: HopReport, targets: tuple[str, ...], top: float, span: float) -> list[str]:
    """One lane per target: green where available, grey if never sampled, red per outage."""
    if not targets:
        return [_label(PLOT_X, top + 13, "no probe targets")]
    parts: list[str] = []
    for index, target in enumerate(targets):
        y = top + index * (LANE_HEIGHT + LANE_GAP)
        parts.append(_label(PLOT_X - 8, y + 13, _fit(target, PLOT_X - 8) or "…", anchor="end"))
        # a lane never sampled is grey: green would claim an availability nobody measured
        cls, fill, state = _LANE_STATES[hop.samples > 0]
        parts.append(_rect(cls, PLOT_X, y, PLOT_WIDTH, LANE_HEIGHT, fill, f"{target}: {state}"))
        for outage in (o for o in hop.outages if o.target == target):
            x, width = _bar(outage.start, outage.end, span)
            title = (
                f"{target}: {outage.reason} from {finite(outage.start):.1f} s "
                f"to {finite(outage.end):.1f} s ({outage.seconds:.1f} s)"
            )
            parts.append(_rect("outage", x, y, width, LANE_HEIGHT, RED, title))
    return parts


def _line(cls: str, x1: float, y1: float, x2: float, y2: float) -> str:
    """A straight axis stroke."""
    return f'<line class="{cls}" x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="{INK}"/>'


def _axis(span: float, top: float) -> list[str]:
    """The seconds axis with round-numbered ticks."""
    right = PLOT_X + PLOT_WIDTH
    parts = [_line("axis", PLOT_X, top, right, top)]
    for tick in ticks(span):
        x = _x(tick, span)
        parts.append(_line("tick", x, top, x, top + TICK))
        parts.append(_label(x, top + 16, f"{tick:g} s", anchor="middle", cls="tick-label"))
    return parts


def ticks(span: float) -> list[float]:
    """Tick positions at 1, 2 or 5 times a power of ten, four to nine across the axis."""
    raw = span / 8
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [round(i * step, 6) for i in range(int(span / step + 1e-9) + 1)]
