"""The per-chunk CSV (``--csv-chunks``): one row per chunk, in layer order then offset.

Kept apart from the other exports so the Dask workers, which write their rows with
``layer_chunk_rows`` and ``chunk_csv_writer``, import no HTML.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from cdcviewer.index.dedup import CLASS_NAMES

if TYPE_CHECKING:
    from cdcviewer.analysis.result import AnalysisResult
    from cdcviewer.analysis.workspace import Analysis

CHUNK_CSV_COLUMNS = ("layer", "offset", "length", "fingerprint", "class", "layers")


def chunk_rows(analysis: Analysis) -> Iterator[tuple[str, int, int, str, str, int]]:
    """(layer, offset, length, fingerprint hex, class, number of layers holding it)."""
    index = analysis.index
    for i, (layer, chunks) in enumerate(zip(analysis.layers, analysis.chunks, strict=True)):
        yield from layer_chunk_rows(
            layer.name,
            chunks.offsets,
            chunks.lengths,
            chunks.fingerprints,
            index.chunk_classes[i],
            index.layer_count[index.chunk_ids[i]],
        )


def layer_chunk_rows(
    name: str,
    offsets: np.ndarray,
    lengths: np.ndarray,
    fingerprints: np.ndarray,
    classes: np.ndarray,
    holders: np.ndarray,
) -> Iterator[tuple[str, int, int, str, str, int]]:
    """``chunk_rows`` of one layer, from its columns (``fingerprints``: one row of digest
    bytes per chunk); the Dask workers write their rows with it too."""
    width = 2 * fingerprints.shape[1] if fingerprints.ndim == 2 else 32
    # One hex conversion per layer instead of one per chunk.
    hexed = fingerprints.tobytes().hex()
    class_of = classes.tolist()
    held = holders.tolist()
    for k, (offset, length) in enumerate(zip(offsets.tolist(), lengths.tolist(), strict=True)):
        yield (
            name,
            offset,
            length,
            hexed[k * width : (k + 1) * width],
            CLASS_NAMES[class_of[k]],
            held[k],
        )


def chunk_csv_writer(handle: TextIO) -> Any:  # csv's writer type is private
    """The writer of every per-chunk CSV row, here and on the Dask workers."""
    return csv.writer(handle, lineterminator="\n")


def write_chunks_csv(analysis: AnalysisResult, handle: TextIO) -> None:
    """One row per chunk, in layer order then offset order."""
    writer = chunk_csv_writer(handle)
    writer.writerow(CHUNK_CSV_COLUMNS)
    written_elsewhere = getattr(analysis, "copy_chunk_csv_rows", None)
    if written_elsewhere is not None:  # a Dask analysis: its workers wrote the rows
        written_elsewhere(handle)
    else:
        writer.writerows(chunk_rows(analysis))
