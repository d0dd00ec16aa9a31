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
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cdcviewer.base.atomic import atomic_writer
from cdcviewer.report.chunk_csv import write_chunks_csv
from cdcviewer.report.document import report_dict
from cdcviewer.report.html.page import render_html

if TYPE_CHECKING:
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
    # with the compressed store measured (empty cells otherwise)
    "new_compressed_bytes",
    "registry_bytes",
    "new_registry_bytes",
)


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
