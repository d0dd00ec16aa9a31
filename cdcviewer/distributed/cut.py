"""Cutting one input's layers into chunk tables, inside the worker task that loaded them.

On one machine, ``sweep.sweep`` re-cuts every layer from the workspace's cached hash
candidates at each average. On Dask the layers only exist inside the worker task that
loaded them, so that task cuts them with the analysis's parameters and at every sweep
point (``cut_at_every_point``), from the candidates of its own first scan, and keeps one
compact chunk table per cut; the what-ifs cut their derived streams the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cdcviewer.analysis.chunking import chunk_layers
from cdcviewer.analysis.pipeline import LayerChunks
from cdcviewer.base.params import ChunkerParams
from cdcviewer.distributed.index import chunk_table, stream_key
from cdcviewer.kernels.buzhash_sizes import BuzhashCandidates
from cdcviewer.kernels.gear import Candidates
from cdcviewer.sources.layers import Layer

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class TabledCut:
    """One input's layers cut with one parameter set: per layer its chunk count and
    stream key (``distributed.index.stream_key``), and the input's chunk table."""

    chunk_counts: list[int]
    stream_keys: list[bytes]
    table: pd.DataFrame  # distributed.index.TABLE_DTYPES


def tabled_cut(input_order: int, tables: list[LayerChunks]) -> TabledCut:
    """The ``TabledCut`` of the input at ``input_order`` from its layers' chunks."""
    return TabledCut(
        chunk_counts=[len(t.lengths) for t in tables],
        stream_keys=[stream_key(t) for t in tables],
        table=chunk_table(input_order, tables),
    )


def cut_at_every_point(
    layers: list[Layer],
    input_order: int,
    params: Sequence[ChunkerParams],
    hash_threads: int,
) -> list[TabledCut]:
    """The layers cut with each of ``params`` (the analysis's first, then the sweep's),
    hashing them at most once in the usual case.

    As ``sweep.sweep`` does, the cuts run from the smallest average up: the candidates of
    the first scan then cover every later cut, which re-cuts from them (``chunk_layers``
    scans again only for a point they do not cover). Each cut becomes its compact table
    at once; only the latest ``LayerChunks`` are kept, to reuse the fingerprints of the
    chunks a re-cut leaves where they were.
    """
    candidates: dict[Layer, Candidates | BuzhashCandidates] = {}  # one chunker per job
    latest: dict[Layer, LayerChunks] = {}

    def store(layer: Layer, found: Candidates | BuzhashCandidates) -> None:
        candidates[layer] = found

    def forget(layer: Layer, found: Candidates | BuzhashCandidates) -> None:
        """For the last cut: nothing reads the candidates after it, so each layer's go
        as soon as it is cut (they take 16 bytes per KiB of layer, or more)."""

    order = sorted(range(len(params)), key=lambda k: params[k].avg_size)
    cuts: dict[int, TabledCut] = {}
    for step, position in enumerate(order):
        more_to_cut = step + 1 < len(order)
        tables = chunk_layers(
            layers,
            params[position],
            cached_candidates=lambda layer: candidates.get(layer),
            store_candidates=store if more_to_cut else forget,
            workers=hash_threads,
            previous_table=lambda layer: latest.get(layer),
            keep_candidates=more_to_cut,
        )
        if more_to_cut:
            latest.update((layer, table) for layer, table in zip(layers, tables, strict=True))
        cuts[position] = tabled_cut(input_order, tables)
    return [cuts[position] for position in range(len(params))]
