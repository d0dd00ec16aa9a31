"""Per-layer work on a thread pool: hash blocks in parallel, cut and fingerprint behind.

Hashing and fingerprinting run in compiled loops that release the GIL, on ``workers``
threads, in blocks so one big layer uses every core. As hashed blocks come back in
order, this thread cuts the chunks they decide (a chunk is decided once candidates up
to its start + max are known) and queues them for fingerprinting on the same pool.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.kernels.chunkers import cut_offsets, cut_range, lengths_from_offsets
from cdcviewer.kernels.fingerprint import WIDTH, fingerprint_chunks, to_hex
from cdcviewer.kernels.gear import CandidateMasks, Candidates, scan_block
from cdcviewer.sources.layers import Layer, release_pages

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


CandidateLookup = Callable[[Layer], Candidates | None]
CandidateStore = Callable[[Layer, Candidates], None]
TableLookup = Callable[[Layer], LayerChunks | None]


def _no_table(layer: Layer) -> None:
    return None


def chunk_layers(
    layers: list[Layer],
    params: ChunkerParams,
    cached_candidates: CandidateLookup,
    store_candidates: CandidateStore,
    workers: int,
    state: TaskState = NULL_STATE,
    previous_table: TableLookup = _no_table,
) -> list[LayerChunks]:
    """Cut and fingerprint every layer; hash only those without covering candidates.

    A re-cut takes the fingerprint of every chunk that ``previous_table(layer)`` (the
    layer cut with other parameters of the same hash) already has, by offset and length:
    moving min or max leaves most chunks as they were.
    """
    masks = CandidateMasks.for_params(params) if params.chunker == "fastcdc" else None
    # Our own state, so a failure can stop the sibling tasks without cancelling the
    # caller's (which may be shared, or go on to other work).
    state = state.child()
    plans: list[Candidates | None] = []
    to_hash: list[Layer] = []
    for layer in layers:
        known = cached_candidates(layer) if masks is not None else None
        if masks is not None and (known is None or not known.masks.covers(params)):
            to_hash.append(layer)
        plans.append(known)
    hashing = {id(layer) for layer in to_hash}
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="cdc-chunk") as pool:
        feed = _BlockFeed(pool, to_hash, masks, state, ahead=2 * max(1, workers))
        try:
            pieces: list[list[Future]] = []
            for layer, known in zip(layers, plans, strict=True):
                if id(layer) in hashing:
                    assert masks is not None
                    layer_pieces, candidates = _cut_while_hashing(
                        layer, params, masks, feed, pool, state
                    )
                    store_candidates(layer, candidates)
                    pieces.append(layer_pieces)
                elif known is not None:
                    previous = previous_table(layer)
                    pieces.append(_cut_from_candidates(layer, params, known, previous, pool, state))
                else:
                    with layer.mapped() as data:
                        offsets = cut_offsets(data, params, None)
                    lengths = lengths_from_offsets(offsets, layer.bytes)
                    tasks = _queue_fingerprints(pool, layer, offsets, lengths, params, state)
                    pieces.append([future for future, _ in tasks])
            width = WIDTH[params.hash]
            return [LayerChunks.join([p.result() for p in ps], width) for ps in pieces]
        except BaseException:
            state.cancel()
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            feed.close_all()


class _BlockFeed:
    """The hash blocks of the layers to hash, in order, with at most ``ahead`` in flight.

    Each layer is mapped once for all its tasks: hashing faults its pages in, and the
    fingerprinting that follows finds them there (mapping each task's range anew cost a
    fifth of the first pass). Queuing every block at once would put all fingerprinting
    behind all hashing and keep every layer mapped; a short window interleaves them.
    """

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        layers: list[Layer],
        masks: CandidateMasks | None,
        state: TaskState,
        ahead: int,
    ) -> None:
        self._pool, self._masks, self._state, self._ahead = pool, masks, state, ahead
        self._order = [(la, start) for la in layers for start in range(0, la.bytes, BLOCK_SIZE)]
        self._next = 0
        self._in_flight: deque[Future] = deque()
        self._maps: dict[int, tuple[contextlib.AbstractContextManager, np.ndarray]] = {}

    def data(self, layer: Layer) -> np.ndarray:
        if id(layer) not in self._maps:
            context = layer.mapped()
            self._maps[id(layer)] = (context, context.__enter__())
        return self._maps[id(layer)][1]

    def take(self) -> Future:
        """The next block's future (blocks are taken in the order they were planned)."""
        self._fill()
        future = self._in_flight.popleft()
        self._fill()
        return future

    def _fill(self) -> None:
        while len(self._in_flight) < self._ahead and self._next < len(self._order):
            layer, start = self._order[self._next]
            self._next += 1
            data = self.data(layer)
            self._in_flight.append(self._pool.submit(_scan, data, start, self._masks, self._state))

    def close(self, layer: Layer) -> None:
        entry = self._maps.pop(id(layer), None)
        if entry is not None:
            entry[0].__exit__(None, None, None)

    def close_all(self) -> None:
        for context, _ in self._maps.values():
            context.__exit__(None, None, None)
        self._maps.clear()


def _cut_while_hashing(
    layer: Layer,
    params: ChunkerParams,
    masks: CandidateMasks,
    feed: _BlockFeed,
    pool: ThreadPoolExecutor,
    state: TaskState,
) -> tuple[list[Future], Candidates]:
    """Cut what each hashed block decides and queue those chunks for fingerprinting;
    release the pages behind the work, and the layer's mapping once it is done."""
    data = feed.data(layer)
    blocks = -(-layer.bytes // BLOCK_SIZE)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    pending_pos = np.zeros(0, np.int64)  # candidates at or after the next chunk's start
    pending_hash = np.zeros(0, np.uint64)
    pieces: list[Future] = []
    unreleased: deque[tuple[Future, int]] = deque()  # fingerprint tasks and where they end
    released = start = 0
    for done in range(1, blocks + 1):
        positions, hashes = feed.take().result()
        parts.append((positions, hashes))
        state.progress(layer.name, "hash", done / blocks)
        keep = pending_pos >= start
        pending_pos = np.concatenate([pending_pos[keep], positions])
        pending_hash = np.concatenate([pending_hash[keep], hashes])
        known = min(layer.bytes, done * BLOCK_SIZE)
        offsets, next_start = cut_range(data, params, pending_pos, pending_hash, start, known)
        if len(offsets):
            lengths = np.diff(offsets, append=np.int64(next_start))
            tasks = _queue_fingerprints(pool, layer, offsets, lengths, params, state, data)
            pieces += [future for future, _ in tasks]
            unreleased.extend(tasks)
        start = next_start
        # Bytes before every unfinished fingerprint task and before the next chunk are
        # done with (later hashing only reads ahead of ``known``).
        while unreleased and unreleased[0][0].done():
            released_until = min(unreleased.popleft()[1], start)
            release_pages(data, released, released_until)
            released = max(released, released_until)
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
) -> list[Future | _Reused]:
    """Re-cut from cached candidates a window at a time, so the workers fingerprint the
    first chunks while later ones are still being cut (the cut alone was a fifth of a
    re-cut). The cut reads a few dozen bytes per chunk; pages behind it are released."""
    pieces: list[Future | _Reused] = []
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
            found = _find_in(previous, offsets, lengths)
            if found is None:
                tasks = _queue_fingerprints(pool, layer, offsets, lengths, params, state)
                pieces += [future for future, _ in tasks]
            else:
                known, known_fingerprints = found
                fresh = ~known
                tasks = _queue_fingerprints(
                    pool, layer, offsets[fresh], lengths[fresh], params, state
                )
                pieces.append(
                    _Reused(offsets, lengths, known, known_fingerprints, [f for f, _ in tasks])
                )
            release_pages(data, start, next_start)
            start = next_start
    return pieces


def _find_in(
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


class _Reused:
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


def _scan(
    data: np.ndarray, start: int, masks: CandidateMasks, state: TaskState
) -> tuple[np.ndarray, np.ndarray]:
    state.check()
    # The kernel warms up on the 63 bytes before the block, read from the same mapping.
    return scan_block(data, start, min(len(data), start + BLOCK_SIZE), masks)


def _queue_fingerprints(
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
