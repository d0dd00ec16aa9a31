"""The per-chunk CSV of a Dask analysis, written by the workers in one machine's order.

A chunk's class and holder count are known only where every occurrence of its
fingerprint meets (the shuffle by fingerprint). The classed rows, with their
fingerprints, are then regrouped by ranges of whole layers (``distributed.ranges``).
Each range writes its rows as CSV text with the single-machine row writer; the client
fetches the texts in order, a few at a time, into a spool file that the exports copy.
Neither the client nor any worker holds more than a few ranges' text.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

import numpy as np

from cdcviewer.base.progress import TaskState
from cdcviewer.distributed.client import wait_some
from cdcviewer.distributed.index import layer_runs
from cdcviewer.report.chunk_csv import chunk_csv_writer, layer_chunk_rows

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

    from cdcviewer.distributed.ranges import LayerRanges

PARTS_IN_FLIGHT = 4  # texts computed ahead of the one being written


def partition_chunk_csv(classed: pd.DataFrame, names: Sequence[str], first_layer: int = 0) -> str:
    """The CSV rows (``export.CHUNK_CSV_COLUMNS``, no header) of the layers in a partition
    of classed rows indexed by global layer, in layer then offset order; ``names[k]`` is
    the name of layer ``first_layer + k``."""
    text = io.StringIO(newline="")
    writer = chunk_csv_writer(text)
    for layer, rows in layer_runs(classed):
        # The canonical digest is the high word first, big-endian: index_keys read it so.
        words = np.column_stack([rows["hi"], rows["lo"]]).astype(">u8")
        writer.writerows(
            layer_chunk_rows(
                names[layer - first_layer],
                rows["offset"].astype(np.int64),
                rows["length"].astype(np.int64),
                words.view(np.uint8).reshape(len(words), 16),
                rows["class"],
                rows["holders"],
            )
        )
    return text.getvalue()


def spool_chunk_csv(
    client: Client, ranges: LayerRanges, names: Sequence[str], state: TaskState
) -> TextIO:
    """The CSV rows of every chunk, in layer then offset order, in a temporary file
    (rewound); ``ranges`` holds the classed chunks with their fingerprints."""
    import dask

    # Each range gets only its own layers' names: the graph stays small with many layers.
    texts = [
        dask.delayed(partition_chunk_csv)(part, list(names[first:end]), first)
        for part, first, end in ranges.ranges()
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
