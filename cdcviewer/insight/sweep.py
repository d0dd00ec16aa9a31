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
from cdcviewer.index.storage import DEFAULT_ENTRY_SIZE, StoreParams

SCHEMA = "cdcviewer.sweep/1"
__all__ = ["DEFAULT_ENTRY_SIZE", "SweepResult", "SweepRow", "sweep", "sweep_params"]
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
    # The compressed store, when measured: its chunks compressed, and the registry's
    # blobs (the same for every row); ``bound_bytes`` > 0 for an estimate.
    compressed_chunk_bytes: int | None = None
    registry_bytes: int | None = None
    bound_bytes: int = 0

    @property
    def stored_compressed_bytes(self) -> int | None:
        """The chunk store as kept: compressed chunks plus the index."""
        if self.compressed_chunk_bytes is None:
            return None
        return self.compressed_chunk_bytes + self.index_bytes

    @property
    def compressed_savings(self) -> float | None:
        """What the compressed store saves against the registry's blobs."""
        stored = self.stored_compressed_bytes
        if stored is None or self.registry_bytes is None:
            return None
        return savings(stored, self.registry_bytes)

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
        row: dict[str, object] = {
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
        if self.compressed_chunk_bytes is not None:
            row.update(
                compressed_chunk_bytes=self.compressed_chunk_bytes,
                stored_compressed_bytes=self.stored_compressed_bytes,
                compressed_savings=self.compressed_savings,
                bound_bytes=self.bound_bytes,
            )
        return row


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
    "stored_compressed_bytes",
    "compressed_savings",
)


@dataclass(frozen=True)
class SweepResult:
    base: ChunkerParams  # chunker, normalization and hash shared by every row
    layers: list[str]
    total_bytes: int
    layer_level_stored_bytes: int
    entry_size: int
    rows: list[SweepRow]
    store: StoreParams | None = None  # how the compressed figures were made, if they were

    def to_dict(self) -> dict[str, object]:
        base = self.base.to_dict()
        document = {
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
        if self.store is not None and self.rows:
            document["store"] = self.store.to_dict()
            document["totals"]["registry_bytes"] = self.rows[0].registry_bytes  # type: ignore[index]
        return document

    def write_csv(self, handle: TextIO) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.rows:
            figures = row.to_dict()
            writer.writerow([_csv_number(figures.get(column)) for column in CSV_COLUMNS])


def _csv_number(value: object) -> str:
    if value is None:
        return ""
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
                    chunker=base.chunker,
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
    store: StoreParams | None = None,
    sample: float | None = None,
) -> SweepResult:
    """Cut the layers of ``source`` (a workspace: all its layers; an analysis: its layers)
    at each average; reuses the cached hashing and the analysis itself where it matches.
    With ``store``, each point also measures the compressed chunk store (index entries of
    ``entry_size``), from a ``sample`` fraction of fingerprints if given."""
    if store is not None:
        store = StoreParams(store.codec, store.level, entry_size)
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
        measured = None
        if store is not None:
            kept = analysis.storage
            usable = (
                kept is not None and kept.store == store and kept.sample_fraction == (sample or 1.0)
            )
            measured = kept if usable else analysis.measure_storage(store, state, sample)
        rows.append(
            SweepRow(
                params=params,
                total_bytes=analysis.total_bytes,
                chunks=analysis.index.total_chunks,
                distinct_chunks=analysis.index.distinct_chunks,
                stored_bytes=analysis.stored_bytes,
                entry_size=entry_size,
                compressed_chunk_bytes=measured.compressed_chunk_bytes if measured else None,
                registry_bytes=measured.registry_bytes if measured else None,
                bound_bytes=measured.bound_bytes if measured else 0,
            )
        )
    return SweepResult(
        base=base_params,
        layers=[layer.name for layer in layers],
        total_bytes=analysis.total_bytes,
        layer_level_stored_bytes=analysis.index.layer_level_stored_bytes,
        entry_size=entry_size,
        rows=rows,
        store=store,
    )
