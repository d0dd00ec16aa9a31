"""Cut each input's layers while the next inputs still decode.

Decompressing a gzip'd layer (isal) and cutting one (the compiled kernels) both release
the GIL, so the two can share the cores: as soon as an input has loaded, its layers go
to ``chunk_layers`` on a runner thread of their own, and the loader goes on with the next
input. The tables are the ones ``Workspace.analyze`` would have computed for new layers
(cut directly, nothing cached to reuse), so it takes them instead of cutting again.

A cut that fails here is only dropped: ``analyze`` then cuts that layer as it always
did, and reports the problem where it always has.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from cdcviewer.analysis.pipeline import LayerChunks, chunk_layers
from cdcviewer.base.errors import Cancelled
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.kernels.small import SMALL_INPUT
from cdcviewer.sources.layers import Layer

log = logging.getLogger(__name__)


class CutWhileLoading:
    """Pass ``loaded`` as the loader's ``on_loaded``; ``tables()`` once the load is done.
    Use as a context manager: leaving it stops and waits for every cut still running."""

    def __init__(self, params: ChunkerParams, workers: int, state: TaskState) -> None:
        self.params = params
        self._workers = workers
        # Our own state: the user's cancel stops us; our failure stops only us.
        self._caller = state
        self._state = state.child()
        self._runner = ThreadPoolExecutor(1, thread_name_prefix="cdc-early-cut")
        self._jobs: list[tuple[list[Layer], Future]] = []
        self._lock = threading.Lock()
        # Inputs are cut as they arrive, so the numpy-only cut for small inputs
        # (``kernels.small``) gets what is left of the whole load's allowance.
        self._small_left = SMALL_INPUT

    def loaded(self, layers: list[Layer]) -> None:
        """One input's layers are ready: queue their cut (called from the load threads)."""
        with self._lock:
            small_limit = self._small_left
            self._small_left -= sum(layer.bytes for layer in layers)
            future = self._runner.submit(self._cut, list(layers), small_limit)
            self._jobs.append((layers, future))

    def _cut(self, layers: list[Layer], small_limit: int) -> list[LayerChunks]:
        try:
            return chunk_layers(
                layers,
                self.params,
                cached_candidates=lambda layer: None,
                store_candidates=lambda layer, candidates: None,
                workers=self._workers,
                state=self._state,
                small_limit=small_limit,
            )
        except Exception:
            self._state.cancel()  # no more cutting ahead: analyze() takes over
            raise

    def tables(self) -> dict[Layer, LayerChunks]:
        """Every layer cut without a problem, and its chunk table (waits for the cuts)."""
        done: dict[Layer, LayerChunks] = {}
        with self._lock:
            jobs = list(self._jobs)
        for layers, future in jobs:
            try:
                done.update(zip(layers, future.result(), strict=True))
            except Cancelled:
                self._caller.check()  # the user's cancel goes on up; ours stays here
            except Exception:
                # analyze() cuts these layers again and reports what goes wrong there.
                log.debug("cut while loading failed; analyze will retry", exc_info=True)
        return done

    def close(self) -> None:
        self._state.cancel()
        self._runner.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> CutWhileLoading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
