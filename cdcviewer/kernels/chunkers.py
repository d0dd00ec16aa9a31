"""Cut points: FastCDC 2020 from cached candidates (byte-exact with fastcdc-rs v2020),
casync's buzhash (``buzhash.py``), and fixed-size chunks as the baseline that shows the
boundary-shift problem.

FastCDC restarts its hash at every chunk: at offset ``2*floor(min/2)`` after the chunk
start r, the restarted hash equals ``H(p)`` (the never-restarted hash of ``gear.py``) on
every mask bit once ``p - r >= 63``. So the first 63 hashed positions of a chunk are
hashed directly (a few dozen bytes per chunk) and every later position is looked up in
the candidate set, which holds every position a mask containing the candidate bits can
pass. Every re-cut runs this code; a cut without candidates (the first pass) hashes
from each chunk's ``min`` on instead (``direct.py``).
"""

from __future__ import annotations

import numba
import numpy as np

from cdcviewer.base.numba_ready import numba_ready
from cdcviewer.base.params import (
    DEFAULT_AVG,
    DEFAULT_MAX,
    DEFAULT_MIN,
    DEFAULT_NC,
    ChunkerParams,
)
from cdcviewer.kernels.buzhash import buzhash_offsets
from cdcviewer.kernels.direct import cut_direct
from cdcviewer.kernels.gear import (
    GEAR,
    WARMUP,
    CandidateMasks,
    Candidates,
    strict_loose_masks,
)
from cdcviewer.kernels.scan import scan_block

numba_ready()  # before the first decorator asks numba for its target (base/numba_ready.py)


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _cut_fastcdc(
    data, cand_pos, cand_hash, min_size, avg_size, max_size, mask_s, mask_l, gear, start, known
):  # pragma: no cover - compiled
    """Chunk starts from ``start`` on, as long as the candidates are ``known`` far enough.

    Candidates must hold every candidate position below ``known`` (from ``start`` on); a
    chunk is cut only when its whole window lies below ``known``, or ``known`` is the end
    of the data. Returns (offsets, where the next chunk starts).
    """
    n = data.shape[0]
    one = np.uint64(1)
    zero = np.uint64(0)
    offsets = np.empty(max(16, (known - start) // max(avg_size, 1) * 2 + 16), np.int64)
    count = 0
    n_cand = cand_pos.shape[0]
    ci = np.searchsorted(cand_pos, start)
    s = start
    while s < n and (known >= n or s + max_size <= known):
        remaining = n - s
        if remaining <= min_size:
            length = remaining
        else:
            end = min(remaining, max_size)
            center = remaining if remaining < avg_size else avg_size
            first = s + 2 * (min_size // 2)  # first hashed offset; the hash restarts here
            strict_until = s + 2 * (center // 2)
            test_until = s + 2 * (end // 2)
            length = end
            found = False
            direct_until = min(first + WARMUP, test_until)
            h = zero
            for p in range(first, direct_until):
                h = (h << one) + gear[data[p]]
                mask = mask_s if p < strict_until else mask_l
                if (h & mask) == zero:
                    length = p - s
                    found = True
                    break
            if not found:
                while ci < n_cand and cand_pos[ci] < direct_until:
                    ci += 1
                while ci < n_cand and cand_pos[ci] < test_until:
                    p = cand_pos[ci]
                    mask = mask_s if p < strict_until else mask_l
                    if (cand_hash[ci] & mask) == zero:
                        length = p - s
                        break
                    ci += 1
        if count == offsets.shape[0]:
            grown = np.empty(offsets.shape[0] * 2, np.int64)
            grown[:count] = offsets[:count]
            offsets = grown
        offsets[count] = s
        count += 1
        s += length
    return offsets[:count].copy(), s


def cut_offsets(
    data: np.ndarray, params: ChunkerParams, candidates: Candidates | None
) -> np.ndarray:
    """Chunk start offsets (int64, ascending, first 0 unless empty) of ``data``."""
    n = int(data.shape[0])
    if params.chunker == "fixed":
        return np.arange(0, n, params.avg_size, dtype=np.int64)
    if params.chunker == "buzhash":
        return buzhash_offsets(data, params.min_size, params.avg_size, params.max_size)
    if candidates is None or not candidates.masks.covers(params):
        return cut_direct(data, params)  # hashing for candidates would only cost more
    offsets, _ = cut_range(data, params, candidates.positions, candidates.hashes, 0, n)
    return offsets


def cut_range(
    data: np.ndarray,
    params: ChunkerParams,
    positions: np.ndarray,
    hashes: np.ndarray,
    start: int,
    known: int,
) -> tuple[np.ndarray, int]:
    """FastCDC chunk starts from ``start`` while candidates below ``known`` decide them.

    Lets the cut follow the hashing block by block, so chunks can be fingerprinted while
    later blocks are still being hashed. ``positions``/``hashes`` must cover [start,
    known); returns the offsets and where the next, still undecided chunk starts.
    """
    mask_s, mask_l = strict_loose_masks(params)
    offsets, next_start = _cut_fastcdc(
        data,
        positions,
        hashes,
        params.min_size,
        params.avg_size,
        params.max_size,
        np.uint64(mask_s),
        np.uint64(mask_l),
        GEAR,
        start,
        known,
    )
    return offsets, int(next_start)


def find_candidates(
    data: np.ndarray, masks: CandidateMasks, block_size: int = 8 << 20
) -> Candidates:
    """Scan a whole buffer on this thread (the analysis splits big layers across threads)."""
    n = int(data.shape[0])
    parts = [
        scan_block(data, start, min(n, start + block_size), masks)
        for start in range(0, n, block_size)
    ]
    return Candidates.join(masks, parts)


def lengths_from_offsets(offsets: np.ndarray, total: int) -> np.ndarray:
    return np.diff(offsets, append=np.int64(total))


def chunk_buffer(
    data: bytes | bytearray | memoryview | np.ndarray,
    min_size: int = DEFAULT_MIN,
    avg_size: int = DEFAULT_AVG,
    max_size: int = DEFAULT_MAX,
    normalization: int = DEFAULT_NC,
    chunker: str = "fastcdc",
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``data``; returns ``(offsets, lengths)`` as int64 arrays."""
    params = ChunkerParams(min_size, avg_size, max_size, normalization, chunker)
    array = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
    array = array.view(np.uint8).reshape(-1)
    offsets = cut_offsets(array, params, None)
    return offsets, lengths_from_offsets(offsets, int(array.shape[0]))
