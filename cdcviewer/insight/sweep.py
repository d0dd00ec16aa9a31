"""Parameter sweeps: savings against index size over a list of average chunk sizes.

Each average re-cuts the layers from the workspace's cached hash candidates, so a sweep
hashes the layers at most once whatever the number of points. Smaller averages need
looser candidate masks; running the points from the smallest average up means the first
scan (if any) already covers every later point.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from cdcviewer._version import __version__
from cdcviewer.analysis.workspace import Analysis, Workspace
from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.index.ratios import dedup_ratio, savings

SCHEMA = "cdcviewer.sweep/1"
DEFAULT_ENTRY_SIZE = 48  # bytes per index entry: a 32-byte digest plus offset and length
DEFAULT_AVGS = tuple(k * 1024 for k in (4, 8, 16, 32, 64, 128, 256))


@dataclass(frozen=True)
class SweepRow:
    """The dedup figures of all layers cut with one parameter set."""

    params: ChunkerParams
    total_bytes: int
    chunks: int
    distinct_chunks: int
    stored_bytes: int
    entry_size: int

    @property
    def index_bytes(self) -> int:
        """What a chunk store's index needs: one entry per distinct (stored) chunk."""
        return self.distinct_chunks * self.entry_size

    @property
    def savings(self) -> float:
        return savings(self.stored_bytes, self.total_bytes)

    @property
    def dedup_ratio(self) -> float:
        return dedup_ratio(self.total_bytes, self.stored_bytes)

    @property
    def mean_chunk_bytes(self) -> float:
        return self.total_bytes / self.chunks if self.chunks else 0.0

    def to_dict(self) -> dict[str, object]:
        params = self.params.to_dict()
        return {
            "avg": params["avg"],
            "min": params["min"],
            "max": params["max"],
            "chunks": self.chunks,
            "distinct_chunks": self.distinct_chunks,
            "mean_chunk_bytes": self.mean_chunk_bytes,
            "stored_bytes": self.stored_bytes,
            "dedup_ratio": self.dedup_ratio,
            "savings": self.savings,
            "index_bytes": self.index_bytes,
        }


CSV_COLUMNS = (
    "avg",
    "min",
    "max",
    "chunks",
    "distinct_chunks",
    "mean_chunk_bytes",
    "stored_bytes",
    "dedup_ratio",
    "savings",
    "index_bytes",
)


@dataclass(frozen=True)
class SweepResult:
    base: ChunkerParams  # chunker, normalization and hash shared by every row
    layers: list[str]
    total_bytes: int
    layer_level_stored_bytes: int
    entry_size: int
    rows: list[SweepRow]

    def to_dict(self) -> dict[str, object]:
        base = self.base.to_dict()
        return {
            "schema": SCHEMA,
            "tool": {"name": "cdcviewer", "version": __version__},
            "params": {"chunker": base["chunker"], "nc": base["nc"], "hash": base["hash"]},
            "entry_size": self.entry_size,
            "layers": list(self.layers),
            "totals": {
                "bytes": self.total_bytes,
                "layer_level_stored_bytes": self.layer_level_stored_bytes,
            },
            "rows": [row.to_dict() for row in self.rows],
        }

    def write_csv(self, handle: TextIO) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.rows:
            figures = row.to_dict()
            writer.writerow([_csv_number(figures[column]) for column in CSV_COLUMNS])


def _csv_number(value: object) -> str:
    return f"{value:.6f}" if isinstance(value, float) else str(value)


def sweep_params(
    avgs: Iterable[int],
    base: ChunkerParams,
    min_size: int | None = None,
    max_size: int | None = None,
) -> list[ChunkerParams]:
    """One parameter set per distinct average, smallest first: min = avg/4 and max = avg*4
    unless given. Raises ``ParameterError`` for a point outside the valid ranges."""
    chosen = sorted(set(avgs))
    if not chosen:
        raise ParameterError("a sweep needs at least one average size")
    points = []
    for avg in chosen:
        if base.chunker == "fixed":
            points.append(base.with_(avg_size=avg))
        else:
            points.append(
                ChunkerParams.for_avg(
                    avg,
                    min_size=min_size,
                    max_size=max_size,
                    normalization=base.normalization,
                    hash=base.hash,
                )
            )
    return points


def sweep(
    source: Workspace | Analysis,
    avgs: Iterable[int],
    base_params: ChunkerParams,
    state: TaskState = NULL_STATE,
    entry_size: int = DEFAULT_ENTRY_SIZE,
    min_size: int | None = None,
    max_size: int | None = None,
) -> SweepResult:
    """Cut the layers of ``source`` (a workspace: all its layers; an analysis: its layers)
    at each average; reuses the cached hashing and the analysis itself where it matches."""
    points = sweep_params(avgs, base_params, min_size, max_size)
    if isinstance(source, Analysis):
        workspace, layers, known = source.workspace, source.layers, source
    else:
        workspace, layers, known = source, list(source.layers), None
    rows = []
    for step, params in enumerate(points):
        reusable = known is not None and known.params == params
        # Hash every position once, at the first point cut, when more points follow.
        more = step + 1 < len(points)
        analysis = known if reusable else workspace.analyze(params, state, layers, more)
        rows.append(
            SweepRow(
                params=params,
                total_bytes=analysis.total_bytes,
                chunks=analysis.index.total_chunks,
                distinct_chunks=analysis.index.distinct_chunks,
                stored_bytes=analysis.stored_bytes,
                entry_size=entry_size,
            )
        )
    return SweepResult(
        base=base_params,
        layers=[layer.name for layer in layers],
        total_bytes=analysis.total_bytes,
        layer_level_stored_bytes=analysis.index.layer_level_stored_bytes,
        entry_size=entry_size,
        rows=rows,
    )
