"""casync's buzhash on the thread pool: hash blocks in parallel, cut, fingerprint behind.

A layer is hashed in ``BLOCK_SIZE`` blocks on the workers (the compiled scan
releases the GIL; each block reads the 47 bytes before it), keeping the window ends its
discriminator passes. Those depend on ``d`` alone, so they are cached per layer
(``BuzhashCandidates``, the last few ``d``): min/max moves that keep ``d`` re-cut from
them without hashing. The cut is a walk over them (no byte is read), and fingerprints
are queued on the same pool, reusing those of chunks a previous table already has.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from cdcviewer.analysis.pipeline import (
    CandidateLookup,
    CandidateStore,
    LayerChunks,
    ReusedFingerprints,
    TableLookup,
    known_chunks,
    queue_fingerprints,
)
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.kernels.buzhash_sizes import BuzhashCandidates, discriminator, is_fixed_size
from cdcviewer.kernels.fingerprint import WIDTH
from cdcviewer.sources.layers import Layer

BLOCK_SIZE = 32 << 20  # per scan task: ~0.1 s of hashing, amortises the Python glue


def chunk_layers_buzhash(
    layers: list[Layer],
    params: ChunkerParams,
    cached_candidates: CandidateLookup,
    store_candidates: CandidateStore,
    workers: int,
    state: TaskState,
    previous_table: TableLookup,
) -> list[LayerChunks]:
    """``pipeline.chunk_layers`` for ``params.chunker == "buzhash"``."""
    state = state.child()
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="cdc-buzhash") as pool:
        try:
            pieces = []
            for layer in layers:
                known = cached_candidates(layer)
                offsets = _cut_layer(layer, params, known, store_candidates, pool, state)
                lengths = np.diff(offsets, append=np.int64(layer.bytes))
                pieces.append(
                    _fingerprints(
                        layer, offsets, lengths, params, previous_table(layer), pool, state
                    )
                )
            width = WIDTH[params.hash]
            return [LayerChunks.join([p.result() for p in ps], width) for ps in pieces]
        except BaseException:
            state.cancel()
            pool.shutdown(cancel_futures=True)
            raise


def _cut_layer(
    layer: Layer,
    params: ChunkerParams,
    known: object,
    store_candidates: CandidateStore,
    pool: ThreadPoolExecutor,
    state: TaskState,
) -> np.ndarray:
    """The layer's chunk starts, hashing it only when no cached set has its ``d``."""
    sizes = (params.min_size, params.avg_size, params.max_size)
    if is_fixed_size(*sizes):  # casync's fixed-size case: nothing to hash
        return np.arange(0, layer.bytes, params.avg_size, dtype=np.int64)
    d = discriminator(*sizes)
    known = known if isinstance(known, BuzhashCandidates) else BuzhashCandidates()
    positions = known.get(d)
    if positions is None:
        positions = _hash(layer, d, pool, state)
        store_candidates(layer, known.adding(d, positions))  # type: ignore[arg-type]
    from cdcviewer.kernels.buzhash import cut_from_candidates  # numba (start-up time)

    offsets, _ = cut_from_candidates(positions, layer.bytes, params.min_size, params.max_size)
    return offsets


def _hash(layer: Layer, d: int, pool: ThreadPoolExecutor, state: TaskState) -> np.ndarray:
    starts = range(0, layer.bytes, BLOCK_SIZE)
    with layer.mapped() as data:
        futures = [pool.submit(_scan, data, start, d, state) for start in starts]
        parts = []
        for done, future in enumerate(futures, 1):
            parts.append(future.result())
            state.progress(layer.name, "hash", done / len(futures))
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _scan(data: np.ndarray, start: int, d: int, state: TaskState) -> np.ndarray:
    from cdcviewer.kernels.buzhash import scan_block  # numba (start-up time)

    state.check()
    return scan_block(data, start, min(len(data), start + BLOCK_SIZE), d)


def _fingerprints(
    layer: Layer,
    offsets: np.ndarray,
    lengths: np.ndarray,
    params: ChunkerParams,
    previous: LayerChunks | None,
    pool: ThreadPoolExecutor,
    state: TaskState,
) -> list[Future | ReusedFingerprints]:
    """Fingerprint tasks for the chunks ``previous`` does not already have."""
    found = known_chunks(previous, offsets, lengths)
    if found is None:
        return [f for f, _ in queue_fingerprints(pool, layer, offsets, lengths, params, state)]
    known, known_fingerprints = found
    fresh = ~known
    tasks = queue_fingerprints(pool, layer, offsets[fresh], lengths[fresh], params, state)
    return [ReusedFingerprints(offsets, lengths, known, known_fingerprints, [f for f, _ in tasks])]
