"""Charts drawn on the server as inline SVG: no chart library, no JavaScript, nothing
fetched. The same markup serves the page, the printed page and the PDF report (WeasyPrint
draws SVG), and each chart comes with its figures as a table for people who do not see it.

The figures are integers (satoshis); only the drawing coordinates are floats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# Colours with at least 3:1 contrast against white (WCAG 1.4.11, graphical objects).
PALETTE = ("#00546b", "#8a4b00", "#4c2c92", "#00703c", "#c22e14", "#1d5fa8", "#594d00")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    share: float  # of the largest value, 0..1
    percent: float  # of the total, 0..100
    y: int
    width: float
    colour: str


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    total: int
    width: int
    height: int
    label_width: int
    bar_height: int

    @property
    def empty(self) -> bool:
        return not self.bars


def bar_chart(title: str, items: list[tuple[str, int]], *, width: int = 440,
              label_width: int = 190, bar_height: int = 22, gap: int = 10) -> BarChart:
    """Horizontal bars, one per (label, value); negative values are drawn as empty bars
    (a reversed total is shown in the table, never hidden)."""
    positive_max = max((v for _, v in items if v > 0), default=0)
    total = sum(v for _, v in items)
    plot = width - label_width - 10
    bars = []
    for n, (label, value) in enumerate(items):
        share = value / positive_max if positive_max and value > 0 else 0.0
        bars.append(Bar(label=label, value=value, share=share,
                        percent=(100 * value / total) if total else 0.0,
                        y=n * (bar_height + gap), width=round(plot * share, 2),
                        colour=PALETTE[n % len(PALETTE)]))
    height = max(1, len(items)) * (bar_height + gap)
    return BarChart(title=title, bars=bars, total=total, width=width, height=height,
                    label_width=label_width, bar_height=bar_height)


@dataclass(frozen=True)
class LinePoint:
    day: dt.date
    value: int
    x: float
    y: float


@dataclass(frozen=True)
class LineChart:
    title: str
    points: list[LinePoint]
    width: int
    height: int
    top: int
    bottom: int
    left: int
    maximum: int

    @property
    def empty(self) -> bool:
        return not self.points

    @property
    def path(self) -> str:
        """The polyline as steps: a balance holds until the next posting changes it."""
        if not self.points:
            return ""
        parts = [f"M{self.points[0].x},{self.points[0].y}"]
        for point in self.points[1:]:
            parts.append(f"H{point.x}V{point.y}")
        last = self.points[-1]
        parts.append(f"H{self.width - 10}V{last.y}")
        return "".join(parts)

    @property
    def first(self) -> LinePoint | None:
        return self.points[0] if self.points else None

    @property
    def last(self) -> LinePoint | None:
        return self.points[-1] if self.points else None

    @property
    def axis_y(self) -> int:
        return self.height - self.bottom


def line_chart(title: str, series: list[tuple[dt.date, int]], *, width: int = 640,
               height: int = 220, left: int = 10, top: int = 16, bottom: int = 28) -> LineChart:
    """A step line of a balance over days (series oldest first)."""
    if not series:
        return LineChart(title, [], width, height, top, bottom, left, 0)
    maximum = max(max(v for _, v in series), 1)
    first, last = series[0][0], series[-1][0]
    days = max((last - first).days, 1)
    plot_w = width - left - 20
    plot_h = height - top - bottom
    points = []
    for day, value in series:
        x = left + plot_w * ((day - first).days / days) if len(series) > 1 else left
        y = top + plot_h * (1 - max(value, 0) / maximum)
        points.append(LinePoint(day, value, round(x, 2), round(y, 2)))
    return LineChart(title, points, width, height, top, bottom, left, maximum)


def as_items(rows: Any, label_key: str, value_key: str = "sats") -> list[tuple[str, int]]:
    return [(str(row[label_key]), int(row[value_key])) for row in rows]
