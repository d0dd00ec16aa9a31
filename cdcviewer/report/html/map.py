"""The HTML report's byte-range map: one PNG lane per layer, coloured by byte class."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.base.params import format_size
from cdcviewer.index.raster import legend_entries, png_bytes
from cdcviewer.report.html.parts import png_data_uri, section, size_text
from cdcviewer.report.html.style import rgb_hex

if TYPE_CHECKING:
    from cdcviewer.analysis.result import AnalysisResult

MAP_WIDTH = 720  # pixels for the largest layer; other lanes keep the same bytes per pixel
LANE_HEIGHT = 14


def lane_images(analysis: AnalysisResult, width: int = MAP_WIDTH) -> list[bytes]:
    """One PNG per layer, all at the same bytes per pixel (the largest layer fills
    ``width``), coloured by byte class; shared chunks by the bin of the number of layers
    holding them, as in the window (``index.raster.chunk_colors``)."""
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
        f"it.</p><p class=note>{map_legend(len(analysis.layers))}</p>"
        f'<div class="scroll"><table>{"".join(rows)}</table></div>',
    )


def map_legend(n_layers: int) -> str:
    """The map's colour key as the window draws it (``index.raster.legend_entries``):
    unique, duplicate, and one swatch per "shared by" bin labelled with its counts."""
    entries = []
    for entry in legend_entries(n_layers):
        # The spaces and the swatches' &nbsp; keep the key readable where CSS is not
        # applied (a text view, Qt's rich text); CSS gives the gaps in a browser.
        parts = [
            f'<span class="swatch" style="background:{rgb_hex(part[1])}">&nbsp;</span>'
            if part[0] == "swatch"
            else f"<span>{escape(str(part[1]))}</span>"
            for part in entry
        ]
        entries.append(f'<span class="key">{" ".join(parts)}</span>')
    return " ".join(entries)
