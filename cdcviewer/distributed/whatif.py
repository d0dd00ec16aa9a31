"""What-ifs on Dask: ``whatif.what_if`` with the derived streams made where the layers are.

Each worker task writes both derived streams of its input's tar layers (deterministic
tar, file contents) into its own cache, one variant at a time, cuts them with the
analysis's parameters and keeps only their chunk tables, as it does for the layers
themselves. The client indexes each variant's tables as it indexes the analysis's
(``distributed.reduce.index_chunk_tables``), over the tar layers only. The original tar
streams' figures are the analysis's own index when every layer is a tar; otherwise the
tar layers' rows are picked out of the analysis's tables on the workers and indexed too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.base.progress import TaskState
from cdcviewer.distributed.cut import TabledCut, cut_at_every_point
from cdcviewer.distributed.reduce import index_chunk_tables
from cdcviewer.distributed.tables import TableLayout
from cdcviewer.insight.whatif import (
    DERIVED,
    ORIGINAL,
    VariantFigures,
    WhatIfResult,
    derive_layer,
)

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client, Future

    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.distributed.index import DistributedIndex
    from cdcviewer.distributed.tables import InputSummary
    from cdcviewer.sources.cache import CacheDir
    from cdcviewer.sources.layers import Layer


@dataclass
class VariantCut:
    """One input's tar layers written as one variant and cut: the derived streams' sizes
    and their ``TabledCut``."""

    sizes: list[int]
    cut: TabledCut


def cut_variants(
    layers: Sequence[Layer],
    input_order: int,
    params: ChunkerParams,
    hash_threads: int,
    cache: CacheDir,
) -> list[VariantCut]:
    """Per variant of ``DERIVED``, the tar layers among ``layers`` written that way into
    ``cache`` and cut with ``params``; each variant's files are removed once cut."""
    tars = [layer for layer in layers if layer.kind == "tar"]
    cuts = []
    for variant in DERIVED:
        derived: list[Layer] = []
        try:
            for layer in tars:
                derived.append(derive_layer(layer, variant, cache))
            (cut,) = cut_at_every_point(derived, input_order, [params], hash_threads)
        finally:
            for made in derived:
                made.path.unlink(missing_ok=True)
        cuts.append(VariantCut([made.bytes for made in derived], cut))
    return cuts


def tar_rows(table: pd.DataFrame, tar_layers: Sequence[int]) -> pd.DataFrame:
    """The rows of ``table`` (one input's chunk table) of its tar layers, whose local
    numbers ``tar_layers`` become 0, 1, ...: the original variant's table."""
    renumber = np.full(max(tar_layers, default=-1) + 2, -1, dtype=np.int64)
    renumber[list(tar_layers)] = np.arange(len(tar_layers))
    layer = table["layer"].to_numpy(np.int64)
    new = renumber[np.minimum(layer, len(renumber) - 1)]
    kept = table[new >= 0].copy()
    kept["layer"] = new[new >= 0].astype(table["layer"].dtype)
    return kept


def _tar_layout(summaries: Sequence[InputSummary], variant: int | None) -> TableLayout:
    """The layout of the tar layers' tables: the original streams (``variant`` None) or
    the ``variant``-th derived ones; layers keep the original layers' names."""
    picked = [[summary.layers[i] for i in summary.tar_layers] for summary in summaries]
    if variant is None:
        sizes = [layer.bytes for layers in picked for layer in layers]
        counts = [s.chunk_counts[i] for s in summaries for i in s.tar_layers]
        keys = [s.stream_keys[i] for s in summaries for i in s.tar_layers]
    else:
        sizes = [n for s in summaries for n in s.variant_sizes[variant]]
        counts = [n for s in summaries for n in s.variant_chunk_counts[variant]]
        keys = [key for s in summaries for key in s.variant_stream_keys[variant]]
    return TableLayout(
        orders=[s.order for s in summaries],
        layer_counts=[len(layers) for layers in picked],
        names=[layer.name for layers in picked for layer in layers],
        sizes=sizes,
        chunk_counts=counts,
        stream_keys=keys,
    )


def index_variants(
    client: Client,
    summaries: Sequence[InputSummary],
    tables: Sequence[Future],
    variant_tables: Sequence[Sequence[Future]],
    state: TaskState,
    rows_per_partition: int,
) -> dict[str, DistributedIndex]:
    """The index of each derived variant's tables (``variant_tables[v]``: one per input)
    and, when some layers are not tars, of the original tar layers' rows of ``tables``."""
    indexes = {}
    if any(len(s.tar_layers) < len(s.layers) for s in summaries):
        picked = [
            client.submit(tar_rows, table, summary.tar_layers, pure=False)
            for table, summary in zip(tables, summaries, strict=True)
        ]
        indexes[ORIGINAL] = _index(
            client, _tar_layout(summaries, None), picked, state, rows_per_partition, ORIGINAL
        )
    for v, variant in enumerate(DERIVED):
        layout = _tar_layout(summaries, v)
        indexes[variant] = _index(
            client, layout, variant_tables[v], state, rows_per_partition, variant
        )
    return indexes


def _index(
    client: Client,
    layout: TableLayout,
    tables: Sequence[Future],
    state: TaskState,
    rows_per_partition: int,
    variant: str,
) -> DistributedIndex:
    indexed = index_chunk_tables(
        client,
        layout,
        tables,
        state=state,
        rows_per_partition=rows_per_partition,
        label=f"what-if index ({variant})",
    )
    return indexed.index


def what_if_result(
    params: ChunkerParams,
    summaries: Sequence[InputSummary],
    indexes: dict[str, DistributedIndex],
    analysis_index: DistributedIndex,
) -> WhatIfResult:
    """``whatif.what_if``'s result from the variants' indexes (``index_variants``) and
    the analysis's own index."""
    layers = [layer for s in summaries for layer in s.layers]
    tar_names = [s.layers[i].name for s in summaries for i in s.tar_layers]
    every = {ORIGINAL: analysis_index, **indexes}
    variants = {
        variant: VariantFigures.from_index(variant, tar_names, every[variant])
        for variant in (ORIGINAL, *DERIVED)
    }
    skipped = [layer.name for layer in layers if layer.kind != "tar"]
    return WhatIfResult(params, tar_names, skipped, variants)
