"""Horizontal bar charts drawn on the server as inline SVG (no JavaScript, no download).

The view computes every coordinate here; the template `cases/dashboard_chart.html` only
writes them out. Each chart carries its own text alternative (`summary`, read by screen
readers through the SVG's aria-label) and the page prints the same figures in a table.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils.translation import gettext as _

from prevenance.core.formats import format_percent

WIDTH = 700
LABEL_WIDTH = 240  # the bar labels' column
BAR_AREA = 300  # the longest bar; the rest of the width is for the value written after it
ROW_HEIGHT = 30
BAR_HEIGHT = 18


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str
    y: int
    width: float
    tone: str  # a CSS class suffix: "", "good", "bad", "muted"

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 4

    @property
    def value_x(self) -> float:
        return LABEL_WIDTH + self.width + 6


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    bars: list[Bar]
    height: int
    summary: str
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


def bar_chart(chart_id: str, title: str, rows: list[tuple], *, scale: float | None = None) -> BarChart:
    """rows: (label, value, display[, tone]). Bars are drawn against `scale` (e.g. 100 for
    percentages) or the largest value, so the longest bar fills the area."""
    top = scale or max((float(row[1] or 0) for row in rows), default=0) or 1
    bars = []
    for n, row in enumerate(rows):
        label, value, display = row[0], float(row[1] or 0), row[2]
        tone = row[3] if len(row) > 3 else ""
        width = round(BAR_AREA * min(value, top) / top, 1)
        bars.append(Bar(label=str(label), value=value, display=str(display), y=n * ROW_HEIGHT + 6, width=width, tone=tone))
    summary = "; ".join(f"{bar.label}: {bar.display}" for bar in bars)
    return BarChart(id=chart_id, title=str(title), bars=bars, height=len(bars) * ROW_HEIGHT + 8, summary=f"{title}. {summary}")


def format_duration(value: timedelta | None) -> str:
    """A duration as people say it: "45 min", "3 h 20 min", "2 d 4 h"."""
    if value is None:
        return "—"
    minutes = max(0, int(value.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": mins}
    return _("%(minutes)d min") % {"minutes": mins}


def format_share(rate: float | None) -> str:
    """A rate (0–1) as a percentage: "62.5%" in English, "62,5 %" in French."""
    return "—" if rate is None else format_percent(rate * 100)
