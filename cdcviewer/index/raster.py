"""Byte-range map pixels without Qt: one row of colours per layer lane.

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


def chunk_colors(classes: np.ndarray, share_counts: np.ndarray, n_layers: int) -> np.ndarray:
    """RGB (float, 0..255) per chunk; shared chunks shade from light (2 layers) to dark (all)."""
    colors = np.empty((len(classes), 3), dtype=np.float64)
    colors[classes == UNIQUE] = CLASS_COLORS[UNIQUE]
    colors[classes == DUPLICATE] = CLASS_COLORS[DUPLICATE]
    shared = classes == SHARED
    if shared.any():
        span = max(1, n_layers - 2)
        t = np.clip((share_counts[shared] - 2) / span, 0.0, 1.0)[:, None]
        colors[shared] = (1 - t) * np.array(SHARED_LIGHT) + t * np.array(SHARED_DARK)
    return colors


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
