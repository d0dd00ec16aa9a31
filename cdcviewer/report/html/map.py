"""The HTML report's byte-range map: one PNG lane per layer, coloured by byte class."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.base.params import format_size
from cdcviewer.index.dedup import SHARED
from cdcviewer.index.raster import SHARED_DARK, SHARED_LIGHT, chunk_colors, png_bytes
from cdcviewer.report.html.parts import legend, png_data_uri, section, size_text
from cdcviewer.report.html.style import DUPLICATE_COLOR, UNIQUE_COLOR, rgb_hex

if TYPE_CHECKING:
    from cdcviewer.analysis.result import AnalysisResult

MAP_WIDTH = 720  # pixels for the largest layer; other lanes keep the same bytes per pixel
LANE_HEIGHT = 14


def lane_images(analysis: AnalysisResult, width: int = MAP_WIDTH) -> list[bytes]:
    """One PNG per layer, all at the same bytes per pixel (the largest layer fills
    ``width``), coloured by byte class; shared chunks darken with the number of layers."""
    return [
        png_bytes(np.repeat(row[None, :, :], LANE_HEIGHT, axis=0))
        for row in analysis.lane_rows(width)
    ]


def map_section(analysis: AnalysisResult) -> str:
    if not analysis.layers:
        return ""
    largest = max(layer.bytes for layer in analysis.layers)
    rows = []
    for k, (layer, figures, png) in enumerate(
        zip(analysis.layers, analysis.index.layers, lane_images(analysis), strict=True), 1
    ):
        hover = (
            f"{layer.name}: {format_size(layer.bytes)}, shared {format_size(figures.shared_bytes)}"
            f", duplicate {format_size(figures.duplicate_bytes)}"
            f", unique {format_size(figures.unique_bytes)}"
        )
        rows.append(
            f'<tr><td>{k}</td><td class="l name">{escape(layer.name)}</td>'
            f'<td class=l><img class="lane" alt="byte map of {escape(layer.name)}" '
            f'title="{escape(hover)}" src="{png_data_uri(png)}"></td></tr>'
        )
    return section(
        "map",
        "Byte-range map",
        '<p class="note">Each lane is a layer\'s uncompressed stream from its first byte '
        "(left) to its last; every lane has the same scale, the widest is "
        f"{size_text(largest)}. A pixel's colour is the byte-weighted mix of the chunks under "
        f"it.</p><p class=note>{legend(_shades(len(analysis.layers)))}</p>"
        f'<div class="scroll"><table>{"".join(rows)}</table></div>',
    )


def _shades(n_layers: int) -> list[tuple[str, str]]:
    """The map's colour key: shared chunks darken with the number of layers holding them,
    so the key shows as many steps as the layers allow."""
    shades = [(UNIQUE_COLOR, "unique"), (DUPLICATE_COLOR, "duplicate in the layer")]
    if n_layers >= 2:
        shades.append((rgb_hex(SHARED_LIGHT), "shared by 2 layers"))
    if n_layers >= 4:
        half = (n_layers + 2) // 2
        middle = chunk_colors(np.array([SHARED]), np.array([half]), n_layers)[0]
        shades.append((rgb_hex(middle), f"by {half}"))
    if n_layers >= 3:
        shades.append((rgb_hex(SHARED_DARK), f"by all {n_layers}"))
    return shades
