"""Per-layer work on a thread pool: hash blocks in parallel, then cut and fingerprint.

Hashing runs in numba kernels that release the GIL, on ``workers`` threads, in blocks so
one big layer uses every core. Cutting and fingerprinting (python-xxhash holds the GIL)
run on one more thread, overlapping with the hashing of later layers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .chunkers import cut_offsets, lengths_from_offsets
from .fingerprint import fingerprint_chunks
from .gear import WARMUP, CandidateMasks, Candidates, scan_block
from .layers import Layer
from .params import ChunkerParams
from .progress import NULL_STATE, TaskState

BLOCK_SIZE = 8 << 20
FINGERPRINT_BATCH = 64 << 20  # bytes between progress reports while fingerprinting


@dataclass
class LayerChunks:
    """A layer cut with some parameters: chunk offsets, lengths and fingerprints."""

    offsets: np.ndarray  # int64
    lengths: np.ndarray  # int64
    fingerprints: np.ndarray  # (n, 16 or 32) uint8

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.lengths.nbytes + self.fingerprints.nbytes


CandidateLookup = Callable[[Layer], Candidates | None]
CandidateStore = Callable[[Layer, Candidates], None]


def chunk_layers(
    layers: list[Layer],
    params: ChunkerParams,
    cached_candidates: CandidateLookup,
    store_candidates: CandidateStore,
    workers: int,
    state: TaskState = NULL_STATE,
) -> list[LayerChunks]:
    """Cut and fingerprint every layer; hash only those without covering candidates."""
    masks = CandidateMasks.for_params(params) if params.chunker == "fastcdc" else None
    # Our own state, so a failure can stop the sibling tasks without cancelling the
    # caller's (which may be shared, or go on to other work).
    state = state.child()
    with (
        ThreadPoolExecutor(max(1, workers), thread_name_prefix="cdc-hash") as hash_pool,
        ThreadPoolExecutor(1, thread_name_prefix="cdc-finish") as finish_pool,
    ):
        try:
            scans: list[list[Future] | Candidates | None] = []
            for layer in layers:
                known = cached_candidates(layer) if masks is not None else None
                if masks is None or (known is not None and known.masks.covers(params)):
                    scans.append(known)
                else:
                    scans.append(
                        [
                            hash_pool.submit(_scan, layer, start, masks, state)
                            for start in range(0, layer.bytes, BLOCK_SIZE)
                        ]
                    )
            finishing = []
            for layer, scan in zip(layers, scans, strict=True):
                if isinstance(scan, list):
                    parts = []
                    for done, future in enumerate(scan, 1):
                        parts.append(future.result())
                        state.progress(layer.name, "hash", done / len(scan))
                    assert masks is not None
                    scan = Candidates.join(masks, parts)
                    store_candidates(layer, scan)
                finishing.append(finish_pool.submit(_finish, layer, params, scan, state))
            return [future.result() for future in finishing]
        except BaseException:
            state.cancel()
            hash_pool.shutdown(cancel_futures=True)
            finish_pool.shutdown(cancel_futures=True)
            raise


def _scan(
    layer: Layer, start: int, masks: CandidateMasks | None, state: TaskState
) -> tuple[np.ndarray, np.ndarray]:
    state.check()
    assert masks is not None
    # The kernel warms up on the bytes before the block; map them too.
    lead = min(start, WARMUP)
    with layer.mapped(start - lead, start + BLOCK_SIZE) as data:
        positions, hashes = scan_block(data, lead, len(data), masks)
    return positions + (start - lead), hashes


def _finish(
    layer: Layer, params: ChunkerParams, candidates: Candidates | None, state: TaskState
) -> LayerChunks:
    state.check()
    with layer.mapped() as data:
        # The cut reads a few dozen bytes per chunk: few pages of the mapping.
        offsets = cut_offsets(data, params, candidates)
    lengths = lengths_from_offsets(offsets, layer.bytes)
    state.progress(layer.name, "fingerprint", 0.0)
    # Fingerprint in batches, each through its own bounded mapping, so resident memory
    # stays near one batch whatever the layer's size.
    ends = np.searchsorted(offsets, np.arange(FINGERPRINT_BATCH, layer.bytes, FINGERPRINT_BATCH))
    bounds = [0, *ends.tolist(), len(offsets)]
    rows = []
    for first, last in itertools.pairwise(bounds):
        if last > first:
            begin = int(offsets[first])
            end = int(offsets[last - 1] + lengths[last - 1])
            with layer.mapped(begin, end) as window:
                rows.append(
                    fingerprint_chunks(
                        window, offsets[first:last] - begin, lengths[first:last], params.hash
                    )
                )
        state.progress(layer.name, "fingerprint", last / max(1, len(offsets)))
    width = 16 if params.hash == "xxh3" else 32
    fingerprints = np.concatenate(rows) if rows else np.zeros((0, width), np.uint8)
    return LayerChunks(offsets, lengths, fingerprints)
