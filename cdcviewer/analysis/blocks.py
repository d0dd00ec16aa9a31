"""The blocks of the layers to cut or hash, fed to the thread pool in order with a
bounded number in flight (``pipeline`` joins and fingerprints what comes back)."""

from __future__ import annotations

import contextlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.kernels.gear import CandidateMasks
from cdcviewer.sources.layers import Layer

BLOCK_SIZE = 32 << 20  # ~10 ms of hashing: amortises the Python glue and GIL hand-offs
SEGMENT_SIZE = 16 << 20  # a direct cut's block (a multiple of max: see _segment_size)


def _segment_size(params: ChunkerParams) -> int:
    """A direct cut's block: a multiple of max, so in a run of max-size chunks (zeros)
    every block starts at a true chunk start and joins at once."""
    return max(1, SEGMENT_SIZE // params.max_size) * params.max_size


class BlockFeed:
    """The blocks of the layers to hash or cut, in order, with at most ``ahead`` in flight.

    Each layer is mapped once for all its tasks: hashing faults its pages in, and the
    fingerprinting that follows finds them there (mapping each task's range anew cost a
    fifth of the first pass). Queuing every block at once would put all fingerprinting
    behind all hashing and keep every layer mapped; a short window interleaves them.
    """

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        layers: list[tuple[Layer, str]],
        params: ChunkerParams,
        masks: CandidateMasks | None,
        state: TaskState,
        ahead: int,
    ) -> None:
        self._pool, self._params, self._masks = pool, params, masks
        self._state, self._ahead = state, ahead
        segment = _segment_size(params)
        self._order = [
            (la, kind, start, min(la.bytes, start + size))
            for la, kind in layers
            for size in [BLOCK_SIZE if kind == "scan" else segment]
            for start in range(0, la.bytes, size)
        ]
        self._next = 0
        self._in_flight: deque[Future] = deque()
        self._maps: dict[int, tuple[contextlib.AbstractContextManager, np.ndarray]] = {}

    def blocks(self, layer: Layer) -> list[tuple[int, int]]:
        return [(a, b) for la, _, a, b in self._order if la is layer]

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
            layer, kind, start, stop = self._order[self._next]
            self._next += 1
            data = self.data(layer)
            if kind == "scan":
                task = self._pool.submit(_scan, data, start, stop, self._masks, self._state)
            else:
                task = self._pool.submit(_segment, data, start, stop, self._params, self._state)
            self._in_flight.append(task)

    def close(self, layer: Layer) -> None:
        entry = self._maps.pop(id(layer), None)
        if entry is not None:
            entry[0].__exit__(None, None, None)

    def close_all(self) -> None:
        for context, _ in self._maps.values():
            context.__exit__(None, None, None)
        self._maps.clear()


def _scan(
    data: np.ndarray, start: int, stop: int, masks: CandidateMasks, state: TaskState
) -> tuple[np.ndarray, np.ndarray]:
    from cdcviewer.kernels.scan import scan_block  # numba (start-up time)

    state.check()
    # The kernel warms up on the 63 bytes before the block, read from the same mapping.
    return scan_block(data, start, stop, masks)


def _segment(
    data: np.ndarray, start: int, stop: int, params: ChunkerParams, state: TaskState
) -> tuple[np.ndarray, int]:
    from cdcviewer.kernels.direct import cut_segment  # numba (start-up time)

    state.check()
    # A chunk starting before ``stop`` reads on past it, up to max bytes: same mapping.
    return cut_segment(data, params, start, stop)
