"""The index of chunk tables on the cluster: one shuffle by fingerprint, reduced to the
figures of ``build_index``, and from the same shuffle, when asked, the byte-range map's
lanes and the per-chunk CSV rows.

Tables are one per input, in input order; a ``tables.TableLayout`` says which layers
they hold. The analysis's own tables have the layout of the inputs' summaries; the
what-if variants have their own (the tar layers' derived streams).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd

from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.distributed.chunk_csv import spool_chunk_csv
from cdcviewer.distributed.client import compute_all
from cdcviewer.distributed.files import FilesRequest, files_section_layers
from cdcviewer.distributed.index import (
    CHUNK_CLASS_DTYPES,
    LANE_PIXEL_DTYPES,
    PARTIAL_DTYPES,
    TABLE_DTYPES,
    DistributedIndex,
    assemble_index,
    assemble_lane_rows,
    combine_partials,
    empty_frame,
    first_layer_numbers,
    holder_set_weights,
    partition_chunk_classes,
    partition_figures,
    partition_lane_pixels,
)
from cdcviewer.distributed.ranges import persist_layer_ranges
from cdcviewer.index.raster import lane_widths

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future

    from cdcviewer.distributed.tables import TableLayout

# Rows of the chunk table per shuffled partition: 36 bytes each, so ~70 MB of table per
# task, ~270 MB at the peak of its reduction (bench/dask_vs_threads.py measures it).
DEFAULT_ROWS_PER_PARTITION = 2_000_000


@dataclass
class IndexedTables:
    """What ``index_chunk_tables`` computed on the workers."""

    index: DistributedIndex
    lanes: list[np.ndarray] | None  # raster.lane_row per layer, when a width was given
    partitions: int  # shuffled partitions, about rows_per_partition rows each
    chunk_csv: TextIO | None  # every chunk's CSV row (no header), rewound, when asked
    files_layers: list[dict[str, object]] | None = None  # the files section's, when asked


def index_chunk_tables(
    client: Client,
    layout: TableLayout,
    tables: Sequence[Future],
    *,
    state: TaskState = NULL_STATE,
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
    map_width: int | None = None,
    chunk_csv: bool = False,
    files: FilesRequest | None = None,
    label: str = "fingerprint index",
) -> IndexedTables:
    """The index of chunk tables on the workers, as one dask computation.

    ``tables[k]`` is the chunk table (``distributed.index.TABLE_DTYPES``) of the k-th
    input of ``layout``. With ``map_width`` the lanes of the
    byte-range map are drawn too, with ``chunk_csv`` every chunk's CSV row written, and
    with ``files`` the files section's entry of every layer made. Progress is reported as
    ``label``.
    """
    widths = lane_widths(layout.sizes, map_width) if map_width is not None else None
    total_chunks = sum(layout.chunk_counts)
    state.progress(label, "index", 0.0)
    if not total_chunks:
        return _index_without_chunks(client, layout, widths, chunk_csv, files, state)

    import dask.dataframe as dd

    layer_base = first_layer_numbers(layout.orders, layout.layer_counts)
    chunks = dd.from_delayed(tables, meta=empty_frame(TABLE_DTYPES), verify_meta=False)
    partitions = max(1, math.ceil(total_chunks / max(1, rows_per_partition)))
    by_fingerprint = chunks.shuffle(on=["hi", "lo"], npartitions=partitions)
    by_layer = chunk_csv or files is not None
    if by_layer:  # the figures, then the ranges by layer, read the one shuffle
        by_fingerprint = client.persist(by_fingerprint)
    partials = by_fingerprint.map_partitions(
        partition_figures,
        layer_base,
        holder_set_weights(len(layout.sizes)),
        meta=empty_frame(PARTIAL_DTYPES),
    )
    # Both results are small and wanted whole on the client: tree reductions, no shuffle
    # (value_counts would shuffle by default).
    length_counts = chunks["length"].value_counts(split_out=1)
    wanted = [combine_partials(partials), length_counts]
    if widths is not None:
        # Computed with the figures, so both read the one shuffle by fingerprint.
        wanted.append(_lane_pixels(by_fingerprint, layer_base, layout.sizes, widths, partitions))
    combined, length_counts, *pixels = compute_all(client, wanted, state)
    state.progress(label, "index", 1.0)
    sizes = layout.sizes
    index = assemble_index(sizes, layout.chunk_counts, layout.stream_keys, combined, length_counts)
    lanes = assemble_lane_rows(pixels[0], sizes, widths) if widths is not None else None
    rows = entries = None
    if by_layer:
        rows, entries = _read_by_layer(
            client, layout, by_fingerprint, layer_base, chunk_csv, files, state
        )
    return IndexedTables(index, lanes, partitions, rows, entries)


def _index_without_chunks(
    client: Client,
    layout: TableLayout,
    widths: list[int] | None,
    chunk_csv: bool,
    files: FilesRequest | None,
    state: TaskState,
) -> IndexedTables:
    """``index_chunk_tables`` of tables without a single chunk: nothing to shuffle."""
    sizes = layout.sizes
    nothing = combine_partials(empty_frame(PARTIAL_DTYPES))
    no_lengths = pd.Series([], dtype=np.int64)
    index = assemble_index(sizes, layout.chunk_counts, layout.stream_keys, nothing, no_lengths)
    no_pixels = empty_frame(LANE_PIXEL_DTYPES)
    lanes = assemble_lane_rows(no_pixels, sizes, widths) if widths is not None else None
    no_rows = io.StringIO() if chunk_csv else None
    no_chunks = [(None, 0, len(sizes))]
    entries = (
        files_section_layers(client, no_chunks, layout, files, state) if files is not None else None
    )
    return IndexedTables(index, lanes, 0, no_rows, entries)


def _read_by_layer(
    client: Client,
    layout: TableLayout,
    by_fingerprint: dd.DataFrame,
    layer_base: np.ndarray,
    chunk_csv: bool,
    files: FilesRequest | None,
    state: TaskState,
) -> tuple[TextIO | None, list[dict[str, object]] | None]:
    """The per-chunk CSV rows and the files section's entries, when asked, from the
    classed chunks regrouped by ranges of layers (``ranges``)."""
    ranges = persist_layer_ranges(
        client, by_fingerprint, layer_base, layout.chunk_counts, fingerprints=chunk_csv
    )
    rows = spool_chunk_csv(client, ranges, layout.names, state) if chunk_csv else None
    entries = (
        files_section_layers(client, ranges.ranges(), layout, files, state)
        if files is not None
        else None
    )
    return rows, entries


def _lane_pixels(
    by_fingerprint: dd.DataFrame,
    layer_base: np.ndarray,
    sizes: list[int],
    widths: list[int],
    partitions: int,
) -> dd.DataFrame:
    """The byte-range map's pixels (``distributed.index.LANE_PIXEL_DTYPES``), drawn on
    the workers: the chunks of the fingerprint partitions are classed there, regrouped by
    layer, and each layer's lane is drawn where all its chunks meet."""
    classified = by_fingerprint.map_partitions(
        partition_chunk_classes, layer_base, meta=empty_frame(CHUNK_CLASS_DTYPES)
    )
    return classified.shuffle(on="layer", npartitions=partitions).map_partitions(
        partition_lane_pixels,
        np.array(sizes, dtype=np.int64),
        np.array(widths, dtype=np.int64),
        len(sizes),
        meta=empty_frame(LANE_PIXEL_DTYPES),
    )
