"""The chunk-size histogram as drawn: bins clipped at the max line, max-size chunks apart.

Qt-free so the arithmetic is tested on its own. The histogram's bins are half-open,
``edges[k] <= length < edges[k+1]`` (docs/design.md, Definitions), so a chunk of exactly
``max`` bytes falls into a bin that starts at or below max and ends above it: drawn as
is, those chunks sit right of the max line. Here every bin is clipped to end at max,
a bin starting at max (it can only hold max-size chunks) is folded into the one before,
and the chunks of exactly max bytes are counted apart so they can be drawn as their own
bar just inside the line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cdcviewer.base.params import format_size


@dataclass(frozen=True)
class HistogramBars:
    """Bars in log2(bytes): ``counts`` below max, ``at_max`` of exactly max, per bar."""

    x0: np.ndarray
    x1: np.ndarray
    low: np.ndarray  # smallest length of each bar (bytes)
    high: np.ndarray  # largest length of each bar (bytes, inclusive)
    counts: np.ndarray
    at_max: np.ndarray

    @classmethod
    def empty(cls) -> HistogramBars:
        zero = np.zeros(0)
        return cls(zero, zero, zero, zero, zero.astype(np.int64), zero.astype(np.int64))

    @property
    def total(self) -> int:
        return int(self.counts.sum() + self.at_max.sum())

    def describe(self, k: int) -> str:
        """Tooltip text of bar ``k``."""
        text = (
            f"{format_size(int(self.low[k]))} – {format_size(int(self.high[k]))}: "
            f"{int(self.counts[k] + self.at_max[k]):,} chunks"
        )
        if self.at_max[k]:
            text += f" ({int(self.at_max[k]):,} of exactly the maximum size: no boundary found)"
        return text


def histogram_bars(
    edges: list[int], counts: list[int], max_size: int | None, at_max: int = 0
) -> HistogramBars:
    """The bars to draw for ``chunk_size_histogram`` bins; ``max_size`` None draws them as
    they are (fixed-size chunks have no max)."""
    if not counts or not sum(counts):
        return HistogramBars.empty()
    lows = np.asarray(edges[:-1], dtype=np.int64)
    highs = np.asarray(edges[1:], dtype=np.int64) - 1
    number = np.asarray(counts, dtype=np.int64).copy()
    extra = np.zeros(len(number), dtype=np.int64)
    if max_size is not None and edges[0] >= max_size:  # every chunk is max-size
        one = np.array([max_size], dtype=np.int64)
        x = math.log2(max_size)
        rest = np.array([sum(counts) - at_max], dtype=np.int64)
        return HistogramBars(np.array([x - 0.25]), np.array([x]), one, one, rest, one * 0 + at_max)
    if max_size is not None:
        holder = int(np.searchsorted(lows, max_size, side="right")) - 1  # bin holding max
        if holder < len(number):
            number[holder] -= min(at_max, number[holder])
        inside = lows < max_size  # bins starting at or past max hold only max-size chunks
        folded = int(number[~inside].sum())
        lows, highs, number, extra = lows[inside], highs[inside], number[inside], extra[inside]
        highs = np.minimum(highs, max_size)
        last = len(number) - 1
        number[last] += folded
        extra[last] += at_max
        if extra[last]:
            highs[last] = max_size
    keep = np.nonzero(number + extra)[0]
    first, end = (int(keep[0]), int(keep[-1]) + 1) if len(keep) else (0, 0)
    lows, highs = lows[first:end], highs[first:end]
    x0 = np.log2(lows.astype(float))
    x1 = np.log2(highs.astype(float) + 1)
    if max_size is not None and len(x1):
        x1[-1] = min(x1[-1], math.log2(max_size))
    return HistogramBars(x0, x1, lows, highs, number[first:end], extra[first:end])
