"""Which pipeline cuts the layers: casync's buzhash has its own, the others the gear one.

``chunk_layers`` here is what the workspace and the Dask workers call; it keeps the two
pipelines apart (each owns its hashing, caching and cutting) behind one signature.
"""

from __future__ import annotations

from cdcviewer.analysis.buzhash_pipeline import chunk_layers_buzhash
from cdcviewer.analysis.pipeline import (
    CandidateLookup,
    CandidateStore,
    LayerChunks,
    TableLookup,
    no_table,
)
from cdcviewer.analysis.pipeline import chunk_layers as chunk_layers_gear
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.sources.layers import Layer


def candidate_family(params: ChunkerParams) -> str:
    """What a layer's cached candidates are keyed by: buzhash's serve only buzhash."""
    return "buzhash" if params.chunker == "buzhash" else "gear"


def chunk_layers(
    layers: list[Layer],
    params: ChunkerParams,
    cached_candidates: CandidateLookup,
    store_candidates: CandidateStore,
    workers: int,
    state: TaskState = NULL_STATE,
    previous_table: TableLookup = no_table,
    **gear_options: object,
) -> list[LayerChunks]:
    """Cut and fingerprint every layer with ``params``'s chunker (``pipeline.chunk_layers``
    has the contract; ``gear_options`` are its own, which buzhash does without: it always
    keeps its candidates, a few bytes per average chunk)."""
    if params.chunker == "buzhash":
        return chunk_layers_buzhash(
            layers, params, cached_candidates, store_candidates, workers, state, previous_table
        )
    return chunk_layers_gear(
        layers,
        params,
        cached_candidates,
        store_candidates,
        workers,
        state,
        previous_table,
        **gear_options,  # type: ignore[arg-type]
    )
