"""A parameter sweep run alongside a distributed analysis (``analyze_distributed``).

Each worker task cuts its layers at every sweep point too (``cut.cut_at_every_point``)
and keeps one more chunk table per point. A sweep row needs less than the full figures:
the chunk count comes with the task's summary, and the distinct fingerprints and their
stored bytes are one light reduction per point (``point_reduction``: shuffle by
fingerprint, count each partition's distinct fingerprints). ``assemble_sweep`` then
builds the ``SweepResult`` that ``sweep.sweep`` gives for the same layers, point for
point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.distributed.index import (
    DISTINCT_DTYPES,
    TABLE_DTYPES,
    empty_frame,
    first_layer_numbers,
    identical_streams,
    layer_level_stored_bytes,
    partition_distinct,
)
from cdcviewer.insight.sweep import SweepResult, SweepRow, sweep_params

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Future

    from cdcviewer.distributed.result import DistributedAnalysis
    from cdcviewer.distributed.tables import InputSummary


@dataclass(frozen=True)
class SweepPlan:
    """The sweep asked for with an analysis at ``base``: its points as ``sweep_params``
    gives them (smallest average first), and those the workers cut on their own."""

    base: ChunkerParams
    points: list[ChunkerParams]
    entry_size: int

    @classmethod
    def of(cls, avgs: Iterable[int], base: ChunkerParams, entry_size: int) -> SweepPlan:
        return cls(base, sweep_params(avgs, base), entry_size)

    @property
    def extra(self) -> list[ChunkerParams]:
        """The points the workers cut: all but the analysis's own parameters, whose row
        the analysis gives (as ``sweep`` reuses the analysis it is handed)."""
        return [params for params in self.points if params != self.base]


# Computes dask collections together on the cluster, following cancellation and telling
# progress(done, total): (collections, state, progress) -> their results.
ComputeAll = Callable[[list, TaskState, Callable[[int, int], None]], list]


@dataclass(frozen=True)
class PointFigures:
    """What a sweep row needs beyond the layers' sizes."""

    chunks: int
    distinct_chunks: int
    stored_bytes: int


def reduce_sweep_points(
    summaries: Sequence[InputSummary],
    point_tables: Sequence[Sequence[Future]],
    rows_per_partition: int,
    state: TaskState,
    compute: ComputeAll,
) -> list[PointFigures]:
    """The figures of each extra sweep point from its chunk tables (``point_tables[k]``:
    one per input of ``summaries``, in input order). ``compute`` runs the reductions of
    all points together on the cluster. A point without chunks needs no reduction."""
    chunks = [
        sum(n for s in summaries for n in s.sweep_chunk_counts[k]) for k in range(len(point_tables))
    ]
    reduced = [point for point, total in enumerate(chunks) if total]
    if not reduced:
        return [PointFigures(0, 0, 0) for _ in chunks]
    layer_counts = [len(s.layers) for s in summaries]
    layer_base = first_layer_numbers([s.order for s in summaries], layer_counts)
    wanted = [
        point_reduction(point_tables[k], layer_base, chunks[k], rows_per_partition) for k in reduced
    ]

    def progress(done: int, total: int) -> None:
        state.progress(f"{done}/{total} sweep points", "sweep", done / total)

    progress(0, len(wanted))
    figures = [PointFigures(0, 0, 0) for _ in chunks]
    for k, summed in zip(reduced, compute(wanted, state, progress), strict=True):
        figures[k] = PointFigures(chunks[k], int(summed["distinct"]), int(summed["stored"]))
    return figures


def point_reduction(
    tables: Sequence[Future], layer_base: np.ndarray, total_chunks: int, rows_per_partition: int
) -> dd.Series:
    """The distinct fingerprints and stored bytes of one point's chunk tables (one per
    input, in input order), as a dask series (``distributed.index.DISTINCT_DTYPES``)."""
    import dask.dataframe as dd

    chunks = dd.from_delayed(list(tables), meta=empty_frame(TABLE_DTYPES), verify_meta=False)
    partitions = max(1, math.ceil(total_chunks / max(1, rows_per_partition)))
    by_fingerprint = chunks.shuffle(on=["hi", "lo"], npartitions=partitions)
    shares = by_fingerprint.map_partitions(
        partition_distinct, layer_base, meta=empty_frame(DISTINCT_DTYPES)
    )
    return shares.sum()


def assemble_sweep(
    plan: SweepPlan,
    analysis: DistributedAnalysis,
    summaries: Sequence[InputSummary],
    extra_figures: Sequence[PointFigures],
) -> SweepResult:
    """The ``SweepResult`` that ``sweep.sweep(analysis, ...)`` gives on one machine:
    ``extra_figures[k]`` are those of ``plan.extra[k]``, and the point at the analysis's
    own parameters takes the analysis's figures."""
    index = analysis.index
    figures = dict(zip(plan.extra, extra_figures, strict=True))
    figures[plan.base] = PointFigures(index.total_chunks, index.distinct_chunks, index.stored_bytes)
    rows = [
        SweepRow(
            params=params,
            total_bytes=analysis.total_bytes,
            chunks=figures[params].chunks,
            distinct_chunks=figures[params].distinct_chunks,
            stored_bytes=figures[params].stored_bytes,
            entry_size=plan.entry_size,
        )
        for params in plan.points
    ]
    # ``sweep`` takes the layer-level figure from its last (largest) point's index.
    last = plan.points[-1]
    if last == plan.base:
        layer_level = index.layer_level_stored_bytes
    else:
        point = plan.extra.index(last)
        sizes = [layer.bytes for layer in analysis.layers]
        keys = [key for s in summaries for key in s.sweep_stream_keys[point]]
        layer_level = layer_level_stored_bytes(sizes, identical_streams(sizes, keys))
    return SweepResult(
        base=plan.base,
        layers=[layer.name for layer in analysis.layers],
        total_bytes=analysis.total_bytes,
        layer_level_stored_bytes=layer_level,
        entry_size=plan.entry_size,
        rows=rows,
    )
