"""Byte-range map pixels without Qt: one row of colours per layer lane, coloured by
byte class and, for shared chunks, by a binned "shared by how many layers" scale.

A pixel column covers a byte range of a lane; its colour is the byte-weighted mean of
the colours of the chunks inside it, so a column half shared and half unique shows
half-way. Prefix sums over chunks make each lane O(chunks + width): a million chunks
rasterise in milliseconds, whatever the zoom.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np

from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE, DedupIndex

BACKGROUND = (246, 246, 246)
CLASS_COLORS = {
    UNIQUE: (170, 178, 189),  # grey: bytes no other chunk repeats
    DUPLICATE: (235, 150, 40),  # amber: repeated inside the same layer
    SHARED: (30, 120, 190),  # blue: also in another layer (darker = more layers)
}
SHARED_LIGHT = (120, 190, 235)
SHARED_DARK = (10, 55, 120)


# -- the "shared by how many layers" scale -------------------------------------------------
# A continuous ramp from "shared by 2" to "shared by all" gives every count its own shade,
# and at 68 layers neighbouring shades cannot be told apart. Instead the counts fall into
# bins doubling in width (2, 3-4, 5-8, 9-16, 17-32, 33-64, 65-128, ..., 513 and more),
# and the bins the loaded layers can reach share the light-to-dark palette between them:
# two layers use one colour, 68 layers seven, 300 layers nine. The window's map and the
# HTML report's both colour by these bins and show one legend swatch per bin.
MAX_BINS = 10  # 513 layers and more share the darkest colour
# Light blue to deep indigo: dark enough at the end, and far from the amber and grey of
# the other classes all along.
PALETTE_STOPS = np.array(
    [SHARED_LIGHT, (60, 150, 215), (25, 100, 175), (15, 60, 130), (45, 25, 95)], dtype=float
)


def share_bin(count: np.ndarray | int) -> np.ndarray:
    """The bin of "shared by ``count`` layers" (count >= 2): floor(log2(count - 1))."""
    counts = np.maximum(np.asarray(count, dtype=np.int64) - 1, 1)
    return np.minimum(np.floor(np.log2(counts)).astype(np.int64), MAX_BINS - 1)


def bins_for(n_layers: int) -> int:
    """How many bins the counts 2..``n_layers`` reach (0 for fewer than two layers)."""
    return 0 if n_layers < 2 else int(share_bin(n_layers)) + 1


def bin_range(k: int, n_layers: int) -> tuple[int, int]:
    """The share counts of bin ``k``, capped at ``n_layers``."""
    low = 2 if k == 0 else 2**k + 1
    high = 2 if k == 0 else 2 ** (k + 1)
    if k == MAX_BINS - 1:
        high = n_layers
    return low, min(high, n_layers)


def bin_label(k: int, n_layers: int) -> str:
    low, high = bin_range(k, n_layers)
    return str(low) if low == high else f"{low}–{high}"


def bin_colors(n_layers: int) -> np.ndarray:
    """(bins, 3) RGB of the bins reachable with ``n_layers``, light to dark."""
    count = max(1, bins_for(n_layers))
    if count == 1:
        return PALETTE_STOPS[:1].copy()
    positions = np.linspace(0.0, 1.0, count) * (len(PALETTE_STOPS) - 1)
    low = np.floor(positions).astype(int).clip(0, len(PALETTE_STOPS) - 2)
    t = (positions - low)[:, None]
    return np.rint((1 - t) * PALETTE_STOPS[low] + t * PALETTE_STOPS[low + 1])


def chunk_colors(classes: np.ndarray, share_counts: np.ndarray, n_layers: int) -> np.ndarray:
    """RGB (float, 0..255) per chunk: grey, amber, or the bin colour of its share count."""
    colors = np.empty((len(classes), 3), dtype=np.float64)
    colors[classes == UNIQUE] = CLASS_COLORS[UNIQUE]
    colors[classes == DUPLICATE] = CLASS_COLORS[DUPLICATE]
    shared = classes == SHARED
    if shared.any():
        palette = bin_colors(n_layers)
        bins = np.minimum(share_bin(share_counts[shared]), len(palette) - 1)
        colors[shared] = palette[bins]
    return colors


def describe_bins(n_layers: int) -> list[tuple[str, tuple[int, int, int]]]:
    """(label, colour) per bin reachable with ``n_layers``."""
    palette = bin_colors(n_layers)
    return [(bin_label(k, n_layers), rgb_tuple(palette[k])) for k in range(bins_for(n_layers))]


def rgb_tuple(color: np.ndarray | Sequence[float]) -> tuple[int, int, int]:
    r, g, b = (round(float(c)) for c in color)
    return r, g, b


# A legend part: ("swatch", rgb) or ("text", label, short label for a narrow legend).
LegendPart = tuple[str, tuple[int, int, int]] | tuple[str, str, str]


def legend_entries(n_layers: int) -> list[list[LegendPart]]:
    """The map's colour key, drawn alike by the window and the HTML report: unique,
    duplicate, then one swatch per "shared by" bin labelled with its counts."""
    entries: list[list[LegendPart]] = [
        [("swatch", CLASS_COLORS[UNIQUE]), ("text", "unique", "unique")],
        [("swatch", CLASS_COLORS[DUPLICATE]), ("text", "duplicate within layer", "duplicate")],
    ]
    bins = describe_bins(n_layers)
    if n_layers == 2:
        entries.append([("swatch", bins[0][1]), ("text", "shared by both layers", "shared")])
    elif n_layers > 2:
        shared: list[LegendPart] = [("text", "shared by", "shared")]
        for label, rgb in bins:
            shared += [("swatch", rgb), ("text", label, label)]
        shared.append(("text", "layers", ""))
        entries.append(shared)
    return entries


# -- pixels ------------------------------------------------------------------------------
class LanePixels:
    """A lane ready to rasterise at any zoom: colour mass prefix sums over its chunks.

    ``weighted[k]`` is the sum over chunks before k of length * colour, so the colour
    mass up to byte p is ``weighted[i] + (p - offsets[i]) * colour[i]`` (i the chunk at
    p) and a column's mean colour costs two binary searches.
    """

    def __init__(self, offsets: np.ndarray, lengths: np.ndarray, colors: np.ndarray) -> None:
        self.offsets = np.asarray(offsets, dtype=np.float64)
        self.colors = np.asarray(colors, dtype=np.float64)
        self.end = float(offsets[-1] + lengths[-1]) if len(offsets) else 0.0
        self.weighted = np.zeros((len(offsets) + 1, 3))
        np.cumsum(np.asarray(lengths)[:, None] * self.colors, axis=0, out=self.weighted[1:])

    def pixels(self, start: float, end: float, width: int) -> np.ndarray:
        """(width, 3) uint8 colours of the byte range [start, end); background past the lane."""
        out = np.empty((width, 3), dtype=np.uint8)
        out[:] = BACKGROUND
        if width <= 0 or end <= start or len(self.offsets) == 0:
            return out
        edges = np.linspace(start, end, width + 1)
        clipped = np.clip(edges, 0.0, self.end)
        last = len(self.offsets) - 1
        chunk = np.clip(np.searchsorted(self.offsets, clipped, side="right") - 1, 0, last)
        mass = self.weighted[chunk] + (clipped - self.offsets[chunk])[:, None] * self.colors[chunk]
        covered = np.diff(clipped)
        inside = covered > 0
        mean = np.diff(mass, axis=0)[inside] / covered[inside][:, None]
        # A column only partly inside the lane fades towards the background.
        fill = (covered[inside] / np.diff(edges)[inside])[:, None]
        blended = mean * fill + np.array(BACKGROUND) * (1 - fill)
        out[inside] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
        return out


def rasterize_lane(
    offsets: np.ndarray,
    lengths: np.ndarray,
    colors: np.ndarray,
    start: float,
    end: float,
    width: int,
) -> np.ndarray:
    """One-off rasterisation; keep a ``LanePixels`` to redraw a lane at many zooms."""
    return LanePixels(offsets, lengths, colors).pixels(start, end, width)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (height, width, 3) uint8 array as a PNG file."""
    height, width, _ = rgb.shape
    raw = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # filter byte 0 per row
    raw[:, 1:] = rgb.reshape(height, width * 3)

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def bar_px(value: float, scale: float, width: int) -> int:
    """Length in pixels of ``value`` where ``scale`` fills ``width``; a non-zero value
    never disappears."""
    if value <= 0 or scale <= 0:
        return 0
    return max(1, round(width * value / scale))


def lane_widths(sizes: Sequence[int], width: int) -> list[int]:
    """Pixels per lane: every lane at the bytes per pixel of the largest, which fills
    ``width``; an empty layer still gets one pixel."""
    largest = max(sizes, default=0)
    return [bar_px(size, largest, width) or 1 for size in sizes]


def lane_row(
    offsets: np.ndarray,
    lengths: np.ndarray,
    classes: np.ndarray,
    holders: np.ndarray,
    n_layers: int,
    layer_bytes: int,
    lane_width: int,
) -> np.ndarray:
    """One lane's (lane_width, 3) uint8 pixels from its chunks in offset order, their
    byte classes and the number of layers holding each.

    The one drawing of a lane: the Dask workers call it too, so both paths give the same
    pixels.
    """
    colors = chunk_colors(classes, holders, n_layers)
    return LanePixels(offsets, lengths, colors).pixels(0, layer_bytes, lane_width)


def draw_lane_rows(
    layer_bytes: Sequence[int],
    offsets: Sequence[np.ndarray],
    lengths: Sequence[np.ndarray],
    index: DedupIndex,
    width: int,
) -> list[np.ndarray]:
    """Every lane's pixels (``lane_row``) from each layer's chunk offsets and lengths and
    the index over them, the lanes sized by ``lane_widths``."""
    widths = lane_widths(layer_bytes, width)
    return [
        lane_row(
            offsets[i],
            lengths[i],
            index.chunk_classes[i],
            index.layer_count[index.chunk_ids[i]],
            len(layer_bytes),
            size,
            widths[i],
        )
        for i, size in enumerate(layer_bytes)
    ]
