"""Hash the loaded layers for re-cuts behind the first map.

The first pass cuts directly (it hashes each chunk from its ``min`` on and keeps
nothing), so the map comes up as fast as the layers can be cut. A re-cut from cached
candidates needs the hash at every position; in the window, this thread computes the
candidates while the user looks at the first map. An analysis that starts meanwhile
stops it first: the layers already scanned keep their candidates, the others are cut
directly again, so a re-cut is never slower than a fresh analysis.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from cdcviewer.base.errors import CdcError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.kernels.gear import CandidateMasks, Candidates
from cdcviewer.sources.layers import Layer

SCAN_BLOCK = 32 << 20


def scan_layer(
    layer: Layer, masks: CandidateMasks, pool: ThreadPoolExecutor, state: TaskState
) -> Candidates:
    """Every position of ``layer`` hashed on ``pool``, a block per task."""
    from cdcviewer.kernels.scan import scan_block  # numba: not before it is needed

    def block(data, start: int) -> tuple:
        state.check()
        return scan_block(data, start, min(layer.bytes, start + SCAN_BLOCK), masks)

    with layer.mapped() as data:
        tasks = [pool.submit(block, data, start) for start in range(0, layer.bytes, SCAN_BLOCK)]
        try:
            return Candidates.join(masks, [task.result() for task in tasks])
        except BaseException:
            state.cancel()
            for task in tasks:
                task.cancel()
            for task in tasks:
                if not task.cancelled():
                    task.exception()  # the mapping must outlive every running task
            raise


class RecutPreparer:
    """One background scan at a time; ``stop()`` before anything else hashes or cuts."""

    def __init__(
        self,
        workers: int,
        lookup: Callable[[Layer], Candidates | None],
        store: Callable[[Layer, Candidates], None],
    ) -> None:
        self._workers, self._lookup, self._store = workers, lookup, store
        self._thread: threading.Thread | None = None
        self._state = TaskState()

    def start(self, layers: list[Layer], params: ChunkerParams) -> None:
        """Scan those of ``layers`` whose cached candidates do not cover ``params``."""
        self.stop()
        if params.chunker != "fastcdc":
            return
        masks = CandidateMasks.for_params(params)
        todo = [
            layer
            for layer in layers
            if (known := self._lookup(layer)) is None or not known.masks.covers(params)
        ]
        if not todo:
            return
        self._state = state = TaskState()
        self._thread = threading.Thread(
            target=self._run, args=(todo, masks, state), name="cdc-recuts", daemon=True
        )
        self._thread.start()

    def _run(self, layers: list[Layer], masks: CandidateMasks, state: TaskState) -> None:
        try:
            with ThreadPoolExecutor(self._workers, thread_name_prefix="cdc-recuts") as pool:
                for layer in layers:
                    state.check()
                    self._store(layer, scan_layer(layer, masks, pool, state))
        except (CdcError, OSError, ValueError):
            # Cancelled, or a layer that cannot be read now (its file changed): nothing is
            # lost, those layers are cut directly when asked, and that cut says what is wrong.
            pass

    def stop(self) -> None:
        if self._thread is not None:
            self._state.cancel()
            self._thread.join()
            self._thread = None

    def wait(self) -> None:
        """Until the scan in progress is done (tests, benchmarks)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
