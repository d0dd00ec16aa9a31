"""Chunk fingerprints: xxh3-128 by default, sha256 on request.

python-xxhash holds the GIL while it hashes, and a Python loop over chunks costs about
half a microsecond each. Its extension module also exports the C function
``XXH3_128bits``, so a numba loop can call it directly, without the GIL, from every
worker thread (``xxh3_native``). That path is checked against python-xxhash when first
used and falls back to the Python loop if the symbol is missing or disagrees. Small
inputs (``compiled=False``) take the Python loop without loading numba at all.
"""

from __future__ import annotations

import hashlib

import numpy as np
import xxhash

WIDTH = {"xxh3": 16, "sha256": 32}


def fingerprint_chunks(
    data: np.ndarray,
    offsets: np.ndarray,
    lengths: np.ndarray,
    algorithm: str = "xxh3",
    compiled: bool = True,
) -> np.ndarray:
    """One row of digest bytes per chunk: shape (n, 16) for xxh3, (n, 32) for sha256."""
    if algorithm == "xxh3" and compiled:
        from cdcviewer.kernels import xxh3_native  # numba: only when it pays (start-up)

        if xxh3_native.native_xxh3():
            return xxh3_native.xxh3_rows(data, offsets, lengths)
    digest = xxhash.xxh3_128_digest if algorithm == "xxh3" else _sha256
    view = memoryview(data)
    joined = b"".join(
        [digest(view[o : o + n]) for o, n in zip(offsets.tolist(), lengths.tolist(), strict=True)]
    )
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(offsets), WIDTH[algorithm])


def _sha256(buffer: memoryview) -> bytes:
    return hashlib.sha256(buffer).digest()


def index_keys(fingerprints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first 128 bits of each fingerprint as (high, low) uint64 columns for sorting."""
    head = np.ascontiguousarray(fingerprints[:, :16])
    words = head.view(">u8").astype(np.uint64)
    return words[:, 0].copy(), words[:, 1].copy()


def to_hex(fingerprint_row: np.ndarray) -> str:
    return bytes(fingerprint_row).hex()
