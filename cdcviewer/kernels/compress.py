"""Compressed sizes: each chunk as a chunk store keeps it, a stream as a registry keeps it.

Pure functions over bytes already in memory (no I/O):

- ``compressed_lengths``: the size of each chunk compressed on its own, one zstd frame
  per chunk as casync/desync and puzzlefs store them (frame header with the content size
  included), or the chunk as it is for ``none``. python-zstandard's multi-buffer API
  compresses a whole batch in one call with the GIL released, straight from the mapped
  stream (no copy per chunk), so a thread pool compresses on every core.
- ``GzipBlob``: a stream gzip'd the way image builders push an uncompressed layer: gzip
  at level 6, Go's ``compress/gzip`` default that docker and buildkit use, here through
  zlib; its size and the sha256 of what it wrote, which names the blob in a registry.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import zstandard

CODECS = ("zstd", "none")
DEFAULT_CODEC = "zstd"
DEFAULT_LEVEL = 3  # zstd's default, and what desync and puzzlefs compress chunks with
LEVEL_RANGE = (1, 22)
REGISTRY_GZIP_LEVEL = 6  # Go compress/gzip DefaultCompression (docker push, buildkit)
REGISTRY_COMPRESSION = (
    f"gzip -{REGISTRY_GZIP_LEVEL}, zlib deflate at Go compress/gzip's default level, "
    "as docker and buildkit push layers"
)


def compressed_lengths(
    data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, codec: str, level: int
) -> np.ndarray:
    """Size of each chunk ``data[offsets[i] : offsets[i] + lengths[i]]`` compressed alone
    with ``codec`` at ``level`` (int64, one per chunk)."""
    if codec == "none" or len(offsets) == 0:
        return np.asarray(lengths, dtype=np.int64).copy()
    if codec != "zstd":
        raise ValueError(f"unknown codec {codec!r} (use one of {CODECS})")
    segments = np.empty((len(offsets), 2), dtype=np.uint64)
    segments[:, 0] = offsets
    segments[:, 1] = lengths
    source = zstandard.BufferWithSegments(data, segments.tobytes())
    # One compressor per call: a ZstdCompressor is not safe to share between threads.
    compressor = zstandard.ZstdCompressor(level=level)
    frames = compressor.multi_compress_to_buffer(source, threads=0)
    return np.fromiter((len(frames[i]) for i in range(len(frames))), np.int64, len(frames))


class GzipBlob:
    """Feed a stream in pieces; ``size`` and ``digest`` are those of its gzip blob."""

    def __init__(self, level: int = REGISTRY_GZIP_LEVEL) -> None:
        # wbits 31: the gzip wrapper (a 10-byte header with mtime 0, as Go writes it).
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, 31)
        self._sha = hashlib.sha256()
        self.size = 0

    def update(self, piece: np.ndarray | bytes | memoryview) -> None:
        self._emit(self._deflate.compress(piece))

    def finish(self) -> tuple[int, str]:
        """(size, ``sha256:<hex>``) of the whole blob; call once, after the last piece."""
        self._emit(self._deflate.flush())
        return self.size, f"sha256:{self._sha.hexdigest()}"

    def _emit(self, out: bytes) -> None:
        self.size += len(out)
        self._sha.update(out)
