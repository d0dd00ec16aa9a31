"""casync's buzhash chunker, cut for cut: the table, the discriminator, the scan and the cut.

casync (``src/cachunker.c``) hashes a 48-byte window with buzhash
``H = XOR_j rol32(TABLE[w_j], 47 - j)`` and, from a chunk's first byte, cuts after the
first byte at which ``chunk_size >= max`` or ``H mod d == d - 1``, testing only once the
chunk holds ``max(min, 48)`` bytes (the window then lies inside the chunk). The rolling
update cancels the leaving byte exactly (``rol32(x, 48) == rol32(x, 16)``), so ``H`` at a
position depends on the 48 bytes before it only, never on where the chunk began:

- ``scan_block`` (numba, ``nogil``) hashes every position once and keeps the window ends
  ``p`` where ``H(p) mod d == d - 1``: the *candidates*, which depend on ``d`` alone;
- ``cut_from_candidates`` (numba, ``nogil``) walks them for any min/max: chunk from s ends
  at the first candidate in ``[s + max(min, 48), s + max(max, 48)]``, else at
  ``s + max(max, 48)``, else at the end of the data.

``d`` comes from avg (casync's fitted curve), clamped to [min, max]; ``min == avg == max``
is casync's fixed-size special case (no hashing at all). The modulo test runs as a
divisibility test on ``H + 1`` (a multiply by the inverse of d's odd part, a rotate, a
compare; exact, Hacker's Delight 10-17), much cheaper than casync's division per byte.

Speed (the scan is the whole cost): H lives in 32 bits so each step is one ``rol`` and
two xors; the range is hashed as two halves at once (two independent chains in one
loop, the second started from its own window hash) by a hot loop kept apart from the
bookkeeping so its constants stay in registers; the candidate test has no branch on the
low bits (it mispredicted half the time for d = 2 x odd). 1.9x the former 64-bit
single-chain scan at casync's default d, 5-6x at d = 12318 (one thread, AMD EPYC).

The table is casync's (LGPL-2.1+), reproduced because cut points depend on every bit of
it; desync carries the same values.
"""

from __future__ import annotations

import numba
import numpy as np

from cdcviewer.base.numba_ready import numba_ready
from cdcviewer.kernels.buzhash_sizes import (
    WINDOW,
    discriminator,
    divisibility_constants,
    is_fixed_size,
)

numba_ready()  # before the first decorator asks numba for its target (base/numba_ready.py)

# fmt: off
TABLE = np.array([
    0x458be752, 0xc10748cc, 0xfbbcdbb8, 0x6ded5b68, 0xb10a82b5, 0x20d75648, 0xdfc5665f, 0xa8428801,
    0x7ebf5191, 0x841135c7, 0x65cc53b3, 0x280a597c, 0x16f60255, 0xc78cbc3e, 0x294415f5, 0xb938d494,
    0xec85c4e6, 0xb7d33edc, 0xe549b544, 0xfdeda5aa, 0x882bf287, 0x3116737c, 0x05569956, 0xe8cc1f68,
    0x0806ac5e, 0x22a14443, 0x15297e10, 0x50d090e7, 0x4ba60f6f, 0xefd9f1a7, 0x5c5c885c, 0x82482f93,
    0x9bfd7c64, 0x0b3e7276, 0xf2688e77, 0x8fad8abc, 0xb0509568, 0xf1ada29f, 0xa53efdfe, 0xcb2b1d00,
    0xf2a9e986, 0x6463432b, 0x95094051, 0x5a223ad2, 0x9be8401b, 0x61e579cb, 0x1a556a14, 0x5840fdc2,
    0x9261ddf6, 0xcde002bb, 0x52432bb0, 0xbf17373e, 0x7b7c222f, 0x2955ed16, 0x9f10ca59, 0xe840c4c9,
    0xccabd806, 0x14543f34, 0x1462417a, 0x0d4a1f9c, 0x087ed925, 0xd7f8f24c, 0x7338c425, 0xcf86c8f5,
    0xb19165cd, 0x9891c393, 0x325384ac, 0x0308459d, 0x86141d7e, 0xc922116a, 0xe2ffa6b6, 0x53f52aed,
    0x2cd86197, 0xf5b9f498, 0xbf319c8f, 0xe0411fae, 0x977eb18c, 0xd8770976, 0x9833466a, 0xc674df7f,
    0x8c297d45, 0x8ca48d26, 0xc49ed8e2, 0x7344f874, 0x556f79c7, 0x6b25eaed, 0xa03e2b42, 0xf68f66a4,
    0x8e8b09a2, 0xf2e0e62a, 0x0d3a9806, 0x9729e493, 0x8c72b0fc, 0x160b94f6, 0x450e4d3d, 0x7a320e85,
    0xbef8f0e1, 0x21d73653, 0x4e3d977a, 0x1e7b3929, 0x1cc6c719, 0xbe478d53, 0x8d752809, 0xe6d8c2c6,
    0x275f0892, 0xc8acc273, 0x4cc21580, 0xecc4a617, 0xf5f7be70, 0xe795248a, 0x375a2fe9, 0x425570b6,
    0x8898dcf8, 0xdc2d97c4, 0x0106114b, 0x364dc22f, 0x1e0cad1f, 0xbe63803c, 0x5f69fac2, 0x4d5afa6f,
    0x1bc0dfb5, 0xfb273589, 0x0ea47f7b, 0x3c1c2b50, 0x21b2a932, 0x6b1223fd, 0x2fe706a8, 0xf9bd6ce2,
    0xa268e64e, 0xe987f486, 0x3eacf563, 0x1ca2018c, 0x65e18228, 0x2207360a, 0x57cf1715, 0x34c37d2b,
    0x1f8f3cde, 0x93b657cf, 0x31a019fd, 0xe69eb729, 0x8bca7b9b, 0x4c9d5bed, 0x277ebeaf, 0xe0d8f8ae,
    0xd150821c, 0x31381871, 0xafc3f1b0, 0x927db328, 0xe95effac, 0x305a47bd, 0x426ba35b, 0x1233af3f,
    0x686a5b83, 0x50e072e5, 0xd9d3bb2a, 0x8befc475, 0x487f0de6, 0xc88dff89, 0xbd664d5e, 0x971b5d18,
    0x63b14847, 0xd7d3c1ce, 0x7f583cf3, 0x72cbcb09, 0xc0d0a81c, 0x7fa3429b, 0xe9158a1b, 0x225ea19a,
    0xd8ca9ea3, 0xc763b282, 0xbb0c6341, 0x020b8293, 0xd4cd299d, 0x58cfa7f8, 0x91b4ee53, 0x37e4d140,
    0x95ec764c, 0x30f76b06, 0x5ee68d24, 0x679c8661, 0xa41979c2, 0xf2b61284, 0x4fac1475, 0x0adb49f9,
    0x19727a23, 0x15a7e374, 0xc43a18d5, 0x3fb1aa73, 0x342fc615, 0x924c0793, 0xbee2d7f0, 0x8a279de9,
    0x4aa2d70c, 0xe24dd37f, 0xbe862c0b, 0x177c22c2, 0x5388e5ee, 0xcd8a7510, 0xf901b4fd, 0xdbc13dbc,
    0x6c0bae5b, 0x64efe8c7, 0x48b02079, 0x80331a49, 0xca3d8ae6, 0xf3546190, 0xfed7108b, 0xc49b941b,
    0x32baf4a9, 0xeb833a4a, 0x88a3f1a5, 0x3a91ce0a, 0x3cc27da1, 0x7112e684, 0x4a3096b1, 0x3794574c,
    0xa3c8b6f3, 0x1d213941, 0x6e0a2e00, 0x233479f1, 0x0f4cd82f, 0x6093edd2, 0x5d7d209e, 0x464fe319,
    0xd4dcac9e, 0x0db845cb, 0xfb5e4bc3, 0xe0256ce1, 0x09fb4ed1, 0x0914be1e, 0xa5bdb2c3, 0xc6eb57bb,
    0x30320350, 0x3f397e91, 0xa67791bc, 0x86bc0e2c, 0xefa0a7e2, 0xe9ff7543, 0xe733612c, 0xd185897b,
    0x329e5388, 0x91dd236b, 0x2ecb0d93, 0xf4d82a3d, 0x35b5c03f, 0xe4e606f0, 0x05b21843, 0x37b45964,
    0x5eff22f4, 0x6027f4cc, 0x77178b3c, 0xae507131, 0x7bf7cabc, 0xf9c18d66, 0x593ade65, 0xd95ddf11,
], dtype=np.uint32)
# fmt: on
# rol32(TABLE[b], 48): what the leaving byte contributes after 48 rotations by one.
TABLE_ROL16 = (TABLE << np.uint32(16)) | (TABLE >> np.uint32(16))


_U = np.uint64
_U32 = np.uint32


def candidate_constants(d: int) -> tuple[int, int, int]:
    """(inverse of d's odd part q mod 2**64, k with d = q * 2**k, (2**64 - 1) // d): ``d``
    divides ``n < 2**64`` exactly when ``rotr64(n * inverse, k) <= limit`` (Hacker's
    Delight 10-17). One multiply, one rotate, one compare, no branch on the low bits:
    the low-bit test first mispredicted half the time for d = 2 * odd."""
    inverse, shift, _, _ = divisibility_constants(d)
    return inverse, shift, ((1 << 64) - 1) // d


@numba.njit(inline="always")
def _is_candidate(h, inverse, shift, limit):  # pragma: no cover - compiled
    """``h mod d == d - 1``, i.e. d divides h + 1 (h + 1 may be 2**32: 64-bit math)."""
    c = (_U(h) + _U(1)) * inverse
    return ((c >> shift) | (c << ((_U(64) - shift) & _U(63)))) <= limit


@numba.njit
def _candidate_test(h, inverse, shift, limit):  # pragma: no cover - compiled
    return _is_candidate(h, inverse, shift, limit)


def is_candidate(h: int, inverse: int, shift: int, limit: int) -> bool:
    """The scan's candidate test on one 32-bit hash, callable from Python (the tests)."""
    return bool(_candidate_test(_U32(h), _U(inverse), _U(shift), _U(limit)))


@numba.njit(inline="always")
def _window_hash(data, end, table):  # pragma: no cover - compiled
    """H of the 48 bytes before ``end``, computed from scratch (as ``ca_chunker_start``).
    Every step is cast back to uint32: numba widens uint32 arithmetic to 64 bits."""
    h = _U32(0)
    for j in range(WINDOW):
        r = _U32((WINDOW - 1 - j) & 31)
        t = table[data[end - WINDOW + j]]
        h = _U32(h ^ ((t << r) | (t >> ((_U32(32) - r) & _U32(31)))))
    return h


@numba.njit(inline="always")
def _roll(h, data, p, table, table16):  # pragma: no cover - compiled
    """H at window end ``p`` from H at ``p - 1``: one ``rol`` and two xors in 32 bits."""
    return _U32(
        ((h << _U32(1)) | (h >> _U32(31))) ^ table16[data[p - _U(49)]] ^ table[data[p - _U(1)]]
    )


@numba.njit(nogil=True, cache=True, boundscheck=False, no_cpython_wrapper=True)
def _hot(data, pa, pb, k, ha, hb, table, table16, inverse, shift, limit):  # pragma: no cover
    """Roll two independent chains (window ends ``pa + i`` and ``pb + i``) for up to ``k``
    steps; stop after the first step where either is a candidate. Returns (steps, ha, hb).
    A function of its own so that its loop keeps every constant in a register."""
    i = _U(0)
    while i < k:
        i += _U(1)
        ha = _roll(ha, data, pa + i, table, table16)
        hb = _roll(hb, data, pb + i, table, table16)
        if _is_candidate(ha, inverse, shift, limit) or _is_candidate(hb, inverse, shift, limit):
            break
    return i, ha, hb


@numba.njit(inline="always")
def _one_chain(
    data, p, last, h, table, table16, inverse, shift, limit, out, count, capacity
):  # pragma: no cover
    """Candidates among window ends ``p + 1..last`` after H(p) = h; the new count or -1."""
    p += _U(1)
    while p <= last:
        h = _roll(h, data, p, table, table16)
        if _is_candidate(h, inverse, shift, limit):
            if count == capacity:
                return -1
            out[count] = p
            count += 1
        p += _U(1)
    return count


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _scan(
    data, first, last, table, table16, inverse, shift, limit, out, capacity
):  # pragma: no cover
    """Candidates among window ends ``first..last`` (inclusive, first >= 48) into ``out``;
    returns their count, or -1 past ``capacity`` (the caller retries with more room).

    Two chains, one loop: the rolling hash is a serial chain (rol, xor), so the range is
    hashed as two halves at once, the second from its own 48-byte window hash (H depends
    on the window alone), and its candidates appended after the first's."""
    fa, last = _U(first), _U(last)
    k = (last - fa + _U(1)) // _U(2)
    fb = fa + k  # b's first window end; a covers fa..fb-1, b covers fb..last
    count_a, count_b = 0, 0
    out_b = np.empty(capacity, np.int64)
    ha = _window_hash(data, fa, table)
    hb = _window_hash(data, fb, table)
    if _is_candidate(ha, inverse, shift, limit):
        out[0] = fa
        count_a = 1
    if k == _U(0):
        return count_a
    if _is_candidate(hb, inverse, shift, limit):
        out_b[0] = fb
        count_b = 1
    done = _U(0)  # steps both chains have taken: a is at fa + done, b at fb + done
    while done < k - _U(1):
        steps, ha, hb = _hot(
            data,
            fa + done,
            fb + done,
            k - _U(1) - done,
            ha,
            hb,
            table,
            table16,
            inverse,
            shift,
            limit,
        )
        done += steps
        if _is_candidate(ha, inverse, shift, limit):
            if count_a == capacity:
                return -1
            out[count_a] = fa + done
            count_a += 1
        if _is_candidate(hb, inverse, shift, limit):
            if count_b == capacity:
                return -1
            out_b[count_b] = fb + done
            count_b += 1
    # b holds one more position than a when the range is odd
    count_b = _one_chain(
        data, fb + done, last, hb, table, table16, inverse, shift, limit, out_b, count_b, capacity
    )
    if count_b < 0 or count_a + count_b > capacity:
        return -1
    out[count_a : count_a + count_b] = out_b[:count_b]
    return count_a + count_b


def scan_block(data: np.ndarray, start: int, stop: int, d: int) -> np.ndarray:
    """Candidate window ends ``p`` in ``(start, stop]`` (int64, ascending) for discriminator
    ``d``; reads from ``start - 47`` on. Runs without the GIL."""
    first = max(start + 1, WINDOW)
    if stop < first:
        return np.zeros(0, np.int64)
    inverse, shift, limit = candidate_constants(d)
    span = stop - first + 1
    # 1 in d on random data; room for every position when the data is periodic.
    capacity = min(span, span // max(1, d // 4) + 256)
    while True:
        out = np.empty(capacity, np.int64)
        count = _scan(
            data,
            first,
            stop,
            TABLE,
            TABLE_ROL16,
            np.uint64(inverse),
            np.uint64(shift),
            np.uint64(limit),
            out,
            capacity,
        )
        if count >= 0:
            return out[:count].copy()
        capacity = span


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _cut(candidates, n, low, high, start, known):  # pragma: no cover - compiled
    """Chunk starts from ``start`` while the candidates up to ``known`` decide them;
    returns (offsets, where the next undecided chunk starts)."""
    offsets = np.empty(16, np.int64)
    count = 0
    ci = 0
    n_cand = candidates.shape[0]
    s = start
    while s < n:
        lo = s + low
        hi = s + high
        while ci < n_cand and candidates[ci] < lo:
            ci += 1
        end = candidates[ci] if ci < n_cand and candidates[ci] <= hi else hi
        if end > n:
            end = n
        if end > known and known < n:
            break
        if count == offsets.shape[0]:
            grown = np.empty(count * 2, np.int64)
            grown[:count] = offsets[:count]
            offsets = grown
        offsets[count] = s
        count += 1
        s = end
    return offsets[:count].copy(), s


def cut_from_candidates(
    candidates: np.ndarray,
    n: int,
    min_size: int,
    max_size: int,
    start: int = 0,
    known: int | None = None,
) -> tuple[np.ndarray, int]:
    """casync's chunk starts over ``n`` bytes from the candidates of its discriminator
    (which must hold every candidate from ``start + max(min, 48)`` to ``known``)."""
    known = n if known is None else known
    begin = int(np.searchsorted(candidates, start))
    offsets, next_start = _cut(
        candidates[begin:], n, max(min_size, WINDOW), max(max_size, WINDOW), start, known
    )
    return offsets, int(next_start)


def find_candidates(data: np.ndarray, d: int, block_size: int = 32 << 20) -> np.ndarray:
    """Every candidate of ``data`` for ``d``, on this thread, a block at a time."""
    n = int(data.shape[0])
    parts = [scan_block(data, a, min(n, a + block_size), d) for a in range(0, n, block_size)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def buzhash_offsets(data: np.ndarray, min_size: int, avg_size: int, max_size: int) -> np.ndarray:
    """Chunk start offsets of ``data`` exactly as ``casync make`` cuts it."""
    n = int(data.shape[0])
    if is_fixed_size(min_size, avg_size, max_size):
        return np.arange(0, n, avg_size, dtype=np.int64)
    d = discriminator(min_size, avg_size, max_size)
    offsets, _ = cut_from_candidates(find_candidates(data, d), n, min_size, max_size)
    return offsets
