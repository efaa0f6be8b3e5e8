"""How numbers and strings look in the report, shared by the page and its timeline.

Kept in one place so a duration reads the same in the headline, the step table and a
tooltip, and so there is one escaping function that every interpolation goes through.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime


def esc(text: object) -> str:
    """Text made inert in HTML element content and in quoted attributes alike."""
    return html.escape(str(text), quote=True)


def finite(value: float, default: float = 0.0) -> float:
    """``value`` unless it is NaN or infinite, which would put ``nan`` into SVG coordinates."""
    return value if math.isfinite(value) else default


def duration(seconds: float) -> str:
    """A length of time at the precision a reader cares about at that scale."""
    seconds = max(0.0, finite(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


def moment(epoch: float) -> str:
    """An epoch timestamp in UTC, so readers in different time zones quote the same time."""
    if not math.isfinite(epoch):
        return "unknown"
    try:
        stamp = datetime.fromtimestamp(epoch, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return "unknown"
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def plural(count: int, word: str) -> str:
    """``1 interval``, ``2 intervals``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
