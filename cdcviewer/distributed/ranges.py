"""Classed chunks regrouped by ranges of whole layers, in layer order, on the workers.

What needs every chunk of a layer together, in layer order (the per-chunk CSV, the
files attribution), reads the fingerprint shuffle's classed rows partitioned again by
ranges of layers: partition k holds whole layers, all before those of partition k + 1,
cut where the client's chunk counts say, so no division needs a pass over the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.distributed.index import (
    CHUNK_CLASS_DTYPES,
    FINGERPRINT_DTYPES,
    empty_frame,
    partition_chunk_classes,
)

if TYPE_CHECKING:
    import dask.dataframe as dd
    from dask.delayed import Delayed
    from distributed import Client


# Classed chunks per range: about 100 bytes of CSV text or 21-37 bytes of rows each, so a
# range is a few tens of MB wherever it is held.
ROWS_PER_RANGE = 200_000


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


@dataclass
class LayerRanges:
    """Persisted classed rows indexed by global layer, one partition per range; ``parts[k]``
    holds layers ``bounds[k]`` to ``bounds[k + 1] - 1``."""

    parts: list[Delayed]
    bounds: list[int]

    def ranges(self) -> list[tuple[Delayed, int, int]]:
        """(partition, first layer, end layer) per range, in layer order."""
        return list(zip(self.parts, self.bounds[:-1], self.bounds[1:], strict=True))


def persist_layer_ranges(
    client: Client,
    by_fingerprint: dd.DataFrame,
    layer_base: np.ndarray,
    chunk_counts: Sequence[int],
    fingerprints: bool = False,
) -> LayerRanges:
    """The chunks of ``by_fingerprint`` (tables shuffled by fingerprint) classed, with
    their fingerprints if asked, and held on the workers by ranges of layers of about
    ``ROWS_PER_RANGE`` rows."""
    dtypes = CHUNK_CLASS_DTYPES | FINGERPRINT_DTYPES if fingerprints else CHUNK_CLASS_DTYPES
    classed = by_fingerprint.map_partitions(
        partition_chunk_classes, layer_base, fingerprints, meta=empty_frame(dtypes)
    )
    divisions = layer_divisions(chunk_counts, ROWS_PER_RANGE)
    by_layer = client.persist(classed.set_index("layer", divisions=divisions))
    return LayerRanges(by_layer.to_delayed(), [*divisions[:-1], divisions[-1] + 1])
