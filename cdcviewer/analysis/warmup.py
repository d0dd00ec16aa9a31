"""Compile or load the numba kernels before the first analysis needs them.

The first call of each compiled kernel compiles it (cold) or loads it from numba's
cache (warm); either takes long enough to be felt, so the window runs ``warm_up`` on a
daemon thread as soon as it starts, and the first drop finds the kernels ready.
"""

from __future__ import annotations

import io
import tarfile

import numpy as np

from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels.chunkers import chunk_buffer, cut_offsets, find_candidates
from cdcviewer.kernels.gear import CandidateMasks
from cdcviewer.kernels.xxh3_native import native_xxh3
from cdcviewer.sources.tar import scan as tar_scan
from cdcviewer.sources.tar.members import index_buffer


def _tiny_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("warm-up")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    return buffer.getvalue()


def warm_up() -> None:
    """Run every compiled kernel once on a few bytes."""
    # Every path of the analysis: a direct cut (one chain, and two at once with their
    # join: data of 8 max or more), and a cut from scanned candidates.
    data = np.frombuffer(bytes(range(256)) * 400, dtype=np.uint8)
    chunk_buffer(b"x" * 5000)
    chunk_buffer(data, 64, 256, 1024)
    params = ChunkerParams()
    cut_offsets(data, params, find_candidates(data, CandidateMasks.for_params(params)))
    cut_offsets(data, params.with_(chunker="buzhash"), None)  # buzhash scan and cut
    native_xxh3()
    # The compiled tar header scan (a tar this small is otherwise walked in Python).
    tar_scan.scan_members(memoryview(_tiny_tar()).toreadonly(), 0, 1)
    index_buffer(_tiny_tar())
