"""Compressed size of every distinct chunk, computed once per fingerprint.

``SizeCache`` keeps each fingerprint's compressed size per (hash, codec, level) for the
life of the workspace, so a re-cut (a slider move, a sweep point) compresses only chunks
it has not seen. ``chunk_sizes`` finds the distinct chunks of an analysis without a
known size and compresses them in batches on a thread pool: python-zstandard releases
the GIL, so every worker compresses at once.

A sample is drawn by fingerprint value (``key high word < fraction x 2^64``): the same
chunks every time for the same fraction, and the samples of smaller fractions nested
inside those of larger ones, so an estimate does not flicker between re-cuts.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.index.dedup import DedupIndex
from cdcviewer.index.storage import StoreParams
from cdcviewer.kernels.compress import compressed_lengths
from cdcviewer.kernels.fingerprint import index_keys
from cdcviewer.sources.layers import Layer

BATCH_BYTES = 8 << 20  # chunk bytes per compression task: ~30 ms of zstd -3
BATCH_SPAN = 64 << 20  # stream bytes one task maps at most (re-cuts leave gaps)


class _Table:
    """Sorted (hi, lo) keys with a size each; merged in place as sizes arrive."""

    def __init__(self) -> None:
        self.hi = np.zeros(0, np.uint64)
        self.lo = np.zeros(0, np.uint64)
        self.size = np.zeros(0, np.int64)

    def lookup(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        sizes = np.full(len(hi), -1, np.int64)
        if not len(self.hi) or not len(hi):
            return sizes
        left = np.searchsorted(self.hi, hi, "left")
        right = np.searchsorted(self.hi, hi, "right")
        one = right - left == 1
        at = np.minimum(left, len(self.hi) - 1)
        hit = one & (self.lo[at] == lo)
        sizes[hit] = self.size[at[hit]]
        # Two keys with one high word: ~never for 64 random bits; looked up one by one.
        for i in np.flatnonzero(right - left > 1):
            run = slice(left[i], right[i])
            match = np.flatnonzero(self.lo[run] == lo[i])
            if len(match):
                sizes[i] = self.size[left[i] + match[0]]
        return sizes

    def add(self, hi: np.ndarray, lo: np.ndarray, size: np.ndarray) -> None:
        order = np.lexsort((lo, hi))
        hi, lo, size = hi[order], lo[order], size[order]
        where = np.searchsorted(self.hi, hi)
        self.hi = np.insert(self.hi, where, hi)
        self.lo = np.insert(self.lo, where, lo)
        self.size = np.insert(self.size, where, size)


class SizeCache:
    """Compressed sizes by fingerprint key, per (hash, codec, level); thread-safe."""

    def __init__(self) -> None:
        self._tables: dict[tuple[str, str, int], _Table] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _kind(hash_name: str, store: StoreParams) -> tuple[str, str, int]:
        return (hash_name, store.codec, store.level)

    def lookup(
        self, hash_name: str, store: StoreParams, hi: np.ndarray, lo: np.ndarray
    ) -> np.ndarray:
        """Known sizes of the keys, -1 where none is known."""
        with self._lock:
            table = self._tables.get(self._kind(hash_name, store))
            return table.lookup(hi, lo) if table else np.full(len(hi), -1, np.int64)

    def add(
        self, hash_name: str, store: StoreParams, hi: np.ndarray, lo: np.ndarray, size: np.ndarray
    ) -> None:
        if not len(hi):
            return
        with self._lock:
            self._tables.setdefault(self._kind(hash_name, store), _Table()).add(hi, lo, size)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(t.hi) for t in self._tables.values())


@dataclass
class DistinctChunks:
    """One occurrence of every distinct chunk of an analysis: where its bytes are and
    its fingerprint key (all in id order)."""

    layer: np.ndarray  # int64: a layer holding it
    offset: np.ndarray  # int64: its offset there
    length: np.ndarray  # int64
    hi: np.ndarray  # uint64: the key's high and low words
    lo: np.ndarray

    @classmethod
    def of(
        cls, index: DedupIndex, offsets: list[np.ndarray], fingerprints: list[np.ndarray]
    ) -> DistinctChunks:
        """From the index and each layer's chunk offsets and fingerprints."""
        n_ids = len(index.id_length)
        counts = [len(ids) for ids in index.chunk_ids]
        all_ids = np.concatenate(index.chunk_ids) if counts else np.zeros(0, np.int64)
        where = np.zeros(n_ids, np.int64)
        # Any occurrence will do (all hold the same bytes): the last written wins.
        where[all_ids] = np.arange(len(all_ids))
        layer_of = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        all_offsets = np.concatenate(offsets) if counts else np.zeros(0, np.int64)
        hi, lo = (
            index_keys(np.concatenate(fingerprints))
            if counts
            else (np.zeros(0, np.uint64), np.zeros(0, np.uint64))
        )
        return cls(
            layer_of[where],
            all_offsets[where],
            index.id_length.astype(np.int64),
            hi[where],
            lo[where],
        )

    def sampled(self, fraction: float) -> np.ndarray:
        """The ids drawn for a sample of ``fraction`` (a mask): by key value, stable."""
        if fraction >= 1.0:
            return np.ones(len(self.hi), bool)
        return self.hi < np.uint64(int(fraction * 2.0**64))


def chunk_sizes(
    layers: list[Layer],
    chunks: DistinctChunks,
    wanted: np.ndarray,
    hash_name: str,
    store: StoreParams,
    cache: SizeCache,
    workers: int,
    state: TaskState = NULL_STATE,
) -> np.ndarray:
    """Compressed sizes of the ids in the mask ``wanted`` (in id order): from ``cache``
    where known, the rest compressed on ``workers`` threads and added to it."""
    ids = np.flatnonzero(wanted)
    sizes = cache.lookup(hash_name, store, chunks.hi[ids], chunks.lo[ids])
    missing = ids[sizes < 0]
    if len(missing):
        fresh = _compress(layers, chunks, missing, store, workers, state)
        cache.add(hash_name, store, chunks.hi[missing], chunks.lo[missing], fresh)
        sizes[sizes < 0] = fresh
    return sizes


def _compress(
    layers: list[Layer],
    chunks: DistinctChunks,
    ids: np.ndarray,
    store: StoreParams,
    workers: int,
    state: TaskState,
) -> np.ndarray:
    """Compress the chunks ``ids``, grouped by layer and offset into batches."""
    if store.codec == "none":
        return chunks.length[ids].copy()
    order = np.lexsort((chunks.offset[ids], chunks.layer[ids]))
    ordered = ids[order]
    state = state.child()  # a failure stops our tasks, not the caller's work
    sizes = np.empty(len(ids), np.int64)
    total = int(chunks.length[ordered].sum())
    done = [0]
    lock = threading.Lock()

    def run(batch: slice) -> np.ndarray:
        state.check()
        chosen = ordered[batch]
        layer = layers[int(chunks.layer[chosen[0]])]
        offsets, lengths = chunks.offset[chosen], chunks.length[chosen]
        begin, end = int(offsets[0]), int(offsets[-1] + lengths[-1])
        with layer.mapped(begin, end) as data:
            result = compressed_lengths(data, offsets - begin, lengths, store.codec, store.level)
        with lock:
            done[0] += int(lengths.sum())
            state.progress("distinct chunks", "compress", done[0] / max(1, total))
        return result

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="cdc-compress") as pool:
        tasks: list[tuple[slice, Future]] = []
        try:
            for batch in _batches(chunks, ordered):
                tasks.append((batch, pool.submit(run, batch)))
            for batch, task in tasks:
                sizes[order[batch]] = task.result()
        except BaseException:
            state.cancel()
            pool.shutdown(cancel_futures=True)
            raise
    return sizes


def _batches(chunks: DistinctChunks, ordered: np.ndarray) -> list[slice]:
    """Runs of ``ordered`` (sorted by layer, then offset) in one layer, within one
    BATCH_SPAN-aligned window of its stream, holding about BATCH_BYTES of chunks."""
    if not len(ordered):
        return []
    layer, offset = chunks.layer[ordered], chunks.offset[ordered]
    filled = np.cumsum(chunks.length[ordered]) // BATCH_BYTES
    change = np.zeros(len(ordered), bool)
    change[0] = True
    for key in (layer, offset // BATCH_SPAN, filled):
        change[1:] |= key[1:] != key[:-1]
    bounds = [*np.flatnonzero(change).tolist(), len(ordered)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]
