"""The compressed chunk store and the registry of one analysis (``index.storage``).

``measure_storage`` gathers one occurrence of every distinct chunk, takes the compressed
sizes the workspace's ``SizeCache`` knows, compresses the rest (all of them, or only a
deterministic sample of fingerprints for a quick estimate) and each layer's registry
blob, and adds them up with ``index.storage``.
"""

from __future__ import annotations

import numpy as np

from cdcviewer.analysis.compressed import DistinctChunks, SizeCache, chunk_sizes
from cdcviewer.analysis.pipeline import LayerChunks
from cdcviewer.analysis.registry_blobs import RegistryBlobs
from cdcviewer.base.errors import ParameterError
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.index.dedup import DedupIndex
from cdcviewer.index.storage import StorageFigures, StoreParams, estimated_figures, exact_figures
from cdcviewer.sources.layers import Layer

LIVE_SAMPLE_BYTES = 24 << 20  # distinct chunk bytes a live estimate compresses, about
LIVE_SAMPLE_CHUNKS = 2048  # and at least this many distinct chunks, expected


def live_sample_fraction(stored_bytes: int, distinct_chunks: int) -> float:
    """The fraction of fingerprints the window's quick estimate compresses: about
    ``LIVE_SAMPLE_BYTES`` of chunks but at least ``LIVE_SAMPLE_CHUNKS`` chunks (so the
    bound means something), rounded up to a power of two so the samples of other
    analyses of the same layers are the same chunks, or nested in them."""
    wanted = max(
        LIVE_SAMPLE_BYTES / max(1, stored_bytes), LIVE_SAMPLE_CHUNKS / max(1, distinct_chunks)
    )
    if wanted >= 1:
        return 1.0
    return 2.0 ** -int(np.floor(np.log2(1 / wanted)))


def measure_storage(
    layers: list[Layer],
    chunks: list[LayerChunks],
    index: DedupIndex,
    hash_name: str,
    store: StoreParams,
    caches: tuple[SizeCache, RegistryBlobs],
    workers: int,
    state: TaskState = NULL_STATE,
    sample: float | None = None,
) -> StorageFigures:
    """Exact figures, or with ``sample`` (0 < fraction < 1) an estimate from the
    fingerprints drawn for it, with its bound; exact after all when every size and blob
    is known already (going back to parameters seen before costs nothing then)."""
    if sample is not None and not 0 < sample <= 1:
        raise ParameterError(f"compression sample {sample} is not a fraction in (0, 1]")
    sizes, blobs = caches
    distinct = DistinctChunks.of(
        index, [c.offsets for c in chunks], [c.fingerprints for c in chunks]
    )
    fraction = 1.0 if sample is None else float(sample)
    if fraction < 1.0 and blobs.knows(layers):
        known = sizes.lookup(hash_name, store, distinct.hi, distinct.lo)
        if (known >= 0).all():
            return exact_figures(index, known, store, blobs.blobs(layers, workers, state))
    wanted = distinct.sampled(fraction)
    found = chunk_sizes(layers, distinct, wanted, hash_name, store, sizes, workers, state)
    registry = blobs.blobs(layers, workers, state, estimate=fraction < 1.0)
    state.check()
    if fraction >= 1.0:
        return exact_figures(index, found, store, registry)
    return estimated_figures(index, wanted, found, fraction, store, registry)
