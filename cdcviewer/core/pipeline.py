"""Per-layer work on a thread pool: hash blocks in parallel, cut and fingerprint behind.

Hashing and fingerprinting run in compiled loops that release the GIL, on ``workers``
threads, in blocks so one big layer uses every core. As hashed blocks come back in
order, this thread cuts the chunks they decide (a chunk is decided once candidates up
to its start + max are known) and queues them for fingerprinting on the same pool.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .chunkers import cut_offsets, cut_range
from .fingerprint import WIDTH, fingerprint_chunks
from .gear import WARMUP, CandidateMasks, Candidates, scan_block
from .layers import Layer
from .params import ChunkerParams
from .progress import NULL_STATE, TaskState

BLOCK_SIZE = 32 << 20  # ~10 ms of hashing: amortises the Python glue and GIL hand-offs
FINGERPRINT_BATCH = 64 << 20  # bytes mapped at once while fingerprinting


@dataclass
class LayerChunks:
    """A layer cut with some parameters: chunk offsets, lengths and fingerprints."""

    offsets: np.ndarray  # int64
    lengths: np.ndarray  # int64
    fingerprints: np.ndarray  # (n, 16 or 32) uint8

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.lengths.nbytes + self.fingerprints.nbytes

    @classmethod
    def join(cls, pieces: list[LayerChunks], width: int) -> LayerChunks:
        if not pieces:
            empty = np.zeros(0, np.int64)
            return cls(empty, empty.copy(), np.zeros((0, width), np.uint8))
        return cls(
            np.concatenate([p.offsets for p in pieces]),
            np.concatenate([p.lengths for p in pieces]),
            np.concatenate([p.fingerprints for p in pieces]),
        )


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
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="cdc-chunk") as pool:
        try:
            # Every block of every layer is queued first, so the workers never wait for
            # this thread to cut.
            scans: list[list[Future] | Candidates | None] = []
            for layer in layers:
                known = cached_candidates(layer) if masks is not None else None
                if masks is None or (known is not None and known.masks.covers(params)):
                    scans.append(known)
                else:
                    starts = range(0, layer.bytes, BLOCK_SIZE)
                    scans.append([pool.submit(_scan, layer, s, masks, state) for s in starts])
            pieces: list[list[Future]] = []
            for layer, scan in zip(layers, scans, strict=True):
                if isinstance(scan, list):
                    assert masks is not None
                    layer_pieces, candidates = _cut_while_hashing(
                        layer, params, masks, scan, pool, state
                    )
                    store_candidates(layer, candidates)
                    pieces.append(layer_pieces)
                else:
                    with layer.mapped() as data:  # the cut reads a few dozen bytes per chunk
                        offsets = cut_offsets(data, params, scan)
                    lengths = np.diff(offsets, append=np.int64(layer.bytes))
                    pieces.append(_queue_fingerprints(pool, layer, offsets, lengths, params, state))
            width = WIDTH[params.hash]
            return [LayerChunks.join([p.result() for p in ps], width) for ps in pieces]
        except BaseException:
            state.cancel()
            pool.shutdown(cancel_futures=True)
            raise


def _cut_while_hashing(
    layer: Layer,
    params: ChunkerParams,
    masks: CandidateMasks,
    blocks: list[Future],
    pool: ThreadPoolExecutor,
    state: TaskState,
) -> tuple[list[Future], Candidates]:
    """Cut what each hashed block decides and queue those chunks for fingerprinting."""
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    pending_pos = np.zeros(0, np.int64)  # candidates at or after the next chunk's start
    pending_hash = np.zeros(0, np.uint64)
    pieces: list[Future] = []
    start = 0
    with layer.mapped() as data:  # the cut reads a few dozen bytes per chunk
        for done, future in enumerate(blocks, 1):
            positions, hashes = future.result()
            parts.append((positions, hashes))
            state.progress(layer.name, "hash", done / len(blocks))
            keep = pending_pos >= start
            pending_pos = np.concatenate([pending_pos[keep], positions])
            pending_hash = np.concatenate([pending_hash[keep], hashes])
            known = min(layer.bytes, done * BLOCK_SIZE)
            offsets, next_start = cut_range(data, params, pending_pos, pending_hash, start, known)
            if len(offsets):
                lengths = np.diff(offsets, append=np.int64(next_start))
                pieces += _queue_fingerprints(pool, layer, offsets, lengths, params, state)
            start = next_start
    return pieces, Candidates.join(masks, parts)


def _scan(
    layer: Layer, start: int, masks: CandidateMasks, state: TaskState
) -> tuple[np.ndarray, np.ndarray]:
    state.check()
    # The kernel warms up on the bytes before the block; map them too.
    lead = min(start, WARMUP)
    with layer.mapped(start - lead, start + BLOCK_SIZE, populate=True) as data:
        positions, hashes = scan_block(data, lead, len(data), masks)
    return positions + (start - lead), hashes


def _queue_fingerprints(
    pool: ThreadPoolExecutor,
    layer: Layer,
    offsets: np.ndarray,
    lengths: np.ndarray,
    params: ChunkerParams,
    state: TaskState,
) -> list[Future]:
    """Fingerprint tasks of at most FINGERPRINT_BATCH bytes each, so every worker helps."""
    if len(offsets) == 0:
        return []
    cuts = np.arange(int(offsets[0]) + FINGERPRINT_BATCH, int(offsets[-1]), FINGERPRINT_BATCH)
    bounds = [0, *np.searchsorted(offsets, cuts).tolist(), len(offsets)]
    return [
        pool.submit(_fingerprint, layer, offsets[a:b], lengths[a:b], params, state)
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]


def _fingerprint(
    layer: Layer, offsets: np.ndarray, lengths: np.ndarray, params: ChunkerParams, state: TaskState
) -> LayerChunks:
    """Fingerprint a run of chunks through one bounded mapping of just their bytes."""
    state.check()
    begin, end = int(offsets[0]), int(offsets[-1] + lengths[-1])
    with layer.mapped(begin, end, populate=True) as window:
        fingerprints = fingerprint_chunks(window, offsets - begin, lengths, params.hash)
    state.progress(layer.name, "fingerprint", end / max(1, layer.bytes))
    return LayerChunks(offsets, lengths, fingerprints)
