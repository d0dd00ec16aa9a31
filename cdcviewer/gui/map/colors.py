"""How many layers share a chunk, as a few colours a reader can tell apart; no Qt.

A continuous ramp from "shared by 2" to "shared by all" gives every count its own shade,
and at 68 layers neighbouring shades cannot be told apart. Instead the counts fall into
bins doubling in width (2, 3-4, 5-8, 9-16, 17-32, 33-64, 65-128, ..., 513 and more),
and the bins the loaded layers can reach share the light-to-dark palette between them:
two layers use one colour, 68 layers seven, 300 layers nine. Each bin is a swatch
in the map's legend with the counts it stands for.
"""

from __future__ import annotations

import numpy as np

from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE
from cdcviewer.index.raster import CLASS_COLORS, SHARED_LIGHT

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


def lane_colors(classes: np.ndarray, share_counts: np.ndarray, n_layers: int) -> np.ndarray:
    """RGB (float) per chunk: grey, amber, or the bin colour of its share count."""
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
    """(label, colour) per bin, for legends."""
    palette = bin_colors(n_layers)
    return [
        (bin_label(k, n_layers), tuple(int(c) for c in palette[k]))
        for k in range(bins_for(n_layers))
    ]
