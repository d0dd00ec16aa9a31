"""What every analysis result offers, whoever computed it.

A local ``Analysis`` (``analysis.workspace``) and the Dask path's result both satisfy
``AnalysisResult``: the report, the HTML page and the insight views that need no more
than this take either, without importing the Dask path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from cdcviewer.base.errors import InputError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.index.dedup import LayerTotals
from cdcviewer.index.storage import StorageFigures
from cdcviewer.sources.layers import Layer


class AnalysisResult(Protocol):
    """Layers cut with one ``ChunkerParams``, their index and every headline figure."""

    params: ChunkerParams
    layers: Sequence[Layer]
    index: LayerTotals
    failures: list[InputError]
    storage: StorageFigures | None  # the compressed store against the registry, if measured

    @property
    def total_bytes(self) -> int: ...

    @property
    def stored_bytes(self) -> int: ...

    @property
    def dedup_ratio(self) -> float: ...

    @property
    def savings(self) -> float: ...

    def lane_rows(self, width: int) -> list[np.ndarray]:
        """Each lane's pixels for the HTML map, ``width`` pixels for the largest layer."""
        ...

    def chunk_size_histogram(self) -> tuple[list[int], list[int]]:
        """Bin edges and counts of the chunk lengths (``index.histogram``)."""
        ...
