"""FastCDC 2020 cut the way the peer cuts: each chunk hashed from its ``min`` on, nothing
kept for later; and the join that lets segments of one stream be cut in parallel.

The first pass needs cut points, not the hash of every position: skipping each chunk's
first ``min`` bytes hashes about 80% of the stream at the defaults, in one dependency
chain per chunk. The hash runs two bytes per step as fastcdc-rs v2020 does: the first
byte through ``GEAR_LS`` (``GEAR`` shifted left once), tested against the mask shifted
left once, which tests exactly the same bits; then the second byte. The step loop is
unrolled four times so the loop bookkeeping is paid once per 8 bytes.

Segments: a cut started at any offset, once it lands on a true chunk start, continues
with the true chunks (a chunk depends only on where it starts and the bytes after it).
So every segment is cut from its own start, in parallel, and ``join_segment`` continues
the true sequence into the next segment until it reaches one of that segment's cut
points (usually within a chunk or two), from where the segment's own cuts are the true
ones. The result is exact whatever the data; on data where the two never agree (long
periodic runs) the join simply cuts the whole segment itself.
"""

from __future__ import annotations

import numba
import numpy as np

from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels.gear import GEAR, strict_loose_masks

GEAR_LS = GEAR << np.uint64(1)
_U = np.uint64


@numba.njit(inline="always")
def _hash_pairs(data, p, limit, h, mask, mask_ls, gear, gear_ls):  # pragma: no cover
    """Hash byte pairs from ``p`` until ``limit`` (``limit - p`` is even); returns
    (the offset whose hash passes the mask, or ``limit``; the hash; whether one did)."""
    zero = _U(0)
    eight = _U(8)
    while p + eight <= limit:
        h = (h << _U(2)) + gear_ls[data[p]]
        if (h & mask_ls) == zero:
            return p, h, True
        h += gear[data[p + _U(1)]]
        if (h & mask) == zero:
            return p + _U(1), h, True
        h = (h << _U(2)) + gear_ls[data[p + _U(2)]]
        if (h & mask_ls) == zero:
            return p + _U(2), h, True
        h += gear[data[p + _U(3)]]
        if (h & mask) == zero:
            return p + _U(3), h, True
        h = (h << _U(2)) + gear_ls[data[p + _U(4)]]
        if (h & mask_ls) == zero:
            return p + _U(4), h, True
        h += gear[data[p + _U(5)]]
        if (h & mask) == zero:
            return p + _U(5), h, True
        h = (h << _U(2)) + gear_ls[data[p + _U(6)]]
        if (h & mask_ls) == zero:
            return p + _U(6), h, True
        h += gear[data[p + _U(7)]]
        if (h & mask) == zero:
            return p + _U(7), h, True
        p += eight
    while p < limit:
        h = (h << _U(2)) + gear_ls[data[p]]
        if (h & mask_ls) == zero:
            return p, h, True
        h += gear[data[p + _U(1)]]
        if (h & mask) == zero:
            return p + _U(1), h, True
        p += _U(2)
    return p, h, False


@numba.njit(inline="always")
def _chunk_length(
    data, s, n, min_size, avg_size, max_size, mask_s, mask_l, gear, gear_ls
):  # pragma: no cover
    """The length of the chunk starting at ``s`` (all unsigned), as docs/design.md says."""
    remaining = n - s
    if remaining <= min_size:
        return remaining
    end = min(remaining, max_size)
    center = remaining if remaining < avg_size else avg_size
    first = s + _U(2) * (min_size // _U(2))
    strict_until = s + _U(2) * (center // _U(2))
    test_until = s + _U(2) * (end // _U(2))
    p, h, found = _hash_pairs(
        data, first, strict_until, _U(0), mask_s, mask_s << _U(1), gear, gear_ls
    )
    if found:
        return p - s
    p, h, found = _hash_pairs(data, p, test_until, h, mask_l, mask_l << _U(1), gear, gear_ls)
    if found:
        return p - s
    return end


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _cut(
    data, start, until, sync, min_size, avg_size, max_size, mask_s, mask_l, gear, gear_ls
):  # pragma: no cover - compiled
    """Chunk starts from ``start`` while they are below ``until``, stopping early at the
    first one that is also in ``sync`` (ascending). Returns (offsets, where the next
    chunk starts, its index in ``sync`` or -1)."""
    n = _U(data.shape[0])
    s = _U(start)
    stop = _U(until)
    min_u, avg_u, max_u = _U(min_size), _U(avg_size), _U(max_size)
    offsets = np.empty(max(16, (until - start) // max(min_size, 1) + 2), np.int64)
    count = 0
    j = 0
    n_sync = sync.shape[0]
    while s < stop:
        if count > 0:
            while j < n_sync and _U(sync[j]) < s:
                j += 1
            if j < n_sync and _U(sync[j]) == s:
                return offsets[:count].copy(), np.int64(s), j
        offsets[count] = np.int64(s)
        count += 1
        s += _chunk_length(data, s, n, min_u, avg_u, max_u, mask_s, mask_l, gear, gear_ls)
    return offsets[:count].copy(), np.int64(s), -1


_NO_SYNC = np.zeros(0, np.int64)


def cut_segment(
    data: np.ndarray, params: ChunkerParams, start: int, until: int
) -> tuple[np.ndarray, int]:
    """FastCDC chunk starts of ``data`` from ``start`` (taken as a chunk start) while they
    are below ``until``, and where the chunk after them starts; runs without the GIL."""
    offsets, next_start, _ = _run(data, params, start, until, _NO_SYNC)
    return offsets, next_start


def join_segment(
    data: np.ndarray,
    params: ChunkerParams,
    true_start: int,
    segment: tuple[np.ndarray, int],
    until: int,
) -> tuple[np.ndarray, int]:
    """The true chunk starts below ``until``, from ``true_start`` (a true chunk start at
    or after the segment's own start) on, given ``segment`` = (offsets, next start) as
    ``cut_segment`` cut it from the segment's start."""
    offsets, next_start = segment
    if true_start >= until:
        return _NO_SYNC, true_start
    at = int(np.searchsorted(offsets, true_start))
    if at < len(offsets) and offsets[at] == true_start:
        return offsets[at:], next_start
    own, own_next, synced = _run(data, params, true_start, until, offsets[at:])
    if synced < 0:
        return own, own_next
    return np.concatenate([own, offsets[at + synced :]]), next_start


def _run(
    data: np.ndarray, params: ChunkerParams, start: int, until: int, sync: np.ndarray
) -> tuple[np.ndarray, int, int]:
    mask_s, mask_l = strict_loose_masks(params)
    offsets, next_start, synced = _cut(
        data,
        start,
        until,
        sync,
        params.min_size,
        params.avg_size,
        params.max_size,
        np.uint64(mask_s),
        np.uint64(mask_l),
        GEAR,
        GEAR_LS,
    )
    return offsets, int(next_start), int(synced)


def cut_direct(data: np.ndarray, params: ChunkerParams) -> np.ndarray:
    """Chunk starts of the whole buffer, on this thread."""
    return cut_segment(data, params, 0, int(data.shape[0]))[0]
