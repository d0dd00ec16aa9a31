"""The report: one dict (schema ``cdcviewer.report/1``) that every export is drawn from."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__

if TYPE_CHECKING:
    from .analysis import Analysis
    from .sweep import SweepResult

SCHEMA = "cdcviewer.report/1"
BINS_PER_OCTAVE = 4


def chunk_size_histogram(lengths: np.ndarray) -> tuple[list[int], list[int]]:
    """Counts of chunk lengths in log-spaced bins (a quarter octave each).

    ``edges`` has one more entry than ``counts``; bin k holds ``edges[k] <= n < edges[k+1]``.
    """
    if len(lengths) == 0:
        return [0, 1], [0]
    low = int(np.floor(np.log2(max(1, int(lengths.min())))))
    high = int(np.floor(np.log2(int(lengths.max())))) + 1
    steps = np.arange(low * BINS_PER_OCTAVE, high * BINS_PER_OCTAVE + 1)
    edges = np.unique(np.round(2.0 ** (steps / BINS_PER_OCTAVE)).astype(np.int64))
    edges[-1] = max(int(edges[-1]), int(lengths.max()) + 1)
    counts, _ = np.histogram(lengths, bins=edges)
    # np.histogram closes its last bin; the bound above keeps every bin half-open.
    return edges.tolist(), counts.astype(int).tolist()


def report_dict(analysis: Analysis, sweep: SweepResult | None = None) -> dict[str, object]:
    """The report JSON of design.md; a sweep run alongside is attached as ``sweep``."""
    index = analysis.index
    layers = []
    for i, (layer, figures) in enumerate(zip(analysis.layers, index.layers, strict=True)):
        row = layer.report_fields()
        row.update(
            chunks=figures.chunks,
            unique_bytes=figures.unique_bytes,
            duplicate_bytes=figures.duplicate_bytes,
            shared_bytes=figures.shared_bytes,
            new_bytes=figures.new_bytes,
        )
        same = index.identical_to[i]
        row["identical_to"] = analysis.layers[same].name if same is not None else None
        layers.append(row)
    edges, counts = chunk_size_histogram(analysis.all_lengths())
    report: dict[str, object] = {
        "schema": SCHEMA,
        "tool": {"name": "cdcviewer", "version": __version__},
        "params": analysis.params.to_dict(),
        "layers": layers,
        "totals": {
            "bytes": analysis.total_bytes,
            "chunks": index.total_chunks,
            "distinct_chunks": index.distinct_chunks,
            "stored_bytes": analysis.stored_bytes,
            "dedup_ratio": analysis.dedup_ratio,
            "savings": analysis.savings,
            "layer_level_stored_bytes": index.layer_level_stored_bytes,
            "layer_level_savings": (
                1 - index.layer_level_stored_bytes / analysis.total_bytes
                if analysis.total_bytes
                else 0.0
            ),
        },
        "pairwise": {
            "layers": [layer.name for layer in analysis.layers],
            "bytes": index.pairwise.tolist(),
        },
        "chunk_sizes": {"edges": edges, "counts": counts},
        "failures": [{"source": f.source, "problem": f.problem} for f in analysis.failures],
    }
    if sweep is not None:
        report["sweep"] = sweep.to_dict()
    return report
