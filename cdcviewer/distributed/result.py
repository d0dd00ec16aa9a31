"""What a distributed analysis gives: ``DistributedAnalysis``, the figures of an
``Analysis`` without its per-chunk tables, with what the report writers asked of those
made on the workers; its layers as ``RemoteLayer``s and its timings as ``JobStats``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from cdcviewer.index.dedup import IndexFigures
from cdcviewer.index.histogram import chunk_size_histogram
from cdcviewer.report.document import report_dict
from cdcviewer.sources.layers import Layer

if TYPE_CHECKING:
    from cdcviewer.base.errors import InputError
    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.distributed.index import DistributedIndex
    from cdcviewer.insight.sweep import SweepResult
    from cdcviewer.insight.whatif import WhatIfResult

CSV_COPY_CHARS = 1 << 20


@dataclass(eq=False)
class RemoteLayer(Layer):
    """A layer loaded on a worker: its identity and sizes. Its stream stayed there."""

    @contextmanager
    def mapped(self) -> Iterator[np.ndarray]:
        raise RuntimeError(f"{self.name}: its stream is on a Dask worker, not on this machine")
        yield  # pragma: no cover - makes this a generator for contextmanager

    @classmethod
    def of(cls, layer: Layer) -> RemoteLayer:
        """``layer``, as loaded on a worker, without its stream."""
        values = {f.name: getattr(layer, f.name) for f in fields(Layer)}
        # The stream lived in the worker's cache, now gone; keep where it came from instead.
        values.update(path=Path(layer.source), offset=0)
        return cls(**values)


@dataclass
class JobStats:
    """Where the time of a distributed analysis went, for benchmarks and capacity plans."""

    inputs: int
    workers: int
    partitions: int
    chunk_seconds: float  # wall time until every input was chunked
    index_seconds: float  # wall time of the dataframe index
    task_load_seconds: list[float]  # per input, on its worker
    task_chunk_seconds: list[float]
    sweep_seconds: float = 0.0  # wall time of the sweep's reductions, when one was asked
    whatif_seconds: float = 0.0  # wall time of the what-if variants' indexes, when asked


class DistributedAnalysis(IndexFigures):
    """The figures of an ``Analysis`` computed on a cluster, with the attributes that
    ``report_dict``, ``textreport.summary`` and the JSON/CSV/HTML exports read.

    Per-chunk tables (``Analysis.chunks``, chunk classes) stayed on the workers. What the
    report writers need of them was made there when asked of ``analyze_distributed``: the
    HTML map's lanes (``map_width``), the per-chunk CSV rows (``chunk_csv``, held in a
    temporary file until ``close()``) and the sweep (``sweep_avg``, as ``sweep``).
    """

    def __init__(
        self,
        params: ChunkerParams,
        layers: list[RemoteLayer],
        index: DistributedIndex,
        failures: list[InputError],
        stats: JobStats,
        lanes: dict[int, list[np.ndarray]] | None = None,
        chunk_csv: TextIO | None = None,
    ) -> None:
        self.params = params
        self.layers = layers
        self.index = index
        self.failures = failures
        self.stats = stats
        self.lanes = lanes or {}  # map width -> per layer, its lane's (width, 3) pixels
        self.sweep: SweepResult | None = None
        self.whatif: WhatIfResult | None = None
        # The compressed store against the registry is not measured on the Dask path yet.
        self.storage = None
        # The files and whole_files report sections, when asked (report form).
        self.files_section: dict[str, object] | None = None
        self.whole_files_section: dict[str, object] | None = None
        self._chunk_csv = chunk_csv

    def lane_rows(self, width: int) -> list[np.ndarray]:
        """Each lane's pixels for the HTML map (``raster.lane_row``), as the workers drew
        them."""
        if width not in self.lanes:
            raise RuntimeError(
                f"the byte-range map at {width} px was not drawn on the Dask workers: "
                f"pass map_width={width} to analyze_distributed"
            )
        return self.lanes[width]

    def all_lengths(self) -> np.ndarray:
        """Every chunk's length, rebuilt from the counts per length (4 bytes a chunk).

        ``report_dict`` draws its histogram with ``chunk_size_histogram``, which gives the
        same bins without expanding.
        """
        return np.repeat(self.index.length_values.astype(np.uint32), self.index.length_counts)

    def chunk_size_histogram(self) -> tuple[list[int], list[int]]:
        """``histogram.chunk_size_histogram(self.all_lengths())`` from the counts alone."""
        values, counts = self.index.length_values, self.index.length_counts
        # The bin edges depend only on the smallest and largest length.
        edges, _ = chunk_size_histogram(values)
        if not len(values):
            return edges, [0]
        binned, _ = np.histogram(values, bins=edges, weights=counts)
        return edges, binned.astype(np.int64).tolist()

    def to_dict(self, sweep: SweepResult | None = None) -> dict[str, object]:
        return report_dict(self, sweep)  # type: ignore[arg-type]

    def copy_chunk_csv_rows(self, handle: TextIO) -> None:
        """Every chunk's row of the per-chunk CSV, as the workers wrote them, to ``handle``."""
        if self._chunk_csv is None:
            raise RuntimeError(
                "the per-chunk CSV was not written on the Dask workers: "
                "pass chunk_csv=True to analyze_distributed"
            )
        self._chunk_csv.seek(0)
        shutil.copyfileobj(self._chunk_csv, handle, CSV_COPY_CHARS)

    def close(self) -> None:
        """Drop the per-chunk CSV rows, if any (the chunk tables were freed on the
        workers)."""
        if self._chunk_csv is not None:
            self._chunk_csv.close()

    def __enter__(self) -> DistributedAnalysis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
