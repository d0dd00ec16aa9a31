"""The per-chunk CSV of a Dask analysis, written by the workers in one machine's order.

A chunk's class and holder count are known only where every occurrence of its
fingerprint meets (the shuffle by fingerprint). The classed rows are then partitioned by
ranges of layers, cut where the client's chunk counts say, so that partition k holds
whole layers that all come before those of partition k + 1. Each partition writes its
rows as CSV text with the single-machine row writer; the client fetches the texts in
order, a few at a time, into a spool file that the exports copy. Neither the client nor
any worker holds more than a few partitions' text.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

import numpy as np

from .distributed_client import wait_some
from .distributed_index import (
    CHUNK_CLASS_DTYPES,
    FINGERPRINT_DTYPES,
    empty_frame,
    partition_chunk_classes,
)
from .export import chunk_csv_writer, layer_chunk_rows
from .progress import TaskState

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client

# Rows of CSV text per partition: about 100 bytes each, so a few MiB of text in flight.
CSV_ROWS_PER_PARTITION = 200_000
PARTS_IN_FLIGHT = 4  # texts computed ahead of the one being written


def layer_divisions(chunk_counts: Sequence[int], rows_per_partition: int) -> list[int]:
    """Divisions (first global layer of each partition, then the last layer) of a range
    partitioning by layer: whole layers, a new partition once one reaches
    ``rows_per_partition`` rows."""
    starts, rows = [0], 0
    for layer, count in enumerate(chunk_counts):
        if rows >= rows_per_partition:
            starts.append(layer)
            rows = 0
        rows += count
    return [*starts, max(0, len(chunk_counts) - 1)]


def partition_chunk_csv(classed: pd.DataFrame, names: Sequence[str], first_layer: int = 0) -> str:
    """The CSV rows (``export.CHUNK_CSV_COLUMNS``, no header) of the layers in a partition
    of classed rows indexed by global layer, in layer then offset order; ``names[k]`` is
    the name of layer ``first_layer + k``."""
    if classed.empty:
        return ""
    layer = classed.index.to_numpy(np.int64) - first_layer
    offset = classed["offset"].to_numpy(np.int64)
    order = np.lexsort((offset, layer))
    layer, offset = layer[order], offset[order]
    column = {name: classed[name].to_numpy()[order] for name in classed.columns}
    # The canonical digest is the high word first, big-endian: index_keys read it so.
    words = np.column_stack([column["hi"], column["lo"]]).astype(">u8")
    fingerprints = words.view(np.uint8).reshape(len(layer), 16)
    text = io.StringIO(newline="")
    writer = chunk_csv_writer(text)
    starts = np.flatnonzero(np.r_[True, layer[1:] != layer[:-1]])
    for first, last in zip(starts, [*starts[1:], len(layer)], strict=True):
        writer.writerows(
            layer_chunk_rows(
                names[layer[first]],
                offset[first:last],
                column["length"][first:last].astype(np.int64),
                fingerprints[first:last],
                column["class"][first:last],
                column["holders"][first:last],
            )
        )
    return text.getvalue()


def spool_chunk_csv(
    client: Client,
    by_fingerprint: dd.DataFrame,
    layer_base: np.ndarray,
    names: Sequence[str],
    chunk_counts: Sequence[int],
    state: TaskState,
) -> TextIO:
    """The CSV rows of every chunk, in layer then offset order, in a temporary file
    (rewound); ``by_fingerprint`` holds the chunk tables shuffled by fingerprint."""
    import dask

    classed = by_fingerprint.map_partitions(
        partition_chunk_classes,
        layer_base,
        True,
        meta=empty_frame(CHUNK_CLASS_DTYPES | FINGERPRINT_DTYPES),
    )
    divisions = layer_divisions(chunk_counts, CSV_ROWS_PER_PARTITION)
    by_layer = client.persist(classed.set_index("layer", divisions=divisions))
    # Each range gets only its own layers' names: the graph stays small with many layers.
    bounds = [*divisions[:-1], divisions[-1] + 1]
    texts = [
        dask.delayed(partition_chunk_csv)(part, list(names[first:end]), first)
        for part, first, end in zip(by_layer.to_delayed(), bounds[:-1], bounds[1:], strict=True)
    ]
    spool = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 - returned
    pending = [client.compute(text) for text in texts[:PARTS_IN_FLIGHT]]
    try:
        for k in range(len(texts)):
            if k + PARTS_IN_FLIGHT < len(texts):
                pending.append(client.compute(texts[k + PARTS_IN_FLIGHT]))
            future = pending.pop(0)
            wait_some({future}, state)
            spool.write(future.result())
            state.progress("per-chunk CSV", "write", (k + 1) / len(texts))
        spool.seek(0)
    except BaseException:
        client.cancel(pending)
        spool.close()
        raise
    return spool
