"""Small hand-written SVG charts for the HTML report: a bar chart and a two-axis line chart.

Inline SVG needs no script, font or external asset, so the report stays one file that a
browser opens from a mail attachment. Output is deterministic (fixed number formatting)
so the same figures always give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
AXIS_COLOR = "#666"
GRID_COLOR = "#e4e4e4"
TEXT_COLOR = "#333"

Formatter = Callable[[float], str]


def _n(value: float) -> str:
    """Coordinates with at most one decimal, without a trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values 0, step, 2*step ... covering ``top`` (step 1, 2 or 5 x 10^k)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def binary_ticks(top: float, count: int = 5) -> tuple[list[float], int]:
    """Ticks for byte values: round numbers of the largest binary unit below ``top``."""
    unit = 1
    while unit * 1024 <= top:
        unit *= 1024
    return [t * unit for t in nice_ticks(top / unit, count)], unit


@dataclass(frozen=True)
class Frame:
    """An SVG canvas and the plot area inside its margins."""

    width: int
    height: int
    left: int = 64
    right: int = 16
    top: int = 28
    bottom: int = 44

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def base(self) -> float:
        return self.height - self.bottom

    def y(self, value: float, top_value: float) -> float:
        return self.base - (value / top_value if top_value else 0.0) * self.plot_height


def text(
    x: float,
    y: float,
    content: str,
    anchor: str = "middle",
    size: int = 11,
    fill: str = TEXT_COLOR,
    **attrs: str,
) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{escape(fill)}"{extra}>{escape(content)}</text>'
    )


def document(frame: Frame, body: Sequence[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{frame.width}" '
        f'height="{frame.height}" viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="{escape(label)}" style="{FONT}">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _y_axis(
    frame: Frame, ticks: Sequence[float], fmt: Formatter, side: str = "left", grid: bool = True
) -> list[str]:
    top_value = ticks[-1]
    parts = []
    x = frame.left if side == "left" else frame.width - frame.right
    for tick in ticks:
        y = frame.y(tick, top_value)
        if grid:
            parts.append(
                f'<line x1="{frame.left}" y1="{_n(y)}" x2="{_n(frame.width - frame.right)}" '
                f'y2="{_n(y)}" stroke="{GRID_COLOR}" stroke-width="1"/>'
            )
        if side == "left":
            parts.append(text(x - 6, y + 4, fmt(tick), anchor="end"))
        else:
            parts.append(text(x + 6, y + 4, fmt(tick), anchor="start"))
    parts.append(
        f'<line x1="{x}" y1="{frame.top}" x2="{x}" y2="{_n(frame.base)}" '
        f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    return parts


def bar_chart(
    counts: Sequence[int],
    labels: Sequence[str | None],
    *,
    title: str,
    y_label: str,
    color: str,
    markers: Sequence[tuple[float, str]] = (),
    width: int = 720,
    height: int = 260,
) -> str:
    """Equal-width bars; ``labels[k]`` (None to skip) is written under the left edge of bar k
    and ``labels[len(counts)]`` under the right end. ``markers`` are (bar position, text)
    dashed vertical lines, position in bar units from the left edge."""
    frame = Frame(width, height, right=36)
    ticks = nice_ticks(max(counts, default=0) or 1)
    slot = frame.plot_width / max(1, len(counts))
    body = _y_axis(frame, ticks, lambda v: f"{v:,.0f}")
    for k, count in enumerate(counts):
        if count <= 0:
            continue
        y = frame.y(count, ticks[-1])
        body.append(
            f'<rect x="{_n(frame.left + k * slot + 1)}" y="{_n(y)}" '
            f'width="{_n(max(1.0, slot - 2))}" height="{_n(frame.base - y)}" fill="{color}">'
            f"<title>{escape(f'{count:,} chunks')}</title></rect>"
        )
    for k, label in enumerate(labels):
        if label is None:
            continue
        x = frame.left + k * slot
        body.append(
            f'<line x1="{_n(x)}" y1="{_n(frame.base)}" x2="{_n(x)}" y2="{_n(frame.base + 4)}" '
            f'stroke="{AXIS_COLOR}"/>'
        )
        body.append(text(x, frame.base + 16, label))
    for position, label in markers:
        x = frame.left + position * slot
        body.append(
            f'<line x1="{_n(x)}" y1="{frame.top}" x2="{_n(x)}" y2="{_n(frame.base)}" '
            f'stroke="#c0392b" stroke-dasharray="4 3" stroke-width="1"/>'
        )
        body.append(text(x, frame.top - 6, label, fill="#c0392b", font_weight="600"))
    body.append(
        f'<line x1="{frame.left}" y1="{_n(frame.base)}" x2="{_n(frame.width - frame.right)}" '
        f'y2="{_n(frame.base)}" stroke="{AXIS_COLOR}"/>'
    )
    body.append(text(frame.left + frame.plot_width / 2, height - 8, title))
    body.append(
        text(
            14,
            frame.top + frame.plot_height / 2,
            y_label,
            transform=f"rotate(-90 14 {_n(frame.top + frame.plot_height / 2)})",
        )
    )
    return document(frame, body, f"{title}: {y_label}")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]
    color: str
    axis: str  # "left" or "right"
    fmt: Formatter
    ticks: Sequence[float]


def line_chart(
    x_labels: Sequence[str],
    left: Series,
    right: Series,
    *,
    title: str,
    highlight: int | None = None,
    width: int = 720,
    height: int = 300,
    more_left: Sequence[Series] = (),
) -> str:
    """Two series over evenly spaced x positions, each against its own y axis, and
    ``more_left`` series against the left one. The point values are written next to the
    points so the chart reads without hovering."""
    frame = Frame(width, height, left=72, right=80, top=40)
    n = len(x_labels)
    inset = 36  # keeps end points and their value labels clear of the axes
    step = (frame.plot_width - 2 * inset) / (n - 1) if n > 1 else 0.0

    def x_at(k: int) -> float:
        return frame.left + (inset + k * step if n > 1 else frame.plot_width / 2)

    body = _y_axis(frame, left.ticks, left.fmt, "left")
    body += _y_axis(frame, right.ticks, right.fmt, "right", grid=False)
    if highlight is not None and 0 <= highlight < n:
        x = x_at(highlight)
        body.append(
            f'<line x1="{_n(x)}" y1="{frame.top}" x2="{_n(x)}" y2="{_n(frame.base)}" '
            f'stroke="#999" stroke-dasharray="4 3"/>'
        )
    for k, label in enumerate(x_labels):
        body.append(text(x_at(k), frame.base + 16, label))
    for series in (left, *more_left, right):
        top_value = series.ticks[-1]
        points = [(x_at(k), frame.y(v, top_value)) for k, v in enumerate(series.values)]
        dash = ' stroke-dasharray="6 3"' if series.axis == "right" else ""
        body.append(
            f'<polyline fill="none" stroke="{series.color}" stroke-width="2"{dash} points="'
            + " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
            + '"/>'
        )
        for (x, y), value in zip(points, series.values, strict=True):
            body.append(
                f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{series.color}">'
                f"<title>{escape(f'{series.label}: {series.fmt(value)}')}</title></circle>"
            )
            # Above the point in the lower part of the plot, below it near the top, so labels
            # stay clear of the x labels and the legend; left series to the left, right
            # series to the right, so the two rarely collide.
            dy = -8 if y > frame.top + 0.4 * frame.plot_height else 16
            dx, anchor = (-5, "end") if series.axis == "left" else (5, "start")
            body.append(
                text(x + dx, y + dy, series.fmt(value), anchor=anchor, size=10, fill=series.color)
            )
    # Legend in the top margin.
    legend_x = frame.left
    for series in (left, *more_left, right):
        dash = ' stroke-dasharray="6 3"' if series.axis == "right" else ""
        body.append(
            f'<line x1="{legend_x}" y1="14" x2="{legend_x + 22}" y2="14" '
            f'stroke="{series.color}" stroke-width="2"{dash}/>'
        )
        caption = f"{series.label} ({series.axis} axis)"
        body.append(text(legend_x + 28, 18, caption, anchor="start"))
        legend_x += 40 + 7 * len(caption)
    body.append(text(frame.left + frame.plot_width / 2, height - 8, title))
    return document(frame, body, f"{title}: {left.label} and {right.label}")
