"""The FastCDC 2020 gear table, its masks, and the kernel that hashes every position once.

The rolling hash at stream position p, never restarted, is
``H(p) = sum_{k=0..63} GEAR[b[p-k]] << k (mod 2**64)``: it depends on the last 64 bytes
only, so the stream can be split into independent segments (one per lane and per
thread) that each warm up over the 63 bytes before them. The kernel keeps only the
positions whose hash passes a loose *candidate* mask, with their hash values; any
stricter mask that contains the candidate mask's bits can then cut the stream again
without hashing it (see ``chunkers.py``). The compiled scan is in ``scan.py``; this module
holds only tables and types, so importing it loads no numba.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from cdcviewer.base.params import ChunkerParams


def _gear_table() -> np.ndarray:
    values = [int.from_bytes(hashlib.md5(bytes([b]) * 64).digest()[:8], "big") for b in range(256)]
    return np.array(values, dtype=np.uint64)


GEAR = _gear_table()

# MASKS[k] has exactly k one-bits; indices below 5 are unused (fastcdc-rs v2020).
MASKS = np.array(
    [
        *(0, 0, 0, 0, 0),
        0x0000000001804110,  # 5
        0x0000000001803110,
        0x0000000018035100,
        0x0000001800035300,
        0x0000019000353000,
        0x0000590003530000,  # 10
        0x0000D90003530000,
        0x0000D90103530000,
        0x0000D90303530000,
        0x0000D90313530000,
        0x0000D90F03530000,  # 15
        0x0000D90303537000,
        0x0000D90703537000,
        0x0000D90707537000,
        0x0000D91707537000,
        0x0000D91747537000,  # 20
        0x0000D91767537000,
        0x0000D93767537000,
        0x0000D93777537000,
        0x0000D93777577000,
        0x0000DB3777577000,  # 25
    ],
    dtype=np.uint64,
)

# Every mask from 10 bits up contains MASKS[10]'s bits, so one candidate set at MASKS[10]
# (a position in 1024 on average) serves every parameter set whose loose mask has >= 10
# bits: avg >= 8 KiB at any normalization, and the defaults with room to spare.
SHARED_CANDIDATE_BITS = 10
LANES = 4
WARMUP = 63  # bytes before a position that H(p) still depends on


def strict_loose_masks(params: ChunkerParams) -> tuple[int, int]:
    strict_bits, loose_bits = params.mask_bits
    return int(MASKS[strict_bits]), int(MASKS[loose_bits])


@dataclass(frozen=True)
class CandidateMasks:
    """A position is a candidate when ``H & a == 0`` or ``H & b == 0``."""

    a: int
    b: int

    @classmethod
    def for_params(cls, params: ChunkerParams) -> CandidateMasks:
        strict, loose = strict_loose_masks(params)
        shared = int(MASKS[SHARED_CANDIDATE_BITS])
        if params.mask_bits[1] >= SHARED_CANDIDATE_BITS:
            return cls(shared, shared)
        # Small averages: keep exactly what these masks need (the shared mask would be
        # too loose to be worth caching at these densities).
        strict_side = shared if params.mask_bits[0] >= SHARED_CANDIDATE_BITS else strict
        return cls(strict_side, loose)

    def covers(self, params: ChunkerParams) -> bool:
        """True when these candidates contain every position ``params`` could cut at."""
        return all(
            (mask & self.a) == self.a or (mask & self.b) == self.b
            for mask in strict_loose_masks(params)
        )


@dataclass
class Candidates:
    """Positions (ascending) where H passes ``masks``, with H there."""

    masks: CandidateMasks
    positions: np.ndarray  # int64
    hashes: np.ndarray  # uint64

    @property
    def nbytes(self) -> int:
        return self.positions.nbytes + self.hashes.nbytes

    @classmethod
    def join(cls, masks: CandidateMasks, parts: list[tuple[np.ndarray, np.ndarray]]) -> Candidates:
        if not parts:
            return cls(masks, np.zeros(0, np.int64), np.zeros(0, np.uint64))
        return cls(
            masks,
            np.concatenate([p for p, _ in parts]),
            np.concatenate([h for _, h in parts]),
        )
