"""The chunk-size histogram every view draws: log-spaced bins, a quarter octave each."""

from __future__ import annotations

import numpy as np

BINS_PER_OCTAVE = 4


def chunk_size_histogram(lengths: np.ndarray) -> tuple[list[int], list[int]]:
    """Counts of chunk lengths in log-spaced bins (a quarter octave each).

    ``edges`` has one more entry than ``counts``; bin k holds ``edges[k] <= n < edges[k+1]``.
    """
    if len(lengths) == 0:
        return [0, 1], [0]
    low = int(np.floor(np.log2(max(1, int(lengths.min())))))
    high = int(np.floor(np.log2(int(lengths.max())))) + 1
    steps = np.arange(low * BINS_PER_OCTAVE, high * BINS_PER_OCTAVE + 1)
    rounded = np.round(2.0 ** (steps / BINS_PER_OCTAVE)).astype(np.int64)  # ascending
    # Distinct values of a sorted array; np.unique would import numpy.ma (start-up time).
    edges = rounded[np.r_[True, rounded[1:] != rounded[:-1]]]
    edges[-1] = max(int(edges[-1]), int(lengths.max()) + 1)
    counts, _ = np.histogram(lengths, bins=edges)
    # np.histogram closes its last bin; the bound above keeps every bin half-open.
    return edges.tolist(), counts.astype(int).tolist()
