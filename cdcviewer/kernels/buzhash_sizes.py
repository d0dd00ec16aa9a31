"""casync's buzhash sizes: the window, the discriminator, and the candidate sets a layer
keeps (no numba here, so the workspace and the report path can name them without
loading the compiled kernels of ``buzhash.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WINDOW = 48
CHUNK_SIZE_LIMIT_MIN = 1  # casync's accepted sizes: 1 <= min <= avg <= max <= 128 MiB
CHUNK_SIZE_LIMIT_MAX = 128 << 20


def discriminator(min_size: int, avg_size: int, max_size: int) -> int:
    """casync's ``CA_CHUNKER_DISCRIMINATOR_FROM_AVG(avg)`` clamped to [min, max].

    The same double arithmetic as the C macro; its conversion to ``size_t`` truncates, and
    past avg ~ 9.3 MiB the denominator is zero or negative, which on x86-64 converts to a
    huge unsigned value that the clamp turns into ``max``.
    """
    denominator = -1.42888852e-7 * avg_size + 1.33237515
    if denominator <= 0:
        return max_size
    raw = int(avg_size / denominator)
    return min(max(raw, min_size), max_size)


def divisibility_constants(d: int) -> tuple[int, int, int, int]:
    """(inverse of d's odd part q mod 2**64, k with d = q * 2**k, 2**k - 1, (2**64-1) // q):
    ``n`` is a multiple of ``d`` exactly when its low k bits are 0 and
    ``(n >> k) * inverse mod 2**64 <= limit`` (Granlund-Montgomery, for n < 2**64)."""
    shift = (d & -d).bit_length() - 1
    odd = d >> shift
    return pow(odd, -1, 1 << 64), shift, (1 << shift) - 1, ((1 << 64) - 1) // odd


def is_fixed_size(min_size: int, avg_size: int, max_size: int) -> bool:
    """casync's ``CA_CHUNKER_IS_FIXED_SIZE``: chunks of avg bytes, nothing hashed."""
    return min_size == avg_size == max_size


KEPT_DISCRIMINATORS = 4  # candidate sets kept per layer (a few KiB per GiB each at 64K)


@dataclass
class BuzhashCandidates:
    """A layer's candidate window ends for the last few discriminators, newest last.

    They depend on ``d`` alone: a min or max move that leaves ``d`` where it was re-cuts
    from them without hashing; a new avg (or a min/max that moves the clamp) needs its
    own ``d`` and hashes the layer again, unless that ``d`` is still kept here.
    """

    sets: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return sum(positions.nbytes for positions in self.sets.values())

    def get(self, d: int) -> np.ndarray | None:
        return self.sets.get(d)

    def adding(self, d: int, positions: np.ndarray) -> BuzhashCandidates:
        """These sets plus ``d``'s, the oldest dropped past ``KEPT_DISCRIMINATORS``."""
        sets = {k: v for k, v in self.sets.items() if k != d}
        sets[d] = positions
        while len(sets) > KEPT_DISCRIMINATORS:
            del sets[next(iter(sets))]
        return BuzhashCandidates(sets)
