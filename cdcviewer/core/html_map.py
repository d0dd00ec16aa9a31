"""The HTML report's byte-range map: one PNG lane per layer, coloured by byte class."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import numpy as np

from .dedup import SHARED
from .html_parts import bar_px, legend, png_data_uri, section, size_text
from .html_style import DUPLICATE_COLOR, UNIQUE_COLOR, rgb_hex
from .params import format_size
from .raster import SHARED_DARK, SHARED_LIGHT, LanePixels, chunk_colors, png_bytes

if TYPE_CHECKING:
    from .analysis import Analysis

MAP_WIDTH = 720  # pixels for the largest layer; other lanes keep the same bytes per pixel
LANE_HEIGHT = 14


def lane_images(analysis: Analysis, width: int = MAP_WIDTH) -> list[bytes]:
    """One PNG per layer, all at the same bytes per pixel (the largest layer fills
    ``width``), coloured by byte class; shared chunks darken with the number of layers."""
    index = analysis.index
    n_layers = len(analysis.layers)
    largest = max((layer.bytes for layer in analysis.layers), default=0)
    images = []
    for i, (layer, chunks) in enumerate(zip(analysis.layers, analysis.chunks, strict=True)):
        lane_width = bar_px(layer.bytes, largest, width) or 1
        colors = chunk_colors(
            index.chunk_classes[i], index.layer_count[index.chunk_ids[i]], n_layers
        )
        row = LanePixels(chunks.offsets, chunks.lengths, colors).pixels(0, layer.bytes, lane_width)
        images.append(png_bytes(np.repeat(row[None, :, :], LANE_HEIGHT, axis=0)))
    return images


def map_section(analysis: Analysis) -> str:
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
