"""Report exports: the one entry point the CLI and the window's File menu both use.

Every format is written by ``write_report`` to a text handle, so a file from the window
and a file (or stdout) from ``cdcviewer report`` hold the same bytes for the same
analysis. ``export_report`` writes through a temporary file beside the destination, so
a failed export never destroys an existing file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cdcviewer.base.atomic import atomic_writer
from cdcviewer.index.dedup import CLASS_NAMES
from cdcviewer.report.document import report_dict

if TYPE_CHECKING:
    import numpy as np

    from cdcviewer.analysis.result import AnalysisResult
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.insight.sections import ReportSections
    from cdcviewer.insight.sweep import SweepResult

FORMATS = ("json", "csv", "csv-chunks", "html")

LAYER_CSV_COLUMNS = (
    "name",
    "source",
    "image",
    "index",
    "digest",
    "media_type",
    "compressed_bytes",
    "bytes",
    "chunks",
    "unique_bytes",
    "duplicate_bytes",
    "shared_bytes",
    "new_bytes",
    "identical_to",
)
CHUNK_CSV_COLUMNS = ("layer", "offset", "length", "fingerprint", "class", "layers")


def write_report(
    analysis: Analysis,
    handle: TextIO,
    fmt: str,
    sweep: SweepResult | None = None,
    sections: ReportSections | None = None,
) -> None:
    """Write ``analysis`` as ``fmt`` (one of ``FORMATS``) to ``handle``.

    ``sections`` (files, whole files, what-if, versions) go into the JSON and the HTML;
    the CSV formats hold per-layer or per-chunk rows only, so they ignore them.
    """
    if fmt == "json":
        handle.write(json.dumps(report_dict(analysis, sweep, sections), indent=2) + "\n")
    elif fmt == "csv":
        write_layers_csv(report_dict(analysis), handle)
    elif fmt == "csv-chunks":
        write_chunks_csv(analysis, handle)
    elif fmt == "html":
        from cdcviewer.report.html.page import render_html

        handle.write(render_html(analysis, sweep, sections))
    else:
        raise ValueError(f"unknown report format {fmt!r} (use one of {FORMATS})")


def export_report(
    analysis: Analysis,
    path: str | Path,
    fmt: str,
    sweep: SweepResult | None = None,
    sections: ReportSections | None = None,
) -> None:
    """Write ``analysis`` as ``fmt`` to ``path``, replacing it only once complete.

    Raises ``CdcError`` naming the path when it cannot be written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r} (use one of {FORMATS})")
    with atomic_writer(path, "w") as handle:
        write_report(analysis, handle, fmt, sweep, sections)


def render_report(
    analysis: Analysis,
    fmt: str,
    sweep: SweepResult | None = None,
    sections: ReportSections | None = None,
) -> str:
    """The exported text, for previews and tests."""
    buffer = io.StringIO(newline="")
    write_report(analysis, buffer, fmt, sweep, sections)
    return buffer.getvalue()


def write_layers_csv(report: dict, handle: TextIO) -> None:
    """One row per layer with the per-layer figures of the report."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(LAYER_CSV_COLUMNS)
    for layer in report["layers"]:
        writer.writerow(["" if layer.get(c) is None else layer[c] for c in LAYER_CSV_COLUMNS])


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
