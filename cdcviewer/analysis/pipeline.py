"""Per-layer work on a thread pool: cut blocks in parallel, fingerprint behind.

Cutting and fingerprinting run in compiled loops that release the GIL, on ``workers``
threads, in blocks so one big layer uses every core. A layer is cut one of three ways:

- **direct** (the first pass): each block is cut from its own start the way the peer
  cuts (hashing from each chunk's ``min`` on); as blocks come back in order, this thread
  joins each to the true chunk sequence (``kernels.direct.join_segment``, exact) and
  queues its chunks for fingerprinting on the same pool;
- **scan** (when re-cuts are coming: a sweep, the window): every position is hashed and
  the candidates kept, and the chunks each hashed block decides are cut behind it;
- **re-cut**: from cached candidates that cover the parameters, without hashing.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from cdcviewer.analysis.blocks import BlockFeed
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.kernels.fingerprint import WIDTH, fingerprint_chunks, to_hex
from cdcviewer.kernels.gear import CandidateMasks, Candidates
from cdcviewer.kernels.small import SMALL_INPUT, cut_small
from cdcviewer.sources.layers import Layer, release_pages

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

    def fingerprint_hex(self, i: int) -> str:
        """Chunk ``i``'s fingerprint as lowercase hex, as every report writes it."""
        return to_hex(self.fingerprints[i])

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


# Gear candidates here; ``buzhash_pipeline`` stores and reads its own kind (``chunking``
# dispatches by chunker, and each pipeline ignores the other's).
CandidateLookup = Callable[[Layer], Candidates | None]
CandidateStore = Callable[[Layer, Candidates], None]
TableLookup = Callable[[Layer], LayerChunks | None]


def no_table(layer: Layer) -> None:
    """The previous-table lookup when there is none: no fingerprints to reuse."""
    return None


def chunk_layers(
    layers: list[Layer],
    params: ChunkerParams,
    cached_candidates: CandidateLookup,
    store_candidates: CandidateStore,
    workers: int,
    state: TaskState = NULL_STATE,
    previous_table: TableLookup = no_table,
    keep_candidates: bool = False,
    small_limit: int = SMALL_INPUT,
) -> list[LayerChunks]:
    """Cut and fingerprint every layer; never hash one whose cached candidates cover
    ``params``. The others are cut directly, or, with ``keep_candidates`` (more cuts of
    these layers are coming), hashed at every position and their candidates stored.

    Every cut takes the fingerprint of every chunk that ``previous_table(layer)`` (the
    layer cut with other parameters of the same hash) already has, by offset and length:
    moving min or max leaves most chunks as they were. Inputs of up to ``small_limit``
    bytes in all may be cut in numpy alone (``kernels.small``, same cut points).
    """
    masks = CandidateMasks.for_params(params) if params.chunker == "fastcdc" else None
    # Our own state, so a failure can stop the sibling tasks without cancelling the
    # caller's (which may be shared, or go on to other work).
    state = state.child()
    plans: list[tuple[str, Candidates | None]] = []
    for layer in layers:
        known = cached_candidates(layer) if masks is not None else None
        if masks is None:
            plans.append(("fixed", None))
        elif known is not None and known.masks.covers(params):
            plans.append(("recut", known))
        else:
            plans.append(("scan" if keep_candidates else "direct", None))
    if _small_enough(layers, plans, small_limit):
        plans = [("small", None) if kind == "direct" else (kind, known) for kind, known in plans]
    blocks = [
        (layer, kind)
        for layer, (kind, _) in zip(layers, plans, strict=True)
        if kind in ("scan", "direct")
    ]
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="cdc-chunk") as pool:
        feed = BlockFeed(pool, blocks, params, masks, state, ahead=2 * max(1, workers))
        try:
            pieces: list[list] = []
            for layer, (kind, known) in zip(layers, plans, strict=True):
                previous = previous_table(layer)
                if kind == "scan":
                    assert masks is not None
                    layer_pieces, candidates = _cut_while_hashing(
                        layer, params, masks, feed, pool, state
                    )
                    store_candidates(layer, candidates)
                    pieces.append(layer_pieces)
                elif kind == "direct":
                    pieces.append(_cut_direct(layer, params, feed, previous, pool, state))
                elif kind == "small":
                    pieces.append([_done(_cut_small_layer(layer, params, state))])
                elif kind == "recut":
                    assert known is not None
                    pieces.append(_cut_from_candidates(layer, params, known, previous, pool, state))
                else:
                    offsets = np.arange(0, layer.bytes, params.avg_size, dtype=np.int64)
                    lengths = np.diff(offsets, append=np.int64(layer.bytes))
                    tasks = queue_fingerprints(pool, layer, offsets, lengths, params, state)
                    pieces.append([future for future, _ in tasks])
            width = WIDTH[params.hash]
            return [LayerChunks.join([p.result() for p in ps], width) for ps in pieces]
        except BaseException:
            state.cancel()
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            feed.close_all()


def _small_enough(
    layers: list[Layer], plans: list[tuple[str, Candidates | None]], limit: int
) -> bool:
    """Cut in numpy alone (``kernels.small``): a short command then never loads numba.
    Only while the compiled kernels are not loaded yet, and the input is small."""
    if "cdcviewer.kernels.direct" in sys.modules:
        return False
    kinds = {kind for kind, _ in plans}
    return kinds <= {"direct", "fixed"} and sum(la.bytes for la in layers) <= limit


def _cut_small_layer(layer: Layer, params: ChunkerParams, state: TaskState) -> LayerChunks:
    state.check()
    with layer.mapped() as data:
        offsets = cut_small(data, params)
        lengths = np.diff(offsets, append=np.int64(layer.bytes))
        fingerprints = fingerprint_chunks(data, offsets, lengths, params.hash, compiled=False)
    state.progress(layer.name, "fingerprint", 1.0)
    return LayerChunks(offsets, lengths, fingerprints)


def _done(result: LayerChunks) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


def _cut_direct(
    layer: Layer,
    params: ChunkerParams,
    feed: BlockFeed,
    previous: LayerChunks | None,
    pool: ThreadPoolExecutor,
    state: TaskState,
) -> list[Future | ReusedFingerprints]:
    """Join each directly cut block to the true chunks and queue their fingerprints;
    release the pages behind the work, and the layer's mapping once it is done."""
    from cdcviewer.kernels import direct  # numba, loaded by the first cut that needs it

    data = feed.data(layer)
    blocks = feed.blocks(layer)
    pieces: list[Future | ReusedFingerprints] = []
    unreleased: deque[tuple[Future, int]] = deque()  # fingerprint tasks and where they end
    released = start = 0
    for done, (_, stop) in enumerate(blocks, 1):
        segment = feed.take().result()
        offsets, next_start = direct.join_segment(data, params, start, segment, stop)
        state.progress(layer.name, "hash", done / len(blocks))
        if len(offsets):
            lengths = np.diff(offsets, append=np.int64(next_start))
            window_pieces, tasks = _fingerprint_window(
                pool, layer, offsets, lengths, params, state, previous, data
            )
            pieces += window_pieces
            unreleased.extend(tasks)
        start = next_start
        released = _release_behind(data, unreleased, released, start)
    for piece in pieces:
        piece.result()
    feed.close(layer)
    return pieces


def _release_behind(
    data: np.ndarray, unreleased: deque[tuple[Future, int]], released: int, start: int
) -> int:
    """Release the bytes before every unfinished fingerprint task and before ``start``
    (later work only reads from there on); returns how far is released."""
    while unreleased and unreleased[0][0].done():
        released_until = min(unreleased.popleft()[1], start)
        release_pages(data, released, released_until)
        released = max(released, released_until)
    return released


def _cut_while_hashing(
    layer: Layer,
    params: ChunkerParams,
    masks: CandidateMasks,
    feed: BlockFeed,
    pool: ThreadPoolExecutor,
    state: TaskState,
) -> tuple[list[Future], Candidates]:
    """Cut what each hashed block decides and queue those chunks for fingerprinting;
    release the pages behind the work, and the layer's mapping once it is done."""
    from cdcviewer.kernels.chunkers import cut_range  # numba (start-up time)

    data = feed.data(layer)
    blocks = feed.blocks(layer)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    pending_pos = np.zeros(0, np.int64)  # candidates at or after the next chunk's start
    pending_hash = np.zeros(0, np.uint64)
    pieces: list[Future] = []
    unreleased: deque[tuple[Future, int]] = deque()  # fingerprint tasks and where they end
    released = start = 0
    for done, (_, known) in enumerate(blocks, 1):
        positions, hashes = feed.take().result()
        parts.append((positions, hashes))
        state.progress(layer.name, "hash", done / len(blocks))
        keep = pending_pos >= start
        pending_pos = np.concatenate([pending_pos[keep], positions])
        pending_hash = np.concatenate([pending_hash[keep], hashes])
        offsets, next_start = cut_range(data, params, pending_pos, pending_hash, start, known)
        if len(offsets):
            lengths = np.diff(offsets, append=np.int64(next_start))
            tasks = queue_fingerprints(pool, layer, offsets, lengths, params, state, data)
            pieces += [future for future, _ in tasks]
            unreleased.extend(tasks)
        start = next_start
        released = _release_behind(data, unreleased, released, start)
    for future in pieces:
        future.result()
    feed.close(layer)
    return pieces, Candidates.join(masks, parts)


def _cut_from_candidates(
    layer: Layer,
    params: ChunkerParams,
    candidates: Candidates,
    previous: LayerChunks | None,
    pool: ThreadPoolExecutor,
    state: TaskState,
) -> list[Future | ReusedFingerprints]:
    """Re-cut from cached candidates a window at a time, so the workers fingerprint the
    first chunks while later ones are still being cut (the cut alone was a fifth of a
    re-cut). The cut reads a few dozen bytes per chunk; pages behind it are released."""
    from cdcviewer.kernels.chunkers import cut_range  # numba (start-up time)

    pieces: list[Future | ReusedFingerprints] = []
    window = max(FINGERPRINT_BATCH, 4 * params.max_size)  # always decides a chunk
    start = 0
    with layer.mapped() as data:
        while start < layer.bytes:
            state.check()
            known = min(layer.bytes, start + window)
            offsets, next_start = cut_range(
                data, params, candidates.positions, candidates.hashes, start, known
            )
            lengths = np.diff(offsets, append=np.int64(next_start))
            pieces += _fingerprint_window(pool, layer, offsets, lengths, params, state, previous)[0]
            release_pages(data, start, next_start)
            start = next_start
    return pieces


def _fingerprint_window(
    pool: ThreadPoolExecutor,
    layer: Layer,
    offsets: np.ndarray,
    lengths: np.ndarray,
    params: ChunkerParams,
    state: TaskState,
    previous: LayerChunks | None,
    data: np.ndarray | None = None,
) -> tuple[list[Future | ReusedFingerprints], list[tuple[Future, int]]]:
    """Queue the fingerprints of these chunks that ``previous`` does not already have;
    returns the pieces that give them all in order, and the queued tasks."""
    found = known_chunks(previous, offsets, lengths)
    if found is None:
        tasks = queue_fingerprints(pool, layer, offsets, lengths, params, state, data)
        return [future for future, _ in tasks], tasks
    known, known_fingerprints = found
    fresh = ~known
    tasks = queue_fingerprints(pool, layer, offsets[fresh], lengths[fresh], params, state, data)
    reused = ReusedFingerprints(offsets, lengths, known, known_fingerprints, [f for f, _ in tasks])
    return [reused], tasks


def known_chunks(
    previous: LayerChunks | None, offsets: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(chunks of ``offsets``/``lengths`` also in ``previous``, their rows there), or None
    when there are none."""
    if previous is None or len(previous.offsets) == 0 or len(offsets) == 0:
        return None
    rows = np.minimum(np.searchsorted(previous.offsets, offsets), len(previous.offsets) - 1)
    same = (previous.offsets[rows] == offsets) & (previous.lengths[rows] == lengths)
    if not same.any():
        return None
    return same, previous.fingerprints[rows[same]]


class ReusedFingerprints:
    """A window whose chunks partly had fingerprints already (``known``); ``result()``
    adds those of the ``tasks`` fingerprinting the rest, in chunk order."""

    def __init__(
        self,
        offsets: np.ndarray,
        lengths: np.ndarray,
        known: np.ndarray,
        known_fingerprints: np.ndarray,
        tasks: list[Future],
    ) -> None:
        self.offsets, self.lengths, self.known, self.tasks = offsets, lengths, known, tasks
        self.fingerprints = np.empty((len(offsets), known_fingerprints.shape[1]), np.uint8)
        self.fingerprints[known] = known_fingerprints

    def result(self) -> LayerChunks:
        fresh = [task.result().fingerprints for task in self.tasks]
        if fresh:
            self.fingerprints[~self.known] = np.concatenate(fresh)
        return LayerChunks(self.offsets, self.lengths, self.fingerprints)


def queue_fingerprints(
    pool: ThreadPoolExecutor,
    layer: Layer,
    offsets: np.ndarray,
    lengths: np.ndarray,
    params: ChunkerParams,
    state: TaskState,
    data: np.ndarray | None = None,
) -> list[tuple[Future, int]]:
    """Fingerprint tasks of at most FINGERPRINT_BATCH bytes each, so every worker helps,
    with the offset where each one's bytes end."""
    if len(offsets) == 0:
        return []
    cuts = np.arange(int(offsets[0]) + FINGERPRINT_BATCH, int(offsets[-1]), FINGERPRINT_BATCH)
    bounds = [0, *np.searchsorted(offsets, cuts).tolist(), len(offsets)]
    return [
        (
            pool.submit(_fingerprint, layer, offsets[a:b], lengths[a:b], params, state, data),
            int(offsets[b - 1] + lengths[b - 1]),
        )
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]


def _fingerprint(
    layer: Layer,
    offsets: np.ndarray,
    lengths: np.ndarray,
    params: ChunkerParams,
    state: TaskState,
    data: np.ndarray | None = None,
) -> LayerChunks:
    """Fingerprint a run of chunks: in ``data`` (the layer's shared mapping) when given,
    else through one bounded mapping of just their bytes."""
    state.check()
    begin, end = int(offsets[0]), int(offsets[-1] + lengths[-1])
    with contextlib.ExitStack() as stack:
        if data is not None:
            window = data[begin:end]
        else:
            # Filling the page tables up front pays only when most of the span is read.
            dense = 2 * int(lengths.sum()) > end - begin
            window = stack.enter_context(layer.mapped(begin, end, populate=dense))
        fingerprints = fingerprint_chunks(window, offsets - begin, lengths, params.hash)
    state.progress(layer.name, "fingerprint", end / max(1, layer.bytes))
    return LayerChunks(offsets, lengths, fingerprints)
