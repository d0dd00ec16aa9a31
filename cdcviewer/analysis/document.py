"""An analysis as a document: the figures part of the report JSON (``cdcviewer.report/1``).

``Analysis.to_dict()`` returns it; the ``report`` package adds the optional sections (a
sweep, files, what-ifs, versions) on top and renders every format from the result.
"""

from __future__ import annotations

from cdcviewer._version import __version__
from cdcviewer.analysis.result import AnalysisResult
from cdcviewer.index.ratios import savings

SCHEMA = "cdcviewer.report/1"


def figures_document(analysis: AnalysisResult) -> dict[str, object]:
    """The analysis's part of the report JSON (docs/design.md, "Report JSON"): params,
    layers, totals, pairwise matrix, chunk sizes and failures; with ``analysis.storage``
    measured, the compressed store against the registry too (``store``, and fields added
    to ``layers`` and ``totals``)."""
    index = analysis.index
    storage = analysis.storage
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
        if storage is not None:
            row.update(storage.layer_dict(i))
        layers.append(row)
    edges, counts = analysis.chunk_size_histogram()
    document: dict[str, object] = {
        "schema": SCHEMA,
        "tool": {"name": "cdcviewer", "version": __version__},
        "params": analysis.params.to_dict(),
    }
    if storage is not None:
        document["store"] = storage.store_dict()
    totals: dict[str, object] = {
        "bytes": analysis.total_bytes,
        "chunks": index.total_chunks,
        "distinct_chunks": index.distinct_chunks,
        "stored_bytes": analysis.stored_bytes,
        "dedup_ratio": analysis.dedup_ratio,
        "savings": analysis.savings,
        "layer_level_stored_bytes": index.layer_level_stored_bytes,
        "layer_level_savings": savings(index.layer_level_stored_bytes, analysis.total_bytes),
    }
    if storage is not None:
        totals.update(storage.totals_dict())
    document.update(
        layers=layers,
        totals=totals,
        pairwise={
            "layers": [layer.name for layer in analysis.layers],
            "bytes": index.pairwise.tolist(),
        },
        chunk_sizes={"edges": edges, "counts": counts},
        failures=[{"source": f.source, "problem": f.problem} for f in analysis.failures],
    )
    return document
