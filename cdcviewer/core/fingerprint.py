"""Chunk fingerprints: xxh3-128 by default (fast, GIL-bound), sha256 on request."""

from __future__ import annotations

import hashlib

import numpy as np
import xxhash

WIDTH = {"xxh3": 16, "sha256": 32}


def fingerprint_chunks(
    data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, algorithm: str = "xxh3"
) -> np.ndarray:
    """One row of digest bytes per chunk: shape (n, 16) for xxh3, (n, 32) for sha256."""
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
