"""FastCDC 2020 cuts of small inputs in numpy alone, so a short command never waits for
numba (importing it and setting up its compiled code costs half a second; a 2 MB input
takes a few dozen milliseconds here).

The never-restarted hash ``R(p) = (R(p-1) << 1) + GEAR[b[p]]`` (mod 2**64) is ``H(p)`` of
``gear.py``, since terms older than 64 bytes are shifted out; numpy builds it for every
position by doubling: ``W_2m(p) = (W_m(p-m) << m) + W_m(p)``, six passes. A chunk from
``s`` restarts the hash at its first hashed offset ``f``; there the restarted hash is
``R(p) - (R(f-1) << (p-f+1))``, so the first 63 offsets are tested from ``R`` too, and
every later one (where the two agree on every bit) from the positions passing each mask.
"""

from __future__ import annotations

import numpy as np

from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels.gear import GEAR, WARMUP, strict_loose_masks

SMALL_INPUT = 8 << 20  # bytes up to which the analysis may cut this way
_SHIFTS = np.arange(1, WARMUP + 1, dtype=np.uint64)
_BLOCK = 1 << 15  # positions hashed at once (256 KiB of hashes: in cache)


def rolling_hashes(data: np.ndarray) -> np.ndarray:
    """``R(p)`` for every position of ``data`` (uint64), with nothing before it; built a
    block at a time so the doubling passes run in cache."""
    n = int(data.shape[0])
    hashes = np.empty(n, np.uint64)
    scratch = np.empty(_BLOCK + WARMUP, np.uint64)
    for start in range(0, n, _BLOCK):
        begin, stop = max(0, start - WARMUP), min(n, start + _BLOCK)
        block = np.take(GEAR, data[begin:stop])
        shifted = scratch[: stop - begin]
        width = 1
        while width < 64:
            np.left_shift(block[:-width], np.uint64(width), out=shifted[width:])
            block[width:] += shifted[width:]
            width *= 2
        hashes[start:stop] = block[start - begin :]
    return hashes


def cut_small(data: np.ndarray, params: ChunkerParams) -> np.ndarray:
    """Chunk start offsets of ``data`` (int64), equal to the compiled cut's."""
    n = int(data.shape[0])
    mask_s, mask_l = (np.uint64(mask) for mask in strict_loose_masks(params))
    hashes = rolling_hashes(data)
    passes_strict = np.flatnonzero((hashes & mask_s) == 0)
    passes_loose = np.flatnonzero((hashes & mask_l) == 0)
    min_size, avg_size, max_size = params.min_size, params.avg_size, params.max_size
    offsets = []
    s = 0
    while s < n:
        offsets.append(s)
        remaining = n - s
        if remaining <= min_size:
            break
        end = min(remaining, max_size)
        center = remaining if remaining < avg_size else avg_size
        first = s + 2 * (min_size // 2)
        strict_until = s + 2 * (center // 2)
        test_until = s + 2 * (end // 2)
        cut = _first_restarted(hashes, first, strict_until, test_until, mask_s, mask_l)
        if cut is None:
            late = min(first + WARMUP, test_until)
            cut = _first_in(passes_strict, late, strict_until)
            if cut is None:
                cut = _first_in(passes_loose, max(late, strict_until), test_until)
        s = end + s if cut is None else cut
    return np.array(offsets, dtype=np.int64)


def _first_restarted(
    hashes: np.ndarray,
    first: int,
    strict_until: int,
    test_until: int,
    mask_s: np.uint64,
    mask_l: np.uint64,
) -> int | None:
    """The first of the 63 offsets from ``first`` whose restarted hash passes its mask."""
    stop = min(first + WARMUP, test_until)
    if stop <= first:
        return None
    before = hashes[first - 1] if first > 0 else np.uint64(0)
    restarted = hashes[first:stop] - (before << _SHIFTS[: stop - first])
    positions = np.arange(first, stop)
    masks = np.where(positions < strict_until, mask_s, mask_l)
    passing = np.flatnonzero((restarted & masks) == 0)
    return int(first + passing[0]) if len(passing) else None


def _first_in(passing: np.ndarray, start: int, stop: int) -> int | None:
    at = int(np.searchsorted(passing, start))
    if at < len(passing) and passing[at] < stop:
        return int(passing[at])
    return None
