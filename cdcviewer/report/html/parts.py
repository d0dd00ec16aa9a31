"""Building blocks of the HTML report's sections: figures as text, tables, bars, legends.

Text that comes from the inputs (names, paths) is escaped where it is placed; the
helpers here escape what they format themselves.
"""

from __future__ import annotations

import base64
from html import escape

from cdcviewer.base.params import format_size
from cdcviewer.index.raster import bar_px
from cdcviewer.report.html.style import CLASS_SWATCHES

BAR_WIDTH = 140  # pixels for the largest layer in the per-layer table


# -- figures -----------------------------------------------------------------------------
def percent(fraction: float, digits: int = 1) -> str:
    return f"{100 * fraction:.{digits}f}%"


def thousands(n: int) -> str:
    """``1234567`` -> ``'1,234,567'``."""
    return f"{n:,}"


def size_text(n: float) -> str:
    """``format_size``, escaped for HTML."""
    return escape(format_size(n))


def size_and_bytes(n: int) -> str:
    """Human-readable and exact: ``'7.65 KiB (7,838 B)'``."""
    return f"{size_text(n)} ({thousands(n)} B)"


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- layout ------------------------------------------------------------------------------
def section(anchor: str, title: str, body: str) -> str:
    """A titled section of the page; ``anchor`` is its id, for links."""
    return f'<section id="{anchor}"><h2>{title}</h2>{body}</section>'


def scroll_table(rows: str) -> str:
    """A bordered table that scrolls sideways instead of widening the page."""
    return f'<div class="scroll"><table class="grid">{rows}</table></div>'


def kv_table(rows: list[tuple[str, str]]) -> str:
    """Label / value rows; the labels are escaped, the values are HTML already."""
    body = "".join(f"<tr><td>{escape(k)}</td><td class=l>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def legend(items: list[tuple[str, str]]) -> str:
    """A colour swatch before each label."""
    return "".join(
        f'<span class="swatch" style="background:{color}"></span>{escape(label)}'
        for color, label in items
    )


CLASS_LEGEND = legend(CLASS_SWATCHES)


# -- bars --------------------------------------------------------------------------------
def bar(value: float, scale: float, color: str, width: int = BAR_WIDTH) -> str:
    """One bar ``value / scale`` of a track ``width`` pixels long."""
    return (
        f'<span class="bar" style="width:{width}px">'
        f'<i style="width:{bar_px(value, scale, width)}px;background:{color}"></i></span>'
    )


def composition_bar(figures: dict, scale: int) -> str:
    """A bar as long as ``figures["bytes"]`` (to ``scale``), split into its unique,
    duplicate and shared bytes; the hover text names the three sizes."""
    total = bar_px(figures["bytes"], scale, BAR_WIDTH)
    parts = []
    used = 0
    # The figures name each class's bytes after it: unique_bytes, duplicate_bytes, ...
    pieces = [(figures[f"{label}_bytes"], color, label) for color, label in CLASS_SWATCHES]
    for k, (value, color, _) in enumerate(pieces):
        # The last non-empty piece takes the rounding remainder so pieces fill the bar.
        last = not any(v > 0 for v, _, _ in pieces[k + 1 :])
        left = total - used
        width = left if last else min(left, bar_px(value, figures["bytes"], total))
        if value > 0 and width > 0:
            parts.append(f'<i style="width:{width}px;background:{color}"></i>')
            used += width
    hover = ", ".join(
        f"{label} {format_size(value)}" for value, _, label in pieces if figures["bytes"]
    )
    return (
        f'<span class="bar" style="width:{total}px" title="{escape(hover)}">'
        + "".join(parts)
        + "</span>"
    )
