"""Analysis orchestration: a workspace of loaded layers, and analyses of it per parameters.

A ``Workspace`` owns the cache folder, the loaded layers and what is worth keeping
between parameter changes (the hash candidates of each layer, recent chunk tables).
An ``Analysis`` is an immutable snapshot: layers, their chunks and the dedup index for
one ``ChunkerParams``; ``rechunk`` asks the workspace for another one.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from cdcviewer.analysis.chunking import candidate_family, chunk_layers
from cdcviewer.analysis.compressed import SizeCache
from cdcviewer.analysis.document import figures_document
from cdcviewer.analysis.overlap import CutWhileLoading
from cdcviewer.analysis.pipeline import LayerChunks
from cdcviewer.analysis.recuts import RecutPreparer
from cdcviewer.analysis.registry_blobs import RegistryBlobs
from cdcviewer.analysis.storage import measure_storage
from cdcviewer.base.errors import InputError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.index.dedup import DedupIndex, IndexFigures, build_index
from cdcviewer.index.histogram import chunk_size_histogram
from cdcviewer.index.raster import draw_lane_rows
from cdcviewer.index.storage import StorageFigures, StoreParams
from cdcviewer.kernels.buzhash_sizes import BuzhashCandidates
from cdcviewer.kernels.fingerprint import index_keys
from cdcviewer.kernels.gear import Candidates
from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.loader import LoadResult, load_inputs
from cdcviewer.sources.names import numbered
from cdcviewer.sources.registry.settings import RegistrySettings

CHUNK_TABLES_KEPT = 64  # (layer, params) chunk tables kept for quick switching back


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def split_repeated(
    paths: Iterable[str | Path], loaded: Iterable[str | Path] = ()
) -> tuple[list[str | Path], list[InputError]]:
    """``paths`` without those naming an input already given (the same file, however
    spelled), and an "already loaded" failure for each of those: the rule every way of
    analysing (one machine, Dask) applies alike."""
    known = {Path(source).resolve() for source in loaded}
    fresh: list[str | Path] = []
    repeated: list[InputError] = []
    for path in paths:
        resolved = Path(path).resolve()
        if resolved in known:
            repeated.append(InputError(str(path), "already loaded"))
        else:
            fresh.append(path)
        known.add(resolved)
    return fresh, repeated


class Workspace:
    """The loaded layers and their reusable hashing; safe to use from one worker at a time.

    With ``prepare_recuts`` (the window), every analysis is followed by a background scan
    of its layers (``recuts.RecutPreparer``), so the re-cuts that follow need no hashing.
    """

    def __init__(
        self,
        cache: CacheDir | None = None,
        workers: int | None = None,
        registry: RegistrySettings | None = None,
        prepare_recuts: bool = False,
        sizes: SizeCache | None = None,
    ) -> None:
        self.cache = cache if cache is not None else CacheDir()
        self.workers = workers or default_workers()
        # Platform, TLS exceptions and blob cache for inputs that are image references.
        self.registry = registry or RegistrySettings()
        self.prepare_recuts = prepare_recuts
        self.layers: list[Layer] = []
        self.failures: list[InputError] = []
        self.last_failures: list[InputError] = []  # those of the latest add()
        self._lock = threading.Lock()
        # per (layer, candidate_family): gear and buzhash candidates serve different cuts
        self._candidates: dict[tuple[Layer, str], Candidates | BuzhashCandidates] = {}
        self._tables: OrderedDict[tuple[Layer, ChunkerParams], LayerChunks] = OrderedDict()
        # The background scan serves FastCDC re-cuts: gear candidates only.
        self._preparer = RecutPreparer(
            self.workers,
            lambda layer: self._candidates.get((layer, "gear")),  # type: ignore[arg-type,return-value]
            lambda layer, found: self._store_candidates(layer, "gear", found),
        )
        # Kept across re-cuts: each fingerprint's compressed size (shareable with a
        # workspace of derived streams), and each layer's registry blob.
        self.compressed_sizes = sizes if sizes is not None else SizeCache()
        self.registry_blobs = RegistryBlobs()

    # -- loading ---------------------------------------------------------------------
    def add(
        self,
        paths: Iterable[str | Path],
        state: TaskState = NULL_STATE,
        registry: RegistrySettings | None = None,
        cut_with: ChunkerParams | None = None,
        again: bool = False,
    ) -> list[Layer]:
        """Load inputs; returns the new layers. Failures are appended to ``failures``.

        ``registry`` overrides the workspace's registry settings for this load (the
        window's Open Image chooses a platform per image). ``cut_with``: the analysis
        that follows uses these parameters, so cut each input's layers with them while
        the next inputs still load (``overlap``); ``analyze`` then finds them cut.
        ``again``: read inputs even if loaded already (Undo puts back some layers of an
        input whose other layers stayed; it removes the copies of those it reads)."""
        loaded = [] if again else [layer.source for layer in self.layers]
        fresh, repeated = split_repeated(paths, loaded)
        registry = registry or self.registry
        before = self._cache_files()
        try:
            result, early = self._load(fresh, state, registry, cut_with)
        except BaseException:
            # Inputs that finished before another was cancelled (or failed unexpectedly)
            # wrote copies that no loaded layer will ever point at.
            for path in self._cache_files() - before:
                self._delete_copy(path)
            raise
        failures = list(result.failures) + repeated
        with self._lock:
            taken = {layer.name for layer in self.layers}
            for layer in result.layers:
                if layer.name in taken:
                    layer.name = numbered(layer.name, taken)
                taken.add(layer.name)
            self._share_copies(result.layers)
            self.layers.extend(result.layers)
            self.failures.extend(failures)
            # Not trimmed to CHUNK_TABLES_KEPT here: the analysis that follows needs
            # them all, and trims after.
            for layer in result.layers:
                if cut_with is not None and layer in early:
                    self._tables[(layer, cut_with)] = early[layer]
        self.last_failures = failures
        return result.layers

    def _load(
        self,
        paths: list[str | Path],
        state: TaskState,
        registry: RegistrySettings,
        cut_with: ChunkerParams | None,
    ) -> tuple[LoadResult, dict[Layer, LayerChunks]]:
        """Load ``paths``; with ``cut_with``, also each input's layers cut as it loads.
        Not for buzhash: its pipeline keeps candidates per layer, which a load that fails
        would leave behind (and its first cut is not the gear pipeline's direct one)."""
        if cut_with is None or candidate_family(cut_with) == "buzhash":
            return load_inputs(paths, self.cache, state, self.workers, registry), {}
        self._preparer.stop()
        with CutWhileLoading(cut_with, self.workers, state) as cutter:
            result = load_inputs(
                paths, self.cache, state, self.workers, registry, on_loaded=cutter.loaded
            )
            return result, cutter.tables()

    def remove(self, layers: Iterable[Layer]) -> None:
        """Forget ``layers`` and delete their decompressed copies no other layer uses."""
        self._preparer.stop()
        gone = set(layers)
        with self._lock:
            self.layers = [layer for layer in self.layers if layer not in gone]
            for key in [k for k in self._candidates if k[0] in gone]:
                del self._candidates[key]
            for key in [k for k in self._tables if k[0] in gone]:
                del self._tables[key]
            kept = {layer.path for layer in self.layers}
            for path in {layer.path for layer in gone} - kept:
                self._delete_copy(path)
        self.registry_blobs.forget(list(gone))

    def _cache_files(self) -> set[Path]:
        """The streams in the cache folder (none when the folder is gone: the loader
        names that problem per input)."""
        try:
            return {path for path in self.cache.path.iterdir() if path.name != "owner.pid"}
        except OSError:
            return set()

    def _in_cache(self, path: Path) -> bool:
        return Path(path).parent == self.cache.path

    def _delete_copy(self, path: Path) -> None:
        """Remove a decompressed stream of the cache; originals are never touched."""
        if self._in_cache(path):
            Path(path).unlink(missing_ok=True)

    def _share_copies(self, fresh: list[Layer]) -> None:
        """Point new layers at an existing decompressed copy of the same blob (same digest
        and length), deleting their own: a blob held by several images, or loaded again,
        is kept once in the cache."""
        copies = {
            (layer.digest, layer.bytes): layer
            for layer in self.layers
            if layer.digest and self._in_cache(layer.path)
        }
        replaced = set()
        for layer in fresh:
            if not layer.digest or not self._in_cache(layer.path):
                continue
            original = copies.setdefault((layer.digest, layer.bytes), layer)
            if original is not layer and original.path != layer.path:
                replaced.add(layer.path)
                layer.path, layer.offset = original.path, original.offset
        # A copy may hold several layers (a decompressed outer archive): only unused ones go.
        used = {layer.path for layer in [*self.layers, *fresh]}
        for path in replaced - used:
            self._delete_copy(path)

    def reorder(self, layers: Sequence[Layer]) -> None:
        with self._lock:
            if set(layers) != set(self.layers):
                raise ValueError("reorder needs exactly the loaded layers")
            self.layers = list(layers)

    # -- analysis --------------------------------------------------------------------
    def analyze(
        self,
        params: ChunkerParams,
        state: TaskState = NULL_STATE,
        layers: Sequence[Layer] | None = None,
        keep_candidates: bool = False,
    ) -> Analysis:
        """The layers (all by default) cut with ``params``. ``keep_candidates``: more cuts
        of them follow at once (a sweep), so hash every position now and keep it."""
        self._preparer.stop()
        chosen = list(self.layers if layers is None else layers)
        tables: list[LayerChunks | None] = []
        with self._lock:
            for layer in chosen:
                table = self._tables.get((layer, params))
                if table is not None:
                    self._tables.move_to_end((layer, params))
                tables.append(table)
        missing = [layer for layer, table in zip(chosen, tables, strict=True) if table is None]
        family = candidate_family(params)
        computed = chunk_layers(
            missing,
            params,
            cached_candidates=lambda layer: self._candidates.get((layer, family)),
            store_candidates=lambda layer, found: self._store_candidates(layer, family, found),
            workers=self.workers,
            state=state,
            previous_table=lambda layer: self._latest_table(layer, params),
            keep_candidates=keep_candidates,
        )
        fresh = iter(computed)
        with self._lock:
            for i, layer in enumerate(chosen):
                if tables[i] is None:
                    tables[i] = next(fresh)
                    self._tables[(layer, params)] = tables[i]
            while len(self._tables) > CHUNK_TABLES_KEPT:
                self._tables.popitem(last=False)
        state.progress("all layers", "index", 0.0)
        done = [t for t in tables if t is not None]
        index = build_index([t.lengths for t in done], [index_keys(t.fingerprints) for t in done])
        state.check()
        if self.prepare_recuts:
            self._preparer.start(chosen, params)
        return Analysis(self, params, chosen, done, index, list(self.failures))

    def wait_for_recuts(self) -> None:
        """Until the background scan for re-cuts (``prepare_recuts``) is done."""
        self._preparer.wait()

    def _latest_table(self, layer: Layer, params: ChunkerParams) -> LayerChunks | None:
        """The layer's most recent chunk table with the same fingerprint hash."""
        with self._lock:
            for (owner, other), table in reversed(self._tables.items()):
                if owner is layer and other.hash == params.hash:
                    return table
        return None

    def _store_candidates(
        self, layer: Layer, family: str, candidates: Candidates | BuzhashCandidates
    ) -> None:
        with self._lock:
            self._candidates[(layer, family)] = candidates

    def candidate_bytes(self) -> int:
        return sum(c.nbytes for c in self._candidates.values())

    def close(self) -> None:
        self._preparer.stop()
        self.cache.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Analysis(IndexFigures):
    """Layers cut with one ``ChunkerParams``, and every figure of docs/design.md."""

    def __init__(
        self,
        workspace: Workspace,
        params: ChunkerParams,
        layers: list[Layer],
        chunks: list[LayerChunks],
        index: DedupIndex,
        failures: list[InputError],
    ) -> None:
        self.workspace = workspace
        self.params = params
        self.layers = layers
        self.chunks = chunks
        self.index = index
        self.failures = failures
        self.owns_workspace = False
        # The compressed store and the registry, once measure_storage() made them.
        self.storage: StorageFigures | None = None

    def rechunk(self, params: ChunkerParams, state: TaskState = NULL_STATE) -> Analysis:
        """The same layers cut with ``params``, reusing the cached hashing."""
        return self.workspace.analyze(params, state, self.layers)

    def measure_storage(
        self,
        store: StoreParams | None = None,
        state: TaskState = NULL_STATE,
        sample: float | None = None,
    ) -> StorageFigures:
        """The compressed chunk store against the registry's blobs (``index.storage``):
        exact, or estimated from a ``sample`` fraction of the fingerprints. Kept as
        ``storage``, which the report, its exports and the window show."""
        self.storage = self.storage_figures(store, state, sample)
        return self.storage

    def storage_figures(
        self,
        store: StoreParams | None = None,
        state: TaskState = NULL_STATE,
        sample: float | None = None,
    ) -> StorageFigures:
        """``measure_storage`` without keeping the result as ``storage``."""
        workspace = self.workspace
        return measure_storage(
            self.layers,
            self.chunks,
            self.index,
            self.params.hash,
            store or StoreParams(),
            (workspace.compressed_sizes, workspace.registry_blobs),
            workspace.workers,
            state,
            sample,
        )

    def all_lengths(self) -> np.ndarray:
        return (
            np.concatenate([c.lengths for c in self.chunks])
            if self.chunks
            else np.zeros(0, np.int64)
        )

    def lane_rows(self, width: int) -> list[np.ndarray]:
        """Each lane's pixels for the HTML map (``index.raster.lane_row``), drawn here."""
        return draw_lane_rows(
            [layer.bytes for layer in self.layers],
            [chunks.offsets for chunks in self.chunks],
            [chunks.lengths for chunks in self.chunks],
            self.index,
            width,
        )

    def chunk_size_histogram(self) -> tuple[list[int], list[int]]:
        """Bin edges and counts of the chunk lengths (``index.histogram``)."""
        return chunk_size_histogram(self.all_lengths())

    def to_dict(self) -> dict[str, object]:
        """The report JSON of docs/design.md without optional sections (``report`` adds
        those)."""
        return figures_document(self)

    def close(self) -> None:
        """Close the workspace if ``analyze()`` made it for this analysis; an analysis
        from a workspace you hold (or from ``rechunk``) leaves it open."""
        if self.owns_workspace:
            self.workspace.close()

    def __enter__(self) -> Analysis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def analyze(
    paths: Iterable[str | Path],
    params: ChunkerParams | None = None,
    workers: int | None = None,
    state: TaskState = NULL_STATE,
    cache: CacheDir | None = None,
    registry: RegistrySettings | None = None,
) -> Analysis:
    """Load ``paths`` and analyse them; close the result (or use ``with``) to drop caches.

    ``paths`` may hold image references (``docker://alpine:3.20``); ``registry`` sets the
    platform, TLS exceptions and blob cache for them.
    """
    params = params or ChunkerParams()
    workspace = Workspace(cache, workers, registry)
    try:
        workspace.add(paths, state, cut_with=params)
        analysis = workspace.analyze(params, state)
        analysis.owns_workspace = True
        return analysis
    except BaseException:
        workspace.close()
        raise
